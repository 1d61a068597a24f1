#!/usr/bin/env python3
"""Reference sentence embeddings for all-MiniLM-L6-v2, computed the way sentence-transformers
does (BERT with exact erf GELU, mean pooling over the attention mask, L2 normalization), from
the checkpoint's own safetensors and tokenizer.json through Hugging Face's `tokenizers`, in
NumPy. It is independent of llmkit: it shares no code and reads the Hugging Face files, not a
GGUF. Writes JSON-lines {"id", "text", "embedding"} to stdout.

  pip install numpy tokenizers safetensors
  python3 tests/reference/minilm_reference.py MODEL_DIR < texts.txt > tests/data/minilm_reference.jsonl
"""
import json
import math
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

model_dir = sys.argv[1]
cfg = json.load(open(f"{model_dir}/config.json"))
w = {k: v.astype(np.float64) for k, v in load_file(f"{model_dir}/model.safetensors").items()}
tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
tok.no_padding()  # the file pads to 128; sentence-transformers masks padding out, so drop it
H, L, E = cfg["num_attention_heads"], cfg["num_hidden_layers"], cfg["hidden_size"]
eps = cfg["layer_norm_eps"]
erf = np.vectorize(math.erf)


def layer_norm(x, g, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def lin(x, name):
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def embed(text):
    ids = tok.encode(text).ids
    n = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] \
        + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    d = E // H
    for i in range(L):
        p = f"encoder.layer.{i}."
        q = lin(x, p + "attention.self.query").reshape(n, H, d).transpose(1, 0, 2)
        k = lin(x, p + "attention.self.key").reshape(n, H, d).transpose(1, 0, 2)
        v = lin(x, p + "attention.self.value").reshape(n, H, d).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(1, 0, 2).reshape(n, E)
        x = layer_norm(x + lin(a, p + "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"])
        h = lin(x, p + "intermediate.dense")
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        x = layer_norm(x + lin(h, p + "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    e = x.mean(0)
    return e / np.linalg.norm(e), n


for i, line in enumerate(sys.stdin):
    text = line.rstrip("\n")
    e, n = embed(text)
    print(json.dumps({"id": i, "text": text, "n_tokens": n, "embedding": [round(float(v), 7) for v in e]}))
