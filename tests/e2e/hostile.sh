#!/usr/bin/env bash
# Faults a hostile-input probe found (issue 25): each check failed before its fix.
#   - stdout write errors (full disk, closed pipe) end the run non-zero, saying how many records were written;
#   - a FIFO given as a model is refused at once instead of blocking;
#   - no writer replaces a file it reads;
#   - a context or batch that cannot fit is refused before allocating, with what would fit;
#   - broken hyperparameters are refused at load, non-finite outputs become errors;
#   - a tokenizer.json id of 1e9 is refused before a billion placeholder tokens are made.
. "$(dirname "$0")/common.bash"
need_shared
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
M="$SHARED/models/stories260K.gguf"
PATCH="python3 $ROOT/tests/e2e/gguf_patch.py"
for i in $(seq 1 300); do echo "{\"id\": $i, \"text\": \"Once upon a time\"}"; done > "$WORK/in.jsonl"
for i in $(seq 1 20); do cat "$WORK/in.jsonl"; done > "$WORK/many.jsonl"

# 1. Output errors. /dev/full fails every write with ENOSPC.
check_full() {  # NAME COMMAND...: exit 1 and a message naming the records written
  local name=$1
  shift
  "$@" > /dev/full 2> "$WORK/err" < "$WORK/in.jsonl"
  expect_eq "$name to a full disk: exit" "$?" 1
  expect_contains "$name to a full disk: message" "$(cat "$WORK/err")" "No space left on device (0 records written)"
}
check_full llm-tokenize "$BIN/llm-tokenize" -m "$M"
check_full gguf-info "$BIN/gguf-info" "$M"
check_full "gguf-info --json" "$BIN/gguf-info" --json "$M"
check_full llm-embed "$BIN/llm-embed" -m "$M"
check_full "llm-generate -p" "$BIN/llm-generate" -m "$M" -p Once -n 4
check_full "llm-generate records" "$BIN/llm-generate" -m "$M" -n 2 --template "{text}"
check_full "gguf-quantize --dry-run" "$BIN/gguf-quantize" --dry-run "$M" Q8_0
check_full llm-memcalc "$BIN/llm-memcalc" "$M" --json
check_full llm-perplexity "$BIN/llm-perplexity" -m "$M" -f "$SHARED/golden/perplexity/gpl-3.txt" -c 128 --chunks 1
check_full llm-imatrix "$BIN/llm-imatrix" -m "$M" -f "$SHARED/golden/perplexity/gpl-3.txt" -c 128 --chunks 1 -o "$WORK/full.imatrix.gguf"
# A filesystem that fills part way (a 64 KiB tmpfs in a private mount namespace; needs root, as
# CI has): the count in the message is the number of whole records in the file.
mkdir -p "$WORK/small"
if [ "$(id -u)" -eq 0 ] && unshare -m true 2> /dev/null; then
  unshare -m sh -c "mount -t tmpfs -o size=64k tmpfs '$WORK/small' && \
    '$BIN/llm-tokenize' -m '$M' < '$WORK/many.jsonl' > '$WORK/small/o.jsonl' 2> '$WORK/small.err'; \
    echo \$? > '$WORK/small.rc'; grep -c '}\$' '$WORK/small/o.jsonl' > '$WORK/small.lines'"
  expect_eq "full filesystem part way: exit" "$(cat "$WORK/small.rc")" 1
  expect_contains "full filesystem part way: count" "$(cat "$WORK/small.err")" "($(cat "$WORK/small.lines") records written)"
else
  echo "note: not root (or no mount namespaces): the part-way full filesystem check is skipped" >&2
fi
# A reader that goes away: the writer says so instead of dying silently or exiting 0. (More
# records than a pipe buffer holds, so the writer is still writing when the reader leaves.)
"$BIN/llm-tokenize" -m "$M" < "$WORK/many.jsonl" 2> "$WORK/err" | head -c 10 > /dev/null
rc=${PIPESTATUS[0]}
expect_eq "closed pipe: exit" "$rc" 1
expect_contains "closed pipe: message" "$(cat "$WORK/err")" "the reader closed the pipe ("
# Every record that the writer counts did reach the reader.
"$BIN/llm-tokenize" -m "$M" < "$WORK/in.jsonl" > "$WORK/all.jsonl"
expect_eq "all records to a file: lines" "$(wc -l < "$WORK/all.jsonl")" 300

