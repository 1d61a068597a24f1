#!/usr/bin/env bash
# End-to-end: llm-generate reads records from -f files (in order, plain or zstd) and writes them
# to -o FILE (zstd when it ends in .zst) exactly as it writes them to stdout; the output appears
# under its name only when the run completes (FILE.partial until then, whole records); --progress
# reports on stderr; -o never names an input.
. "$(dirname "$0")/common.bash"
need_shared
G="$BIN/llm-generate"
S="$SHARED/models/stories260K.gguf"
need_tools zstd
python3 -c '
import json
for i in range(6):
    print(json.dumps({"id": "r%d" % i, "prompt": ["Once upon a time", "The little dog", "Lily saw"][i % 3], "max_tokens": 6 + i}))
' > "$WORK/all.jsonl"
head -3 "$WORK/all.jsonl" > "$WORK/a.jsonl"
tail -3 "$WORK/all.jsonl" | zstd -q -c > "$WORK/b.jsonl.zst"
strip() { py 'json.dumps([(x["id"], x.get("output"), x.get("finish_reason")) for x in rs])'; }

"$G" -m "$S" --temp 0 -np 2 < "$WORK/all.jsonl" 2> /dev/null | strip > "$WORK/want"
"$G" -m "$S" --temp 0 -np 2 -f "$WORK/a.jsonl" -f "$WORK/b.jsonl.zst" -o "$WORK/out.jsonl.zst" --progress 2> "$WORK/err"; rc=$?
expect_eq "files run exit" "$rc" 0
expect_eq "no partial file left" "$(ls "$WORK" | grep -c partial)" "0"
expect_eq "zstd output equals the stdout run" "$(zstd -q -dc "$WORK/out.jsonl.zst" | strip)" "$(cat "$WORK/want")"
expect_eq "nothing on stdout with -o" "$("$G" -m "$S" --temp 0 -f "$WORK/a.jsonl" -o "$WORK/out.jsonl" 2> /dev/null | wc -c)" "0"
expect_eq "plain output" "$(strip < "$WORK/out.jsonl")" "$(head -c 10000 "$WORK/want" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[:3]))')"
expect_contains "progress with the total" "$(cat "$WORK/err")" "6/6 records, 0 failed"

# A full disk (the output file is /dev/full): the run stops, non-zero, saying how many records
# were written.
ln -s /dev/full "$WORK/full.jsonl.partial"
"$G" -m "$S" --temp 0 -n 4 -f "$WORK/a.jsonl" -o "$WORK/full.jsonl" 2> "$WORK/err"; rc=$?
expect_eq "full disk: exit" "$rc" 1
expect_contains "full disk: message" "$(cat "$WORK/err")" "No space left on device (0 records written)"

# Usage errors: -o over an input, an unreadable input, -f with -p.
"$G" -m "$S" -f "$WORK/a.jsonl" -o "$WORK/a.jsonl" 2> "$WORK/err"; rc=$?
expect_eq "output over input exit" "$rc" 2
expect_contains "output over input message" "$(cat "$WORK/err")" "refusing to write over the input file"
expect_eq "the input is intact" "$(wc -l < "$WORK/a.jsonl")" "3"
"$G" -m "$S" -f "$WORK/none.jsonl" 2> "$WORK/err"; rc=$?
expect_eq "missing input exit" "$rc" 2
expect_contains "missing input message" "$(cat "$WORK/err")" "none.jsonl"
"$G" -m "$S" -p x -f "$WORK/a.jsonl" 2> /dev/null; expect_eq "-p with -f exit" $? 2

# A corrupt compressed input stops the run naming the file.
head -c 20 "$WORK/b.jsonl.zst" > "$WORK/cut.jsonl.zst"
"$G" -m "$S" --temp 0 -f "$WORK/a.jsonl" -f "$WORK/cut.jsonl.zst" > "$WORK/c.jsonl" 2> "$WORK/err"; rc=$?
expect_eq "corrupt input exit" "$rc" 2
expect_contains "corrupt input names the file" "$(cat "$WORK/err")" "cut.jsonl.zst"
expect_eq "records before the corrupt file written" "$(py 'len(rs)' < "$WORK/c.jsonl")" "3"

# Shared-prefix reuse: records under one long instruction take its keys and values from the
# record before (or beside) them; the outputs equal those computed in full, for 1 and 3 slots.
python3 -c '
import json
instr = "Once upon a time there was a little girl named Lily who loved to play in the park with her dog. " * 3
for i in range(12):
    print(json.dumps({"id": i, "instr": instr, "text": ["She saw a bird.", "The sun was hot and the sky was blue.", "Tom came"][i % 3] * (1 + i % 4)}))
' > "$WORK/pre.jsonl"
for np in 1 3; do
  "$G" -m "$S" --temp 0 -n 12 -np "$np" --template '{instr}{text}' < "$WORK/pre.jsonl" > "$WORK/pc.jsonl" 2> "$WORK/pc.err"
  "$G" -m "$S" --temp 0 -n 12 -np "$np" --template '{instr}{text}' --no-prefix-cache < "$WORK/pre.jsonl" > "$WORK/nc.jsonl" 2> "$WORK/nc.err"
  expect_contains "prefix reused (-np $np)" "$(cat "$WORK/pc.err")" "of them from shared prefixes"
  expect_eq "no reuse with --no-prefix-cache (-np $np)" "$(grep -c 'shared prefixes' "$WORK/nc.err")" "0"
  expect_eq "prefix reuse changes no output (-np $np)" "$(strip < "$WORK/pc.jsonl")" "$(strip < "$WORK/nc.jsonl")"
done

# Interrupted: FILE.partial holds whole records, which decode, and FILE does not exist.
python3 -c '
import json
for i in range(400):
    print(json.dumps({"id": i, "prompt": "Once upon a time", "max_tokens": 64}))
' > "$WORK/many.jsonl"
"$G" -m "$S" --temp 0 -f "$WORK/many.jsonl" -o "$WORK/int.jsonl.zst" 2> /dev/null &
pid=$!
for _ in $(seq 100); do
  [ -s "$WORK/int.jsonl.zst.partial" ] && [ "$(zstd -q -dc "$WORK/int.jsonl.zst.partial" 2> /dev/null | wc -l)" -ge 3 ] && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"; rc=$?
expect_eq "interrupted exit" "$rc" 130
expect_eq "no complete file after an interruption" "$([ -e "$WORK/int.jsonl.zst" ] && echo yes || echo no)" "no"
n=$(zstd -q -dc "$WORK/int.jsonl.zst.partial" 2> /dev/null | py 'len(rs)')
expect_eq "the partial file decodes to whole records" "$([ "$n" -ge 3 ] && [ "$n" -lt 400 ] && echo ok || echo "$n")" "ok"
finish
