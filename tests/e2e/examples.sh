#!/usr/bin/env bash
# The examples and the demo run as documented.
. "$(dirname "$0")/common.bash"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
out=$(BIN="$BIN" "$ROOT/examples/bench.sh" synth-llama-256 "$WORK/b.svg" 2> /dev/null); rc=$?
expect_eq "bench example exit" "$rc" 0
expect_contains "bench example table" "$out" "| llama 20M Q8_0 |"
expect_eq "bench example chart" "$(grep -c '<polyline' "$WORK/b.svg")" "4"
out=$(BIN="$BIN" SHARED=/nonexistent "$ROOT/examples/demo.sh"); rc=$?
expect_eq "demo without shared: exit" "$rc" 0
expect_contains "demo without shared" "$out" "llmkit tiny fixture"
out=$(BIN="$BIN" "$ROOT/examples/memcalc-24gb.sh" rtx4090 Q4_K_M 8192); rc=$?
expect_eq "memcalc example exit" "$rc" 0
expect_contains "memcalc example" "$out" "llama3.1-8b                      yes"
need_shared
out=$(BIN="$BIN" SHARED="$SHARED" "$ROOT/examples/demo.sh"); rc=$?
expect_eq "demo exit" "$rc" 0
expect_contains "demo" "$out" "Q4_K x25, F32 x9, Q6_K x5"
out=$(BIN="$BIN" "$ROOT/examples/gguf-info.sh" "$SHARED/models"); rc=$?
expect_eq "example exit" "$rc" 0
expect_contains "example inventory" "$out" "synth-llama-256.Q4_K_M.llamacpp.gguf         llama    Q4_K_M"
expect_contains "example identical tensors" "$out" "9 identical tensors"
out=$(BIN="$BIN" "$ROOT/examples/quantize.sh" "$SHARED/models/synth-llama-256.f16.gguf" Q4_K_M 2>&1); rc=$?
expect_eq "quantize example exit" "$rc" 0
expect_contains "quantize example plan" "$out" "Q6_K    5  e.g. output.weight"
expect_contains "quantize example result" "$out" "Q4_K x25, F32 x9, Q6_K x5"
out=$(BIN="$BIN" "$ROOT/examples/synth.sh" 2>&1); rc=$?
expect_eq "synth example exit" "$rc" 0
expect_contains "synth example" "$out" "tinyllama-1.1b"
out=$(BIN="$BIN" "$ROOT/examples/tokenize.sh" "$SHARED/vocab/ggml-vocab-llama-spm.gguf" "$ROOT" 2>&1); rc=$?
expect_eq "tokenize example exit" "$rc" 0
expect_contains "tokenize example" "$out" '"pieces":["<s>","▁Quant","ized","▁models","▁run","▁locally","."]'
out=$(BIN="$BIN" SHARED="$SHARED" "$ROOT/examples/perplexity.sh" 2 2>&1); rc=$?
expect_eq "perplexity example exit" "$rc" 0
expect_contains "perplexity example" "$out" "llama.cpp Q4_K_M"
out=$(cd "$ROOT" && BIN="$BIN" examples/semantic-search.sh "$SHARED/models/synth-bert-256.f16.gguf" man "quantize a model" 2> /dev/null); rc=$?
expect_eq "semantic search example exit" "$rc" 0
expect_contains "semantic search example" "$out" "paragraphs indexed; best 5:"
expect_eq "semantic search example ranks 5" "$(grep -c '^  [0-9.-]*  [a-z-]*\.1#' <<< "$out")" 5
"$TEST_BIN/llmkit-gguf-to-hf" "$SHARED/models/synth-llama-256.f16.gguf" "$WORK/hf-llama"
out=$(BIN="$BIN" "$ROOT/examples/convert-quantize.sh" "$WORK/hf-llama" "$SHARED/golden/perplexity/gpl-3.txt" Q4_K_M 256 2>&1); rc=$?
expect_eq "convert-quantize example exit" "$rc" 0
expect_contains "convert-quantize example" "$out" "llama (LlamaForCausalLM), pre-tokenizer default"
expect_contains "convert-quantize example ratio" "$out" "5.42 bits/weight"
finish
