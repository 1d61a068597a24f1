#!/usr/bin/env bash
# Real model files side by side with llama.cpp's own llama-bench (built from the llama-cpp-python
# sdist's vendor/llama.cpp: see the README), pp512 and tg128 as llama-bench defines them, for each
# thread count. The two sides alternate, REPS runs each, and the table gives means and the ratio.
# DEPTH tokens already in the context before each test (llama-bench -d, llm-bench -d); KERNELS
# forces llmkit's kernel path (see bench/cpu.sh for comparing a path that is not the CPU's best).
#
#   LLAMA_BIN=.../vendor/llama.cpp/build/bin bench/models.sh
#   MODELS="models/gemma-3-270m-Q4_K_M.gguf models/SmolLM2-135M-Instruct.Q4_1.gguf" THREADS="1 2" REPS=3 DEPTH=0
#   DEPTH=4096 THREADS=2 KERNELS=avx2 LLAMA_BIN=.../build-avx2/bin bench/models.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
LLAMA_BIN=${LLAMA_BIN:?set LLAMA_BIN to the folder holding llama.cpp\'s llama-bench}
MODELS=${MODELS:-models/gemma-3-270m-Q4_K_M.gguf models/SmolLM2-135M-Instruct.Q4_1.gguf}
THREADS=${THREADS:-1 2}
REPS=${REPS:-3}
DEPTH=${DEPTH:-0}
export LLMKIT_KERNELS=${KERNELS:-auto}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; llmkit kernels $LLMKIT_KERNELS; depth $DEPTH; $(date -u +%F)"
echo
echo "| model | threads | test | llmkit tok/s | llama.cpp tok/s | ratio |"
echo "|---|---:|---|---:|---:|---:|"
for m in $MODELS; do
  for t in $THREADS; do
    : > "$WORK/ours" && : > "$WORK/theirs"
    for _ in $(seq "$REPS"); do
      "$BIN/llm-bench" -m "$m" -p 512 -n 128 -d "$DEPTH" -t "$t" -r 1 -o jsonl 2> /dev/null >> "$WORK/ours"
      "$LLAMA_BIN/llama-bench" -m "$m" -p 512 -n 128 -d "$DEPTH" -t "$t" -r 1 -o jsonl 2> /dev/null >> "$WORK/theirs"
    done
    python3 - "$WORK/ours" "$WORK/theirs" "$(basename "$m" .gguf)" "$t" << 'PY'
import json, statistics, sys
ours = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
theirs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
for test, (p, n) in {"pp512": (512, 0), "tg128": (0, 128)}.items():
    a = statistics.mean(r["avg_ts"] for r in ours if r["test"].startswith(test))
    b = statistics.mean(r["avg_ts"] for r in theirs if r["n_prompt"] == p and r["n_gen"] == n)
    print(f"| {sys.argv[3]} | {sys.argv[4]} | {test} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")
PY
  done
done
