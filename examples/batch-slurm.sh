#!/usr/bin/env bash
#SBATCH --job-name=llm-generate
#SBATCH --cpus-per-task=1
# A batch as a Slurm job array: task K runs shard K of N (llm-generate --shard K/N, the same split
# on every node) with --resume, so a task that is resubmitted after a failure, a kill or a
# preemption computes only what its shard is missing. N is given, not taken from the array, so
# that one task can be resubmitted alone.
#   sbatch --array=0-3 examples/batch-slurm.sh 4 MODEL INPUT.jsonl[.zst] OUTPUT.jsonl [llm-generate options...]
#   sbatch --array=2 examples/batch-slurm.sh 4 MODEL INPUT OUTPUT ...      (task 2 again)
#   examples/merge-shards.sh OUTPUT.jsonl OUTPUT.jsonl.shard*.jsonl.zst   (when every task is done)
# BIN: the folder of llm-generate (default: build/bin of the submission directory).
set -euo pipefail
shards=${1:?usage: sbatch --array=0-N-1 batch-slurm.sh N MODEL INPUT OUTPUT [options...]}
model=${2:?model}
input=${3:?input}
output=${4:?output}
shift 4
k=${SLURM_ARRAY_TASK_ID:?run as a Slurm job array: sbatch --array=0-$((shards - 1)) ...}
BIN=${BIN:-${SLURM_SUBMIT_DIR:-.}/build/bin}
exec "$BIN/llm-generate" -m "$model" -f "$input" --shard "$k/$shards" --index -o "$output.shard$k.jsonl.zst" --resume \
  -t "${SLURM_CPUS_PER_TASK:-1}" "$@"
