#!/usr/bin/env bash
# End-to-end: llm-tokenize on the shared vocabularies.
. "$(dirname "$0")/common.bash"
need_shared
T="$BIN/llm-tokenize"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
V="$SHARED/vocab"
expect_eq "-p json" "$("$T" -m "$V/ggml-vocab-llama-spm.gguf" -p 'Hello world' | py 'r["tokens"], r["n_tokens"]')" "([1, 15043, 3186], 3)"
expect_eq "-p --ids" "$("$T" -m "$V/ggml-vocab-gpt-2.gguf" -p 'Hello world' --ids)" "15496 995"
expect_eq "--no-bos" "$("$T" -m "$V/ggml-vocab-llama-spm.gguf" -p 'Hello world' --ids --no-bos)" "15043 3186"
expect_eq "--count" "$("$T" -m "$V/ggml-vocab-bert-bge.gguf" -p 'Hello world' --count)" 4
expect_eq "--detokenize -p" "$("$T" -m "$V/ggml-vocab-llama-spm.gguf" --detokenize -p '1 15043 3186')" "Hello world"
{
  echo '{"id": "a", "text": "Hello world", "keep": [1, {"x": 2}]}'
  echo '{"id": "b", "body": "no text field"}'
  echo 'not json'
  echo '{"id": "c", "text": "<|endoftext|> hi"}'
} | "$T" -m "$V/ggml-vocab-gpt-2.gguf" --pieces --parse-special > "$WORK/out.jsonl"; rc=$?
expect_eq "records exit" "$rc" 1
expect_eq "records count" "$(py 'len(rs)' < "$WORK/out.jsonl")" 4
expect_eq "fields kept" "$(sed -n 1p "$WORK/out.jsonl" | py 'r["id"], r["keep"], r["tokens"], r["pieces"]')" "('a', [1, {'x': 2}], [15496, 995], ['Hello', 'Ġworld'])"
expect_eq "missing field" "$(sed -n 2p "$WORK/out.jsonl" | py 'r["id"], r["error"]["code"]')" "('b', 'missing_field')"
expect_eq "bad json" "$(sed -n 3p "$WORK/out.jsonl" | py 'r["error"]["code"], r["error"]["line"]')" "('bad_json', 3)"
expect_eq "parse special" "$(sed -n 4p "$WORK/out.jsonl" | py 'r["tokens"][0]')" 50256
expect_eq "--field" "$(echo '{"body": "Hello"}' | "$T" -m "$V/ggml-vocab-gpt-2.gguf" --field body | py 'r["tokens"]')" "[15496]"
expect_eq "detokenize records" "$(echo '{"id": 9, "tokens": [15496, 995]}' | "$T" -m "$V/ggml-vocab-gpt-2.gguf" --detokenize | py 'r["id"], r["text"]')" "(9, 'Hello world')"
echo '{"tokens": "nope"}' | "$T" -m "$V/ggml-vocab-gpt-2.gguf" --detokenize > "$WORK/d.jsonl"; expect_eq "bad tokens exit" $? 1
expect_eq "bad tokens record" "$(py 'r["error"]["code"]' < "$WORK/d.jsonl")" bad_record
# A GGUF without tokenizer metadata: a clear error, exit 2.
python3 -c '
import struct, sys
k, v = b"general.architecture", b"llama"
sys.stdout.buffer.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(k)) + k
                        + struct.pack("<IQ", 8, len(v)) + v)' > "$WORK/notok.gguf"
"$T" -m "$WORK/notok.gguf" -p x 2> "$WORK/err"; expect_eq "no tokenizer exit" $? 2
expect_contains "no tokenizer message" "$(cat "$WORK/err")" "has no tokenizer"
expect_eq "falcon" "$("$T" -m "$V/ggml-vocab-falcon.gguf" -p 'Hello world' --ids)" "9856 1079"
"$T" -m "$WORK/none.gguf" -p x 2> /dev/null; expect_eq "missing model exit" $? 2
"$T" -p x 2> /dev/null; expect_eq "no -m exit" $? 2
# A whole model file works too (its tokenizer is read from the header).
expect_eq "model file" "$("$T" -m "$SHARED/models/stories260K.gguf" -p 'Once upon a time' --count)" \
  "$("$T" -m "$SHARED/models/stories260K.gguf" -p 'Once upon a time' --ids | wc -w)"
# -f files (plain, zstd) in order and -o FILE (zstd), as on stdin and stdout.
if command -v zstd > /dev/null; then
  printf '%s\n' '{"id":1,"text":"Once upon a time"}' > "$WORK/t1.jsonl"
  printf '%s\n' '{"id":2,"text":"The little dog"}' | zstd -q -c > "$WORK/t2.jsonl.zst"
  "$T" -m "$SHARED/models/stories260K.gguf" -f "$WORK/t1.jsonl" -f "$WORK/t2.jsonl.zst" -o "$WORK/t.out.jsonl.zst"
  expect_eq "-f/-o exit" $? 0
  expect_eq "-f/-o records" "$(zstd -q -dc "$WORK/t.out.jsonl.zst" | py '[(x["id"], x["n_tokens"]) for x in rs]')" \
    "$(cat "$WORK/t1.jsonl" <(zstd -q -dc "$WORK/t2.jsonl.zst") | "$T" -m "$SHARED/models/stories260K.gguf" | py '[(x["id"], x["n_tokens"]) for x in rs]')"
  "$T" -m "$SHARED/models/stories260K.gguf" -f "$WORK/t1.jsonl" -o "$WORK/t1.jsonl" 2> /dev/null
  expect_eq "-o over the input: exit" $? 2
  # The record loop llm-generate has: shards, index, resume.
  python3 -c 'import json; [print(json.dumps({"id": i, "text": "Once upon a time " * (i % 5 + 1)})) for i in range(30)]' > "$WORK/t30.jsonl"
  "$T" -m "$SHARED/models/stories260K.gguf" -f "$WORK/t30.jsonl" > "$WORK/t30.all"
  for k in 0 1; do "$T" -m "$SHARED/models/stories260K.gguf" -f "$WORK/t30.jsonl" --shard "$k/2" --index -o "$WORK/t30.s$k.jsonl"; done
  "$ROOT/examples/merge-shards.sh" "$WORK/t30.merged" "$WORK/t30.s0.jsonl" "$WORK/t30.s1.jsonl"
  expect_eq "tokenize shards merged" "$(cat "$WORK/t30.merged")" "$(cat "$WORK/t30.all")"
  "$T" -m "$SHARED/models/stories260K.gguf" -f "$WORK/t30.jsonl" -o "$WORK/t30.out.jsonl"
  head -7 "$WORK/t30.out.jsonl" > "$WORK/t30.r.jsonl.partial"
  cp "$WORK/t30.out.jsonl.run.json" "$WORK/t30.r.jsonl.run.json"
  "$T" -m "$SHARED/models/stories260K.gguf" -f "$WORK/t30.jsonl" -o "$WORK/t30.r.jsonl" --resume 2> "$WORK/err"
  expect_contains "tokenize resume keeps" "$(cat "$WORK/err")" "7 records kept"
  expect_eq "tokenize resumed output" "$(cat "$WORK/t30.r.jsonl")" "$(cat "$WORK/t30.all")"
fi
finish
