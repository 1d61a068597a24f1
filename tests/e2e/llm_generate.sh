#!/usr/bin/env bash
# End-to-end: llm-generate against llama.cpp's greedy continuations, --parallel, records, errors.
. "$(dirname "$0")/common.bash"
need_shared
G="$BIN/llm-generate"
S="$SHARED/models/stories260K.gguf"
GOLD="$SHARED/golden/generate/stories260K-greedy.jsonl"

# Every golden continuation, through the JSON-lines path, with 1 and 4 records at a time.
"$G" -m "$S" -n 48 --temp 0 < "$GOLD" > "$WORK/p1.jsonl" 2> "$WORK/p1.err"; rc=$?
expect_eq "golden exit" "$rc" 0
expect_eq "golden continuations" "$(py 'sum(x["output"] == x["continuation"] for x in rs), len(rs)' < "$WORK/p1.jsonl")" "(5, 5)"
expect_eq "fields kept and added" "$(py 'sorted(r.keys())' < "$WORK/p1.jsonl")" \
  "['add_bos', 'continuation', 'finish_reason', 'model', 'n_predict', 'output', 'prompt', 'sampling', 'timings', 'usage']"
expect_eq "usage" "$(py 'r["usage"], r["finish_reason"]' < "$WORK/p1.jsonl")" \
  "({'prompt_tokens': 5, 'completion_tokens': 48, 'total_tokens': 53}, 'length')"
expect_contains "aggregate on stderr" "$(cat "$WORK/p1.err")" "5 records (0 failed)"
"$G" -m "$S" -n 48 --temp 0 --parallel 4 < "$GOLD" > "$WORK/p4.jsonl"
expect_eq "--parallel 4 greedy equals --parallel 1" "$(py '[x["output"] for x in rs]' < "$WORK/p4.jsonl")" \
  "$(py '[x["output"] for x in rs]' < "$WORK/p1.jsonl")"
# Sampling draws from each record's own seeded generator: batching does not change it either.
for np in 1 3; do
  "$G" -m "$S" -n 32 --temp 0.9 --seed 7 -np $np -b 16 < "$GOLD" > "$WORK/s$np.jsonl"
done
expect_eq "--parallel 3 sampled equals --parallel 1" "$(py '[x["output"] for x in rs]' < "$WORK/s3.jsonl")" \
  "$(py '[x["output"] for x in rs]' < "$WORK/s1.jsonl")"
"$G" -m "$S" -n 32 --temp 0 < "$GOLD" > "$WORK/g0.jsonl"
expect_eq "sampling differs from greedy" "$(py '[x["output"] for x in rs]' < "$WORK/s1.jsonl" | \
  cmp -s - <(py '[x["output"] for x in rs]' < "$WORK/g0.jsonl") && echo same || echo differs)" "differs"
"$G" -m "$S" -n 32 --temp 0.9 --seed 8 < "$GOLD" > "$WORK/s8.jsonl"
expect_eq "another seed draws differently" "$(py '[x["output"] for x in rs]' < "$WORK/s8.jsonl" | \
  cmp -s - <(py '[x["output"] for x in rs]' < "$WORK/s1.jsonl") && echo same || echo differs)" "differs"
# Other KV cache types (their numerics: unit tests); Q8_0 needs heads of a multiple of 32 values.
"$G" -m "$SHARED/models/synth-llama-256.f16.gguf" -n 8 --temp 0 -ctk q8_0 -ctv q8_0 < "$GOLD" > "$WORK/q8.jsonl"; rc=$?
expect_eq "q8_0 cache" "$rc $(py 'sum(x["usage"]["completion_tokens"] for x in rs)' < "$WORK/q8.jsonl")" "0 40"
"$G" -m "$S" -n 8 --temp 0 -ctk f32 -ctv f32 < "$GOLD" > "$WORK/f32.jsonl"
expect_eq "f32 cache" "$(py 'sum(x["continuation"].startswith(x["output"]) for x in rs)' < "$WORK/f32.jsonl")" "5"
"$G" -m "$S" -p x -ctk q8_0 2> "$WORK/err"; expect_eq "q8_0 cache, head of 8: exit" $? 2
expect_contains "q8_0 cache, head of 8: message" "$(cat "$WORK/err")" "multiple of 32 (this model's is 8)"

# -p streams the text; the same continuation as the golden file.
out=$("$G" -m "$S" -p "Once upon a time" -n 48 --temp 0 2> "$WORK/err"); rc=$?
expect_eq "-p exit" "$rc" 0
expect_eq "-p text" "$out" "$(head -1 "$GOLD" | py 'r["continuation"]')"
expect_contains "-p timings on stderr" "$(cat "$WORK/err")" "generated 48 tokens"
expect_eq "-p --json" "$("$G" -m "$S" -p "Once upon a time" -n 4 --temp 0 --json | py 'r["usage"]["completion_tokens"], r["finish_reason"]')" "(4, 'length')"

# Per-record overrides, stop strings, templates, order, bad records.
printf '%s\n' \
  '{"id":1,"prompt":"Once upon a time","max_tokens":3}' \
  'not json' \
  '{"id":3,"nothing":"here"}' \
  '{"id":4,"prompt":"Once upon a time","stop":["Lily"]}' \
  '{"id":5,"text":"The little dog","max_tokens":5}' \
  '{"id":6,"prompt":"Once upon a time","temperature":"hot"}' \
  '{"id":7,"messages":[{"role":"user","content":"Hi"}],"max_tokens":2}' \
  '{"id":8,"messages":[{"role":"robot","content":"Hi"}]}' \
  '{"id":9,"messages":[{"content":"Hi"}]}' \
  | "$G" -m "$S" -n 48 --temp 0 -np 3 --chat-template chatml > "$WORK/r.jsonl" 2> /dev/null; rc=$?
