#!/usr/bin/env bash
# End-to-end without ../shared: a model written by our own writer, described by gguf-info.
. "$(dirname "$0")/common.bash"
"$TEST_BIN/llmkit-make-fixture" "$WORK/tiny.gguf" || { fail "make fixture"; finish; exit; }
out=$("$BIN/gguf-info" "$WORK/tiny.gguf"); rc=$?
expect_eq "exit" "$rc" 0
expect_contains "file type" "$out" "file type       F16"
expect_contains "chat template" "$out" "chat template   yes"
expect_contains "histogram" "$out" "Q4_K x5"
expect_eq "json" "$("$BIN/gguf-info" --json "$WORK/tiny.gguf" | py 'r["vocab_size"], r["head_count_kv"], r["tensor_count"]')" "(265, 2, 12)"
expect_eq "no temporaries" "$(ls -A "$WORK")" "tiny.gguf"
finish
