#!/usr/bin/env bash
# Chat template rendering time per record, llmkit's Jinja interpreter beside Python jinja2 (as
# transformers configures it), for every template of ../shared/templates that accepts the
# system + multi-turn test conversation. Needs a build (build/test-bin/unit_tests) and, for the
# jinja2 column, python3 with jinja2.
#
#   bench/chat_templates.sh            (TOP=10: the slowest templates; TOP=0: all)
set -euo pipefail
cd "$(dirname "$0")/.."
TEST_BIN=${TEST_BIN:-build/test-bin}
SHARED=${SHARED:-../shared}
TOP=${TOP:-10}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F)"
LLMKIT_SHARED=$SHARED JINJA_SPEED_REPORT=1 "$TEST_BIN/unit_tests" "[speed]" > "$WORK/ours" 2> /dev/null || true
python3 - "$WORK/ours" "$SHARED/templates" "$TOP" << 'PY'
import json, os, sys, timeit
sys.path.insert(0, "tests/reference")
import chat_templates as ref  # the reference renderer's environment
import datetime
ours = {}
for line in open(sys.argv[1]):
    parts = line.rstrip("\n").split("\t")
    if len(parts) == 2:
        ours[parts[0]] = float(parts[1])
spec = json.load(open("tests/data/chat_templates/conversations.json"))
conv = next(c for c in spec["conversations"] if c["name"] == "system_multi_turn")["messages"]
env = ref.environment(datetime.datetime.fromisoformat(spec["now"]))
rows = []
for name, us in ours.items():
    t = env.from_string(open(os.path.join(sys.argv[2], name)).read())
    kw = dict(messages=conv, tools=None, documents=None, add_generation_prompt=True,
              bos_token=spec["bos_token"], eos_token=spec["eos_token"])
    n = 200
    py_us = timeit.timeit(lambda: t.render(**kw), number=n) / n * 1e6
    rows.append((us, py_us, name))
rows.sort(reverse=True)
top = int(sys.argv[3]) or len(rows)
print(f"{len(rows)} templates; slowest {top} shown (system + 5-turn conversation, add_generation_prompt)")
print()
print("| template | llmkit µs/record | jinja2 µs/record | jinja2 / llmkit |")
print("|---|---:|---:|---:|")
for us, py_us, name in rows[:top]:
    print(f"| {name} | {us:.1f} | {py_us:.1f} | {py_us / us:.1f}x |")
PY
