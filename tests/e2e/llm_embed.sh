#!/usr/bin/env bash
# End-to-end: llm-embed on the shared BERT encoder and the stories260K decoder.
. "$(dirname "$0")/common.bash"
need_shared
E="$BIN/llm-embed"
BERT="$SHARED/models/synth-bert-256.f16.gguf"
LLAMA="$SHARED/models/stories260K.gguf"
GOLD="$SHARED/golden/embed/embeddings.jsonl"

# -p: one record, 256 values, unit length, the model's pooling (mean) by default.
expect_eq "-p record" "$("$E" -m "$BERT" -p 'hello world' | py 'r["text"], len(r["embedding"]), r["n_tokens"], round(sum(x*x for x in r["embedding"]), 5)')" \
  "('hello world', 256, 4, 1.0)"

# The golden records piped through as they are (their pooling per record group): cosine to llama.cpp's.
cos='lambda a, b: sum(x*y for x, y in zip(a, b)) / (sum(x*x for x in a) * sum(y*y for y in b)) ** 0.5'
for m in synth-bert-256.f16.gguf stories260K.gguf; do
  for pool in mean cls last; do
    grep "\"$m\"" "$GOLD" | grep "\"pooling\": \"$pool\"" > "$WORK/g.jsonl" || true
    [ -s "$WORK/g.jsonl" ] || continue
    "$E" -m "$SHARED/models/$m" --pooling "$pool" --output-field ours < "$WORK/g.jsonl" > "$WORK/o.jsonl"
    expect_eq "$m $pool exit" $? 0
    expect_eq "$m $pool cosine" "$(py "min(($cos)(r['ours'], r['embedding']) for r in rs) >= 0.99999, len(rs)" < "$WORK/o.jsonl")" "(True, 6)"
  done
done

# Records: fields kept, errors per record, exit 1, order kept.
{
  echo '{"id": "a", "text": "hello world", "meta": {"k": [1, 2]}}'
  echo '{"id": "b", "body": "no text"}'
  echo 'not json'
  echo '{"id": "c", "text": "second record"}'
} | "$E" -m "$BERT" > "$WORK/r.jsonl"; rc=$?
expect_eq "records exit" "$rc" 1
expect_eq "records ids" "$(py '[x.get("id") for x in rs]' < "$WORK/r.jsonl")" "['a', 'b', None, 'c']"
expect_eq "fields kept" "$(sed -n 1p "$WORK/r.jsonl" | py 'r["meta"], len(r["embedding"])')" "({'k': [1, 2]}, 256)"
expect_eq "missing field" "$(sed -n 2p "$WORK/r.jsonl" | py 'r["error"]["code"]')" missing_field
expect_eq "bad json" "$(sed -n 3p "$WORK/r.jsonl" | py 'r["error"]["code"], r["error"]["line"]')" "('bad_json', 3)"
# A record embeds the same alone and among others.
expect_eq "batch = alone" "$(sed -n 4p "$WORK/r.jsonl" | py 'r["embedding"]')" "$("$E" -m "$BERT" -p 'second record' | py 'r["embedding"]')"

# --field, --normalize none, --pooling none (one vector per token).
expect_eq "--field" "$(echo '{"body": "hello world"}' | "$E" -m "$BERT" --field body | py 'len(r["embedding"])')" 256
expect_eq "--normalize none" "$("$E" -m "$BERT" -p 'hello world' --normalize none | py 'round(sum(x*x for x in r["embedding"]), 3) != 1.0')" True
expect_eq "--pooling none" "$("$E" -m "$BERT" -p 'hello world' --pooling none | py '(len(r["embedding"]), len(r["embedding"][0]), r["n_tokens"])')" "(4, 256, 4)"

# Over-long input: an error record, or --truncate (the closing [SEP] kept).
long=$(python3 -c 'print(" ".join(["word"] * 700))')
echo "{\"text\": \"$long\"}" | "$E" -m "$BERT" > "$WORK/l.jsonl"; expect_eq "too long exit" $? 1
expect_eq "too long record" "$(py 'r["error"]["code"]' < "$WORK/l.jsonl")" too_long
expect_eq "--truncate" "$(echo "{\"text\": \"$long\"}" | "$E" -m "$BERT" --truncate | py 'r["n_tokens"], r["truncated"], len(r["embedding"])')" "(512, True, 256)"
expect_eq "-c limits decoders" "$(echo "{\"text\": \"$long\"}" | "$E" -m "$LLAMA" -c 64 --truncate | py 'r["n_tokens"], r["truncated"]')" "(64, True)"