# 2. A FIFO is not a model: refused at once (timeout: it used to block forever).
mkfifo "$WORK/fifo"
for cmd in "gguf-info $WORK/fifo" "llm-tokenize -m $WORK/fifo -p x" "llm-memcalc $WORK/fifo" \
           "gguf-quantize $WORK/fifo $WORK/q.gguf Q8_0" "llm-generate -m $WORK/fifo -p x"; do
  err=$(timeout 20 $BIN/$cmd 2>&1 < /dev/null)
  expect_eq "fifo: $cmd: exit" "$?" 2
  expect_contains "fifo: $cmd: message" "$err" "is a FIFO"
done

# 3. Inputs are never overwritten.
cp "$M" "$WORK/s.gguf"
sum=$(sha256sum < "$WORK/s.gguf")
err=$("$BIN/gguf-quantize" "$WORK/s.gguf" "$WORK/s.gguf" Q8_0 2>&1)
expect_eq "quantize over input: exit" "$?" 2
expect_contains "quantize over input: message" "$err" "refusing to write over the input file"
err=$("$BIN/gguf-synth" --embd 64 --layers 1 --heads 2 --ff 128 --vocab "$WORK/s.gguf" "$WORK/s.gguf" 2>&1)
expect_eq "synth over its vocab: exit" "$?" 2
expect_contains "synth over its vocab: message" "$err" "refusing to write over the input file"
expect_eq "inputs intact" "$(sha256sum < "$WORK/s.gguf")" "$sum"
"$TEST_BIN/llmkit-gguf-to-hf" "$M" "$WORK/hf" > /dev/null
sum=$(sha256sum < "$WORK/hf/model.safetensors")
err=$("$BIN/gguf-convert" "$WORK/hf" "$WORK/hf/model.safetensors" 2>&1)
expect_eq "convert over the checkpoint: exit" "$?" 2
expect_contains "convert over the checkpoint: message" "$err" "refusing to write over the input file"
err=$("$BIN/gguf-convert" "$WORK/hf" "$WORK/hf/config.json" 2>&1)
expect_eq "convert over config.json: exit" "$?" 2
expect_eq "checkpoint intact" "$(sha256sum < "$WORK/hf/model.safetensors")" "$sum"
"$BIN/gguf-convert" "$WORK/hf" "$WORK/hf/model.gguf" > /dev/null 2>&1
expect_eq "a new file inside the folder is fine" "$?" 0

# 4. Sizes checked before allocating: a message saying what fits, exit 2, no abort (134).
err=$("$BIN/llm-generate" -m "$M" -c 2000000000 -p x -n 1 2>&1)
expect_eq "-c 2e9: exit" "$?" 2
expect_contains "-c 2e9: message" "$err" "tokens in all"
err=$("$BIN/llm-bench" -m "$M" -d 2000000000 -p 0 -n 4 -r 1 2>&1)
expect_eq "bench -d 2e9: exit" "$?" 2
expect_contains "bench -d 2e9: message" "$err" "GiB of memory is available"
# Under an address-space limit: --parallel 64 with a large context must not fit, and must say so.
# (Not under AddressSanitizer, whose shadow memory alone is far over any such limit.)
if [ -z "${ASAN_OPTIONS:-}" ]; then
  err=$( (ulimit -v 600000; "$BIN/llm-generate" -m "$M" -c 32768 --parallel 64 -n 1 --template "{text}" < "$WORK/in.jsonl" 2>&1 > /dev/null) )
  expect_eq "memory limit: exit" "$?" 2
  expect_contains "memory limit: message" "$err" "KV cache"
fi

# 5. Broken hyperparameters are refused at load; non-finite results are errors, not output.
$PATCH "$M" "$WORK/eps.gguf" --kv llama.attention.layer_norm_rms_epsilon f32 nan
err=$("$BIN/llm-generate" -m "$WORK/eps.gguf" -p x -n 1 2>&1)
expect_eq "eps NaN: exit" "$?" 2
expect_contains "eps NaN: message" "$err" "epsilon nan"
$PATCH "$M" "$WORK/neg.gguf" --kv llama.attention.layer_norm_rms_epsilon f32 -1
"$BIN/llm-perplexity" -m "$WORK/neg.gguf" -f "$SHARED/golden/perplexity/gpl-3.txt" -c 128 --chunks 1 > /dev/null 2>&1
expect_eq "eps negative: exit" "$?" 2
if "$BIN/gguf-info" --kv llama.rope.freq_base "$M" > /dev/null 2>&1; then
  $PATCH "$M" "$WORK/rope.gguf" --kv llama.rope.freq_base f32 0
  err=$("$BIN/llm-generate" -m "$WORK/rope.gguf" -p x -n 1 2>&1)
  expect_eq "freq_base 0: exit" "$?" 2
  expect_contains "freq_base 0: message" "$err" "freq_base"
