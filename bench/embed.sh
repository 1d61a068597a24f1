#!/usr/bin/env bash
# Embedding throughput side by side: llm-embed against llama.cpp's llama-embedding (built from the
# llama.cpp sources in the llama-cpp-python sdist; LLAMA_EMBEDDING=path/to/llama-embedding), on
# ../shared/models/synth-bert-256.f16.gguf, THREADS threads. Two workloads: 1,000 short sentences
# (5-14 words) and 64 passages of about 300 words. Both sides load the model once per run and embed
# every text (mean pooling, L2); the time is the whole process's wall time, model load included,
# best of REPS runs, the two alternating. The vectors are compared too (lowest cosine).
#
#   bench/embed.sh     # THREADS=2 REPS=3 LLAMA_EMBEDDING=... MODEL=...
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
THREADS=${THREADS:-2}
REPS=${REPS:-3}
WORK=${WORK:-bench/out}
MODEL=${MODEL:-../shared/models/synth-bert-256.f16.gguf}
LLAMA_EMBEDDING=${LLAMA_EMBEDDING:-}
mkdir -p "$WORK"

python3 - "$WORK" << 'PY'
import json, random, sys
rng = random.Random(1)
words = ("the a quick brown fox jumps over lazy dog local inference keeps data on premises model files are "
         "memory mapped for fast loading what is capital of france quantization bits shrinks about small "
         "large city river mountain book reads writes runs").split()
with open(sys.argv[1] + "/embed-short.jsonl", "w") as f:
    for i in range(1000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(5, 14))).capitalize() + "."
        f.write(json.dumps({"id": i, "text": text}) + "\n")
with open(sys.argv[1] + "/embed-long.jsonl", "w") as f:
    for i in range(64):
        text = " ".join(rng.choice(words) for _ in range(300))
        f.write(json.dumps({"id": i, "text": text}) + "\n")
PY

now() { date +%s.%N; }
ours() {  # workload -> seconds; vectors to $WORK/ours-<workload>.jsonl
  local t0 t1
  t0=$(now)
  "$BIN/llm-embed" -m "$MODEL" -t "$THREADS" --pooling mean --truncate < "$WORK/embed-$1.jsonl" > "$WORK/ours-$1.jsonl" 2> /dev/null
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
theirs() {  # workload -> seconds; vectors to $WORK/theirs-<workload>.json
  local t0 t1
  # llama-embedding takes the texts one per line, many to a batch of -b tokens: 512 was its fastest
  # here (a BERT batch attends over all its tokens under a mask, so larger batches cost more).
  python3 -c 'import json,sys; print("\n".join(json.loads(l)["text"] for l in open(sys.argv[1])))' "$WORK/embed-$1.jsonl" > "$WORK/texts-$1.txt"
  t0=$(now)
  "$LLAMA_EMBEDDING" -m "$MODEL" -t "$THREADS" -tb "$THREADS" -f "$WORK/texts-$1.txt" --pooling mean --embd-normalize 2 \
    --embd-output-format json -c 512 -b 512 -ub 512 --no-warmup > "$WORK/theirs-$1.json" 2> "$WORK/theirs-$1.log"
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

printf '| workload | records | llm-embed records/s | llama-embedding records/s | ratio | lowest cosine |\n'
printf '|---|---|---|---|---|---|\n'
for w in short long; do
  n=$(wc -l < "$WORK/embed-$w.jsonl")
  best_o=999 best_t=999
  for r in $(seq "$REPS"); do
    o=$(ours "$w"); best_o=$(echo "if ($o < $best_o) $o else $best_o" | bc -l)
    if [ -n "$LLAMA_EMBEDDING" ]; then t=$(theirs "$w"); best_t=$(echo "if ($t < $best_t) $t else $best_t" | bc -l); fi
  done
  ro=$(echo "$n / $best_o" | bc -l)
  if [ -n "$LLAMA_EMBEDDING" ]; then
    rt=$(echo "$n / $best_t" | bc -l)
    cosine=$(python3 - "$WORK/ours-$w.jsonl" "$WORK/theirs-$w.json" << 'PY'
import json, sys
ours = [json.loads(l)["embedding"] for l in open(sys.argv[1])]
theirs = [d["embedding"] for d in json.load(open(sys.argv[2]))["data"]]
def cos(a, b): return sum(x*y for x, y in zip(a, b)) / (sum(x*x for x in a) * sum(y*y for y in b)) ** 0.5
print(f"{min(cos(a, b) for a, b in zip(ours, theirs)):.6f}" if len(ours) == len(theirs) else "count differs")
PY
)
    printf '| %s | %d | %.1f | %.1f | %.2fx | %s |\n' "$w" "$n" "$ro" "$rt" "$(echo "$ro / $rt" | bc -l)" "$cosine"
  else
    printf '| %s | %d | %.1f | - | - | - |\n' "$w" "$n" "$ro"
  fi
done
echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $THREADS threads, best of $REPS, model load included)"
