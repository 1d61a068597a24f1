#!/usr/bin/env bash
# End-to-end: llm-memcalc on the catalog, on files (whole, partial, from gguf-info), and its errors.
. "$(dirname "$0")/common.bash"
M="$BIN/llm-memcalc"
q() { "$M" --json --cpu-bandwidth 40 "$@"; }

# KV cache: layers x KV heads x head size x 2 (K and V) x 2 bytes (F16) x context.
expect_eq "llama3.1-8b KV at 8192" "$(q --model llama3.1-8b -c 8192 | py 'r["kv_host_bytes"]')" $((32 * 8 * 128 * 2 * 2 * 8192))
expect_eq "q8_0 cache" "$(q --model llama3.1-8b -c 8192 -ctk q8_0 -ctv q8_0 | py 'r["kv_host_bytes"]')" $((32 * 8 * 34 * 4 * 2 * 8192))
expect_eq "parallel" "$(q --model llama3.1-8b -c 8192 -np 4 | py 'r["kv_host_bytes"]')" $((32 * 8 * 128 * 2 * 2 * 8192 * 4))
# Sliding windows: gemma2 keeps half its layers at 4096 + 512 positions.
expect_eq "gemma2 windows" "$(q --model gemma2-9b -c 8192 | py 'r["kv_host_bytes"]')" $((21 * 8 * 256 * 4 * 8192 + 21 * 8 * 256 * 4 * 4608))
# Weights under a preset: the per-tensor mix, not one bits-per-weight figure.
expect_eq "8B Q4_K_M size" "$(q --model llama3.1-8b --quant Q4_K_M | py 'round(r["weight_bytes"] / 1e9, 2), round(r["bits_per_weight"], 2)')" "(4.91, 4.89)"
expect_eq "8B F16 size" "$(q --model llama3.1-8b | py '1.99 < r["weight_bytes"] / r["params"] < 2.01')" True
# GPUs: fits, largest context, layers, GPUs needed.
expect_eq "8B on a 4090" "$(q --model llama3.1-8b --quant Q4_K_M --gpu rtx4090 | py 'r["fits"], r["gpu_layers"], r["output_on_gpu"], r["max_ctx_full_offload"]')" "(True, 32, True, 131072)"
expect_eq "70B on two 3090s" "$(q --model llama3.1-70b --quant Q4_K_M -c 32768 --gpu rtx3090x2 | py 'r["fits"], r["gpus"], r["gpus_needed"], 0 < r["max_gpu_layers"] < 81')" "(False, 2, 3, True)"
expect_eq "-ngl 10" "$(q --model llama3.1-8b --quant Q4_K_M --vram 8 -ngl 10 | py 'r["gpu_layers"], r["output_on_gpu"], r["kv_gpu_bytes"] * 32 == r["kv_host_bytes"] * 10 / 22 * 32 or r["kv_gpu_bytes"] == 10 * 8 * 128 * 4 * 4096')" "(10, False, True)"
expect_eq "MoE reads 2 of 8 experts" "$(q --model mixtral-8x7b --quant Q4_K_M | py 'r["read_per_token_bytes"] < r["weight_bytes"] / 2')" True
expect_eq "--fit lists every preset" "$(q --model qwen2.5-7b --fit --gpu rtx4060ti-16gb | py 'len(rs) >= 15, any(x["fits"] for x in rs), not all(x["fits"] for x in rs)')" "(True, True, True)"
expect_eq "speed bound" "$(q --model llama3.1-8b --quant Q4_K_M --gpu h100-sxm | py 'round(r["tg_upper_ts"])')" \
  "$(q --model llama3.1-8b --quant Q4_K_M --gpu h100-sxm | py 'round(3350e9 / r["read_per_token_bytes"])')"
