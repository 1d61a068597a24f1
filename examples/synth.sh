#!/usr/bin/env bash
# Test tooling without downloads: the known shapes with their sizes, then a small model of one
# of them, its F16 size and its Q4_K_M size.
set -euo pipefail
BIN=${BIN:-build/bin}
echo "== shapes gguf-synth knows (parameters, F16 GB)"
shapes=$(cat <<'PY'
import json, sys
for r in map(json.loads, sys.stdin):
    print(f"  {r['shape']:16} {r['parameters'] / 1e9:7.3f} B  {r['parameters'] * 2 / 1e9:7.2f} GB")
PY
)
"$BIN/gguf-synth" --list-shapes | python3 -c "$shapes"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$BIN/gguf-synth" --shape smollm2-135m --seed 7 "$dir/smollm2.f16.gguf"
"$BIN/gguf-quantize" "$dir/smollm2.f16.gguf" "$dir/smollm2.Q4_K_M.gguf" Q4_K_M
"$BIN/gguf-info" "$dir/smollm2.Q4_K_M.gguf" | sed -n '1,7p'
