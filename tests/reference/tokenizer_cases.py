#!/usr/bin/env python3
"""llama.cpp's token ids for cases its conformance files (shared/vocab*) do not cover, for
tests/e2e/tokenizer_cases.sh: user-defined tokens matched in plain text, tokens llama.cpp makes
control tokens by their text (end of turn, end of text), Phi-3's special tokens that take the
whitespace after them, and WordPiece on scripts with combining marks. Both with and without
special-token parsing. Writes JSON-lines to stdout.

  LLAMA_BIN=.../vendor/llama.cpp/build/bin SHARED=../shared \\
    python3 tests/reference/tokenizer_cases.py > tests/data/tokenizer_cases.jsonl
"""
import json
import os
import subprocess

LLAMA = os.environ["LLAMA_BIN"]
SHARED = os.environ.get("SHARED", "../shared")
CASES = {
    "$SHARED/vocab/ggml-vocab-phi-3.gguf": [
        "Hello</s> world", "Hello </s>  world", "x<unk> y <s> z", "<|user|>\nHi there<|end|>\n<|assistant|>",
        "a <|endoftext|> b", "tab\there</s>\n\nnext"],
    "models/gemma-3-270m-Q4_K_M.gguf": [
        "a\n\nb", "<table><thead><tr>", "x <start_of_image> y", "tab\there\n\n\nend", "Hello</s> world",
        "a<end_of_turn>b <eos> c", "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"],
    "$SHARED/vocab/ggml-vocab-bert-bge.gguf": [
        "नमस्ते दुनिया", "हिन्दी", "कि", "ज़िंदगी", "क़लम", "पढ़ना", "श्री", "संस्कृतम्", "ॐ नमः शिवाय",
        "ক্ষ", "ഞാൻ", "தமிழ்", "ภาษาไทย", "ሰላም", "a😀b", "café naïve", "x́y", "İstanbul", "ᾈ", "ﬁ ligature"],
}

for model, texts in CASES.items():
    path = model.replace("$SHARED", SHARED)
    if not os.path.exists(path):
        raise SystemExit(f"{path}: missing (make models?)")
    for text in texts:
        for special in (False, True):
            out = subprocess.run([f"{LLAMA}/llama-tokenize", "-m", path, "-p", text, "--ids", "--no-bos", "--log-disable"]
                                 + ([] if special else ["--no-parse-special"]),
                                 check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            print(json.dumps({"model": model, "text": text, "parse_special": special, "ids": json.loads(out)},
                             ensure_ascii=False))
