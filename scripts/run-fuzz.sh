#!/usr/bin/env bash
# Runs each libFuzzer harness of BUILD/fuzz-bin for SECONDS from its seed corpus
# (tests/fuzz/corpus/NAME) plus the corpus earlier runs grew (BUILD/corpus/NAME), and prints
# executions and coverage. A crash, leak, sanitizer report or timeout fails the run; libFuzzer
# writes the input that did it to BUILD/crashes/.
#   scripts/run-fuzz.sh BUILD SECONDS
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:?build dir}
SECONDS_EACH=${2:-60}
mkdir -p "$BUILD/crashes"
status=0
for name in gguf safetensors hf_folder jsonl jinja gbnf json_schema; do
  corpus="$BUILD/corpus/$name"
  mkdir -p "$corpus"
  log="$BUILD/fuzz_$name.log"
  "$BUILD/fuzz-bin/fuzz_$name" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$BUILD/crashes/$name-" "$corpus" "tests/fuzz/corpus/$name" > "$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz_$name: ${runs:-?} runs in ${SECONDS_EACH} s, ${cov:-no coverage line}, corpus $(ls "$corpus" | wc -l) inputs" >&2
  else
    echo "fuzz_$name: FAILED (exit $rc), see $log and $BUILD/crashes/" >&2
    tail -40 "$log" >&2
    status=1
  fi
done
exit $status
