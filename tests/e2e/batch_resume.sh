#!/usr/bin/env bash
# End-to-end: llm-generate -o FILE --resume. A run killed (SIGKILL) at random points and resumed
# each time ends with the output an uninterrupted run writes: no record lost, none twice, input
# order kept. A torn last line is redone; a resume with other settings or another input is
# refused; error records are kept unless --retry-errors.
. "$(dirname "$0")/common.bash"
need_shared
G="$BIN/llm-generate"
S="$SHARED/models/stories260K.gguf"
need_tools zstd
A=(--temp 0 -np 2 --ignore-eos -c 128)
python3 -c '
import json
for i in range(200):
    r = {"prompt": ["Once upon a time", "The little dog", "Lily saw"][i % 3], "max_tokens": 60 + i % 7}
    if i % 5:
        r = {"id": "d%d" % i, **r}  # every fifth record has no id: it is known by its position
    print(json.dumps(r))
' > "$WORK/in.jsonl"
key() { py 'json.dumps([(x.get("id"), x.get("output"), x.get("finish_reason")) for x in rs])'; }

"$G" -m "$S" "${A[@]}" -f "$WORK/in.jsonl" -o "$WORK/full.jsonl.zst" 2> /dev/null
zstd -q -dc "$WORK/full.jsonl.zst" | key > "$WORK/want"
expect_eq "reference run: 200 records" "$(zstd -q -dc "$WORK/full.jsonl.zst" | py 'len(rs)')" "200"

# Killed at random moments, resumed each time.
kills=0
for k in 1 2 3 4 5 6 7 8; do
  "$G" -m "$S" "${A[@]}" -f "$WORK/in.jsonl" -o "$WORK/out.jsonl.zst" --resume 2> /dev/null &
  pid=$!
  sleep "$(printf '0.%02d' $((RANDOM % 25 + 3)))"
  kill -9 "$pid" 2> /dev/null && kills=$((kills + 1))
  wait "$pid" 2> /dev/null
  [ -e "$WORK/out.jsonl.zst" ] && break
done
"$G" -m "$S" "${A[@]}" -f "$WORK/in.jsonl" -o "$WORK/out.jsonl.zst" --resume 2> "$WORK/err"; rc=$?
expect_eq "final resume exit" "$rc" 0
echo "note: $kills runs killed before the output completed"
expect_eq "killed and resumed equals uninterrupted" "$(zstd -q -dc "$WORK/out.jsonl.zst" | key)" "$(cat "$WORK/want")"
expect_eq "no partial files left" "$(ls "$WORK" | grep -c 'out.jsonl.zst.partial')" "0"

# A torn last line (a kill in the middle of a write) is dropped and redone.
"$G" -m "$S" "${A[@]}" -f "$WORK/in.jsonl" -o "$WORK/plain.jsonl" 2> /dev/null
{ head -10 "$WORK/plain.jsonl"; sed -n 11p "$WORK/plain.jsonl" | head -c 50; } > "$WORK/torn.jsonl.partial"
cp "$WORK/plain.jsonl.run.json" "$WORK/torn.jsonl.run.json"
"$G" -m "$S" "${A[@]}" -f "$WORK/in.jsonl" -o "$WORK/torn.jsonl" --resume 2> "$WORK/err"; rc=$?
expect_eq "torn resume exit" "$rc" 0
expect_contains "kept records reported" "$(cat "$WORK/err")" "10 records kept from the earlier run"
expect_eq "torn line redone" "$(key < "$WORK/torn.jsonl")" "$(cat "$WORK/want")"

# Other settings, another input, or no identity file: refused, the output untouched.
head -20 "$WORK/plain.jsonl" > "$WORK/other.jsonl.partial"
cp "$WORK/plain.jsonl.run.json" "$WORK/other.jsonl.run.json"
"$G" -m "$S" --temp 0.5 -np 2 --ignore-eos -c 128 -f "$WORK/in.jsonl" -o "$WORK/other.jsonl" --resume 2> "$WORK/err"; rc=$?
expect_eq "other settings: exit" "$rc" 2
expect_contains "other settings: what differs" "$(cat "$WORK/err")" "temp (was 0, now 0.5)"
expect_eq "other settings: output untouched" "$(wc -l < "$WORK/other.jsonl.partial")" "20"
sed 's/"id": "d1"/"id": "x1"/' "$WORK/in.jsonl" > "$WORK/in2.jsonl"
cp "$WORK/in.jsonl" "$WORK/in.orig" && cp "$WORK/in2.jsonl" "$WORK/in.jsonl"
"$G" -m "$S" "${A[@]}" -f "$WORK/in.jsonl" -o "$WORK/other.jsonl" --resume 2> "$WORK/err"; rc=$?
cp "$WORK/in.orig" "$WORK/in.jsonl"
expect_eq "other input: exit" "$rc" 2
expect_contains "other input: message" "$(cat "$WORK/err")" "the input differs"
rm "$WORK/other.jsonl.run.json"
"$G" -m "$S" "${A[@]}" -f "$WORK/in.jsonl" -o "$WORK/other.jsonl" --resume 2> "$WORK/err"; rc=$?
expect_eq "no identity file: exit" "$rc" 2
"$G" -m "$S" "${A[@]}" --resume 2> /dev/null < /dev/null; expect_eq "--resume without -o: exit" $? 2

# Error records are kept, unless --retry-errors (the input fixed in between).
printf '%s\n' '{"id":"a","prompt":"Once","max_tokens":4}' '{"id":"b","prompt":"Once","temperature":"hot"}' \
  '{"id":"c","prompt":"Lily","max_tokens":4}' > "$WORK/e.jsonl"
"$G" -m "$S" --temp 0 -f "$WORK/e.jsonl" -o "$WORK/e.out.jsonl" 2> /dev/null; expect_eq "an error record: exit 1" $? 1
sed -i 's/"temperature":"hot"/"max_tokens":4/' "$WORK/e.jsonl"
"$G" -m "$S" --temp 0 -f "$WORK/e.jsonl" -o "$WORK/e.out.jsonl" --resume 2> /dev/null; expect_eq "errors kept: exit 1" $? 1
expect_eq "errors kept" "$(py '[x.get("error", {}).get("code") for x in rs]' < "$WORK/e.out.jsonl")" "[None, 'bad_record', None]"
"$G" -m "$S" --temp 0 -f "$WORK/e.jsonl" -o "$WORK/e.out.jsonl" --resume --retry-errors 2> /dev/null; expect_eq "retried: exit 0" $? 0
expect_eq "retried in place" "$(py '[(x["id"], "error" in x) for x in rs]' < "$WORK/e.out.jsonl")" "[('a', False), ('b', False), ('c', False)]"
finish
