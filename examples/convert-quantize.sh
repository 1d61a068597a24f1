#!/usr/bin/env bash
# FP16 checkpoint to Q4_K_M, then perplexity against the FP16: convert a Hugging Face folder to
# GGUF twice (F16, and straight to the preset in one pass), then score both on a text.
#   examples/convert-quantize.sh MODEL_DIR TEXT_FILE [PRESET] [CTX]
set -euo pipefail
BIN=${BIN:-build/bin}
DIR=${1:?usage: convert-quantize.sh MODEL_DIR TEXT_FILE [PRESET] [CTX]}
TEXT=${2:?usage: convert-quantize.sh MODEL_DIR TEXT_FILE [PRESET] [CTX]}
PRESET=${3:-Q4_K_M}
CTX=${4:-512}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$BIN/gguf-convert" "$DIR" "$OUT/model.f16.gguf" > "$OUT/f16.json"
"$BIN/gguf-convert" "$DIR" "$OUT/model.$PRESET.gguf" --outtype "$PRESET" > "$OUT/q.json"
"$BIN/llm-perplexity" -m "$OUT/model.$PRESET.gguf" --base "$OUT/model.f16.gguf" -f "$TEXT" -c "$CTX" --chunks 4 \
  > "$OUT/ppl.json" 2> /dev/null
python3 - "$OUT" "$PRESET" << 'PY'
import json, sys
out, preset = sys.argv[1:]
f16, q, p = (json.load(open(f"{out}/{n}.json")) for n in ("f16", "q", "ppl"))
print(f"{f16['architecture']} ({f16['hf_architecture']}), pre-tokenizer {f16['pre']} ({f16['pre_source']})")
print(f"F16    {f16['out_bytes'] / 1e6:8.1f} MB  {f16['seconds']:.2f} s")
print(f"{preset:6} {q['out_bytes'] / 1e6:8.1f} MB  {q['seconds']:.2f} s  {q['bits_per_weight']:.2f} bits/weight")
print(f"perplexity F16 {p['base_ppl']:.2f}  {preset} {p['ppl']:.2f}  ratio {p['ppl_ratio']:.4f}  "
      f"KL {p['kl_mean']:.5f}  top-1 agreement {p['top1_agreement']:.3f}")
PY
