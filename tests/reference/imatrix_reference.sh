#!/usr/bin/env bash
# Regenerates tests/data/imatrix_reference.json: llama-imatrix (current llama.cpp, from the
# llama-cpp-python sdist's vendor/llama.cpp) on ../shared's GPL-3 text, -c 128, for SmolLM2 Q4_1
# (8 chunks) and synth-llama-256 F16 (4 chunks), each file summarized by imatrix_summary.py.
#   LLAMA_BIN=.../llama.cpp/build/bin SHARED=../shared tests/reference/imatrix_reference.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
LLAMA_BIN=${LLAMA_BIN:?set LLAMA_BIN to the folder holding llama-imatrix}
SHARED=${SHARED:-../shared}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TEXT="$SHARED/golden/perplexity/gpl-3.txt"
"$LLAMA_BIN/llama-imatrix" -m models/SmolLM2-135M-Instruct.Q4_1.gguf -f "$TEXT" -c 128 --chunks 8 -o "$WORK/smollm2.gguf" > /dev/null 2>&1
"$LLAMA_BIN/llama-imatrix" -m "$SHARED/models/synth-llama-256.f16.gguf" -f "$TEXT" -c 128 --chunks 4 -o "$WORK/synth.gguf" > /dev/null 2>&1
python3 - "$WORK" > tests/data/imatrix_reference.json << 'PY'
import json, subprocess, sys
out = {}
for name in ("smollm2", "synth"):
    s = subprocess.run([sys.executable, "tests/reference/imatrix_summary.py", f"{sys.argv[1]}/{name}.gguf"],
                       check=True, capture_output=True, text=True).stdout
    out[name] = json.loads(s)
print(json.dumps(out, separators=(",", ":"), sort_keys=True))
PY
echo "wrote tests/data/imatrix_reference.json" >&2
