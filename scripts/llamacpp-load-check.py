#!/usr/bin/env python3
"""Loads GGUF files with llama.cpp (the llama-cpp-python package) and evaluates a prompt, to
check that files llmkit writes are files llama.cpp reads. Prints one JSON line per file.

    python3 scripts/llamacpp-load-check.py model.gguf [...]
"""
import json
import sys

import llama_cpp

failed = 0
for path in sys.argv[1:]:
    rec = {"path": path}
    try:
        llm = llama_cpp.Llama(model_path=path, n_ctx=128, n_threads=2, verbose=False, seed=1)
        toks = llm.tokenize(b"Once upon a time", add_bos=True)
        llm.eval(toks)
        logits = llm.scores[len(toks) - 1]
        rec.update(ok=True, n_tokens=len(toks), n_vocab=llm.n_vocab(),
                   top_token=int(max(range(len(logits)), key=lambda i: logits[i])),
                   finite=bool(all(abs(float(x)) < 1e30 for x in logits)))
    except Exception as e:  # report and go on
        rec.update(ok=False, error=str(e))
        failed += 1
    print(json.dumps(rec), flush=True)
sys.exit(1 if failed else 0)
