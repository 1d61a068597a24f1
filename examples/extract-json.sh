#!/usr/bin/env bash
# Structured extraction: every text file in a folder becomes a record, llm-generate answers each
# with one JSON object valid against a schema (title, summary, sentiment, people), and the parsed
# objects come out one per document, in order, ready for jq.
#   examples/extract-json.sh [DOCS_DIR] [MODEL] [SCHEMA]      (BIN=build/bin)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
DOCS=${1:-$ROOT/examples/docs}
MODEL=${2:-$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf}
SCHEMA=${3:-$ROOT/examples/schemas/summary.schema.json}
if [ ! -f "$MODEL" ]; then
  echo "extract-json.sh: $MODEL not found: run 'make models' first" >&2
  exit 2
fi
for f in "$DOCS"/*.txt; do jq -cRs --arg id "$(basename "$f")" '{id: $id, text: .}' "$f"; done |
  "$BIN/llm-generate" -m "$MODEL" --chat --parallel 4 -n 256 --temp 0 --json-schema-file "$SCHEMA" \
    --template 'Read this news article and describe it as JSON with a title, a one-sentence summary, its sentiment and the people it names.\n\n{text}' |
  jq -c '{id} + .output_json'
