#!/usr/bin/env bash
# End-to-end: --shard K/N splits the input the same way on every run (xxHash of the ids), --index
# lets examples/merge-shards.sh put the shards back in input order, and the GNU parallel example
# (examples/batch-gnu-parallel.sh) gives what one process gives, also when it is killed midway and
# run again (each shard resumes).
. "$(dirname "$0")/common.bash"
need_shared
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
G="$BIN/llm-generate"
S="$SHARED/models/stories260K.gguf"
need_tools parallel zstd jq
python3 -c '
import json
for i in range(40):
    r = {"prompt": ["Once upon a time", "The little dog", "Lily saw"][i % 3], "max_tokens": 12 + i % 5}
    if i % 7:
        r = {"id": "doc-%d" % i, **r}
    print(json.dumps(r))
' > "$WORK/in.jsonl"
A=(--temp 0 -t 1)
key() { py 'json.dumps([(x.get("id"), x.get("output")) for x in rs])'; }
"$G" -m "$S" "${A[@]}" -f "$WORK/in.jsonl" 2> /dev/null | key > "$WORK/want"

# Three shards by hand: disjoint, complete, the same split every time.
for k in 0 1 2; do
  "$G" -m "$S" "${A[@]}" -f "$WORK/in.jsonl" --shard "$k/3" --index -o "$WORK/s$k.jsonl" 2> /dev/null
done
expect_eq "shards cover the input once" "$(cat "$WORK"/s?.jsonl | py 'sorted(x["index"] for x in rs) == list(range(40))')" "True"
expect_eq "no shard is empty" "$(for k in 0 1 2; do [ -s "$WORK/s$k.jsonl" ] && echo y; done | wc -l)" "3"
"$G" -m "$S" "${A[@]}" -f "$WORK/in.jsonl" --shard 1/3 --index 2> /dev/null > "$WORK/again"
expect_eq "the split is stable" "$(py '[x["index"] for x in rs]' < "$WORK/again")" "$(py '[x["index"] for x in rs]' < "$WORK/s1.jsonl")"
"$ROOT/examples/merge-shards.sh" "$WORK/merged.jsonl" "$WORK/s2.jsonl" "$WORK/s0.jsonl" "$WORK/s1.jsonl"
expect_eq "merged shards equal one process" "$(key < "$WORK/merged.jsonl")" "$(cat "$WORK/want")"
expect_eq "merge drops the index" "$(py 'any("index" in x for x in rs)' < "$WORK/merged.jsonl")" "False"
"$G" -m "$S" -p x --shard 2/2 2> /dev/null; expect_eq "bad shard exit" $? 2

# GNU parallel: two jobs; killed midway and run again.
BIN="$BIN" "$ROOT/examples/batch-gnu-parallel.sh" "$S" "$WORK/in.jsonl" "$WORK/p.jsonl" 2 "${A[@]}" 2> /dev/null; rc=$?
expect_eq "GNU parallel example exit" "$rc" 0
expect_eq "GNU parallel equals one process" "$(key < "$WORK/p.jsonl")" "$(cat "$WORK/want")"
python3 -c '
import json
for i in range(300):
    print(json.dumps({"id": "k%d" % i, "prompt": "Once upon a time", "max_tokens": 48}))
' > "$WORK/big.jsonl"
"$G" -m "$S" "${A[@]}" -f "$WORK/big.jsonl" 2> /dev/null | key > "$WORK/want_big"
setsid env BIN="$BIN" "$ROOT/examples/batch-gnu-parallel.sh" "$S" "$WORK/big.jsonl" "$WORK/k.jsonl" 2 "${A[@]}" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do
  n=0
  for f in "$WORK"/k.jsonl.shard*.partial; do [ -f "$f" ] && n=$((n + $(zstd -q -dc "$f" 2> /dev/null | wc -l))); done
  [ "$n" -ge 10 ] && break
  sleep 0.05
done
# GNU parallel runs each job in its own process group: kill the jobs as well as the script.
kill -9 -- -"$pid" 2> /dev/null
pkill -9 -f "$WORK/k.jsonl.shard" 2> /dev/null
wait "$pid" 2> /dev/null
while pgrep -f "$WORK/k.jsonl.shard" > /dev/null; do sleep 0.05; done
expect_eq "killed midway: no merged output" "$([ -e "$WORK/k.jsonl" ] && echo yes || echo no)" "no"
BIN="$BIN" "$ROOT/examples/batch-gnu-parallel.sh" "$S" "$WORK/big.jsonl" "$WORK/k.jsonl" 2 "${A[@]}" 2> "$WORK/err"; rc=$?
expect_eq "run again: exit" "$rc" 0
expect_contains "run again: shards resumed" "$(cat "$WORK/err")" "kept from the earlier run"
expect_eq "run again equals one process" "$(key < "$WORK/k.jsonl")" "$(cat "$WORK/want_big")"
finish
