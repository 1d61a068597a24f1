#!/usr/bin/env bash
# CPU speed side by side, as llama-bench defines the tests: pp512 (a prompt from an empty
# context) and tg128 (generation from an empty context), llmkit's llm-bench against llama.cpp's
# own llama-bench (built from the llama-cpp-python sdist's vendor/llama.cpp: see the README), on
# the TinyLlama-shaped synthetic model in each type, for each thread count. The two sides
# alternate, REPS runs each; neither side warms up (each run loads the model afresh). The table
# gives means, the ratio, and for tg the share of the bandwidth ceiling llm-bench measured.
#
# KERNELS forces llmkit's kernel path (LLMKIT_KERNELS: avx512, avxvnni, avx2, scalar); to compare
# a path the CPU runs but is not its best (AVX2 on an AVX-512 machine), point LLAMA_BIN at a
# llama.cpp built for that path too (cmake -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON
# -DGGML_F16C=ON, and -DGGML_AVX_VNNI=ON for avxvnni).
#
#   LLAMA_BIN=.../llama.cpp/build/bin bench/cpu.sh
#   KERNELS=avx2 LLAMA_BIN=.../llama.cpp/build-avx2/bin bench/cpu.sh
#   TYPES="Q4_K_M Q8_0 Q4_0 F16" THREADS="1 2" REPS=3 DEPTH=0 bench/cpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
LLAMA_BIN=${LLAMA_BIN:?set LLAMA_BIN to the folder holding llama.cpp\'s llama-bench}
THREADS=${THREADS:-1 2}
REPS=${REPS:-3}
WORK=${WORK:-bench/out}
SHAPE=${SHAPE:-tinyllama-1.1b}
TYPES=${TYPES:-Q4_K_M Q8_0 Q4_0 F16}
DEPTH=${DEPTH:-0}
export LLMKIT_KERNELS=${KERNELS:-auto}
mkdir -p "$WORK"
src="$WORK/$SHAPE.f16.gguf"
[ -f "$src" ] || "$BIN/gguf-synth" --shape "$SHAPE" --type F16 "$src" >&2
path=$("$BIN/llm-bench" -m "$src" -p 0 -n 1 -r 1 -o jsonl 2> /dev/null | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["kernels"])')

echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; llmkit kernels $path; $SHAPE-shaped synthetic model; depth $DEPTH; mean of $REPS; $(date -u +%F)"
echo
echo "| type | threads | test | llmkit tok/s | llama.cpp tok/s | ratio | llmkit share of tg ceiling |"
echo "|---|---:|---|---:|---:|---:|---:|"
for type in $TYPES; do
  model="$WORK/$SHAPE.$type.gguf"
  if [ "$type" = F16 ]; then model=$src; elif [ ! -f "$model" ]; then
    "$BIN/gguf-quantize" "$src" "$model" "$type" > /dev/null
  fi
  for t in $THREADS; do
    : > "$WORK/ours.jsonl"
    : > "$WORK/theirs.jsonl"
    for _ in $(seq "$REPS"); do
      "$BIN/llm-bench" -m "$model" -p 512 -n 128 -d "$DEPTH" -t "$t" -r 1 --no-warmup -o jsonl 2> /dev/null >> "$WORK/ours.jsonl"
      "$LLAMA_BIN/llama-bench" -m "$model" -p 512 -n 128 -d "$DEPTH" -t "$t" -r 1 --no-warmup -o jsonl 2> /dev/null >> "$WORK/theirs.jsonl"
    done
    python3 - "$type" "$t" "$WORK/ours.jsonl" "$WORK/theirs.jsonl" << 'PY'
import json, statistics, sys
typ, t, ours, theirs = sys.argv[1:]
rs = [json.loads(l) for l in open(ours) if l.strip()]
th = [json.loads(l) for l in open(theirs) if l.strip()]
for test, (p, n) in {"pp512": (512, 0), "tg128": (0, 128)}.items():
    o = [r for r in rs if r["test"].startswith(test)]
    mo = statistics.mean(r["avg_ts"] for r in o)
    mt = statistics.mean(r["avg_ts"] for r in th if r["n_prompt"] == p and r["n_gen"] == n)
    share = f'{100 * statistics.mean(r["ceiling_fraction"] for r in o):.0f}%' if test == "tg128" else ""
    print(f"| {typ} | {t} | {test} | {mo:.1f} | {mt:.1f} | {mo / mt:.2f}x | {share} |")
PY
  done
done
