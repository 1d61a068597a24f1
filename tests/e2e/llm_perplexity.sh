#!/usr/bin/env bash
# End-to-end: llm-perplexity against llama.cpp's golden figure, --base, and errors.
. "$(dirname "$0")/common.bash"
need_shared
P="$BIN/llm-perplexity"
TEXT="$SHARED/golden/perplexity/gpl-3.txt"
"$P" -m "$SHARED/models/stories260K.gguf" -f "$TEXT" -c 128 --chunks 20 > "$WORK/r.json"; rc=$?
expect_eq "exit" "$rc" 0
expect_eq "golden within 0.1%" "$(py 'abs(r["ppl"] / 83.7522 - 1) < 0.001, r["chunks"], r["tokens_scored"]' < "$WORK/r.json")" "(True, 20, 1260)"
"$P" -m "$SHARED/models/stories260K.gguf" --base "$SHARED/models/stories260K.gguf" -f - -c 128 --chunks 2 < "$TEXT" > "$WORK/b.json"
expect_eq "self as base" "$(py 'r["ppl_ratio"] == 1, r["top1_agreement"] == 1, abs(r["kl_mean"]) < 1e-9' < "$WORK/b.json")" "(True, True, True)"
"$P" -m "$SHARED/models/stories260K.gguf" -f "$TEXT" -c 100000 2> "$WORK/err"; expect_eq "short text exit" $? 2
expect_contains "short text message" "$(cat "$WORK/err")" "fewer than one chunk"
"$P" -m "$SHARED/models/stories260K.gguf" --base "$SHARED/models/synth-llama-256.f16.gguf" -f "$TEXT" -c 128 2> "$WORK/err"
expect_eq "vocab mismatch exit" $? 2
expect_contains "vocab mismatch message" "$(cat "$WORK/err")" "another vocabulary"
"$P" -m "$SHARED/models/synth-bert-256.f16.gguf" -f "$TEXT" 2> "$WORK/err"; expect_eq "bert exit" $? 2
expect_contains "bert message" "$(cat "$WORK/err")" "'bert' is an encoder"
"$P" -m "$WORK/none.gguf" -f "$TEXT" 2> /dev/null; expect_eq "missing model exit" $? 2
"$P" -m "$SHARED/models/stories260K.gguf" -f "$WORK/none.txt" 2> /dev/null; expect_eq "missing text exit" $? 2
finish
