#!/usr/bin/env bash
# Tokenizer cases the conformance files do not cover, against llama.cpp's ids
# (tests/data/tokenizer_cases.jsonl, made by tests/reference/tokenizer_cases.py): user-defined
# tokens matched in plain text, end-of-turn markers made control tokens by their text, Phi-3's
# special tokens that swallow the whitespace after them, WordPiece on scripts with combining marks.
. "$(dirname "$0")/common.bash"
need_shared
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
python3 - "$ROOT/tests/data/tokenizer_cases.jsonl" "$SHARED" "$ROOT" > "$WORK/cases.tsv" << 'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    path = r["model"].replace("$SHARED", sys.argv[2])
    if not path.startswith("/"): path = sys.argv[3] + "/" + path
    print("\t".join([path, json.dumps(r["text"]), "1" if r["parse_special"] else "0", " ".join(map(str, r["ids"]))]))
PY
n=0
while IFS=$'\t' read -r model text special want; do
  if [ ! -f "$model" ]; then continue; fi
  n=$((n + 1))
  flag=()
  [ "$special" == 1 ] && flag=(--parse-special)
  # as a JSON record, so that a trailing newline stays part of the text
  got=$(printf '{"text":%s}\n' "$text" | "$BIN/llm-tokenize" -m "$model" --ids --no-bos "${flag[@]}" 2> /dev/null)
  expect_eq "$(basename "$model") $text (parse special $special)" "$got" "$want"
done < "$WORK/cases.tsv"
expect_eq "cases compared" "$([ "$n" -ge 50 ] && echo ok)" ok
finish
