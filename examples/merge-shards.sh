#!/usr/bin/env bash
# Merges the outputs of `llm-generate --shard K/N --index` (plain or .zst, in any order) back into
# input order, dropping the "index" field: one JSON-lines file, as one process would have written.
#   examples/merge-shards.sh OUTPUT.jsonl SHARD_OUTPUT...
# jq holds all records in memory while it sorts; for a corpus beyond memory, sort each shard
# stream by index with `sort -m` on an extracted key instead.
set -euo pipefail
out=${1:?usage: merge-shards.sh OUTPUT.jsonl SHARD_OUTPUT...}
shift
for f in "$@"; do
  case "$f" in
    *.zst) zstd -q -dc "$f" ;;
    *) cat "$f" ;;
  esac
done | jq -cs 'sort_by(.index) | .[] | del(.index)' > "$out.tmp"
mv "$out.tmp" "$out"
