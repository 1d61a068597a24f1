#!/usr/bin/env bash
# llm-imatrix against llama-imatrix (tests/data/imatrix_reference.json, made by
# tests/reference/imatrix_reference.sh): the same entries, token counts and chunk metadata, and
# per-column means within 1% (F16 synth model) or 2% (SmolLM2 Q4_1, whose activations pass through
# other quantized kernels); the legacy .dat holds the same means; outputs never replace inputs;
# bad arguments and a text shorter than a chunk are usage errors.
. "$(dirname "$0")/common.bash"
need_shared
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TEXT="$SHARED/golden/perplexity/gpl-3.txt"
SMOL="$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf"

compare() {  # compare OURS.gguf KEY TOLERANCE
  python3 "$ROOT/tests/reference/imatrix_summary.py" "$1" > "$WORK/ours.json"
  python3 - "$WORK/ours.json" "$ROOT/tests/data/imatrix_reference.json" "$2" "$3" << 'PY'
import json, sys
ours = json.load(open(sys.argv[1]))
ref = json.load(open(sys.argv[2]))[sys.argv[3]]
tol = float(sys.argv[4])
assert (ours["chunk_count"], ours["chunk_size"]) == (ref["chunk_count"], ref["chunk_size"]), "chunks"
assert set(ours["entries"]) == set(ref["entries"]), f"entries: {sorted(set(ours['entries']) ^ set(ref['entries']))[:4]}"
worst = 0.0
for k, r in ref["entries"].items():
    o = ours["entries"][k]
    assert (o["count"], o["n"]) == (r["count"], r["n"]), f"{k}: count/size {o['count']}/{o['n']} vs {r['count']}/{r['n']}"
    for f in ("mean", "max"):
        worst = max(worst, abs(o[f] / r[f] - 1))
print(f"{len(ref['entries'])} entries, worst {'ok' if worst <= tol else worst}")
PY
}

B="$BIN/llm-imatrix"
out=$("$B" -m "$SHARED/models/synth-llama-256.f16.gguf" -f "$TEXT" -c 128 --chunks 4 -o "$WORK/synth.gguf")
expect_eq "synth: exit" "$?" 0
expect_eq "synth: summary record" "$(jq -c '[.chunks, .tokens, .entries, .format]' <<< "$out")" '[4,512,28,"gguf"]'
expect_eq "synth: as llama-imatrix" "$(compare "$WORK/synth.gguf" synth 0.01)" "28 entries, worst ok"
# The legacy form, read back by llama.cpp's rule (values / call count), holds the same means.
"$B" -m "$SHARED/models/synth-llama-256.f16.gguf" -f "$TEXT" -c 128 --chunks 4 -o "$WORK/synth.dat" > /dev/null
expect_eq "dat: exit" "$?" 0
expect_eq "dat: the same means" "$(python3 - "$WORK/synth.dat" "$WORK/synth.gguf" "$ROOT/tests/reference/imatrix_summary.py" << 'PY'
import importlib.util, struct, sys
spec = importlib.util.spec_from_file_location("s", sys.argv[3]); s = importlib.util.module_from_spec(spec); spec.loader.exec_module(s)
data = open(sys.argv[1], "rb").read()
n, = struct.unpack_from("<i", data, 0); pos = 4
_, t = s.read(sys.argv[2])
worst = 0.0
for _ in range(n):
    ln, = struct.unpack_from("<i", data, pos); pos += 4
    name = data[pos:pos + ln].decode(); pos += ln
    ncall, nval = struct.unpack_from("<ii", data, pos); pos += 8
    vals = struct.unpack_from(f"<{nval}f", data, pos); pos += 4 * nval
    sums, counts = t[name + ".in_sum2"], t[name + ".counts"]
    for v, x in zip(vals, sums):
        worst = max(worst, abs(v / ncall - x / counts[0]) / (x / counts[0] + 1e-9))
chunks, = struct.unpack_from("<i", data, pos)
print(n, chunks, worst < 1e-5)
PY
)" "28 4 True"
if [ -f "$SMOL" ]; then
  "$B" -m "$SMOL" -f "$TEXT" -c 128 --chunks 8 -o "$WORK/smol.gguf" > /dev/null
  expect_eq "SmolLM2: as llama-imatrix" "$(compare "$WORK/smol.gguf" smollm2 0.02)" "210 entries, worst ok"
