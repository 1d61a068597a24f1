#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (tests/fuzz/corpus/NAME/): small valid inputs of each kind,
so that the fuzzers start from inputs that reach deep into the readers. The GGUF seed
`fixture-header.gguf` is the header of llmkit-make-fixture's model (not made here)."""
import json
import os
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def gguf(kvs, tensors=()):
    def s(x):
        x = x.encode()
        return struct.pack("<Q", len(x)) + x

    def val(v):
        if isinstance(v, bool):
            return struct.pack("<I?", 7, v)
        if isinstance(v, int):
            return struct.pack("<Ii", 5, v)
        if isinstance(v, float):
            return struct.pack("<If", 6, v)
        if isinstance(v, str):
            return struct.pack("<I", 8) + s(v)
        t = 8 if isinstance(v[0], str) else 6 if isinstance(v[0], float) else 5
        body = b"".join(s(x) if t == 8 else struct.pack("<f" if t == 6 else "<i", x) for x in v)
        return struct.pack("<IIQ", 9, t, len(v)) + body

    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, v in kvs:
        out += s(k) + val(v)
    for name, dims in tensors:
        out += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", 0, 0)
    return out


def write(rel, data):
    p = os.path.join(HERE, "corpus", rel)
    with open(p, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


bytes_tokens = ["Ġ", "Ġt", "he", "Ġthe", "Ġw", "or", "ld", "Ġwor", "Ġworld", "!", "<|endoftext|>"]
letters = [chr(c) for c in range(33, 127)]
gpt2 = letters + bytes_tokens
write("gguf/gpt2-bpe.gguf", gguf([
    ("general.architecture", "llama"), ("tokenizer.ggml.model", "gpt2"), ("tokenizer.ggml.pre", "llama-bpe"),
    ("tokenizer.ggml.tokens", gpt2), ("tokenizer.ggml.token_type", [1] * (len(gpt2) - 1) + [3]),
    ("tokenizer.ggml.merges", ["Ġ t", "h e", "Ġt he", "Ġ w", "o r", "l d", "Ġw or", "Ġwor ld"]),
    ("tokenizer.ggml.eos_token_id", len(gpt2) - 1)]))
bert = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "the", "!"]
write("gguf/bert-wordpiece.gguf", gguf([
    ("general.architecture", "bert"), ("bert.embedding_length", 8), ("bert.block_count", 1),
    ("bert.attention.head_count", 2), ("bert.feed_forward_length", 16), ("bert.context_length", 16),
    ("tokenizer.ggml.model", "bert"), ("tokenizer.ggml.tokens", bert), ("tokenizer.ggml.token_type", [3] * 5 + [1] * 5),
    ("tokenizer.ggml.cls_token_id", 2), ("tokenizer.ggml.seperator_token_id", 3)],
    [("token_embd.weight", [8, 10]), ("position_embd.weight", [8, 16])]))
spm = ["<unk>", "<s>", "</s>", "▁", "▁the", "▁world", "h", "e", "l", "o", "<0x0A>"]
write("gguf/spm.gguf", gguf([
    ("general.architecture", "llama"), ("tokenizer.ggml.model", "llama"), ("tokenizer.ggml.tokens", spm),
    ("tokenizer.ggml.scores", [0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -4.0, -4.0, -4.0, -4.0, 0.0]),
    ("tokenizer.ggml.token_type", [2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 6])]))

header = json.dumps({"a": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]},
                     "b": {"dtype": "BF16", "shape": [4], "data_offsets": [12, 20]},
                     "__metadata__": {"format": "pt"}}).encode()
header += b" " * (-len(header) % 8)
write("safetensors/two.safetensors", struct.pack("<Q", len(header)) + header + bytes(20))

config = json.dumps({"architectures": ["LlamaForCausalLM"], "hidden_size": 8, "num_hidden_layers": 1,
                     "intermediate_size": 16, "num_attention_heads": 2, "num_key_value_heads": 1,
                     "vocab_size": 4, "rope_theta": 10000.0, "rms_norm_eps": 1e-6})
tok = json.dumps({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<s>": 3}, "merges": ["a b"]},
                  "added_tokens": [{"id": 3, "content": "<s>", "special": True}],
                  "pre_tokenizer": {"type": "ByteLevel"}})
tcfg = json.dumps({"bos_token": "<s>", "add_bos_token": True, "chat_template": "{{ messages[0].content }}"})
write("hf_folder/llama-bpe", config + "\0" + tok + "\0" + tcfg)
bconfig = json.dumps({"architectures": ["BertModel"], "hidden_size": 8, "num_hidden_layers": 1,
                      "intermediate_size": 16, "num_attention_heads": 2, "max_position_embeddings": 16})
btok = json.dumps({"model": {"type": "WordPiece", "vocab": {w: i for i, w in enumerate(bert)}, "unk_token": "[UNK]"}})
write("hf_folder/bert-wordpiece", bconfig + "\0" + btok + "\0{}")

lines = "\n".join([json.dumps({"id": 1, "text": "Hello world"}), json.dumps({"id": "b", "tokens": [1, 2, 3]}),
                   json.dumps({"id": 3, "messages": [{"role": "user", "content": "hi"}], "stop": ["\n"]}),
                   "not json", "", "[1, 2]"]) + "\n"
write("jsonl/records.jsonl", lines)
write("jsonl/records.jsonl.zst", subprocess.run(["zstd", "-q", "-c"], input=lines.encode(), stdout=subprocess.PIPE,
                                                check=True).stdout)

# Jinja chat templates: SmolLM2's, and the feature snippets the interpreter's tests use.
os.makedirs(os.path.join(HERE, "corpus", "jinja"), exist_ok=True)
data = os.path.join(HERE, "..", "data", "chat_templates")
write("jinja/smollm2.jinja", open(os.path.join(data, "smollm2-135m-instruct.jinja")).read())
for snip in json.load(open(os.path.join(data, "snippets.json"), encoding="utf-8")):
    write("jinja/" + snip["name"] + ".jinja", snip["template"])
