#!/usr/bin/env bash
# llm-generate with JSON schemas: over the 32 schemas of tests/data/json_schemas.jsonl (nested
# objects, arrays, enums, bounded numbers, strings with escapes and unicode, optional fields,
# formats, anyOf/allOf/$ref, recursion), three prompts each, every output parses and validates
# against its schema (python3-jsonschema, Draft 2020-12), with a random model sampling hot (which
# would emit garbage) and with the real SmolLM2; "output_json" is the output, parsed. Then the
# flags (-j, --json-schema-file), the README's batch example, and schema mistakes by line:col.
. "$(dirname "$0")/common.bash"
need_shared
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCHEMAS="$ROOT/tests/data/json_schemas.jsonl"
RANDOM_MODEL="$SHARED/models/llama-2-tiny-random.gguf"
SMOL="$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if ! python3 -c 'import jsonschema' 2> /dev/null; then
  echo "FAIL: python3's jsonschema is missing (scripts/install-deps.sh installs python3-jsonschema)"
  exit 1
fi

# Records: each schema with three prompts, the schema in the record ("json_schema").
python3 - "$SCHEMAS" > "$WORK/in.jsonl" << 'PY'
import json, sys
for line in open(sys.argv[1]):
    s = json.loads(line)
    for k, p in enumerate([f"Reply with JSON only: {s['topic']}.",
                           f"Write {s['topic']} as JSON. Use quotes, a backslash and words like café or 日本.",
                           f"Give me an example of {s['topic']}, as a JSON value with realistic data."]):
        print(json.dumps({"id": f"{s['id']}/{k}", "prompt": p, "json_schema": s["schema"], "seed": k + 1}, ensure_ascii=False))
PY
expect_eq "records: 32 schemas, three prompts each" "$(wc -l < "$WORK/in.jsonl")" 96

check() {  # check OUT: every record valid against its schema; prints a summary line
  python3 - "$SCHEMAS" "$1" << 'PY'
import json, re, sys
import jsonschema
schemas = {json.loads(l)["id"]: json.loads(l)["schema"] for l in open(sys.argv[1])}
formats = {"date": r"\d{4}-\d\d-\d\d", "time": r"\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
           "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"}
formats["date-time"] = formats["date"] + "T" + formats["time"]
checker = jsonschema.FormatChecker(formats=())
for name, rx in formats.items():
    checker.checks(name)(lambda v, rx=rx: not isinstance(v, str) or re.fullmatch(rx, v) is not None)
recs = [json.loads(l) for l in open(sys.argv[2])]
bad = []
for r in recs:
    try:
        assert "error" not in r, r.get("error")
        value = json.loads(r["output"])
        assert r["output_json"] == value, "output_json is not the output"
        jsonschema.Draft202012Validator(schemas[r["id"].split("/")[0]], format_checker=checker).validate(value)
    except Exception as e:
        bad.append(f"{r['id']}: {str(e)[:300]} in {r.get('output', '')[:200]!r}")
for b in bad[:5]:
    print(b, file=sys.stderr)
print(f"{len(recs)} records, {len(bad)} invalid")
PY
}

# Random weights, temperature 1.2: garbage but for the grammar, so every path of every schema is
# taken somewhere; -n 192 cuts some, so the end of the budget must close them.
"$BIN/llm-generate" -m "$RANDOM_MODEL" -f "$WORK/in.jsonl" --temp 1.2 -n 192 --parallel 8 > "$WORK/random.jsonl" 2> "$WORK/err"
expect_eq "random model: exit" "$?" 0
expect_eq "random model: every output valid" "$(check "$WORK/random.jsonl")" "96 records, 0 invalid"
expect_contains "random model: grammar cost reported" "$(cat "$WORK/err")" "ms per generated token"

