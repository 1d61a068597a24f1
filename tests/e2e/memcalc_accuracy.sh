#!/usr/bin/env bash
# llm-memcalc's prediction against what llm-generate really holds: peak resident memory of a run
# on the TinyLlama-shaped synthetic model (Q4_K_M and Q8_0) at -c 512, 4096 and 16384, with a
# 511-token prompt (one full batch) and 2 threads. The prediction must be within 5%.
. "$(dirname "$0")/common.bash"
"$BIN/gguf-synth" --shape tinyllama-1.1b "$WORK/tl.f16.gguf" 2> /dev/null || { fail "gguf-synth"; finish; exit; }
python3 -c 'import json; print(json.dumps({"tokens": [1] + [(i * 7919) % 31000 + 500 for i in range(510)]}))' > "$WORK/p.jsonl"
for type in Q4_K_M Q8_0; do
  "$BIN/gguf-quantize" "$WORK/tl.f16.gguf" "$WORK/tl.gguf" "$type" > /dev/null 2>&1 || fail "quantize $type"
  for c in 512 4096 16384; do
    measured=$(python3 - "$BIN/llm-generate" "$WORK/tl.gguf" "$c" "$WORK/p.jsonl" << 'PY'
import resource, subprocess, sys
gen, model, ctx, prompt = sys.argv[1:]
with open(prompt) as f:
    p = subprocess.run([gen, "-m", model, "-c", ctx, "-n", "1", "-t", "2", "--temp", "0"], stdin=f,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 if p.returncode == 0 else 0)
PY
)
    predicted=$("$BIN/llm-memcalc" --json --cpu-bandwidth 40 -c "$c" "$WORK/tl.gguf" | py 'r["host_total_bytes"]')
    ratio=$(python3 -c "print(f'{$predicted / $measured:.3f}' if $measured else 'run failed')")
    echo "$type -c $c: predicted $predicted, measured peak RSS $measured, ratio $ratio"
    expect_eq "$type -c $c within 5%" "$(python3 -c "print($measured > 0 and abs($predicted / $measured - 1) <= 0.05)")" True
  done
done
finish
