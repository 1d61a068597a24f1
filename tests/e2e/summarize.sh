#!/usr/bin/env bash
# End-to-end: the README's first command (`make demo`) on the real default model, when
# `make models` has fetched it: one summary record per bundled document, and --parallel 4 gives
# the same greedy summaries as --parallel 1.
. "$(dirname "$0")/common.bash"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MODEL="$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -f "$MODEL" ]; then
  echo "SKIP: $MODEL not found (make models)"
  exit 77
fi
BIN="$BIN" "$ROOT/examples/summarize.sh" > "$WORK/s.jsonl" 2> "$WORK/err"; rc=$?
expect_eq "demo exit" "$rc" 0
expect_eq "one record per document, in order" "$(py '[x["id"] for x in rs]' < "$WORK/s.jsonl")" \
  "['bakery.txt', 'bike-lanes.txt', 'library-hours.txt', 'river-cleanup.txt', 'solar-panels.txt']"
expect_eq "summaries written" "$(py 'all(len(x["summary"]) > 40 for x in rs)' < "$WORK/s.jsonl")" "True"
expect_contains "aggregate speed on stderr" "$(cat "$WORK/err")" "5 records (0 failed)"
expect_contains "tokens/s is the closing line" "$(tail -1 "$WORK/err")" "generated tok/s"
expect_eq "every summary finished (none cut at -n)" "$(py '[x["finish_reason"] for x in rs]' < "$WORK/s.jsonl")" \
  "['stop', 'stop', 'stop', 'stop', 'stop']"
expect_contains "a summary mentions its subject" "$(py 'rs[4]["summary"]' < "$WORK/s.jsonl")" "solar panels"
# The instruction model answers a chat question correctly, greedily (llama.cpp's llama-completion
# gives the same text for this prompt).
out=$("$BIN/llm-generate" -m "$MODEL" --system "You are a helpful assistant." -p "What is the capital of France?" -n 24 --temp 0 2> /dev/null)
expect_contains "chat answer" "$out" "Paris"
# --parallel 4 and --parallel 1 agree on a real model too.
python3 -c '
import json
for i, t in enumerate(["a cat", "the sea", "a city at night", "winter", "a robot"]):
    print(json.dumps({"id": i, "messages": [{"role": "user", "content": "Write one sentence about " + t + "."}]}))
' > "$WORK/in.jsonl"
"$BIN/llm-generate" -m "$MODEL" -n 32 --temp 0 -np 4 < "$WORK/in.jsonl" 2> /dev/null | py '[x["output"] for x in rs]' > "$WORK/p4"
"$BIN/llm-generate" -m "$MODEL" -n 32 --temp 0 -np 1 < "$WORK/in.jsonl" 2> /dev/null | py '[x["output"] for x in rs]' > "$WORK/p1"
expect_eq "--parallel 4 equals --parallel 1 (SmolLM2)" "$(cat "$WORK/p4")" "$(cat "$WORK/p1")"
finish