else
  echo "note: $SMOL not found (make models): the SmolLM2 check is skipped"
fi

# gguf-quantize --imatrix: the file llama.cpp's loader reads, its keys, the tensors weighted.
Q="$BIN/gguf-quantize"
"$Q" --imatrix "$WORK/synth.gguf" "$SHARED/models/synth-llama-256.f16.gguf" "$WORK/q.gguf" Q4_K_M > /dev/null 2> "$WORK/err"
expect_eq "quantize --imatrix: exit" "$?" 0
expect_contains "quantize --imatrix: report" "$(cat "$WORK/err")" "28 entries, weighting 28 tensors"
expect_eq "quantize --imatrix: keys" "$("$BIN/gguf-info" --json "$WORK/q.gguf" | jq -c '.metadata | [."quantize.imatrix.entries_count", ."quantize.imatrix.chunks_count", ."quantize.imatrix.dataset"]')" \
  "[28,4,\"$TEXT\"]"
"$Q" --imatrix "$WORK/synth.dat" --include-weights ffn_down --exclude-weights blk.0. "$SHARED/models/synth-llama-256.f16.gguf" "$WORK/q2.gguf" Q5_K_M > /dev/null 2> "$WORK/err"
expect_contains "--include-weights/--exclude-weights" "$(cat "$WORK/err")" "3 entries, weighting 3 tensors"
"$Q" --imatrix "$WORK/synth.gguf" "$SHARED/models/synth-llama-256.f16.gguf" "$WORK/q3.gguf" Q2_K > /dev/null 2> "$WORK/err"
expect_contains "Q2_K: every matrix weighted" "$(cat "$WORK/err")" "28 entries, weighting 28 tensors"
"$B" -m "$SHARED/models/stories260K.gguf" -f "$TEXT" -c 64 --chunks 2 -o "$WORK/stories.gguf" > /dev/null
"$Q" --imatrix "$WORK/stories.gguf" "$SHARED/models/synth-llama-256.f16.gguf" "$WORK/q4.gguf" Q4_K_M > /dev/null 2> "$WORK/err"
expect_eq "another model's matrix: exit" "$?" 2
expect_contains "another model's matrix: the tensor named" "$(cat "$WORK/err")" "'blk.0.attn_k.weight': the importance matrix has 64 values per matrix, the model's rows 256"
expect_eq "another model's matrix: nothing written" "$(ls "$WORK" | grep -c '^q4.gguf')" 0
"$Q" --include-weights x "$SHARED/models/synth-llama-256.f16.gguf" "$WORK/q5.gguf" Q4_K_M 2> /dev/null
expect_eq "--include-weights without --imatrix: exit" "$?" 2
expect_contains "--version" "$("$B" --version)" "llm-imatrix (llmkit)"
# Mistakes.
cp "$SHARED/models/synth-llama-256.f16.gguf" "$WORK/m.gguf"
"$B" -m "$WORK/m.gguf" -f "$TEXT" -c 128 --chunks 1 -o "$WORK/m.gguf" > /dev/null 2> "$WORK/err"
expect_eq "output over the model: exit" "$?" 2
expect_contains "output over the model: message" "$(cat "$WORK/err")" "m.gguf"
expect_eq "the model is intact" "$(cmp -s "$WORK/m.gguf" "$SHARED/models/synth-llama-256.f16.gguf" && echo same)" same
printf 'too short' > "$WORK/short.txt"
"$B" -m "$WORK/m.gguf" -f "$WORK/short.txt" -o "$WORK/x.gguf" > /dev/null 2> "$WORK/err"
expect_eq "short text: exit" "$?" 2
expect_contains "short text: message" "$(cat "$WORK/err")" "fewer than one chunk of 512"
expect_eq "short text: nothing written" "$(ls "$WORK" | grep -c '^x.gguf')" 0
"$B" -m "$WORK/m.gguf" -f "$TEXT" --output-format xml 2> /dev/null
expect_eq "bad format: exit" "$?" 2
finish
