#!/usr/bin/env bash
# Inventory a folder of models: one line per file with its preset, size and shape, then check
# that two files hold the same weights (tensor hashes), the way you would before deleting one.
#   examples/gguf-info.sh [DIR]      (default: ../shared/models)
set -euo pipefail
BIN=${BIN:-build/bin}
DIR=${1:-../shared/models}

echo "== inventory of $DIR"
table=$(cat <<'PY'
import json, sys
print(f"{'file':44} {'arch':8} {'type':8} {'params':>12} {'MiB':>8} {'ctx':>6} {'vocab':>7}")
for line in sys.stdin:
    r = json.loads(line)
    if "error" in r:
        print(f"{r.get('path', '?')}: {r['error']['message']}")
        continue
    print(f"{r['path'].split('/')[-1]:44} {r['architecture']:8} {r['file_type']:8} {r['parameters']:>12,} "
          f"{r['file_size'] / 2**20:>8.1f} {r['context_length'] or 0:>6} {r['vocab_size'] or 0:>7}")
PY
)
find "$DIR" -name '*.gguf' | sort | "$BIN/gguf-info" --json | python3 -c "$table"

f16="$DIR/synth-llama-256.f16.gguf"
q4="$DIR/synth-llama-256.Q4_K_M.llamacpp.gguf"
if [ -f "$f16" ] && [ -f "$q4" ]; then
  echo
  echo "== tensors stored identically in the F16 and the Q4_K_M file (same xxh64)"
  join <("$BIN/gguf-info" --tensors --hash "$f16" | python3 -c 'import json,sys; [print(r["name"], r["xxh64"]) for r in map(json.loads, sys.stdin)]' | sort) \
       <("$BIN/gguf-info" --tensors --hash "$q4" | python3 -c 'import json,sys; [print(r["name"], r["xxh64"]) for r in map(json.loads, sys.stdin)]' | sort) |
    awk '$2 == $3 { n++; print "  " $1 } END { print "  " n+0 " identical tensors (the F32 norms: 1-D tensors are never quantized)" }'
fi
