#!/usr/bin/env bash
# Regenerates tests/data/iq_blocks.json from llama.cpp's ggml (iq_blocks.c linked against a
# llama.cpp build's libraries and headers).
#   LLAMA=.../vendor/llama.cpp tests/reference/iq_blocks.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
LLAMA=${LLAMA:?set LLAMA to a llama.cpp checkout with a build/ of it}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
gcc -O2 tests/reference/iq_blocks.c -I"$LLAMA/ggml/include" -L"$LLAMA/build/bin" -lggml-base -lggml-cpu -lggml -lxxhash -lm \
  -Wl,-rpath,"$LLAMA/build/bin" -o "$WORK/iq_blocks"
"$WORK/iq_blocks" > tests/data/iq_blocks.json
echo "wrote tests/data/iq_blocks.json" >&2