# --format f32: rows of float32, one per record (NaN for a failed one), the dimension on stderr.
printf '{"text":"hello world"}\n{"x":1}\n{"text":"another"}\n' | "$E" -m "$BERT" --format f32 > "$WORK/v.f32" 2> "$WORK/v.err"
expect_eq "f32 exit" $? 1
expect_eq "f32 bytes" "$(stat -c %s "$WORK/v.f32")" $((3 * 256 * 4))
expect_contains "f32 dimension" "$(cat "$WORK/v.err")" "dimension 256"
expect_contains "f32 error on stderr" "$(cat "$WORK/v.err")" "missing_field"
expect_eq "f32 rows" "$(python3 -c '
import struct, sys, math
d = open(sys.argv[1], "rb").read(); v = struct.unpack("<%df" % (len(d) // 4), d)
rows = [v[i*256:(i+1)*256] for i in range(3)]
print(round(sum(x*x for x in rows[0]), 5), all(math.isnan(x) for x in rows[1]), round(sum(x*x for x in rows[2]), 5))' "$WORK/v.f32")" "1.0 True 1.0"
expect_eq "f32 = jsonl" "$(python3 -c '
import json, struct, sys; d = open(sys.argv[1], "rb").read(); j = json.loads(sys.argv[2])["embedding"]
print(struct.unpack("<256f", d[:1024]) == struct.unpack("<256f", struct.pack("<256f", *j)))' \
  "$WORK/v.f32" "$("$E" -m "$BERT" -p 'hello world')")" True

# Decoder models embed too, and the pipe after llm-generate works.
expect_eq "decoder default pooling" "$("$E" -m "$LLAMA" -p 'Once upon a time' | py 'len(r["embedding"])')" 64
printf '{"id": 1, "prompt": "Once upon a time"}\n{"id": 2, "prompt": "The cat"}\n' |
  "$BIN/llm-generate" -m "$LLAMA" -n 8 --temp 0 | "$E" -m "$BERT" --field output > "$WORK/p.jsonl"
expect_eq "generate | embed" "$(py '[(x["id"], "output" in x, len(x["embedding"])) for x in rs]' < "$WORK/p.jsonl")" "[(1, True, 256), (2, True, 256)]"

# Usage and input-file errors: exit 2 with a message.
"$E" -m "$BERT" -p x --format f32 --pooling none > /dev/null 2> "$WORK/e"; expect_eq "f32 + none exit" $? 2
"$E" -m "$WORK/missing.gguf" -p x 2> "$WORK/e"; expect_eq "missing model exit" $? 2
"$E" -p x 2> /dev/null; expect_eq "no -m exit" $? 2
"$E" -m "$BERT" -p x --pooling max 2> /dev/null; expect_eq "bad pooling exit" $? 2
"$BIN/llm-generate" -m "$BERT" -p hi 2> "$WORK/e"; expect_eq "generate with an encoder" $? 2
expect_contains "encoder message" "$(cat "$WORK/e")" "is an encoder"
# -f files and -o FILE (zstd) give what stdin and stdout give.
if command -v zstd > /dev/null; then
  printf '%s\n' '{"id":1,"text":"hello world"}' '{"id":2,"text":"the cat"}' > "$WORK/f1.jsonl"
  printf '%s\n' '{"id":3,"text":"a dog"}' | zstd -q -c > "$WORK/f2.jsonl.zst"
  "$E" -m "$BERT" -f "$WORK/f1.jsonl" -f "$WORK/f2.jsonl.zst" -o "$WORK/emb.jsonl.zst" 2> /dev/null
  expect_eq "-f/-o exit" $? 0
  expect_eq "-f/-o equals stdin/stdout" "$(zstd -q -dc "$WORK/emb.jsonl.zst" | py '[(x["id"], x["embedding"][:3]) for x in rs]')" \
    "$(cat "$WORK/f1.jsonl" <(zstd -q -dc "$WORK/f2.jsonl.zst") | "$E" -m "$BERT" 2> /dev/null | py '[(x["id"], x["embedding"][:3]) for x in rs]')"
  "$E" -m "$BERT" -f "$WORK/f1.jsonl" -o "$WORK/x.bin" --format f32 2> /dev/null; expect_eq "-o with f32: exit" $? 2
  # The shared record loop: a resumed run keeps what the earlier one wrote.
  python3 -c 'import json; [print(json.dumps({"id": i, "text": "hello world " * (i % 4 + 1)})) for i in range(12)]' > "$WORK/e12.jsonl"
  "$E" -m "$BERT" -f "$WORK/e12.jsonl" -o "$WORK/e12.out.jsonl" 2> /dev/null
  head -5 "$WORK/e12.out.jsonl" > "$WORK/e12.r.jsonl.partial"
  cp "$WORK/e12.out.jsonl.run.json" "$WORK/e12.r.jsonl.run.json"
  "$E" -m "$BERT" -f "$WORK/e12.jsonl" -o "$WORK/e12.r.jsonl" --resume 2> "$WORK/err"
  expect_contains "embed resume keeps" "$(cat "$WORK/err")" "5 records kept"
  expect_eq "embed resumed output" "$(cat "$WORK/e12.r.jsonl")" "$(cat "$WORK/e12.out.jsonl")"
  "$E" -m "$BERT" -f "$WORK/e12.jsonl" -o "$WORK/e12.r.jsonl" --resume --pooling cls 2> "$WORK/err"
  expect_eq "embed resume with other settings: exit" $? 2
fi
finish
