#!/usr/bin/env bash
# Batch summarization, the README's first command (`make demo`): every text file in a folder
# becomes a JSON-lines record, llm-generate summarizes four at a time with the model's own chat
# format, and one summary record per document comes out, in order.
#   examples/summarize.sh [DOCS_DIR] [MODEL]      (BIN=build/bin)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
DOCS=${1:-$ROOT/examples/docs}
MODEL=${2:-$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf}
if [ ! -f "$MODEL" ]; then
  echo "summarize.sh: $MODEL not found: run 'make models' first" >&2
  exit 2
fi

# {"id": "<file name>", "text": "<contents>"} per file (llm-generate keeps both fields).
to_jsonl() {
  python3 - "$DOCS" << 'PY'
import json, pathlib, sys
for p in sorted(pathlib.Path(sys.argv[1]).glob("*.txt")):
    print(json.dumps({"id": p.name, "text": p.read_text().strip()}))
PY
}

# Each summary ends at its first line break (--stop): a short paragraph, not one cut at -n.
stats=$(mktemp)
trap 'rm -f "$stats"' EXIT
to_jsonl |
  "$BIN/llm-generate" -m "$MODEL" --chat --parallel 4 -n 200 --temp 0 --stop '\n' \
    --template 'Summarize this news article in one short sentence.\n\n{text}' 2> "$stats" |
  python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print(json.dumps({"id": r["id"], "summary": r.get("output"), "finish_reason": r.get("finish_reason"),
                      "tokens": r.get("usage", {}).get("completion_tokens")}, ensure_ascii=False))
'
# llm-generate's closing line (records, tokens, tokens/s) after the records, on stderr.
cat "$stats" >&2
