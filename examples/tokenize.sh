#!/usr/bin/env bash
# How many tokens is my corpus? Count a folder of text files against a model's context window,
# then show how one sentence splits.
#   examples/tokenize.sh [MODEL.gguf] [DIR]   (default: ../shared/vocab/ggml-vocab-llama-spm.gguf, README.md of this repo)
set -euo pipefail
BIN=${BIN:-build/bin}
MODEL=${1:-../shared/vocab/ggml-vocab-llama-spm.gguf}
DIR=${2:-.}
to_records=$(cat <<'PY'
import json, pathlib, sys
for p in sorted(pathlib.Path(sys.argv[1]).glob("*.md")):
    print(json.dumps({"id": p.name, "text": p.read_text(errors="replace")}))
PY
)
summary=$(cat <<'PY'
import json, sys
rs = [json.loads(line) for line in sys.stdin]
for r in rs:
    print(f"  {r['n_tokens']:7} tokens  {r['id']}")
print(f"  {sum(r['n_tokens'] for r in rs):7} tokens in all")
PY
)
echo "== tokens per file"
python3 -c "$to_records" "$DIR" | "$BIN/llm-tokenize" -m "$MODEL" --count | python3 -c "$summary"
echo
echo "== how a sentence splits"
"$BIN/llm-tokenize" -m "$MODEL" -p "Quantized models run locally." --pieces
