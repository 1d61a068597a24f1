#!/usr/bin/env bash
# End-to-end: the built gguf-info on real files, bad files, stdin records, and its flags.
. "$(dirname "$0")/common.bash"
need_shared
GI="$BIN/gguf-info"
M="$SHARED/models"

# Human summary.
out=$("$GI" "$M/stories260K.gguf"); rc=$?
expect_eq "summary exit" "$rc" 0
expect_contains "summary arch" "$out" "architecture    llama"
expect_contains "summary embedding" "$out" "embedding       64"
expect_contains "summary layers" "$out" "layers          5"
expect_contains "summary heads" "$out" "heads           8 (KV heads 4)"
expect_contains "summary types" "$out" "tensor types    F32 x48"
out=$("$GI" "$M/synth-llama-256.Q4_K_M.llamacpp.gguf")
expect_contains "Q4_K_M file type" "$out" "file type       Q4_K_M"
expect_contains "Q4_K_M histogram" "$out" "Q4_K x25, F32 x9, Q6_K x5"

# --json: one record per file, stable keys.
"$GI" --json "$M"/*.gguf > "$WORK/all.jsonl"; rc=$?
expect_eq "json exit" "$rc" 0
expect_eq "json records" "$(py 'len(rs)' < "$WORK/all.jsonl")" 6
expect_eq "json Q4_K_M" "$(grep Q4_K_M.llamacpp "$WORK/all.jsonl" | py 'r["file_type"], r["tensor_types"], r["vocab_size"], r["head_count_kv"]')" \
  "('Q4_K_M', {'F32': 9, 'Q4_K': 25, 'Q6_K': 5}, 32000, 2)"
expect_eq "json stories" "$(grep stories260K "$WORK/all.jsonl" | py 'r["tensor_count"], r["embedding_length"], r["block_count"], r["parameters"], r["bits_per_weight"]')" \
  "(48, 64, 5, 292800, 32)"
expect_eq "json summarised vocab" "$(grep stories260K "$WORK/all.jsonl" | py 'r["metadata"]["tokenizer.ggml.tokens"]')" \
  "{'type': 'array', 'element_type': 'string', 'length': 512}"
expect_eq "json --full vocab" "$("$GI" --json --full "$M/stories260K.gguf" | py 'len(r["metadata"]["tokenizer.ggml.tokens"])')" 512
expect_eq "chat template" "$(grep bert "$WORK/all.jsonl" | py 'r["has_chat_template"], r["tokenizer_model"]')" "(False, 'bert')"

# --tensors and --hash; hashes checked against xxhsum over the same byte ranges.
"$GI" --tensors --hash "$M/stories260K.gguf" > "$WORK/t.jsonl"
expect_eq "tensor records" "$(py 'len(rs)' < "$WORK/t.jsonl")" 48
expect_eq "tensor record" "$(py 'r["name"], r["type"], r["shape"], r["bytes"]' < "$WORK/t.jsonl")" \
  "('token_embd.weight', 'F32', [64, 512], 131072)"
if command -v xxhsum > /dev/null; then
  for i in 0 5 47; do
    read -r off bytes hash < <(py "rs[$i]['offset'], rs[$i]['bytes'], rs[$i]['xxh64']" < "$WORK/t.jsonl" | tr -d "(),'")
    ref=$(tail -c +$((off + 1)) "$M/stories260K.gguf" | head -c "$bytes" | xxhsum -H1 | cut -d' ' -f1)
    expect_eq "xxh64 of tensor $i" "$hash" "$ref"
  done
else
  echo "note: xxhsum not installed, hash cross-check skipped"
fi

# --kv for scripts.
expect_eq "kv string" "$("$GI" --kv general.architecture "$M/synth-qwen2-256.f16.gguf")" qwen2
expect_eq "kv number" "$("$GI" --kv llama.block_count "$M/stories260K.gguf")" 5
expect_eq "kv json" "$("$GI" --json --kv llama.block_count "$M/stories260K.gguf" | py 'r["key"], r["value"]')" "('llama.block_count', 5)"
"$GI" --kv no.such.key "$M/stories260K.gguf" 2> "$WORK/err"; rc=$?
expect_eq "kv missing exit" "$rc" 1
expect_contains "kv missing message" "$(cat "$WORK/err")" "no metadata key 'no.such.key'"

# Paths on stdin: plain lines and records (fields kept), bad lines become error records.
{
  echo "$M/stories260K.gguf"
  echo "{\"id\": 42, \"path\": \"$M/synth-bert-256.f16.gguf\", \"tag\": \"x\"}"
  echo "{not json"
  echo '{"id": 43}'
  echo "{\"id\": 44, \"path\": \"$WORK/missing.gguf\"}"
} | "$GI" --json > "$WORK/stdin.jsonl"; rc=$?
expect_eq "stdin exit (some failed)" "$rc" 1
expect_eq "stdin records" "$(py 'len(rs)' < "$WORK/stdin.jsonl")" 5
expect_eq "stdin kept fields" "$(sed -n 2p "$WORK/stdin.jsonl" | py 'r["id"], r["tag"], r["architecture"]')" "(42, 'x', 'bert')"
expect_eq "stdin bad json" "$(sed -n 3p "$WORK/stdin.jsonl" | py 'r["error"]["code"], r["error"]["line"]')" "('bad_json', 3)"
expect_eq "stdin no path" "$(sed -n 4p "$WORK/stdin.jsonl" | py 'r["id"], r["error"]["code"]')" "(43, 'missing_field')"
expect_eq "stdin missing file" "$(sed -n 5p "$WORK/stdin.jsonl" | py 'r["id"], r["error"]["code"]')" "(44, 'io')"
expect_eq "find | gguf-info" "$(find "$SHARED/vocab" -name '*.gguf' | "$GI" --json | py 'sorted(x["tokenizer_model"] for x in rs)')" \
  "['bert', 'gpt2', 'gpt2', 'gpt2', 'llama', 'llama']"

# Bad files: text mode exits 2 with one line naming the file; JSON mode writes an error record.
head -c 3000 "$M/stories260K.gguf" > "$WORK/truncated.gguf"
printf 'GGUF\x03\x00\x00\x00' > "$WORK/short.gguf"
"$GI" "$WORK/truncated.gguf" > /dev/null 2> "$WORK/err"; rc=$?
expect_eq "bad file exit" "$rc" 2
expect_eq "bad file one line" "$(wc -l < "$WORK/err")" 1
expect_contains "bad file names file" "$(cat "$WORK/err")" "truncated.gguf: at byte"
"$GI" "$WORK/truncated.gguf" "$M/stories260K.gguf" > "$WORK/out" 2> /dev/null; rc=$?
expect_eq "bad file then good: exit" "$rc" 2
expect_contains "bad file then good: good still described" "$(cat "$WORK/out")" "F32 x48"
"$GI" --json "$WORK/short.gguf" "$M/stories260K.gguf" > "$WORK/out.jsonl"; rc=$?
expect_eq "json bad file exit" "$rc" 1
expect_eq "json bad file record" "$(head -1 "$WORK/out.jsonl" | py 'r["error"]["code"], "short.gguf" in r["path"]')" "('bad_gguf', True)"
expect_eq "json run goes on" "$(tail -1 "$WORK/out.jsonl" | py 'r["tensor_count"]')" 48
"$GI" "$WORK" > /dev/null 2> "$WORK/err"; rc=$?
expect_eq "directory exit" "$rc" 2
expect_contains "directory message" "$(cat "$WORK/err")" "is a directory"

# Flags.
"$GI" --version | grep -q "gguf-info (llmkit)" && pass || fail "--version"
"$GI" --help | grep -q -- "--tensors" && pass || fail "--help"
"$GI" --no-such-flag > /dev/null 2>&1; expect_eq "unknown flag exit" $? 2
"$GI" --hash "$M/stories260K.gguf" > /dev/null 2>&1; expect_eq "--hash without --tensors exit" $? 2
"$GI" < /dev/null; expect_eq "empty stdin exit" $? 0

finish
