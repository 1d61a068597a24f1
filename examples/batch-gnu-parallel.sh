#!/usr/bin/env bash
# A batch spread over JOBS processes with GNU parallel, each taking one shard of the input
# (--shard K/JOBS, stable across machines) and writing it with --resume, so that running the same
# command again after a failure or a kill computes only what is missing; then the shards are
# merged back into input order. Add `-S host1,host2` (GNU parallel's --sshlogin) to PARALLEL_OPTS
# to run the jobs on machines that see the same files.
#   examples/batch-gnu-parallel.sh MODEL INPUT.jsonl[.zst] OUTPUT.jsonl JOBS [llm-generate options...]
#   BIN=build/bin PARALLEL_OPTS="-S host1,host2"
set -euo pipefail
model=${1:?usage: batch-gnu-parallel.sh MODEL INPUT OUTPUT JOBS [llm-generate options...]}
input=${2:?input}
output=${3:?output}
jobs=${4:?jobs}
shift 4
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/bin}
# shellcheck disable=SC2086  # PARALLEL_OPTS is a list of options
status=0
parallel --will-cite -q ${PARALLEL_OPTS:-} -j "$jobs" \
  "$BIN/llm-generate" -m "$model" -f "$input" --shard "{}/$jobs" --index -o "$output.shard{}.jsonl.zst" --resume "$@" \
  ::: $(seq 0 $((jobs - 1))) || status=$?
# A shard that failed records (exit 1) is still complete; one that stopped has no output yet.
shards=()
for k in $(seq 0 $((jobs - 1))); do
  if [ ! -f "$output.shard$k.jsonl.zst" ]; then
    echo "batch-gnu-parallel: shard $k did not finish; run the same command again to resume it" >&2
    exit 1
  fi
  shards+=("$output.shard$k.jsonl.zst")
done
"$(dirname "$0")/merge-shards.sh" "$output" "${shards[@]}"
exit "$status"
