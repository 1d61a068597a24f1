#!/usr/bin/env python3
"""llama.cpp's results on one model per architecture, for tests/e2e/architectures.sh: perplexity
(llama-perplexity, its default settings) and greedy continuations (llama-completion --temp 0
--ignore-eos, with flash attention on and off). The synthetic models are made by gguf-synth from the arguments written into each
record, so the test remakes the very same files; the real one is gemma-3-270m from `make models`.
Writes JSON-lines to stdout. Needs llama.cpp's tools (built from the llama-cpp-python sdist's
vendor/llama.cpp, see README) and llmkit's gguf-synth.

  LLAMA_BIN=.../vendor/llama.cpp/build/bin BIN=build/bin SHARED=../shared \\
    python3 tests/reference/arch_reference.py > tests/data/arch_reference.jsonl
"""
import json
import os
import re
import subprocess
import sys
import tempfile

LLAMA = os.environ["LLAMA_BIN"]
BIN = os.environ.get("BIN", "build/bin")
SHARED = os.environ.get("SHARED", "../shared")
VOCAB = "$SHARED/models/llama-2-tiny-random.gguf"  # expanded by the test too

# One entry per architecture feature the forward pass must get right: head sizes that are not
# n_embd/n_head, odd layer counts against the sliding-window pattern, GQA ratios, tied and
# untied outputs, Llama 3.1 rope scaling, soft-capping, fused QKV and gate|up, Phi-3's LongRoPE
# (contexts past the original 512 take the long factors).
SYNTH = {
    "llama3.1-style": "--arch llama --embd 256 --layers 3 --heads 4 --kv-heads 1 --ff 512 --rope-base 500000 --rope-llama3 8",
    "llama-tied": "--arch llama --embd 192 --layers 2 --heads 6 --kv-heads 2 --ff 384 --tied",
    "qwen3": "--arch qwen3 --embd 256 --layers 3 --heads 4 --kv-heads 2 --head-dim 96 --ff 512 --rope-base 1000000",
    "qwen3-tied": "--arch qwen3 --embd 128 --layers 2 --heads 8 --kv-heads 8 --head-dim 32 --ff 384 --tied",
    "gemma3": "--arch gemma3 --embd 256 --layers 7 --heads 4 --kv-heads 1 --head-dim 128 --ff 512 --window 128 --rope-base 1000000 --tied",
    "gemma2": "--arch gemma2 --embd 256 --layers 4 --heads 4 --kv-heads 2 --ff 512 --window 256",
    "phi3": "--arch phi3 --embd 256 --layers 3 --heads 4 --kv-heads 2 --ff 512",
    "phi3-mha": "--arch phi3 --embd 192 --layers 2 --heads 2 --kv-heads 2 --ff 256 --tied",
    "phi3-longrope": "--arch phi3 --embd 256 --layers 2 --heads 4 --kv-heads 4 --ff 512 --longrope 512",
}
PROMPTS = ["The capital of France is", "Once upon a time", "def fibonacci(n):",
           "The three laws of thermodynamics", "In 1969, the first humans", "My favourite recipe for bread",
           "The quick brown fox", "Photosynthesis is the process", "import numpy as np\n", "Dear Sir or Madam,"]
N_PREDICT = 24


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def perplexity(model, n_ctx, chunks):
    out = subprocess.run([f"{LLAMA}/llama-perplexity", "-m", model, "-f", f"{SHARED}/golden/perplexity/gpl-3.txt",
                          "-c", str(n_ctx), "--chunks", str(chunks), "-t", "2"],
                         check=True, capture_output=True, text=True).stderr
    return float(re.search(r"Final estimate: PPL = ([0-9.]+)", out).group(1))


def greedy(model, prompt, *extra):
    # the text generated after the prompt (stdout; the logs go to stderr)
    out = run([f"{LLAMA}/llama-completion", "-m", model, "-p", prompt, "-n", str(N_PREDICT), "--temp", "0",
               "--ignore-eos", "-no-cnv", "-t", "2", "--no-display-prompt", *extra])
    # Random-weight models emit byte tokens that need not form UTF-8: compare bytes (hex), with the
    # newlines llama-completion adds at the end removed.
    return out.rstrip(b"\n")


def record(name, model, extra, n_ctx, chunks):
    r = {"name": name, **extra, "n_ctx": n_ctx, "chunks": chunks, "n_predict": N_PREDICT}
    r["ppl"] = perplexity(model, r["n_ctx"], r["chunks"])
    r["greedy"] = []
    for p in PROMPTS:
        out = greedy(model, p)
        # Also without flash attention: llama.cpp's two attention paths round differently, and
        # where two tokens nearly tie they pick differently; both are llama.cpp's answer.
        r["greedy"].append({"prompt": p, "continuation": out.decode(errors="replace"), "hex": out.hex(),
                            "hex_fa_off": greedy(model, p, "-fa", "off").hex()})
    print(json.dumps(r, ensure_ascii=False), flush=True)


with tempfile.TemporaryDirectory() as tmp:
    for name, args in SYNTH.items():
        path = f"{tmp}/{name}.gguf"
        cmd = [f"{BIN}/gguf-synth", path] + args.split() + ["--vocab", VOCAB.replace("$SHARED", SHARED), "-c", "4096"]
        run(cmd)
        record(name, path, {"synth": args + " --vocab " + VOCAB + " -c 4096"}, 1024, 3)
# The real models' perplexity over all of the text: their last-bit sensitivity averages out over
# more tokens (llama.cpp's own kernel paths spread by 0.15% on gemma-3-270m; on SmolLM2 one
# 1,024-token chunk of the text moves by 0.8% between them, so it is scored at 2,048).
for real, n_ctx, chunks in [("gemma-3-270m-Q4_K_M", 1024, 7), ("SmolLM2-135M-Instruct.Q4_1", 2048, 3)]:
    record(real, f"models/{real}.gguf", {"model": f"models/{real}.gguf"}, n_ctx, chunks)
