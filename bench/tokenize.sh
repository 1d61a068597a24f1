#!/usr/bin/env bash
# Tokenizer throughput on English text, llm-tokenize against llama.cpp's tokenizer (through the
# llama-cpp-python package, vocab_only), same vocabulary files, single thread, one run.
# Corpus: Debian's license texts and package copyright files (varied English, ~2 MB), one record
# per file, so no tool can reuse work across documents.
#   bench/tokenize.sh            # PYTHON=python3 SHARED=../shared
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
PYTHON=${PYTHON:-python3}
SHARED=${SHARED:-../shared}
WORK=${WORK:-bench/out}
REPS=${REPS:-3}
mkdir -p "$WORK"
corpus="$WORK/corpus.jsonl"
python3 - "$corpus" << 'PY'
import glob, json, sys
files = sorted(glob.glob("/usr/share/common-licenses/*")) + sorted(glob.glob("/usr/share/doc/*/copyright"))
total = 0
with open(sys.argv[1], "w") as out:
    for i, path in enumerate(files):
        try:
            text = open(path, encoding="utf-8").read()
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue
        out.write(json.dumps({"id": i, "text": text}) + "\n")
        total += len(text.encode())
        if total > 2_000_000:
            break
PY
bytes=$(python3 -c "import json,sys; print(sum(len(json.loads(l)['text'].encode()) for l in open(sys.argv[1])))" "$corpus")
have_llamacpp=0
"$PYTHON" -c 'import llama_cpp' 2> /dev/null && have_llamacpp=1 || echo "note: python module llama_cpp not found: llama.cpp column skipped" >&2

echo "| vocabulary | llmkit (MB/s) | llama.cpp (MB/s) | speed-up |"
echo "|---|---:|---:|---:|"
for v in llama-spm gpt-2 bert-bge; do
  model="$SHARED/vocab/ggml-vocab-$v.gguf"
  ours=0
  for ((r = 0; r < REPS; r++)); do
    t0=$(date +%s.%N)
    OMP_NUM_THREADS=1 "$BIN/llm-tokenize" -m "$model" --count --no-bos < "$corpus" > /dev/null
    t1=$(date +%s.%N)
    rate=$(echo "$bytes / 1000000 / ($t1 - $t0)" | bc -l)
    [ "$(echo "$rate > $ours" | bc -l)" = 1 ] && ours=$rate
  done
  theirs=""
  if [ "$have_llamacpp" = 1 ]; then
    theirs=$("$PYTHON" - "$model" "$corpus" "$REPS" 2> /dev/null << 'PY'
import json, sys, time
import llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)
texts = [json.loads(l)["text"].encode() for l in open(sys.argv[2])]
best = 0.0
for _ in range(int(sys.argv[3])):
    t0 = time.time()
    for t in texts:
        llm.tokenize(t, add_bos=False, special=False)
    best = max(best, sum(map(len, texts)) / 1e6 / (time.time() - t0))
print(best)
PY
)
  fi
  if [ -n "$theirs" ]; then
    printf "| %s | %.1f | %.1f | %.1fx |\n" "$v" "$ours" "$theirs" "$(echo "$ours / $theirs" | bc -l)"
  else
    printf "| %s | %.1f | - | - |\n" "$v" "$ours"
  fi
done
echo
echo "corpus: $bytes bytes in $(wc -l < "$corpus") documents; one thread; best of $REPS; llmkit timed end to end (vocabulary load, JSON in and out included), llama.cpp on the tokenize calls alone"
