#!/usr/bin/env bash
# Regenerates tests/data/quant_qerr/synth-llama-256.PRESET.qerr.json for the presets the shared
# goldens lack (the IQ presets): llama-quantize (current llama.cpp, no importance matrix) on
# ../shared's synth-llama-256 F16, then each tensor's type and nrmse (quant_qerr.cpp, built
# against build/), and llama-perplexity's figure for that file on the GPL-3 text (-c 128, 20 chunks).
#   LLAMA_BIN=.../llama.cpp/build/bin SHARED=../shared tests/reference/quant_qerr.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
LLAMA_BIN=${LLAMA_BIN:?set LLAMA_BIN to the folder holding llama-quantize}
SHARED=${SHARED:-../shared}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
M="$SHARED/models/synth-llama-256.f16.gguf"
g++ -O2 -std=c++20 -Ilibcore/include tests/reference/quant_qerr.cpp build/libcore/libllmkit_core.a build/kernels/libllmkit_kernels.a \
  $(ls build/kernels/cuda/libllmkit_cuda.a 2> /dev/null) -lsimdjson -lzstd -lxxhash -ldnnl -fopenmp -o "$WORK/qerr"
mkdir -p tests/data/quant_qerr
# The presets whose types need an importance matrix get tests/data/synth-llama-256.imatrix.gguf
# (llama-imatrix on the GPL-3 text, -c 128, 4 chunks), recorded as "imatrix": true.
for p in IQ4_NL IQ4_XS IQ3_XS IQ3_S IQ3_M IQ3_XXS IQ2_M IQ2_S IQ2_XS IQ2_XXS IQ1_M IQ1_S; do
  im=false args=()
  case $p in IQ3_XS | IQ3_XXS | IQ2_* | IQ1_*) im=true args=(--imatrix tests/data/synth-llama-256.imatrix.gguf) ;; esac
  "$LLAMA_BIN/llama-quantize" "${args[@]}" "$M" "$WORK/$p.gguf" $p > /dev/null 2>&1
  ppl=$("$LLAMA_BIN/llama-perplexity" -m "$WORK/$p.gguf" -f "$SHARED/golden/perplexity/gpl-3.txt" -c 128 -b 128 --chunks 20 2>&1 |
    sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p')
  "$WORK/qerr" "$M" "$WORK/$p.gguf" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["llama_perplexity_c128_chunks20"]=float(sys.argv[1]); d["imatrix"]=sys.argv[2]=="true"; print(json.dumps(d, separators=(",", ":")))' "$ppl" "$im" \
    > "tests/data/quant_qerr/synth-llama-256.$p.qerr.json"
done
echo "wrote tests/data/quant_qerr/" >&2
