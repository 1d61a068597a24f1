#!/usr/bin/env bash
# End-to-end: llm-bench's tests, sweeps, output formats, roofline fields, plot, and a synthetic
# model giving the same figures (size, parameters, types) as the real file of its shape.
. "$(dirname "$0")/common.bash"
B="$BIN/llm-bench"
SYN=synth-llama-256:Q4_K_M

"$B" --synthetic $SYN -p 32 -n 8 --pg 16,4 -r 2 -t 1,2 > "$WORK/r.jsonl" 2> "$WORK/err"; rc=$?
expect_eq "exit" "$rc" 0
expect_eq "records: 3 tests x 2 thread counts" "$(py 'len(rs)' < "$WORK/r.jsonl")" "6"
expect_eq "tests and threads" "$(py '[(x["test"], x["threads"]) for x in rs]' < "$WORK/r.jsonl")" \
  "[('pp32', 1), ('pp32', 2), ('tg8', 1), ('tg8', 2), ('pp16+tg4', 1), ('pp16+tg4', 2)]"
expect_eq "fields" "$(py 'sorted(rs[2].keys())' < "$WORK/r.jsonl")" \
  "['avg_ts', 'backend', 'bandwidth_gbs', 'batch', 'bytes_per_token', 'ceiling_fraction', 'ceiling_ts', 'commit', 'depth', 'kernels', 'llmkit_version', 'model', 'model_type', 'n_gen', 'n_prompt', 'parallel', 'params', 'repack', 'repetitions', 'samples_ts', 'size', 'stddev_ts', 'system', 'test', 'threads', 'type']"
expect_eq "model" "$(py 'r["model"], r["model_type"], r["type"], r["params"], r["backend"]' < "$WORK/r.jsonl")" \
  "('synthetic:synth-llama-256:Q4_K_M', 'llama 20M Q4_K_M', 'Q4_K_M', 19532032, 'CPU')"
expect_eq "samples, mean, stddev" \
  "$(py 'all(len(x["samples_ts"]) == 2 and x["avg_ts"] > 0 and abs(x["avg_ts"] - sum(x["samples_ts"]) / 2) < 1e-6 * x["avg_ts"] and x["stddev_ts"] >= 0 for x in rs)' < "$WORK/r.jsonl")" "True"
expect_eq "pp: GFLOP/s; tg: ceiling" \
  "$(py '[("gflops" in x, "ceiling_ts" in x) for x in rs[1:4]]' < "$WORK/r.jsonl")" "[(True, False), (False, True), (False, True)]"
expect_eq "ceiling = bandwidth / bytes per token" \
  "$(py 'abs(r["ceiling_ts"] - r["bandwidth_gbs"] * 1e9 / r["bytes_per_token"]) < 1e-6 * r["ceiling_ts"] and abs(r["ceiling_fraction"] - r["avg_ts"] / r["ceiling_ts"]) < 1e-9' < <(sed -n 3p "$WORK/r.jsonl"))" "True"
expect_eq "bytes per token: the weights read (not the token embedding) plus the cache" \
  "$(py 'abs(r["bytes_per_token"] - (r["size"] - 256 * 32000 * 4.5 / 8)) < 0.01 * r["size"]' < <(sed -n 3p "$WORK/r.jsonl"))" "True"
expect_eq "system facts" "$(py 'r["system"]["cores"] > 0 and r["system"]["ram_bytes"] > 0 and len(r["system"]["cpu"]) > 0 and r["system"]["gpu"] is None' < "$WORK/r.jsonl")" "True"
expect_contains "bandwidth on stderr" "$(cat "$WORK/err")" "read bandwidth"

# Sweeps: depth and parallel sequences; tokens counted over all sequences.
"$B" --synthetic $SYN -p 0 -n 8 -d 0,16 --parallel 1,2 -r 1 -o jsonl > "$WORK/s.jsonl"
expect_eq "depth x parallel" "$(py '[(x["depth"], x["parallel"]) for x in rs]' < "$WORK/s.jsonl")" "[(0, 1), (16, 1), (0, 2), (16, 2)]"
expect_eq "deeper context reads more per token" "$(py 'rs[1]["bytes_per_token"] > rs[0]["bytes_per_token"]' < "$WORK/s.jsonl")" "True"
expect_eq "two sequences share each weight read" "$(py 'rs[2]["bytes_per_token"] < rs[0]["bytes_per_token"]' < "$WORK/s.jsonl")" "True"

# Other formats.
"$B" --synthetic $SYN -p 16 -n 0 -r 1 -o csv > "$WORK/r.csv"
expect_eq "csv: header and a row" "$(wc -l < "$WORK/r.csv")" "2"
expect_contains "csv header" "$(head -1 "$WORK/r.csv")" "model,model_type,type,size,params,backend"
"$B" --synthetic $SYN -p 16 -n 4 -r 1 -o json > "$WORK/r.json"
expect_eq "json array" "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' < "$WORK/r.json")" "2"
out=$("$B" --synthetic $SYN -p 16 -n 4 -r 1 -o md)
expect_contains "markdown table" "$out" "| model | size | params | backend | threads |"
expect_contains "markdown row" "$out" "| llama 20M Q4_K_M | 12.61 MiB | 19.53 M |"

# A chart of a thread sweep.
"$B" --synthetic $SYN -p 16 -n 4 -r 1 -t 1,2 --plot "$WORK/p.svg" > /dev/null 2>&1
expect_eq "svg" "$(python3 -c 'import sys, xml.etree.ElementTree as E; t=E.parse(sys.argv[1]).getroot(); n="{http://www.w3.org/2000/svg}"; print(len(t.findall(n+"polyline")), len(t.findall(n+"circle")))' "$WORK/p.svg")" "2 4"
"$B" --synthetic $SYN -p 16 -n 0 -r 1 --plot "$WORK/q.svg" > /dev/null 2> "$WORK/err"; rc=$?
expect_eq "--plot without a sweep: exit" "$rc" 2
expect_contains "--plot without a sweep: message" "$(cat "$WORK/err")" "needs a sweep"

# The synthetic model has the figures of the real file of its shape.
"$BIN/gguf-synth" --shape synth-llama-256 "$WORK/f16.gguf" > /dev/null
"$BIN/gguf-quantize" "$WORK/f16.gguf" "$WORK/q.gguf" Q4_K_M > /dev/null 2>&1
"$B" -m "$WORK/q.gguf" --synthetic $SYN -p 16 -n 0 -r 1 > "$WORK/same.jsonl"
expect_eq "file and synthetic: same size, parameters, type" \
  "$(py '[(x["size"], x["params"], x["model_type"]) for x in rs] == [(rs[0]["size"], rs[0]["params"], rs[0]["model_type"])] * 2' < "$WORK/same.jsonl")" "True"

# Usage errors.
"$B" -p 8 2> "$WORK/err"; expect_eq "no model: exit" $? 2
expect_contains "no model: message" "$(cat "$WORK/err")" "give a model"
"$B" --synthetic nosuch:Q4_K_M 2> "$WORK/err"; expect_eq "unknown shape: exit" $? 2
expect_contains "unknown shape: message" "$(cat "$WORK/err")" "unknown shape 'nosuch'"
"$B" --synthetic $SYN -t 1,x 2> "$WORK/err"; expect_eq "bad list: exit" $? 2
expect_contains "bad list: message" "$(cat "$WORK/err")" "--threads: 'x' is not a number"
"$B" -m "$WORK/missing.gguf" 2> "$WORK/err"; expect_eq "missing file: exit" $? 2
finish
