#!/usr/bin/env bash
# Prompt processing (pp512) and generation (tg128) on a TinyLlama-shaped model (gguf-synth), llmkit's
# llm-generate against llama.cpp (llama_decode through the llama-cpp-python package), the same
# 512 prompt tokens, the same thread count, alternating in one run. Generation continues after the
# prompt on both sides (context 512..640). Prints a Markdown table of tokens/s, best of REPS.
#
#   bench/generate.sh                      # TYPES="Q4_K_M Q8_0 Q4_0 F16" THREADS=2 REPS=3 PYTHON=python3
#   pip install llama-cpp-python           # for the llama.cpp column (builds llama.cpp from source)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
THREADS=${THREADS:-2}
REPS=${REPS:-3}
WORK=${WORK:-bench/out}
PYTHON=${PYTHON:-python3}
SHAPE=${SHAPE:-tinyllama-1.1b}
TYPES=${TYPES:-Q4_K_M Q8_0 Q4_0 F16}
NPP=${NPP:-512}
NTG=${NTG:-128}
mkdir -p "$WORK"
src="$WORK/$SHAPE.f16.gguf"
if [ ! -f "$src" ]; then
  echo "writing $src with gguf-synth ..." >&2
  "$BIN/gguf-synth" --shape "$SHAPE" --type F16 "$src" >&2
fi
have_llamacpp=0
if "$PYTHON" -c 'import llama_cpp' 2> /dev/null; then have_llamacpp=1; else
  echo "note: python module llama_cpp not found: llama.cpp column skipped" >&2
fi
# One fixed prompt of NPP random token ids (seeded), used by both sides.
prompt="$WORK/prompt-$NPP.json"
python3 -c "
import json, random
random.seed(1)
print(json.dumps({'tokens': [1] + [random.randrange(100, 30000) for _ in range($NPP - 1)], 'max_tokens': $NTG}))" > "$prompt"

ours() {  # model -> "pp tg" tokens/s
  "$BIN/llm-generate" -m "$1" -t "$THREADS" -c $((NPP + NTG)) -b "$NPP" --temp 0 --ignore-eos < "$prompt" 2> /dev/null |
    python3 -c 'import json,sys; t=json.load(sys.stdin)["timings"]; print(t["prompt_per_second"], t["predicted_per_second"])'
}
theirs() {  # model -> "pp tg" tokens/s
  "$PYTHON" - "$1" "$prompt" "$THREADS" "$NTG" 2> /dev/null << 'PY'
import ctypes, json, sys, time
import llama_cpp as L
path, prompt, threads, ntg = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
L.llama_backend_init()
model = L.llama_model_load_from_file(path.encode(), L.llama_model_default_params())
cp = L.llama_context_default_params()
toks = json.load(open(prompt))["tokens"]
cp.n_ctx = len(toks) + ntg
cp.n_batch = cp.n_ubatch = len(toks)
cp.n_threads = cp.n_threads_batch = threads
ctx = L.llama_init_from_model(model, cp)
arr = (L.llama_token * len(toks))(*toks)
t0 = time.perf_counter()
if L.llama_decode(ctx, L.llama_batch_get_one(arr, len(toks))) != 0: sys.exit("decode failed")
pp = len(toks) / (time.perf_counter() - t0)
one = (L.llama_token * 1)(toks[-1])
t0 = time.perf_counter()
for i in range(ntg):
    one[0] = 100 + i  # a fixed sequence: generation speed does not depend on which token
    if L.llama_decode(ctx, L.llama_batch_get_one(one, 1)) != 0: sys.exit("decode failed")
tg = ntg / (time.perf_counter() - t0)
print(pp, tg)
L.llama_free(ctx)
L.llama_model_free(model)
PY
}
best() { python3 -c "import sys; v=[l.split() for l in sys.stdin if l.strip()]; print(max(float(x[0]) for x in v), max(float(x[1]) for x in v))"; }

echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $THREADS threads; $SHAPE-shaped synthetic model; best of $REPS"
echo
echo "| type | test | llmkit tok/s | llama.cpp tok/s | ratio |"
echo "|---|---|---:|---:|---:|"
for type in $TYPES; do
  model="$WORK/$SHAPE.$type.gguf"
  if [ "$type" = F16 ]; then model=$src; elif [ ! -f "$model" ]; then
    "$BIN/gguf-quantize" -t "$THREADS" "$src" "$model" "$type" > /dev/null
  fi
  : > "$WORK/ours.txt"
  : > "$WORK/theirs.txt"
  for _ in $(seq "$REPS"); do
    ours "$model" >> "$WORK/ours.txt"
    [ $have_llamacpp = 1 ] && theirs "$model" >> "$WORK/theirs.txt"
  done
  read -r opp otg < <(best < "$WORK/ours.txt")
  if [ $have_llamacpp = 1 ]; then read -r tpp ttg < <(best < "$WORK/theirs.txt"); else tpp=0 ttg=0; fi
  python3 -c "
o = dict(pp=$opp, tg=$otg); t = dict(pp=$tpp, tg=$ttg)
for k, n in (('pp', $NPP), ('tg', $NTG)):
    r = f'{o[k] / t[k]:.2f}x' if t[k] else '-'
    print(f'| $type | {k}{n} | {o[k]:.1f} | {t[k]:.1f} | {r} |')"
done
