#!/usr/bin/env bash
# Every command the README shows runs, as written, in a sandbox where its placeholder files
# (model.gguf, docs/, text.txt, ...) are real test files. A README edit that breaks a command, or
# a command that breaks, fails here. `scripts/install-deps.sh` and `make demo` are run by
# `make test-fresh`; the few commands too heavy for CI are listed below with the reason.
. "$(dirname "$0")/common.bash"
need_shared
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SMOL="$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -f "$SMOL" ] || [ ! -d "$ROOT/models/all-MiniLM-L6-v2" ]; then
  echo "SKIP: the README's models are not fetched (make models)"
  exit 77
fi
if ! command -v jq > /dev/null; then
  echo "FAIL: jq is not installed (scripts/install-deps.sh installs it): the README's pipelines use it" >&2
  exit 1
fi
# Commands not run, and why (matched as the start of the command line).
HEAVY=(
  "scripts/install-deps.sh"                      # make test-fresh runs it on a new Debian root
  "make "                                        # likewise; `make models` already ran for this test
  "build/bin/gguf-synth --shape tinyllama-1.1b"  # writes a 2.2 GB file
  "build/bin/llm-bench --synthetic tinyllama-1.1b" # builds and times a 1.1B model for minutes
)
S="$WORK/sandbox"
mkdir -p "$S/build" "$S/Mistral-7B-v0.1"
ln -s "$BIN" "$S/build/bin"
ln -s "$ROOT/models" "$S/models"
ln -s "$ROOT/examples" "$S/examples"
ln -s "$ROOT/scripts" "$S/scripts"
ln -s "$SHARED" "$WORK/shared"   # the README's ../shared
mv "$S" "$WORK/main" && S="$WORK/main"
cp -r "$ROOT/examples/docs" "$S/docs"
python3 - "$S" << 'PY'
import json, pathlib, sys
s = pathlib.Path(sys.argv[1])
with open(s / "docs.jsonl", "w") as f:
    for p in sorted((s / "docs").glob("*.txt")):
        t = p.read_text().strip()
        f.write(json.dumps({"id": p.name, "text": t, "body": t}) + "\n")
PY
ln -s "$SMOL" "$S/model.gguf"
ln -s "$SMOL" "$S/chat.gguf"
ln -s "$SHARED/models/synth-llama-256.f16.gguf" "$S/model-f16.gguf"
ln -s "$SHARED/models/synth-bert-256.f16.gguf" "$S/bge-small.gguf"
ln -s "$SHARED/models/stories260K.gguf" "$S/tokenizer-source.gguf"
ln -s "$SHARED/models/stories260K.gguf" "$S/tiny.gguf"
head -c 20000 "$SHARED/golden/perplexity/gpl-3.txt" > "$S/text.txt"
# gguf-quantize's section, before llm-imatrix's, uses the matrix llm-imatrix makes there.
"$BIN/llm-imatrix" -m "$S/model-f16.gguf" -f "$S/text.txt" -c 128 --chunks 4 -o "$S/model.imatrix.gguf" > /dev/null
"$TEST_BIN/llmkit-gguf-to-hf" "$SHARED/models/synth-llama-256.f16.gguf" "$S/Mistral-7B-v0.1" > /dev/null
ln -s "$S/Mistral-7B-v0.1" "$S/MODEL_DIR"

# The commands: each ```sh block's lines, a line ending in | or \ joined with the next; a `$ `
# line of a transcript is a command, the lines after it are its output.
python3 - "$ROOT/README.md" > "$WORK/commands" << 'PY'
import re, sys
text = open(sys.argv[1]).read()
for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M):
    lines = block.splitlines()
    transcript = any(l.startswith("$ ") for l in lines)
    cmd = ""
    for l in lines:
        if transcript:
            if l.startswith("$ "):
                print(l[2:])
            continue
        cmd += l.strip() if not cmd else " " + l.strip()
        if cmd.endswith("|") or cmd.endswith("\\"):
            cmd = cmd.rstrip("\\").rstrip()
            continue
        if cmd:
            print(cmd)
        cmd = ""
PY
ran=0
while IFS= read -r cmd; do
  skip=""
  for h in "${HEAVY[@]}"; do [[ "$cmd" == "$h"* ]] && skip=1; done
  [ -n "$skip" ] && continue
  # Benchmarks time the 260K-parameter stories model instead of SmolLM2: the same code, seconds
  # instead of minutes (a 4,096-token depth sweep on SmolLM2 takes two).
  [[ "$cmd" == "build/bin/llm-bench -m model.gguf"* ]] && cmd=${cmd//model.gguf/tiny.gguf}
  t0=$(date +%s)
  out=$(cd "$S" && timeout 300 bash -o pipefail -c "$cmd" 2> "$WORK/err" < /dev/null)
  rc=$?
  echo "$(( $(date +%s) - t0 )) s: $cmd"
  ran=$((ran + 1))
  if [ "$rc" -eq 0 ] && [ -n "$out$(ls -A "$S" | wc -l)" ]; then pass; else fail "README command exit $rc: $cmd: $(tail -3 "$WORK/err")"; fi
  # A pipeline's JSON output is one record per line (a pretty-printed record breaks the next tool).
  if [[ "$cmd" == *"| build/bin/llm-"* ]] && [ -n "$out" ] && [[ "$out" == "{"* ]]; then
    expect_eq "records are single lines: $cmd" "$(printf '%s\n' "$out" | grep -vc '^{')" 0
  fi
done < "$WORK/commands"
expect_eq "commands found and run (README has them)" "$([ "$ran" -ge 25 ] && echo yes)" yes
echo "$ran README commands ran"
finish
