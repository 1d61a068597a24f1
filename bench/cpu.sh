#!/usr/bin/env bash
# CPU speed side by side, as llama-bench defines the tests: pp512 (a prompt from an empty
# context) and tg128 (generation from an empty context), llmkit's llm-bench against llama.cpp
# (llama_decode through the llama-cpp-python package, built from source), on the TinyLlama-shaped
# synthetic model in each type, for each thread count. The two sides alternate, REPS runs each;
# neither side warms up (each run loads the model afresh). The table gives means, the ratio,
# and for tg the share of the bandwidth ceiling llm-bench
# measured.
#
#   bench/cpu.sh          # TYPES="Q4_K_M Q8_0 Q4_0 F16" THREADS="1 2" REPS=3 PYTHON=python3
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
THREADS=${THREADS:-1 2}
REPS=${REPS:-3}
WORK=${WORK:-bench/out}
PYTHON=${PYTHON:-python3}
SHAPE=${SHAPE:-tinyllama-1.1b}
TYPES=${TYPES:-Q4_K_M Q8_0 Q4_0 F16}
mkdir -p "$WORK"
src="$WORK/$SHAPE.f16.gguf"
[ -f "$src" ] || "$BIN/gguf-synth" --shape "$SHAPE" --type F16 "$src" >&2
have_llamacpp=1
"$PYTHON" -c 'import llama_cpp' 2> /dev/null || { have_llamacpp=0; echo "note: llama_cpp not importable: llama.cpp column skipped" >&2; }

theirs() {  # model threads -> "pp tg" tokens/s, one run each from an empty context
  "$PYTHON" - "$1" "$2" 2> /dev/null << 'PY'
import random, sys, time
import llama_cpp as L
path, threads = sys.argv[1], int(sys.argv[2])
L.llama_backend_init()
model = L.llama_model_load_from_file(path.encode(), L.llama_model_default_params())
vocab = L.llama_model_n_vocab(model) if hasattr(L, "llama_model_n_vocab") else 32000
rng = random.Random(1)
def ctx_new():
    cp = L.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_ubatch = 640, 512, 512
    cp.n_threads = cp.n_threads_batch = threads
    return L.llama_init_from_model(model, cp)
out = []
ctx = ctx_new()
toks = [rng.randrange(vocab) for _ in range(512)]
arr = (L.llama_token * 512)(*toks)
t0 = time.perf_counter()
if L.llama_decode(ctx, L.llama_batch_get_one(arr, 512)) != 0: sys.exit("decode failed")
out.append(512 / (time.perf_counter() - t0))
L.llama_free(ctx)
ctx = ctx_new()
one = (L.llama_token * 1)(1)
t0 = time.perf_counter()
for i in range(128):
    one[0] = rng.randrange(vocab)
    if L.llama_decode(ctx, L.llama_batch_get_one(one, 1)) != 0: sys.exit("decode failed")
out.append(128 / (time.perf_counter() - t0))
L.llama_free(ctx)
L.llama_model_free(model)
print(*out)
PY
}

echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $SHAPE-shaped synthetic model; mean of $REPS"
echo
echo "| type | threads | test | llmkit tok/s | llama.cpp tok/s | ratio | llmkit share of tg ceiling |"
echo "|---|---:|---|---:|---:|---:|---:|"
for type in $TYPES; do
  model="$WORK/$SHAPE.$type.gguf"
  if [ "$type" = F16 ]; then model=$src; elif [ ! -f "$model" ]; then
    "$BIN/gguf-quantize" "$src" "$model" "$type" > /dev/null
  fi
  for t in $THREADS; do
    : > "$WORK/ours.jsonl"
    : > "$WORK/theirs.txt"
    for _ in $(seq "$REPS"); do
      "$BIN/llm-bench" -m "$model" -p 512 -n 128 -t "$t" -r 1 --no-warmup -o jsonl 2> /dev/null >> "$WORK/ours.jsonl"
      [ $have_llamacpp = 1 ] && theirs "$model" "$t" >> "$WORK/theirs.txt"
    done
    python3 - "$type" "$t" "$WORK/ours.jsonl" "$WORK/theirs.txt" << 'PY'
import json, sys
typ, t, ours, theirs = sys.argv[1:]
rs = [json.loads(l) for l in open(ours)]
th = [list(map(float, l.split())) for l in open(theirs) if l.strip()]
for i, test in enumerate(("pp512", "tg128")):
    o = [r for r in rs if r["test"] == test]
    mo = sum(r["avg_ts"] for r in o) / len(o)
    mt = sum(x[i] for x in th) / len(th) if th else 0
    share = f'{100 * sum(r["ceiling_fraction"] for r in o) / len(o):.0f}%' if test.startswith("tg") else ""
    ratio = f"{mo / mt:.2f}x" if mt else "-"
    print(f"| {typ} | {t} | {test} | {mo:.1f} | {mt:.1f} | {ratio} | {share} |")
PY
  done
done
