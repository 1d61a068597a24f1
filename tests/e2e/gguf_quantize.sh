#!/usr/bin/env bash
# End-to-end: gguf-quantize and gguf-synth as a user runs them.
. "$(dirname "$0")/common.bash"
Q="$BIN/gguf-quantize"
S="$BIN/gguf-synth"

# gguf-synth: deterministic, the shape it says, the tokenizer it is given.
"$S" --embd 256 --layers 2 --heads 4 --kv-heads 2 --ff 512 --vocab-size 300 --seed 5 "$WORK/a.gguf" > "$WORK/a.json"; rc=$?
expect_eq "synth exit" "$rc" 0
"$S" --embd 256 --layers 2 --heads 4 --kv-heads 2 --ff 512 --vocab-size 300 --seed 5 "$WORK/b.gguf" > /dev/null
cmp -s "$WORK/a.gguf" "$WORK/b.gguf" && pass || fail "same seed, same bytes"
"$S" --embd 256 --layers 2 --heads 4 --kv-heads 2 --ff 512 --vocab-size 300 --seed 6 "$WORK/c.gguf" > /dev/null
cmp -s "$WORK/a.gguf" "$WORK/c.gguf" && fail "another seed, other bytes" || pass
OMP_NUM_THREADS=1 "$S" --embd 256 --layers 2 --heads 4 --kv-heads 2 --ff 512 --vocab-size 300 --seed 5 "$WORK/d.gguf" > /dev/null
cmp -s "$WORK/a.gguf" "$WORK/d.gguf" && pass || fail "thread count does not change the bytes"
expect_eq "synth facts" "$("$BIN/gguf-info" --json "$WORK/a.gguf" | py 'r["block_count"], r["head_count_kv"], r["vocab_size"], r["feed_forward_length"], r["tensor_count"]')" "(2, 2, 300, 512, 21)"
expect_eq "synth params" "$(py 'r["parameters"]' < "$WORK/a.json")" "$("$BIN/gguf-info" --json "$WORK/a.gguf" | py 'r["parameters"]')"
expect_eq "list shapes" "$("$S" --list-shapes | grep tinyllama | py 'r["parameters"]')" 1100048384
"$S" --shape no-such-shape "$WORK/x.gguf" 2> "$WORK/err"; expect_eq "unknown shape exit" $? 2
expect_contains "unknown shape message" "$(cat "$WORK/err")" "unknown shape"

# Quantize, dry-run, overrides, pure.
"$Q" "$WORK/a.gguf" "$WORK/a.q4km.gguf" Q4_K_M > "$WORK/q.json"; rc=$?
expect_eq "quantize exit" "$rc" 0
expect_eq "summary" "$(py 'r["preset"], r["types"]' < "$WORK/q.json")" "('Q4_K_M', {'F32': 5, 'Q4_K': 13, 'Q6_K': 3})"
expect_eq "file type" "$("$BIN/gguf-info" --kv general.file_type "$WORK/a.q4km.gguf")" 15
expect_eq "quantization version" "$("$BIN/gguf-info" --kv general.quantization_version "$WORK/a.q4km.gguf")" 2
"$Q" --dry-run "$WORK/a.gguf" Q4_K_M > "$WORK/plan.jsonl"
expect_eq "dry-run total" "$(tail -1 "$WORK/plan.jsonl" | py 'r["total"], r["out_bytes"]')" "(True, $("$BIN/gguf-info" --json "$WORK/a.q4km.gguf" | py 'r["tensor_bytes"]'))"
# Two layers: use_more_bits gives the second layer's attn_v and ffn_down Q6_K, the first's not.
expect_eq "dry-run record" "$(grep '"blk.1.ffn_down.weight"' "$WORK/plan.jsonl" | py 'r["from"], r["to"], r["shape"]')" "('F16', 'Q6_K', [512, 256])"
expect_eq "dry-run record 0" "$(grep '"blk.0.ffn_down.weight"' "$WORK/plan.jsonl" | py 'r["to"]')" "Q4_K"
"$Q" --dry-run --tensor-type 'ffn_(up|gate)=Q8_0' --tensor-type 'attn_k=Q5_0' "$WORK/a.gguf" Q4_K_M > "$WORK/plan2.jsonl"
expect_eq "override" "$(grep '"blk.1.ffn_up.weight"' "$WORK/plan2.jsonl" | py 'r["to"]')" Q8_0
expect_eq "second override" "$(grep '"blk.0.attn_k.weight"' "$WORK/plan2.jsonl" | py 'r["to"]')" Q5_0
"$Q" --dry-run --pure "$WORK/a.gguf" Q4_K_M > "$WORK/plan3.jsonl"
expect_eq "pure" "$(grep '"output.weight"' "$WORK/plan3.jsonl" | py 'r["to"]')" Q4_K
for p in Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_0 Q4_1 Q4_K_S Q4_K_M Q5_0 Q5_1 Q5_K_S Q5_K_M Q6_K Q8_0 F16 BF16 F32; do
  "$Q" --dry-run "$WORK/a.gguf" "$p" > "$WORK/p.jsonl" || fail "dry-run $p"
  expect_eq "dry-run $p records" "$(py 'len(rs), rs[-1]["preset"]' < "$WORK/p.jsonl")" "(22, '$p')"