fi
$PATCH "$SHARED/models/synth-bert-256.f16.gguf" "$WORK/bert-eps.gguf" --kv bert.attention.layer_norm_epsilon f32 nan
err=$("$BIN/llm-embed" -m "$WORK/bert-eps.gguf" -p x 2>&1)
expect_eq "BERT eps NaN: exit" "$?" 2
expect_contains "BERT eps NaN: message" "$err" "epsilon nan"
$PATCH "$M" "$WORK/eos.gguf" --kv tokenizer.ggml.eos_token_id i32 -5
err=$("$BIN/llm-generate" -m "$WORK/eos.gguf" -p x -n 1 2>&1)
expect_eq "eos -5: exit" "$?" 2
expect_contains "eos -5: message" "$err" "eos_token_id = -5"
$PATCH "$M" "$WORK/nan.gguf" --nan output_norm.weight
head -3 "$WORK/in.jsonl" | "$BIN/llm-generate" -m "$WORK/nan.gguf" -n 4 --template "{text}" > "$WORK/g.jsonl" 2> /dev/null
expect_eq "NaN weight, generate: exit" "$?" 1
expect_eq "NaN weight, generate: error records" "$(py '[x["error"]["code"] for x in rs]' < "$WORK/g.jsonl")" \
  "['non_finite', 'non_finite', 'non_finite']"
expect_eq "NaN weight, generate: ids kept" "$(py '[x["id"] for x in rs]' < "$WORK/g.jsonl")" "[1, 2, 3]"
"$BIN/llm-generate" -m "$WORK/nan.gguf" -p Once -n 4 > /dev/null 2> "$WORK/err"
expect_eq "NaN weight, generate -p: exit" "$?" 1
err=$("$BIN/llm-perplexity" -m "$WORK/nan.gguf" -f "$SHARED/golden/perplexity/gpl-3.txt" -c 128 --chunks 1 2>&1)
rc=$?
expect_eq "NaN weight, perplexity: failed" "$([ $rc -ne 0 ] && echo yes)" yes
expect_contains "NaN weight, perplexity: message" "$err" "non-finite"
err=$("$BIN/llm-imatrix" -m "$WORK/nan.gguf" -f "$SHARED/golden/perplexity/gpl-3.txt" -c 128 --chunks 1 -o "$WORK/nan.imatrix.gguf" 2>&1)
rc=$?
expect_eq "NaN weight, imatrix: failed, nothing written" "$([ $rc -ne 0 ] && [ ! -e "$WORK/nan.imatrix.gguf" ] && echo yes)" yes
expect_contains "NaN weight, imatrix: message" "$err" "non-finite"
head -2 "$WORK/in.jsonl" | "$BIN/llm-embed" -m "$WORK/nan.gguf" > "$WORK/e.jsonl" 2> /dev/null
expect_eq "NaN weight, embed: exit" "$?" 1
expect_eq "NaN weight, embed: error records" "$(py '[x["error"]["code"] for x in rs]' < "$WORK/e.jsonl")" \
  "['non_finite', 'non_finite']"

empty_vocab() {  # TOKENIZER_JSON: no tokens at all, added ones included
  python3 - "$1" << 'PY'
import json, sys
p = sys.argv[1]
t = json.load(open(p))
t["model"]["vocab"] = {}
t["added_tokens"] = []
json.dump(t, open(p, "w"))
PY
}

