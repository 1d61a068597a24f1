#!/usr/bin/env bash
# Past 2,048 keys, attention takes a global layer's keys in parts and merges them: perplexity of
# the real models at a 3,072-token context against llama.cpp's (tests/data/long_context_reference.jsonl,
# made by tests/reference/long_context.py), within 0.25% of the range llama.cpp's own flash
# attention on and off span (those two differ by up to 0.5% here). Needs `make models`.
. "$(dirname "$0")/common.bash"
need_shared
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REF="$ROOT/tests/data/long_context_reference.jsonl"
TEXT="$SHARED/golden/perplexity/gpl-3.txt"
compared=0
while IFS= read -r rec; do
  model="$ROOT/$(py 'r["model"]' <<< "$rec")"
  if [ ! -f "$model" ]; then
    echo "SKIP part: $model not found (make models)"
    continue
  fi
  ppl=$("$BIN/llm-perplexity" -m "$model" -f "$TEXT" -c "$(py 'r["n_ctx"]' <<< "$rec")" \
    --chunks "$(py 'r["chunks"]' <<< "$rec")" 2> /dev/null | py 'r["ppl"]')
  lo=$(py 'min(r["ppl_fa_on"], r["ppl_fa_off"]) * 0.9975' <<< "$rec")
  hi=$(py 'max(r["ppl_fa_on"], r["ppl_fa_off"]) * 1.0025' <<< "$rec")
  echo "$(basename "$model"): perplexity at $(py 'r["n_ctx"]' <<< "$rec") $ppl, llama.cpp $(py 'r["ppl_fa_on"], r["ppl_fa_off"]' <<< "$rec") (flash attention on, off)"
  expect_eq "$(basename "$model"): perplexity $ppl within [$lo, $hi]" "$(python3 -c "print($lo <= $ppl <= $hi)")" True
  compared=$((compared + 1))
done < "$REF"
if [ "$compared" -eq 0 ]; then
  echo "SKIP: no real model found (make models)"
  exit 77
fi
finish