done

# Refusals: unknown preset, overwriting the input, requantizing without the flag.
"$Q" "$WORK/a.gguf" "$WORK/o.gguf" Q4_K_X 2> "$WORK/err"; expect_eq "unknown preset exit" $? 2
expect_contains "unknown preset message" "$(cat "$WORK/err")" "unknown preset 'Q4_K_X'"
"$Q" "$WORK/a.gguf" "$WORK/a.gguf" Q4_0 2> "$WORK/err"; expect_eq "overwrite exit" $? 2
expect_contains "overwrite message" "$(cat "$WORK/err")" "refusing to write over the input"
"$Q" "$WORK/a.q4km.gguf" "$WORK/r.gguf" Q4_0 2> "$WORK/err"; expect_eq "requantize exit" $? 2
expect_contains "requantize message" "$(cat "$WORK/err")" "--allow-requantize"
"$Q" --allow-requantize "$WORK/a.q4km.gguf" "$WORK/r.gguf" Q4_0 > /dev/null 2> "$WORK/err"; expect_eq "requantize allowed" $? 0
expect_contains "requantize warning" "$(cat "$WORK/err")" "warning: requantizing"
printf 'GGUF' > "$WORK/bad.gguf"
"$Q" "$WORK/bad.gguf" "$WORK/o.gguf" Q4_0 2> "$WORK/err"; expect_eq "bad input exit" $? 2
expect_contains "bad input message" "$(cat "$WORK/err")" "bad.gguf"
expect_eq "no partial outputs" "$(ls -A "$WORK" | grep -c -e '^o.gguf' -e '\.tmp\.')" 0
"$Q" --tensor-type 'x=Q9' "$WORK/a.gguf" "$WORK/o.gguf" Q4_0 2> /dev/null; expect_eq "bad override exit" $? 2

# Killed while writing (SIGTERM; a background job of a script ignores SIGINT, which the unit
# tests cover) leaves no file behind.
"$S" --embd 1024 --layers 2 --heads 8 --ff 2816 --vocab-size 32000 "$WORK/big.gguf" > /dev/null
"$Q" -t 1 "$WORK/big.gguf" "$WORK/big.q.gguf" Q4_K_M > /dev/null 2>&1 &
pid=$!
for _ in $(seq 500); do  # wait (at most 5 s) until the temporary output exists
  ls -A "$WORK" | grep -q '\.tmp\.' && break
  sleep 0.01
done
kill -TERM "$pid"
wait "$pid"; rc=$?
expect_eq "terminated exit (143)" "$rc" 143
expect_eq "nothing left after SIGTERM" "$(ls -A "$WORK" | grep -c -e '^big.q.gguf' -e '\.tmp\.')" 0

# Against the shared reference: our Q4_K_M of the F16 model has llama.cpp's size and types.
if [ -d "$SHARED/models" ]; then
  "$Q" "$SHARED/models/synth-llama-256.f16.gguf" "$WORK/s.gguf" Q4_K_M > /dev/null
  expect_eq "same size as llama.cpp" "$(stat -c %s "$WORK/s.gguf")" "$(stat -c %s "$SHARED/models/synth-llama-256.Q4_K_M.llamacpp.gguf")"
  expect_eq "same tensor table as llama.cpp" \
    "$("$BIN/gguf-info" --tensors "$WORK/s.gguf" | py '[(x["name"], x["type"], x["offset"]) for x in rs]')" \
    "$("$BIN/gguf-info" --tensors "$SHARED/models/synth-llama-256.Q4_K_M.llamacpp.gguf" | py '[(x["name"], x["type"], x["offset"]) for x in rs]')"
  # The lowest-bit presets need an importance matrix: refused without one, naming the tensor;
  # with one, a file every tool reads (a greedy continuation runs on it).
  "$Q" "$SHARED/models/synth-llama-256.f16.gguf" "$WORK/iq2.gguf" IQ2_M > /dev/null 2> "$WORK/err"; rc=$?
  expect_eq "IQ2_M without a matrix exit" "$rc" 2
  expect_contains "IQ2_M without a matrix message" "$(cat "$WORK/err")" "would be IQ2_S, which needs an importance matrix"
  expect_eq "nothing written without a matrix" "$(ls -A "$WORK" | grep -c -e '^iq2.gguf' -e '\.tmp\.')" 0
  "$Q" --imatrix "$(dirname "$0")/../data/synth-llama-256.imatrix.gguf" "$SHARED/models/synth-llama-256.f16.gguf" "$WORK/iq2.gguf" IQ2_M > "$WORK/iq2.json" 2> /dev/null
  expect_eq "IQ2_M types" "$(py 'sorted(r["types"].items())' < "$WORK/iq2.json")" "[('F32', 9), ('IQ2_S', 20), ('IQ3_S', 9), ('Q5_K', 1)]"
  expect_eq "IQ2_M generates" "$(echo '{"prompt":"The"}' | "$BIN/llm-generate" -m "$WORK/iq2.gguf" -n 4 2> /dev/null | py 'r["usage"]["completion_tokens"]')" 4
fi
finish
