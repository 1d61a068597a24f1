#!/usr/bin/env bash
# F16 -> Q4_K_M and F16 -> Q8_0 on a TinyLlama-shaped model (gguf-synth), llmkit's gguf-quantize
# against llama.cpp's quantizer (llama_model_quantize through the llama-cpp-python package), same
# input file, same thread count, alternating in one run. Prints a Markdown table of wall times.
#
#   bench/quantize.sh                 # THREADS=$(nproc) REPS=2 WORK=bench/out PYTHON=python3
#   pip install llama-cpp-python      # for the llama.cpp column (builds llama.cpp from source)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
THREADS=${THREADS:-$(nproc)}
REPS=${REPS:-3}
WORK=${WORK:-bench/out}
PYTHON=${PYTHON:-python3}
SHAPE=${SHAPE:-tinyllama-1.1b}
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

now() { date +%s.%N; }
# Every timed run starts with no dirty pages from an earlier one (sync) and its output is removed
# afterwards, so neither tool pays for the other's write-back.
ours() {  # preset -> seconds
  local t0 t1
  sync
  t0=$(now)
  "$BIN/gguf-quantize" -t "$THREADS" "$src" "$WORK/ours.$1.gguf" "$1" > /dev/null
  t1=$(now)
  rm -f "$WORK/ours.$1.gguf"
  echo "$t1 - $t0" | bc -l
}
theirs() {  # preset ftype -> seconds
  sync
  # llama.cpp logs every tensor to stderr: keep it out of the table.
  "$PYTHON" - "$src" "$WORK/llamacpp.$1.gguf" "$2" "$THREADS" 2> /dev/null << 'PY'
import ctypes, sys, time
import llama_cpp
p = llama_cpp.llama_model_quantize_default_params()
p.nthread = int(sys.argv[4])
p.ftype = int(sys.argv[3])
t0 = time.time()
rc = llama_cpp.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), ctypes.byref(p))
t1 = time.time()
if rc != 0:
    sys.exit(f"llama_model_quantize failed: {rc}")
print(f"{t1 - t0:.3f}")
PY
  rm -f "$WORK/llamacpp.$1.gguf"
}

echo "| preset | llmkit gguf-quantize (s) | llama.cpp llama-quantize (s) | speed-up |"
echo "|---|---:|---:|---:|"
for spec in Q4_K_M:15 Q8_0:7; do
  preset=${spec%%:*}
  ftype=${spec##*:}
  best_ours=""
  best_theirs=""
  for ((r = 0; r < REPS; r++)); do
    o=$(ours "$preset")
    [ -z "$best_ours" ] || [ "$(echo "$o < $best_ours" | bc -l)" = 1 ] && best_ours=$o
    if [ "$have_llamacpp" = 1 ]; then
      t=$(theirs "$preset" "$ftype")
      [ -z "$best_theirs" ] || [ "$(echo "$t < $best_theirs" | bc -l)" = 1 ] && best_theirs=$t
    fi
  done
  if [ -n "$best_theirs" ]; then
    printf "| %s | %.2f | %.2f | %.2fx |\n" "$preset" "$best_ours" "$best_theirs" "$(echo "$best_theirs / $best_ours" | bc -l)"
  else
    printf "| %s | %.2f | - | - |\n" "$preset" "$best_ours"
  fi
done
echo
echo "model: $SHAPE F16 ($(stat -c %s "$src") bytes), threads: $THREADS, best of $REPS, CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
