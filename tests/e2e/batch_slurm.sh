#!/usr/bin/env bash
# End-to-end: examples/batch-slurm.sh on a one-node Slurm cluster started here (munged, slurmctld
# and slurmd on localhost with a configuration of this test's own, stopped at the end): a 4-task
# job array over a small corpus, one task killed midway and resubmitted alone, and the merged
# output equals a single process's. Skipped, saying why, where Slurm cannot start (not root, or
# slurm-wlm and munge not installed: scripts/install-deps.sh installs them).
. "$(dirname "$0")/common.bash"
need_shared
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
G="$BIN/llm-generate"
S="$SHARED/models/stories260K.gguf"
for tool in slurmctld slurmd sbatch munged jq zstd; do
  if ! command -v "$tool" > /dev/null && [ ! -x "/usr/sbin/$tool" ]; then
    echo "SKIP: $tool is not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
    exit 77
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: starting a Slurm cluster needs root"
  exit 77
fi
PATH=$PATH:/usr/sbin
C="$WORK/slurm"
mkdir -p "$C/state" "$C/spool" "$C/munge"
host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
cat > "$C/slurm.conf" << CONF
ClusterName=llmkit-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$C/munge/socket
StateSaveLocation=$C/state
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/slurmctld.pid
SlurmdPidFile=$C/slurmd.pid
SlurmctldPort=$port
SlurmdPort=$((port + 1))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldLogFile=$C/slurmctld.log
SlurmdLogFile=$C/slurmd.log
NodeName=$host CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$C/slurm.conf"
# munged with its own socket (AuthInfo above), so a munged already running here is left alone.
key=/etc/munge/munge.key
if [ ! -s "$key" ]; then
  echo "SKIP: $key is missing (the munge package creates it)"
  exit 77
fi
stop() {
  scancel --full --signal=KILL --partition=test 2> /dev/null
  for p in "$C/slurmd.pid" "$C/slurmctld.pid" "$C/munge/pid"; do [ -f "$p" ] && kill "$(cat "$p")" 2> /dev/null; done
  pkill -f "$SLURM_CONF" 2> /dev/null  # daemons that had not written their pid file yet
  sleep 0.5
  rm -rf "$WORK"
}
trap stop EXIT
munged --force --socket="$C/munge/socket" --pid-file="$C/munge/pid" --log-file="$C/munge/log" --seed-file="$C/munge/seed" \
  --key-file="$key" 2> "$C/munge/err" || { echo "SKIP: munged does not start: $(cat "$C/munge/err")"; exit 77; }
slurmctld -c 2> "$C/ctld.err" || { echo "SKIP: slurmctld does not start: $(cat "$C/ctld.err")"; exit 77; }
slurmd 2> "$C/d.err" || { echo "SKIP: slurmd does not start: $(cat "$C/d.err")"; exit 77; }
up=no
for _ in $(seq 60); do
  timeout 2 sinfo -h -o %T 2> /dev/null | grep -q idle && up=yes && break
  sleep 0.25
done
if [ "$up" != yes ]; then
  echo "SKIP: the Slurm node did not come up: $(tail -n 3 "$C/slurmd.log" "$C/slurmctld.log" 2>&1)"
  exit 77
fi
pass

python3 -c '
import json
for i in range(480):
    r = {"prompt": ["Once upon a time", "The little dog", "Lily saw"][i % 3], "max_tokens": 40 + i % 9}
    if i % 6:
        r = {"id": "doc-%d" % i, **r}
    print(json.dumps(r))
' | zstd -q -c > "$WORK/in.jsonl.zst"
A=(--temp 0)
key() { py 'json.dumps([(x.get("id"), x.get("output")) for x in rs])'; }
"$G" -m "$S" "${A[@]}" -f "$WORK/in.jsonl.zst" 2> /dev/null | key > "$WORK/want"

cd "$WORK"
job=$(BIN="$BIN" sbatch --parsable --array=0-3 -o "$WORK/task-%a.log" "$ROOT/examples/batch-slurm.sh" 4 "$S" \
  "$WORK/in.jsonl.zst" "$WORK/out.jsonl" "${A[@]}")
expect_contains "array submitted" "$job" ""
# Kill task 1 once it has written some records, then resubmit it alone.
for _ in $(seq 200); do
  f="$WORK/out.jsonl.shard1.jsonl.zst.partial"
  [ -f "$f" ] && [ "$(zstd -q -dc "$f" 2> /dev/null | wc -l)" -ge 5 ] && break
  [ -f "$WORK/out.jsonl.shard1.jsonl.zst" ] && break
  sleep 0.05
done
scancel --signal=KILL "${job}_1"
for _ in $(seq 600); do [ -z "$(squeue -h -j "$job" 2> /dev/null)" ] && break; sleep 0.1; done
expect_eq "task 1 cut short" "$([ -f "$WORK/out.jsonl.shard1.jsonl.zst" ] && echo finished || echo cut)" "cut"
BIN="$BIN" sbatch --wait --array=1 -o "$WORK/task1-again.log" "$ROOT/examples/batch-slurm.sh" 4 "$S" \
  "$WORK/in.jsonl.zst" "$WORK/out.jsonl" "${A[@]}" > /dev/null; rc=$?
expect_eq "task 1 resubmitted: exit" "$rc" 0
expect_contains "task 1 resumed" "$(cat "$WORK/task1-again.log")" "kept from the earlier run"
"$ROOT/examples/merge-shards.sh" "$WORK/out.jsonl" "$WORK"/out.jsonl.shard?.jsonl.zst
expect_eq "merged Slurm output equals one process" "$(key < "$WORK/out.jsonl")" "$(cat "$WORK/want")"
cd /
finish
