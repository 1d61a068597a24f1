#!/usr/bin/env bash
# Regenerates tests/data/imatrix_qerr_reference.json: llama-quantize --imatrix (current llama.cpp)
# on ../shared's synth-llama-256 F16, presets Q4_K_M, Q5_K_M, Q4_0, Q4_1, Q5_0, Q5_1, Q3_K_M, Q2_K, IQ4_NL and IQ4_XS, with llama-imatrix's matrix of
# the GPL-3 text (-c 128, 4 chunks); per tensor of the matrix its type and weighted nrmse
# (llmkit::weighted_error, via imatrix_qerr.cpp built against build/).
#   LLAMA_BIN=.../llama.cpp/build/bin SHARED=../shared tests/reference/imatrix_qerr.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
LLAMA_BIN=${LLAMA_BIN:?set LLAMA_BIN to the folder holding llama-imatrix and llama-quantize}
SHARED=${SHARED:-../shared}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
M="$SHARED/models/synth-llama-256.f16.gguf"
g++ -O2 -std=c++20 -Ilibcore/include tests/reference/imatrix_qerr.cpp build/libcore/libllmkit_core.a build/kernels/libllmkit_kernels.a \
  $(ls build/kernels/cuda/libllmkit_cuda.a 2> /dev/null) -lsimdjson -lzstd -lxxhash -ldnnl -fopenmp -o "$WORK/qerr"
"$LLAMA_BIN/llama-imatrix" -m "$M" -f "$SHARED/golden/perplexity/gpl-3.txt" -c 128 --chunks 4 -o "$WORK/im.gguf" > /dev/null 2>&1
for p in Q4_K_M Q5_K_M Q4_0 Q4_1 Q5_0 Q5_1 Q3_K_M Q2_K IQ4_NL IQ4_XS; do
  "$LLAMA_BIN/llama-quantize" --imatrix "$WORK/im.gguf" "$M" "$WORK/$p.gguf" $p > /dev/null 2>&1
  "$WORK/qerr" "$M" "$WORK/$p.gguf" "$WORK/im.gguf" > "$WORK/$p.json"
done
python3 -c 'import json,sys; print(json.dumps({p: json.load(open(f"{sys.argv[1]}/{p}.json")) for p in ("Q4_K_M", "Q5_K_M", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q3_K_M", "Q2_K", "IQ4_NL", "IQ4_XS")}, separators=(",", ":"), sort_keys=True))' "$WORK" \
  > tests/data/imatrix_qerr_reference.json
echo "wrote tests/data/imatrix_qerr_reference.json" >&2
