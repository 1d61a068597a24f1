#!/usr/bin/env bash
# Quantization quality side by side: one importance matrix (llm-imatrix on a calibration text),
# then each preset made by llmkit's gguf-quantize and by llama.cpp's llama-quantize from the same
# F16 model with that matrix, and each file scored by llm-perplexity against the F16 model (--base:
# perplexity, mean KL divergence of the next-token distributions, top-token agreement) on another
# text. Prints a Markdown table.
#
#   MODEL=f16.gguf LLAMA_BIN=.../llama.cpp/build/bin bench/kl.sh
#   PRESETS="IQ4_XS IQ3_M IQ2_M" CALIB=calib.txt TEXT=/usr/share/common-licenses/GPL-3 bench/kl.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
MODEL=${MODEL:?set MODEL to an F16 or BF16 GGUF model}
LLAMA_BIN=${LLAMA_BIN:?set LLAMA_BIN to the folder holding llama.cpp\'s llama-quantize}
PRESETS=${PRESETS:-IQ4_XS IQ3_M IQ2_M Q4_K_M}
WORK=${WORK:-bench/out/kl}
TEXT=${TEXT:-/usr/share/common-licenses/GPL-3}
CTX=${CTX:-512}
CHUNKS=${CHUNKS:-14}
mkdir -p "$WORK"
calib=${CALIB:-$WORK/calib.txt}
[ -n "${CALIB:-}" ] || cat README.md man/*.1 > "$calib"
matrix="$WORK/imatrix.gguf"
"$BIN/llm-imatrix" -m "$MODEL" -f "$calib" -o "$matrix" -c 256 --chunks 16 > /dev/null

score() {  # file -> "ppl kl top"
  "$BIN/llm-perplexity" -m "$1" --base "$MODEL" -f "$TEXT" -c "$CTX" --chunks "$CHUNKS" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print("%.4f %.5f %.4f" % (r["ppl"], r["kl_mean"], r["top1_agreement"]))'
}

echo "Model: $(basename "$MODEL"); matrix from $(basename "$calib") (16 x 256 tokens); scored on $(basename "$TEXT") ($CHUNKS x $CTX tokens); $(date -u +%F)"
echo
echo "| preset | llmkit ppl | llama.cpp ppl | llmkit KL | llama.cpp KL | llmkit top-1 | llama.cpp top-1 |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for p in $PRESETS; do
  "$BIN/gguf-quantize" --imatrix "$matrix" "$MODEL" "$WORK/ours.$p.gguf" "$p" > /dev/null
  "$LLAMA_BIN/llama-quantize" --imatrix "$matrix" "$MODEL" "$WORK/llama.$p.gguf" "$p" > /dev/null 2>&1
  read -r po ko to <<< "$(score "$WORK/ours.$p.gguf")"
  read -r pl kll tl <<< "$(score "$WORK/llama.$p.gguf")"
  echo "| $p | $po | $pl | $ko | $kll | $to | $tl |"
  rm -f "$WORK/ours.$p.gguf" "$WORK/llama.$p.gguf"
done
