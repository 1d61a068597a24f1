#!/usr/bin/env bash
# FP16 checkpoint to Q4_K_M, then how far each Q4_K_M drifted from the FP16: ours (gguf-quantize)
# against llama.cpp's file of the same model, scored on the same text.
#   examples/perplexity.sh [CHUNKS]      (uses ../shared: synth-llama-256 and golden/perplexity/gpl-3.txt)
set -euo pipefail
BIN=${BIN:-build/bin}
SHARED=${SHARED:-../shared}
CHUNKS=${1:-8}
F16="$SHARED/models/synth-llama-256.f16.gguf"
THEIRS="$SHARED/models/synth-llama-256.Q4_K_M.llamacpp.gguf"
TEXT="$SHARED/golden/perplexity/gpl-3.txt"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$BIN/gguf-quantize" "$F16" "$dir/ours.Q4_K_M.gguf" Q4_K_M > /dev/null
show=$(cat <<'PY'
import json, sys
r = json.loads(sys.stdin.read())
print(f"  {sys.argv[1]:22} ppl {r['ppl']:10.2f}  vs F16 x{r['ppl_ratio']:.4f}  KL {r['kl_mean']:.5f}  top-1 agree {100 * r['top1_agreement']:.1f}%")
PY
)
echo "Q4_K_M against its FP16 source, $CHUNKS chunks of 128 tokens:"
"$BIN/llm-perplexity" -m "$dir/ours.Q4_K_M.gguf" --base "$F16" -f "$TEXT" -c 128 --chunks "$CHUNKS" | python3 -c "$show" "llmkit Q4_K_M"
"$BIN/llm-perplexity" -m "$THEIRS" --base "$F16" -f "$TEXT" -c 128 --chunks "$CHUNKS" | python3 -c "$show" "llama.cpp Q4_K_M"
