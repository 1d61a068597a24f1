#!/usr/bin/env bash
# What can I run on a 24 GB GPU? Every catalog model at Q4_K_M and 8k context on an RTX 4090:
# whether it fits, its total, the largest context that fits, and the speed bound.
#   examples/memcalc-24gb.sh [GPU] [PRESET] [CTX]
set -euo pipefail
BIN=${BIN:-build/bin}
GPU=${1:-rtx4090}
PRESET=${2:-Q4_K_M}
CTX=${3:-8192}
printf '%-30s %5s %9s %9s %10s\n' model fits "GPU GB" "max ctx" "tok/s max"
"$BIN/llm-memcalc" --list-models | python3 -c 'import json,sys; [print(json.loads(l)["model"]) for l in sys.stdin]' |
  while read -r m; do
    "$BIN/llm-memcalc" --json --model "$m" --quant "$PRESET" -c "$CTX" --gpu "$GPU"
  done | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    fits = "yes" if r["fits"] else "no"
    gb = r["gpu_total_bytes"] / 1e9
    print("%-30s %5s %9.1f %9d %10.0f" % (r["model"], fits, gb, r["max_ctx_full_offload"], r.get("tg_upper_ts", 0)))'
