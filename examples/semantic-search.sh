#!/usr/bin/env bash
# A tiny local semantic search: embed every text file of a folder (one record per paragraph),
# embed the query, rank paragraphs by cosine similarity (vectors are unit length, so a dot product).
#   examples/semantic-search.sh [MODEL.gguf] [DIR] [QUERY]
# Default: ../shared/models/synth-bert-256.f16.gguf (random weights: it runs the whole pipeline,
# but only a trained embedding model, e.g. bge-small or all-MiniLM in GGUF, ranks by meaning),
# this repository's man pages, and a question about quantization.
set -euo pipefail
BIN=${BIN:-build/bin}
MODEL=${1:-../shared/models/synth-bert-256.f16.gguf}
DIR=${2:-man}
QUERY=${3:-How do I quantize a model to 4 bits?}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Paragraphs of every text file as records {"id": "file#n", "text": ...}.
python3 - "$DIR" > "$WORK/docs.jsonl" <<'PY'
import json, pathlib, re, sys
for p in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    if not p.is_file():
        continue
    for n, para in enumerate(re.split(r"\n\s*\n|\n\.(?:PP|TP|SH)[^\n]*\n", p.read_text(errors="replace"))):
        text = " ".join(para.split())
        if len(text) > 40:
            print(json.dumps({"id": f"{p.name}#{n}", "text": text}))
PY
"$BIN/llm-embed" -m "$MODEL" --truncate < "$WORK/docs.jsonl" > "$WORK/index.jsonl"
"$BIN/llm-embed" -m "$MODEL" -p "$QUERY" > "$WORK/query.json"

echo "query: $QUERY"
python3 - "$WORK/index.jsonl" "$WORK/query.json" <<'PY'
import json, sys
docs = [json.loads(line) for line in open(sys.argv[1])]
q = json.load(open(sys.argv[2]))["embedding"]
ranked = sorted(docs, key=lambda d: -sum(a * b for a, b in zip(q, d["embedding"])))
print(f"{len(docs)} paragraphs indexed; best 5:")
for d in ranked[:5]:
    score = sum(a * b for a, b in zip(q, d["embedding"]))
    print(f"  {score:.3f}  {d['id']:24}  {d['text'][:70]}")
PY
