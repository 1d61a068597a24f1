# Shared by the end-to-end scripts: BIN (built tools), TEST_BIN, SHARED come from ctest.
set -u
BIN=${BIN:?BIN not set}
SHARED=${SHARED:-../shared}
failures=0
checks=0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*" >&2; }
# expect_eq WHAT GOT WANT
expect_eq() { if [ "$2" == "$3" ]; then pass; else fail "$1: got [$2], want [$3]"; fi; }
expect_contains() { if [[ "$2" == *"$3"* ]]; then pass; else fail "$1: [$2] lacks [$3]"; fi; }
need_shared() {
  if [ ! -d "$SHARED/models" ]; then
    echo "SKIP: $SHARED/models not found (the shared test data)"
    exit 77
  fi
}
# need_tools CMD...: each command a test needs; missing is a failure (scripts/install-deps.sh
# installs them), not a skip, so that a machine without them cannot pass silently.
need_tools() {
  for t in "$@"; do
    if ! command -v "$t" > /dev/null; then
      echo "FAIL: $t is not installed (scripts/install-deps.sh installs it)" >&2
      exit 1
    fi
  done
}
# jq-like one-liners without jq: py 'EXPR over r (one record) or rs (all records)' < jsonl
py() { python3 -c "import json,sys; rs=[json.loads(l) for l in sys.stdin if l.strip()]; r=rs[0] if rs else None; v=($1); print(v)"; }
finish() {
  echo "$checks checks, $failures failed"
  [ "$failures" -eq 0 ]
}
