#!/usr/bin/env bash
# FP16 checkpoint to Q4_K_M: look at the plan (which tensor gets which type), quantize, and
# describe the result.
#   examples/quantize.sh [IN.gguf] [PRESET]   (default: ../shared/models/synth-llama-256.f16.gguf Q4_K_M)
set -euo pipefail
BIN=${BIN:-build/bin}
IN=${1:-../shared/models/synth-llama-256.f16.gguf}
PRESET=${2:-Q4_K_M}
if [ ! -f "$IN" ]; then
  IN=$(mktemp -d)/synth.f16.gguf
  "$BIN/gguf-synth" --shape synth-llama-256 "$IN" > /dev/null
fi
OUT=$(mktemp -d)/model.$PRESET.gguf

plan_summary=$(cat <<'PY'
import json, sys, collections
by = collections.defaultdict(list)
for r in map(json.loads, sys.stdin):
    if r.get("total"):
        total = r
    else:
        by[r["to"]].append(r["name"])
for t, names in sorted(by.items()):
    print(f"  {t:5} {len(names):3}  e.g. {names[0]}")
print(f"  total: {total['tensors']} tensors, {total['in_bytes'] / 2**20:.1f} MiB -> "
      f"{total['out_bytes'] / 2**20:.1f} MiB, {total['bits_per_weight']:.2f} bits/weight")
PY
)
echo "== plan: which tensors get which type"
"$BIN/gguf-quantize" --dry-run "$IN" "$PRESET" | python3 -c "$plan_summary"
echo
echo "== quantize"
"$BIN/gguf-quantize" "$IN" "$OUT" "$PRESET"
echo
echo "== result"
"$BIN/gguf-info" "$OUT" | sed -n '1p;5,7p;15p'
rm -f "$OUT"
