#!/usr/bin/env bash
# End-to-end: llm-generate renders chat prompts with the model's own Jinja template (SmolLM2's,
# when `make models` has fetched it), --chat-template-file, named formats and the ChatML fallback;
# --dry-run shows the rendered prompt and its token count without generating; a template that
# raises fails its record only; a template's {{ bos_token }} is not doubled by the tokenizer's BOS.
. "$(dirname "$0")/common.bash"
need_shared
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
G="$BIN/llm-generate"
T="$BIN/llm-tokenize"
S="$SHARED/models/stories260K.gguf"  # a llama model without a chat template; its tokenizer adds BOS

# No template in the model: ChatML, with a warning.
echo '{"id":1,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}' |
  "$G" -m "$S" --dry-run > "$WORK/d.jsonl" 2> "$WORK/err"; rc=$?
expect_eq "dry run exit" "$rc" 0
expect_eq "ChatML fallback" "$(py 'r["prompt"]' < "$WORK/d.jsonl")" \
  "$(printf '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n')"
expect_eq "dry run keeps the record" "$(py 'r["id"], len(r["messages"])' < "$WORK/d.jsonl")" "(1, 2)"
expect_contains "fallback warning" "$(cat "$WORK/err")" "no chat template; chat prompts use ChatML"
n_tok=$(py 'r["prompt_tokens"]' < "$WORK/d.jsonl")
want=$(py 'r["prompt"]' < "$WORK/d.jsonl" | python3 -c 'import json,sys; print(json.dumps({"text": sys.stdin.read()[:-1]}))' |
  "$T" -m "$S" --parse-special --ids --count 2> /dev/null)
expect_eq "prompt_tokens counts the rendered prompt's tokens" "$n_tok" "$want"

# A template file; every field of the record's messages and its "tools" reach the template.
cat > "$WORK/t.jinja" << 'J'
{%- for m in messages %}[{{ m.role|upper }}{% if m.name is defined %}:{{ m.name }}{% endif %}] {{ m.content|trim }}
{% endfor %}
{%- if tools %}tools={{ tools|map(attribute='name')|join(',') }}
{% endif %}
{%- if add_generation_prompt %}[ASSISTANT]{% endif %}
J
echo '{"messages":[{"role":"user","name":"ann","content":"  hello  "}],"tools":[{"name":"search"},{"name":"calc"}]}' |
  "$G" -m "$S" --dry-run --chat-template-file "$WORK/t.jinja" > "$WORK/f.jsonl" 2> /dev/null
expect_eq "template file" "$(py 'r["prompt"]' < "$WORK/f.jsonl")" "$(printf '[USER:ann] hello\ntools=search,calc\n[ASSISTANT]')"

# -p with --chat and --system, and --dry-run: the prompt text itself on stdout.
"$G" -m "$S" --dry-run --chat-template-file "$WORK/t.jinja" --system "Be kind." -p 'Hi\tthere' > "$WORK/p.txt" 2> /dev/null
expect_eq "-p dry run" "$(cat "$WORK/p.txt")" "$(printf '[SYSTEM] Be kind.\n[USER] Hi\tthere\n[ASSISTANT]')"
"$G" -m "$S" --dry-run --json --chat-template chatml --chat -p 'Hi' > "$WORK/p.json" 2> /dev/null
expect_eq "-p --json dry run" "$(py 'r["prompt"]' < "$WORK/p.json")" "$(printf '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n')"

# A template that raises fails that record only (the error names the template line), and the
# run goes on; a record that is not messages is left alone.
cat > "$WORK/strict.jinja" << 'J'
{%- for m in messages %}
{%- if m.role not in ['user', 'assistant'] %}
{{- raise_exception('Only user and assistant roles are supported') }}
{%- endif %}
{{- m.role ~ ': ' ~ m.content ~ '\n' }}
{%- endfor %}
J
printf '%s\n' '{"id":"a","messages":[{"role":"system","content":"x"},{"role":"user","content":"y"}]}' \
  '{"id":"b","messages":[{"role":"user","content":"y"}]}' '{"id":"c","messages":"not a list"}' |
  "$G" -m "$S" --dry-run --chat-template-file "$WORK/strict.jinja" > "$WORK/e.jsonl" 2> /dev/null; rc=$?
expect_eq "some records failed: exit 1" "$rc" 1
expect_eq "error records in order" "$(py '[(x["id"], x.get("error", {}).get("code")) for x in rs]' < "$WORK/e.jsonl")" \
  "[('a', 'chat_template'), ('b', None), ('c', 'bad_messages')]"