expect_eq "failed records: exit 1" "$rc" 1
expect_eq "one output per input, in order" "$(py '[x.get("id") for x in rs]' < "$WORK/r.jsonl")" "[1, None, 3, 4, 5, 6, 7, 8, 9]"
expect_eq "max_tokens override" "$(py 'rs[0]["usage"]["completion_tokens"], rs[0]["finish_reason"]' < "$WORK/r.jsonl")" "(3, 'length')"
expect_eq "bad json" "$(py 'rs[1]["error"]["code"], rs[1]["error"]["line"], rs[1]["finish_reason"]' < "$WORK/r.jsonl")" "('bad_json', 2, 'error')"
expect_eq "missing prompt" "$(py 'rs[2]["error"]["code"]' < "$WORK/r.jsonl")" "missing_field"
expect_eq "stop string" "$(py 'rs[3]["output"], rs[3]["finish_reason"]' < "$WORK/r.jsonl")" "(', there was a little girl named ', 'stop')"
expect_eq "no template: missing field" "$(py 'rs[4]["error"]["code"]' < "$WORK/r.jsonl")" "missing_field"
expect_eq "bad override" "$(py 'rs[5]["error"]["code"]' < "$WORK/r.jsonl")" "bad_record"
expect_eq "messages" "$(py 'rs[6]["usage"]["completion_tokens"]' < "$WORK/r.jsonl")" "2"
expect_eq "a role the template rejects" "$(py 'rs[7]["error"]["code"]' < "$WORK/r.jsonl")" "chat_template"
expect_eq "a message without a role" "$(py 'rs[8]["error"]["code"]' < "$WORK/r.jsonl")" "bad_messages"

# --template fills fields by name; escapes are read.
echo '{"id":"a","who":"dog","n":2}' | "$G" -m "$S" -n 4 --temp 0 --template 'The little {who}' > "$WORK/t.jsonl"
expect_eq "template" "$(py 'r["id"], r["usage"]["prompt_tokens"]' < "$WORK/t.jsonl")" "('a', 5)"
expect_eq "template output equals prompt" "$(py 'r["output"]' < "$WORK/t.jsonl")" \
  "$(echo '{"prompt":"The little dog"}' | "$G" -m "$S" -n 4 --temp 0 | py 'r["output"]')"

# Over-long prompts: an error record, or cut from the left with --truncate.
long=$(python3 -c 'print("{\"prompt\": \"" + "the dog ran. " * 60 + "\"}")')
echo "$long" | "$G" -m "$S" -c 64 -n 4 --temp 0 > "$WORK/l.jsonl"; rc=$?
expect_eq "too long: exit 1" "$rc" 1
expect_eq "too long: record" "$(py 'r["error"]["code"]' < "$WORK/l.jsonl")" "prompt_too_long"
echo "$long" | "$G" -m "$S" -c 64 -n 4 --temp 0 --truncate > "$WORK/l.jsonl"; rc=$?
expect_eq "--truncate: exit 0" "$rc" 0
expect_eq "--truncate: fits" "$(py 'r["usage"]["prompt_tokens"] <= 60, r["usage"]["prompt_tokens_dropped"] > 100, r["usage"]["completion_tokens"]' < "$WORK/l.jsonl")" "(True, True, 4)"
# Generation stops when the context is full (the last token drawn needs no place in it).
echo '{"prompt":"Once upon a time"}' | "$G" -m "$S" -c 16 --temp 0 > "$WORK/c.jsonl"
expect_eq "full context" "$(py 'r["usage"]["total_tokens"], r["finish_reason"]' < "$WORK/c.jsonl")" "(17, 'length')"

# Ctrl-C: finished records are written, then exit 130. A second record that would run for long
# (a huge context) is cut short.
mkfifo "$WORK/in"
"$G" -m "$S" -c 60000 --temp 0 < "$WORK/in" > "$WORK/i.jsonl" 2> /dev/null &
gen_pid=$!
exec 3> "$WORK/in"
echo '{"id":1,"prompt":"Once","max_tokens":2}' >&3
echo '{"id":2,"prompt":"Once"}' >&3
sleep 2
kill -INT "$gen_pid"
wait "$gen_pid"; rc=$?
exec 3>&-
expect_eq "SIGINT exit" "$rc" 130
expect_eq "SIGINT: finished record written" "$(py '[x["id"] for x in rs]' < "$WORK/i.jsonl")" "[1]"

# Usage errors.
"$G" -m "$WORK/none.gguf" -p x 2> /dev/null; expect_eq "missing model exit" $? 2
"$G" -m "$S" -p x --chat-template nosuch 2> "$WORK/err"; expect_eq "unknown chat template exit" $? 2
expect_contains "unknown chat template message" "$(cat "$WORK/err")" "nosuch"
"$G" -m "$S" -p x -ctk q4_0 2> "$WORK/err"; expect_eq "bad cache type exit" $? 2
"$G" -m "$SHARED/models/synth-bert-256.f16.gguf" -p x 2> "$WORK/err"; expect_eq "bert exit" $? 2
finish