echo '{"test":"tg128","ceiling_fraction":0.5}' > "$WORK/bench.jsonl"
expect_eq "--calibrate" "$(q --model llama3.1-8b --gpu rtx4090 --calibrate < "$WORK/bench.jsonl" | py 'round(r["tg_estimate_ts"] / r["tg_upper_ts"], 3)')" 0.5
expect_contains "catalog" "$("$M" --list-models | py 'len(rs)')$("$M" --list-gpus | py '[x["gpu"] for x in rs]')" "h100-sxm"
# Table on a terminal (script gives a pty when available).
if command -v script > /dev/null; then
  expect_contains "table" "$(script -qc "$M --model llama3.2-1b --quant Q8_0 --gpu l4 --cpu-bandwidth 40" /dev/null)" "KV cache"
fi
# Usage errors.
"$M" --model nope 2> "$WORK/e"; expect_eq "unknown model exit" $? 2
"$M" --model llama3.1-8b --gpu nope 2> "$WORK/e"; expect_eq "unknown gpu exit" $? 2
expect_contains "unknown gpu message" "$(cat "$WORK/e")" "--list-gpus"
"$M" --model llama3.1-8b --quant Q9 2> /dev/null; expect_eq "unknown preset exit" $? 2

need_shared
F="$SHARED/models/synth-llama-256.f16.gguf"
full=$(q "$F" | py 'r["weight_bytes"], r["kv_host_bytes"]')
# 1,000 positions held as 1,008: the cache allocates whole blocks of 16 keys.
expect_eq "file kv" "$(q "$F" -c 1000 | py 'r["kv_host_bytes"]')" $((4 * 2 * 64 * 2 * 2 * 1008))
# A partly downloaded file: the header is enough.
head -c 2000000 "$F" > "$WORK/partial.gguf"
expect_eq "partial file" "$(q "$WORK/partial.gguf" | py 'r["weight_bytes"], r["kv_host_bytes"]')" "$full"
# gguf-info records on stdin: their fields kept.
"$BIN/gguf-info" --json "$F" "$SHARED/models/stories260K.gguf" | q > "$WORK/s.jsonl"
expect_eq "from gguf-info" "$(py '[(x["architecture"], x["path"].endswith(".gguf"), x["weight_bytes"] > 0) for x in rs]' < "$WORK/s.jsonl")" \
  "[('llama', True, True), ('llama', True, True)]"
echo '{"id": 1}' | q > "$WORK/bad.jsonl"; expect_eq "record without path exit" $? 1
expect_eq "record without path" "$(py 'r["id"], r["error"]["code"]' < "$WORK/bad.jsonl")" "(1, 'missing_field')"
"$M" "$WORK/none.gguf" --cpu-bandwidth 40 2> /dev/null; expect_eq "missing file exit" $? 2
# The preset by its name, not "file type 15".
expect_eq "type named" "$("$M" "$SHARED/models/synth-llama-256.Q4_K_M.llamacpp.gguf" --cpu-bandwidth 40 --json | py 'r["type"]')" Q4_K_M
# On a terminal (script(1) gives one): --fit is one table, a row per preset; listings are tables.
tty_run() { script -qec "$*" /dev/null | tr -d '\r'; }
out=$(tty_run "$M" --model qwen2.5-32b --fit --gpu rtx3090x2 --cpu-bandwidth 40)
expect_contains "fit table header" "$out" "bits/w  weights GB"
# gguf-quantize's 29 presets (F32 to IQ1_S).
expect_eq "fit table: a title, a header and a row per preset" "$(printf '%s\n' "$out" | wc -l)" 31
expect_contains "fit table row" "$out" "Q4_K_M"
expect_contains "gpus as a table" "$(tty_run "$M" --list-gpus)" "gpu             memory GB  bandwidth GB/s"
expect_contains "shapes as a table" "$(tty_run "$BIN/gguf-synth" --list-shapes)" "kv heads  head dim"
expect_contains "dry run as a table" "$(tty_run "$BIN/gguf-quantize" --dry-run "$SHARED/models/stories260K.gguf" Q8_0)" "total: 48 tensors"
finish