if [ -f "$SMOL" ]; then
  "$BIN/llm-generate" -m "$SMOL" -f "$WORK/in.jsonl" --chat --temp 0.7 -n 160 --parallel 8 > "$WORK/smol.jsonl" 2> "$WORK/err"
  expect_eq "SmolLM2: exit" "$?" 0
  expect_eq "SmolLM2: every output valid" "$(check "$WORK/smol.jsonl")" "96 records, 0 invalid"
  # Greedy with a schema: the same alone and in parallel.
  head -8 "$WORK/in.jsonl" > "$WORK/few.jsonl"
  for np in 1 4; do
    "$BIN/llm-generate" -m "$SMOL" -f "$WORK/few.jsonl" --chat --temp 0 -n 96 --parallel $np > "$WORK/greedy.$np" 2> /dev/null
  done
  expect_eq "SmolLM2: greedy the same with --parallel 1 and 4" "$(jq -c .output_json "$WORK/greedy.4")" "$(jq -c .output_json "$WORK/greedy.1")"
  # The flags: -j and --json-schema-file, for -p and for records.
  S='{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":30}},"required":["name","age"]}'
  out=$("$BIN/llm-generate" -m "$SMOL" -p "A cat as JSON:" --chat --temp 0 -n 64 -j "$S" --json 2> /dev/null)
  expect_eq "-j with -p --json: output_json" "$(jq -c '.output_json | keys' <<< "$out")" '["age","name"]'
  echo "$S" > "$WORK/cat.schema.json"
  out=$("$BIN/llm-generate" -m "$SMOL" -p "A cat as JSON:" --chat --temp 0 -n 64 --json-schema-file "$WORK/cat.schema.json" 2> /dev/null)
  expect_eq "--json-schema-file: the text parses" "$(jq -c 'keys' <<< "$out")" '["age","name"]'
  # The README's batch example (readme_commands.sh runs it as written) and examples/extract-json.sh:
  # documents in, one object per document out, valid against the schema.
  cd "$ROOT"
  for f in examples/docs/*.txt; do jq -cRs --arg id "$(basename "$f")" '{id: $id, text: .}' "$f"; done |
    "$BIN/llm-generate" -m "$SMOL" --chat --template 'Summarize as JSON:\n\n{text}' -n 256 --parallel 4 \
      --json-schema-file examples/schemas/summary.schema.json 2> /dev/null | jq -c '{id, summary: .output_json}' > "$WORK/batch.jsonl"
  BIN="$BIN" examples/extract-json.sh 2> /dev/null | jq -c '{id, summary: del(.id)}' > "$WORK/example.jsonl"
  for f in batch example; do
    expect_eq "$f: one valid object per document" "$(python3 - "$WORK/$f.jsonl" examples/schemas/summary.schema.json << 'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[2]))
recs = [json.loads(l) for l in open(sys.argv[1])]
for r in recs:
    jsonschema.validate(r["summary"], schema)
print(len(recs))
PY
)" 5
  done
  cd - > /dev/null
else
  echo "note: $SMOL not found (make models): the SmolLM2 checks are skipped"
fi

# Mistakes: exit 2 before a model is loaded, with line:col and what was wrong.
err=$("$BIN/llm-generate" -m /nonexistent.gguf -p x -j '{"type": "string", "pattern": "a+"}' 2>&1)
expect_eq "unsupported keyword: exit" "$?" 2
expect_eq "unsupported keyword: message" "$err" \
  "llm-generate: --json-schema: line 1:20: unsupported keyword 'pattern' (a grammar cannot express it; remove it or put it in the prompt)"
printf '{"type": "object",\n "properties": {"a": {"type": "integr"}}}\n' > "$WORK/bad.json"
err=$("$BIN/llm-generate" -m /nonexistent.gguf -p x --json-schema-file "$WORK/bad.json" 2>&1)
expect_eq "unknown type: exit" "$?" 2
expect_contains "unknown type: message" "$err" "bad.json: line 2:31: unknown type 'integr'"
err=$("$BIN/llm-generate" -m /nonexistent.gguf -p x -j '{"type": ' 2>&1)
expect_eq "truncated schema: exit" "$?" 2
expect_eq "truncated schema: message" "$err" "llm-generate: --json-schema: line 1:10: expected a value, found the end of the text"
err=$("$BIN/llm-generate" -m /nonexistent.gguf -p x -j '{}' --grammar 'root ::= "a"' 2>&1)
expect_eq "schema and grammar: exit" "$?" 2
# A record's bad schema fails that record only.
printf '%s\n' '{"id":1,"prompt":"a","json_schema":{"type":"nope"}}' '{"id":2,"prompt":"b","json_schema":{"type":"integer","minimum":0,"maximum":9}}' \
  '{"id":3,"prompt":"c","grammar":"root ::= \"yes\" | \"no\""}' > "$WORK/mixed.jsonl"
"$BIN/llm-generate" -m "$RANDOM_MODEL" -f "$WORK/mixed.jsonl" -n 16 > "$WORK/mixed.out" 2> /dev/null
expect_eq "record with a bad schema: exit 1" "$?" 1
expect_eq "record with a bad schema: its error" "$(jq -c 'select(.id == 1) | .error.code' "$WORK/mixed.out")" '"bad_schema"'
expect_eq "the other records: a digit, then yes or no" "$(jq -r 'select(.id > 1) | (.output | test("^([0-9]|yes|no)\\s*$"))' "$WORK/mixed.out" | sort -u)" true
expect_eq "output_json only with a schema" "$(jq -c '[.id, has("output_json")]' "$WORK/mixed.out" | tr -d '\n')" '[1,false][2,true][3,false]'
# --print-grammar shows the conversion.
expect_contains "--print-grammar" "$("$BIN/llm-generate" --print-grammar -j '{"enum": ["a", 1]}')" '("\"a\"" | "1") ws'
finish