# 6. gguf-convert: a tokenizer.json id of 1e9 is refused quickly, within a small memory limit.
rm -rf "$WORK/hf"
"$TEST_BIN/llmkit-gguf-to-hf" "$SHARED/models/synth-qwen2-256.f16.gguf" "$WORK/hf" > /dev/null
python3 - "$WORK/hf/tokenizer.json" << 'PY'
import json, sys
p = sys.argv[1]
t = json.load(open(p))
v = t["model"]["vocab"]
v[next(iter(v))] = 1000000000
json.dump(t, open(p, "w"))
PY
limit=2000000
[ -n "${ASAN_OPTIONS:-}" ] && limit=unlimited
err=$( (ulimit -v $limit; timeout 120 "$BIN/gguf-convert" "$WORK/hf" "$WORK/big.gguf" 2>&1) )
expect_eq "id 1e9: exit" "$?" 2
expect_contains "id 1e9: message" "$err" "a token id of 1000000000"
empty_vocab "$WORK/hf/tokenizer.json"
err=$("$BIN/gguf-convert" "$WORK/hf" "$WORK/empty.gguf" 2>&1)
expect_eq "empty vocab: exit" "$?" 2
expect_contains "empty vocab: message" "$err" "empty"
# 6b. gguf-convert checks shapes before writing: what llm-embed used to refuse only later.
"$TEST_BIN/llmkit-gguf-to-hf" "$SHARED/models/synth-bert-256.f16.gguf" "$WORK/bert" > /dev/null
st_edit() {  # DIR PYTHON-STATEMENT: rewrites the safetensors header h; drop(name) removes a tensor
  python3 - "$1/model.safetensors" "$2" << 'PY'
import json, struct, sys
p, stmt = sys.argv[1], sys.argv[2]
b = open(p, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
data = b[8 + n:]
def drop(name):
    global data
    s, e = h.pop(name)["data_offsets"]
    data = data[:s] + data[e:]
    for k, v in h.items():
        if k != "__metadata__" and v["data_offsets"][0] >= e:
            v["data_offsets"] = [v["data_offsets"][0] - (e - s), v["data_offsets"][1] - (e - s)]
exec(stmt)
t = json.dumps(h).encode()
t += b" " * (-len(t) % 8)
open(p, "wb").write(struct.pack("<Q", len(t)) + t + data)
PY
}
for case in "bias of the wrong rank|h['encoder.layer.0.attention.self.query.bias']['shape'] = [128, 2]|attn_q.bias" \
            "missing query weight|drop('encoder.layer.1.attention.self.query.weight')|attn_q.weight' is missing" \
            "transposed FFN|h['encoder.layer.0.intermediate.dense.weight']['shape'] = [256, 1024]|ffn_up.weight"; do
  IFS='|' read -r what stmt want <<< "$case"
  rm -rf "$WORK/bad" && cp -r "$WORK/bert" "$WORK/bad"
  st_edit "$WORK/bad" "$stmt"
  err=$("$BIN/gguf-convert" "$WORK/bad" "$WORK/bad.gguf" 2>&1)
  expect_eq "convert, $what: exit" "$?" 2
  expect_contains "convert, $what: message" "$err" "$want"
  expect_eq "convert, $what: nothing written" "$(ls "$WORK" | grep -c '^bad.gguf')" 0
done

# A WordPiece tokenizer.json with an empty vocabulary (it used to convert, every word [UNK]).
rm -rf "$WORK/bad" && cp -r "$WORK/bert" "$WORK/bad"
empty_vocab "$WORK/bad/tokenizer.json"
err=$("$BIN/gguf-convert" "$WORK/bad" "$WORK/bad.gguf" 2>&1)
expect_eq "WordPiece empty vocab: exit" "$?" 2
expect_contains "WordPiece empty vocab: message" "$err" "model.vocab is empty"

# 7. Papercuts: pretty-printed input names the cause; llama.cpp's one-dash flags are taken or
# refused by their name (they used to be read as bundles of short options).
printf '{\n  "id": 1,\n  "text": "x"\n}\n' | "$BIN/llm-tokenize" -m "$M" > "$WORK/pp.jsonl"
expect_contains "pretty-printed input: hint" "$(head -1 "$WORK/pp.jsonl")" "must be one JSON object on a single line"
err=$("$BIN/llm-generate" -m "$M" -ngl 99 -p x 2>&1)
expect_eq "-ngl: exit" "$?" 2
expect_contains "-ngl: message" "$err" "llama.cpp's -ngl (GPU offload) is not an option of llm-generate"
err=$("$BIN/llm-generate" -m "$M" -cnv -p x 2>&1)
expect_contains "-cnv: message" "$err" "-cnv (conversation mode)"
err=$("$BIN/llm-perplexity" -m "$M" -fa -f x 2>&1)
expect_contains "perplexity -fa: message" "$err" "-fa (flash attention)"
a=$("$BIN/llm-generate" -m "$M" -sys 'Be brief' --chat-template chatml -p Once -n 3 --temp 0 2> /dev/null)
b=$("$BIN/llm-generate" -m "$M" --system 'Be brief' --chat-template chatml -p Once -n 3 --temp 0 2> /dev/null)
expect_eq "-sys is --system" "$a" "$b"
# Messages name the file: a directory or a missing file given as a model.
for cmd in "gguf-quantize $WORK $WORK/q.gguf Q8_0" "llm-perplexity -m $WORK -f $SHARED/golden/perplexity/gpl-3.txt" "llm-bench -m $WORK/none.gguf" \
           "gguf-synth --embd 64 --layers 1 --heads 2 --ff 128 --vocab $WORK/none.gguf $WORK/o.gguf"; do
  err=$($BIN/$cmd 2>&1 < /dev/null)
  expect_eq "names the file: $cmd: exit" "$?" 2
  expect_contains "names the file: $cmd" "$err" "$WORK"
done

# 8. zstd-compressed JSON-lines input: the same records out as from the plain input (several
# frames too); a truncated or corrupt stream is an error naming it, not a silent short run.
zstd -q -c < "$WORK/in.jsonl" > "$WORK/in.jsonl.zst"
{ head -100 "$WORK/in.jsonl" | zstd -q -c; tail -n +101 "$WORK/in.jsonl" | zstd -q -c; } > "$WORK/two.zst"
"$BIN/llm-tokenize" -m "$M" < "$WORK/in.jsonl.zst" > "$WORK/z.jsonl"
expect_eq "zstd input: exit" "$?" 0
expect_eq "zstd input: same records" "$(sha256sum < "$WORK/z.jsonl")" "$(sha256sum < "$WORK/all.jsonl")"
expect_eq "zstd, two frames: same records" "$("$BIN/llm-tokenize" -m "$M" < "$WORK/two.zst" | sha256sum)" \
  "$(sha256sum < "$WORK/all.jsonl")"
head -c 200 "$WORK/in.jsonl.zst" > "$WORK/cut.zst"
err=$("$BIN/llm-tokenize" -m "$M" < "$WORK/cut.zst" 2>&1 > /dev/null)
expect_eq "truncated zstd: exit" "$?" 2
expect_contains "truncated zstd: message" "$err" "zstd"
# 12. Architectures: an unknown one, a tensor its architecture requires, hyperparameters that do
# not fit the tensors: one message naming the key or tensor, exit 2, no crash.
"$BIN/gguf-synth" "$WORK/g3.gguf" --arch gemma3 --embd 128 --layers 2 --heads 4 --kv-heads 2 --head-dim 48 --ff 256 \
  --window 64 --vocab-size 300 > /dev/null
$PATCH "$WORK/g3.gguf" "$WORK/arch.gguf" --rename gemma3 gemmaX
err=$("$BIN/llm-generate" -m "$WORK/arch.gguf" -p x -n 1 2>&1)
expect_eq "unknown architecture: exit" "$?" 2
expect_contains "unknown architecture: message" "$err" "architecture 'gemmaX' is not supported (llama, qwen2, qwen3, gemma2, gemma3, phi3, bert)"
$PATCH "$WORK/g3.gguf" "$WORK/qnorm.gguf" --rename blk.1.attn_q_norm.weight blk.1.attn_q_xorm.weight
err=$("$BIN/llm-perplexity" -m "$WORK/qnorm.gguf" -f "$SHARED/golden/perplexity/gpl-3.txt" -c 64 --chunks 1 2>&1)
expect_eq "missing q norm: exit" "$?" 2
expect_contains "missing q norm: message" "$err" "tensor 'blk.1.attn_q_norm.weight' is missing"
$PATCH "$WORK/g3.gguf" "$WORK/vlen.gguf" --kv gemma3.attention.value_length u32 64
$PATCH "$WORK/vlen.gguf" "$WORK/keylen.gguf" --kv gemma3.attention.key_length u32 64
err=$("$BIN/llm-generate" -m "$WORK/keylen.gguf" -p x -n 1 2>&1)
expect_eq "key length against the tensors: exit" "$?" 2
expect_contains "key length against the tensors: message" "$err" "tensor 'blk.0.attn_q.weight' has shape [128, 192], expected [128, 256]"
$PATCH "$WORK/g3.gguf" "$WORK/kvheads.gguf" --kv gemma3.attention.head_count_kv u32 3
err=$("$BIN/llm-embed" -m "$WORK/kvheads.gguf" -p x 2>&1)
expect_eq "KV heads that do not divide: exit" "$?" 2
expect_contains "KV heads that do not divide: message" "$err" "KV heads must divide the heads"
$PATCH "$WORK/g3.gguf" "$WORK/rot.gguf" --kv gemma3.rope.dimension_count u32 47
err=$("$BIN/llm-generate" -m "$WORK/rot.gguf" -p x -n 1 2>&1)
expect_eq "odd rope dimensions: exit" "$?" 2
expect_contains "odd rope dimensions: message" "$err" "rope.dimension_count = 47"
$PATCH "$WORK/g3.gguf" "$WORK/window.gguf" --kv gemma3.attention.sliding_window i32 -5
err=$("$BIN/llm-generate" -m "$WORK/window.gguf" -p x -n 1 2>&1)
expect_eq "negative window: exit" "$?" 2
expect_contains "negative window: message" "$err" "sliding_window"
finish
