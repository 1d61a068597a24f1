#!/usr/bin/env bash
# The cost of a JSON schema: the 32 schemas of tests/data/json_schemas.jsonl, one prompt each,
# generated greedily one record at a time with the schema and without it (the same prompts), two
# rounds alternating; generated tokens per second of each, their ratio, and the grammar's time per
# generated token as llm-generate reports it.
#
#   bench/grammar.sh            # MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf N=128 THREADS=$(nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
N=${N:-128}
THREADS=${THREADS:-$(nproc)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 - tests/data/json_schemas.jsonl "$WORK" << 'PY'
import json, sys
with open(sys.argv[2] + "/schema.jsonl", "w") as a, open(sys.argv[2] + "/free.jsonl", "w") as b:
    for line in open(sys.argv[1]):
        s = json.loads(line)
        r = {"id": s["id"], "prompt": f"Reply with JSON only: {s['topic']}."}
        b.write(json.dumps(r) + "\n")
        a.write(json.dumps({**r, "json_schema": s["schema"]}) + "\n")
PY
run() {  # run MODE ROUND: the summary lines on stderr
  "$BIN/llm-generate" -m "$MODEL" -f "$WORK/$1.jsonl" --chat --temp 0 -n "$N" -t "$THREADS" > "$WORK/$1.out.$2" 2> "$WORK/$1.$2"
}
for round in 1 2; do
  run free $round
  run schema $round
done
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $THREADS threads; $(basename "$MODEL"); $(date -u +%F)"
echo
python3 - "$WORK" << 'PY'
import json, re, sys
w = sys.argv[1]
def speed(mode):  # per round: tokens/s while generating (the records' predicted_ms), tokens, grammar line
    out = []
    for r in (1, 2):
        recs = [json.loads(l) for l in open(f"{w}/{mode}.out.{r}")]
        n = sum(x["usage"]["completion_tokens"] for x in recs)
        ms = sum(x["timings"]["predicted_ms"] for x in recs)
        text = open(f"{w}/{mode}.{r}").read()
        out.append((n * 1000 / ms, n, re.search(r"grammar: ([0-9.]+) ms per generated token \(([0-9]+) of", text)))
    return out
free, schema = speed("free"), speed("schema")
f = sum(x[0] for x in free) / 2
s = sum(x[0] for x in schema) / 2
g = [float(x[2].group(1)) for x in schema]
redrawn = sum(int(x[2].group(2)) for x in schema)
print("| | generated tokens | generated tok/s (mean of 2) |")
print("|---|---:|---:|")
print(f"| no schema | {free[0][1]} | {f:.1f} |")
print(f"| JSON schema | {schema[0][1]} | {s:.1f} |")
print()
print(f"schema / no schema: {s / f:.3f}; grammar time {sum(g) / 2:.3f} ms per generated token; "
      f"{redrawn / 2:.0f} of {schema[0][1]} tokens redrawn from a mask")
PY
