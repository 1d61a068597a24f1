#!/usr/bin/env python3
"""llama.cpp's perplexity of the real models at a 3,072-token context (gpl-3.txt holds two such), with flash attention on
and off (the two differ by up to 0.5% on these small models), for tests/e2e/long_context.sh:
past 2,048 keys llmkit's attention takes a global layer's keys in parts and merges them.
Writes JSON-lines to stdout.

  LLAMA_BIN=.../vendor/llama.cpp/build/bin SHARED=../shared \\
    python3 tests/reference/long_context.py > tests/data/long_context_reference.jsonl
"""
import json
import os
import re
import subprocess

LLAMA = os.environ["LLAMA_BIN"]
SHARED = os.environ.get("SHARED", "../shared")
TEXT = f"{SHARED}/golden/perplexity/gpl-3.txt"
for model in ["models/SmolLM2-135M-Instruct.Q4_1.gguf", "models/gemma-3-270m-Q4_K_M.gguf"]:
    rec = {"model": model, "n_ctx": 3072, "chunks": 1}
    for fa in ("on", "off"):
        out = subprocess.run([f"{LLAMA}/llama-perplexity", "-m", model, "-f", TEXT, "-c", "3072", "--chunks", "1",
                              "-fa", fa], capture_output=True, text=True, check=True)
        rec[f"ppl_fa_{fa}"] = float(re.search(r"Final estimate: PPL = ([0-9.]+)", out.stdout + out.stderr).group(1))
    print(json.dumps(rec))
