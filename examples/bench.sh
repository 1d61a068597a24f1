#!/usr/bin/env bash
# What speed will this machine give? Benchmark a model shape you have not downloaded (random
# weights built in memory) at two quantizations and every thread count up to the cores, as a
# Markdown table, then chart generation speed against threads.
#   examples/bench.sh [SHAPE] [OUT.svg]      # default smollm2-135m, bench-threads.svg
set -euo pipefail
BIN=${BIN:-build/bin}
shape=${1:-smollm2-135m}
svg=${2:-bench-threads.svg}
cores=$(nproc)
"$BIN/llm-bench" --synthetic "$shape:Q4_K_M" --synthetic "$shape:Q8_0" -p 128 -n 32 -r 3 \
  -t "1-$cores" -o md --plot "$svg"
echo
echo "chart: $svg (tokens/s against threads; the tg rows' roofline column is the share of the"
echo "memory-bandwidth ceiling reached)"
