#!/usr/bin/env bash
# `make demo`: the main job on a default model. For now: describe models with gguf-info.
# Uses ../shared/models when present; otherwise a tiny model written by llmkit's own writer.
set -euo pipefail
BIN=${BIN:-build/bin}
SHARED=${SHARED:-../shared}
if [ -d "$SHARED/models" ]; then
  models=("$SHARED/models/stories260K.gguf" "$SHARED/models/synth-llama-256.Q4_K_M.llamacpp.gguf")
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$(dirname "$BIN")/test-bin/llmkit-make-fixture" "$tmp/tiny-llama.gguf"
  models=("$tmp/tiny-llama.gguf")
  echo "(no $SHARED/models here: describing a tiny random-weight model written by llmkit)"
  echo
fi
"$BIN/gguf-info" "${models[@]}"
echo
echo "As JSON-lines, for scripts (first 300 characters):"
"$BIN/gguf-info" --json "${models[0]}" | cut -c1-300