expect_contains "error names the line" "$(py 'rs[0]["error"]["message"]' < "$WORK/e.jsonl")" "line 3, column"
expect_contains "error gives the template's message" "$(py 'rs[0]["error"]["message"]' < "$WORK/e.jsonl")" "Only user and assistant"
expect_eq "the good record rendered" "$(py 'rs[1]["prompt"]' < "$WORK/e.jsonl")" "$(printf 'user: y\n')"

# A template file that does not parse is a usage error naming the line and column.
printf 'ok\n%s\n{{ 1 + }}\n' '{% if x %}' > "$WORK/bad.jinja"
"$G" -m "$S" --dry-run --chat-template-file "$WORK/bad.jinja" -p x 2> "$WORK/err"; rc=$?
expect_eq "bad template file exit" "$rc" 2
expect_contains "bad template file message" "$(cat "$WORK/err")" "line 3, column"

# {{ bos_token }} in the template and the tokenizer's BOS: one BOS in the tokens.
echo '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}' > "$WORK/bos.jinja"
echo '{% for m in messages %}{{ m.content }}{% endfor %}' > "$WORK/nobos.jinja"
echo '{"messages":[{"role":"user","content":"Once upon a time"}]}' > "$WORK/m.jsonl"
with=$("$G" -m "$S" --dry-run --chat-template-file "$WORK/bos.jinja" < "$WORK/m.jsonl" 2> /dev/null | py 'r["prompt_tokens"]')
without=$("$G" -m "$S" --dry-run --chat-template-file "$WORK/nobos.jinja" < "$WORK/m.jsonl" 2> /dev/null | py 'r["prompt_tokens"]')
expect_eq "template BOS not doubled" "$with" "$without"
expect_eq "template BOS still in the rendered text" \
  "$("$G" -m "$S" --dry-run --chat-template-file "$WORK/bos.jinja" < "$WORK/m.jsonl" 2> /dev/null | py 'r["prompt"]')" "<s>Once upon a time"

# Template variables: --chat-template-kwargs (llama.cpp's flag), a record's own
# "chat_template_kwargs" over it; Qwen3's real template and its enable_thinking switch.
Q="$SHARED/templates/Qwen-Qwen3-0.6B.jinja"
if [ -f "$Q" ]; then
  printf '%s\n' '{"messages":[{"role":"user","content":"Hi"}]}' \
    '{"messages":[{"role":"user","content":"Hi"}],"chat_template_kwargs":{"enable_thinking":true}}' |
    "$G" -m "$S" --dry-run --jinja --chat-template-file "$Q" --chat-template-kwargs '{"enable_thinking": false}' > "$WORK/q.jsonl" 2> /dev/null
  expect_eq "enable_thinking false (flag)" "$(py 'rs[0]["prompt"]' < "$WORK/q.jsonl")" \
    "$(printf '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n')"
  expect_eq "enable_thinking true (record)" "$(py 'rs[1]["prompt"]' < "$WORK/q.jsonl")" \
    "$(printf '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n')"
fi
echo '{"messages":[{"role":"user","content":"Hi"}],"chat_template_kwargs":{"messages":1}}' |
  "$G" -m "$S" --dry-run > "$WORK/k.jsonl" 2> /dev/null
expect_eq "a variable may not replace messages" "$(py 'r["error"]["code"]' < "$WORK/k.jsonl")" "bad_record"
"$G" -m "$S" --dry-run -p x --chat-template-kwargs '[1]' 2> "$WORK/err"; rc=$?
expect_eq "--chat-template-kwargs not an object: exit" "$rc" 2

# The real instruction model: its own template (with SmolLM2's default system prompt), and
# --system replacing that default; generation uses the same prompt the dry run shows.
MODEL="$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -f "$MODEL" ]; then
  echo '{"messages":[{"role":"user","content":"Hi"}]}' | "$G" -m "$MODEL" --dry-run > "$WORK/s.jsonl" 2> "$WORK/err"
  expect_eq "SmolLM2's own template" "$(py 'r["prompt"]' < "$WORK/s.jsonl")" \
    "$(printf '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n')"
  expect_eq "no fallback warning for a model with a template" "$(cat "$WORK/err")" ""
  n_dry=$(py 'r["prompt_tokens"]' < "$WORK/s.jsonl")
  n_gen=$(echo '{"messages":[{"role":"user","content":"Hi"}]}' | "$G" -m "$MODEL" -n 1 --temp 0 2> /dev/null | py 'r["usage"]["prompt_tokens"]')
  expect_eq "generation's prompt is the dry run's" "$n_gen" "$n_dry"
  "$G" -m "$MODEL" --dry-run --system "Answer in French." -p "Hi" > "$WORK/sys.txt" 2> /dev/null
  expect_contains "--system replaces the default" "$(head -2 "$WORK/sys.txt")" "Answer in French."
else
  echo "note: $MODEL not found (make models); SmolLM2 checks skipped"
fi
finish
