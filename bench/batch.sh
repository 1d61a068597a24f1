#!/usr/bin/env bash
# Batch throughput of llm-generate on the demo model: the shared-prefix reuse (24 documents under
# one ~300-token instruction, with and without --no-prefix-cache; the outputs must be equal) and
# --parallel scaling (1, 2, 4, 8 records decoded together, 16 records of 64 generated tokens).
#   bench/batch.sh        (MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf BIN=build/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F); $(basename "$MODEL")"
python3 - "$WORK" << 'PY'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
docs = sorted(pathlib.Path("examples/docs").glob("*.txt"))
instr = ("You are an editor at a local newspaper. Read the article below carefully. Write a summary of it in one "
         "sentence of at most thirty words, in plain English, without quoting the article, without opinions, and "
         "without any introduction such as 'This article'. Mention the place and the main actors when the article "
         "names them, keep numbers as the article gives them, and never invent facts. ") * 4
with open(work / "prefix.jsonl", "w") as f:
    for i in range(24):
        text = docs[i % len(docs)].read_text().strip()[: 200 + 37 * i]
        f.write(json.dumps({"id": i, "text": text, "instr": instr}) + "\n")
with open(work / "par.jsonl", "w") as f:
    for i in range(16):
        f.write(json.dumps({"id": i, "prompt": "Write a short story about a %s." % ["cat", "boat", "tree", "robot"][i % 4]}) + "\n")
PY
run() {  # run NAME ARGS... < input: wall seconds on stdout, records in $WORK/NAME.jsonl
  local name=$1
  shift
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN/llm-generate" -m "$MODEL" --temp 0 "$@" > "$WORK/$name.jsonl" 2> "$WORK/$name.err"
  t1=$(date +%s.%N)
  python3 -c "print(round($t1 - $t0, 2))"
}
tokens=$("$BIN/llm-generate" -m "$MODEL" --dry-run --template '{instr}' --chat < "$WORK/prefix.jsonl" 2> /dev/null | jq -s '.[0].prompt_tokens')
echo
echo "Shared prefix: 24 documents, the same instruction ($tokens tokens with the chat template) before each, -n 24"
echo
echo "| --parallel | prefix reuse s | --no-prefix-cache s | speedup | outputs equal |"
echo "|---:|---:|---:|---:|---|"
for np in 1 4; do
  a=$(run "pc$np" -np "$np" -n 24 --template '{instr}\n\n{text}' --chat < "$WORK/prefix.jsonl")
  b=$(run "nc$np" -np "$np" -n 24 --template '{instr}\n\n{text}' --chat --no-prefix-cache < "$WORK/prefix.jsonl")
  same=$(cmp -s <(jq -c '[.id, .output]' "$WORK/pc$np.jsonl") <(jq -c '[.id, .output]' "$WORK/nc$np.jsonl") && echo yes || echo NO)
  echo "| $np | $a | $b | $(python3 -c "print(f'{$b / $a:.2f}x')") | $same |"
done
echo
echo "--parallel scaling: 16 records, 64 generated tokens each (--ignore-eos)"
echo
echo "| --parallel | seconds | generated tok/s |"
echo "|---:|---:|---:|"
for np in 1 2 4 8; do
  s=$(run "np$np" -np "$np" -n 64 --ignore-eos < "$WORK/par.jsonl")
  echo "| $np | $s | $(python3 -c "print(round(16 * 64 / $s, 1))") |"
done
