#!/usr/bin/env bash
# Differential check of llm-tokenize against llama.cpp's tokenizer (the llama-cpp-python
# package): the shared gpt-2 vocabulary is copied under each pre-tokenizer name llmkit knows,
# and every conformance string (plus a few extra cases) is tokenized by both. Needs
# `pip install llama-cpp-python` (it builds llama.cpp) and ../shared; not part of `make test`.
#   scripts/llamacpp-tokenizer-diff.sh            # PYTHON=python3 BIN=build/bin SHARED=../shared
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
PYTHON=${PYTHON:-python3}
SHARED=$(cd "${SHARED:-../shared}" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
pres="gpt-2 default llama3 qwen2 smollm starcoder command-r dbrx falcon deepseek-llm deepseek-coder deepseek-v3 tekken gpt-4o chameleon poro-chat viking seed-coder bailingmoe"
for p in $pres; do
  # Same vocabulary under another tokenizer.ggml.pre (the vocab file has no tensors, so
  # rewriting that one string value in place is all it takes).
  python3 - "$SHARED/vocab/ggml-vocab-gpt-2.gguf" "$p" "$WORK/v-$p.gguf" << 'PY'
import struct, sys
src, pre, dst = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
b = open(src, "rb").read()
# Rewrite the value of tokenizer.ggml.pre (a string) in a tensor-less vocab file.
key = b"tokenizer.ggml.pre"
i = b.index(struct.pack("<Q", len(key)) + key)
at = i + 8 + len(key)
assert struct.unpack_from("<I", b, at)[0] == 8
n = struct.unpack_from("<Q", b, at + 4)[0]
out = b[: at + 4] + struct.pack("<Q", len(pre)) + pre + b[at + 12 + n :]
open(dst, "wb").write(out)
PY
done
"$PYTHON" - "$WORK" "$BIN/llm-tokenize" "$SHARED" $pres << 'PY'
import glob, json, subprocess, sys
import llama_cpp
work, tool, shared, pres = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
texts = []
for f in sorted(glob.glob(shared + "/vocab/*.inp")):
    texts += open(f, encoding="utf-8", errors="surrogateescape").read().split("\n__ggml_vocab_test__\n")[:-1]
texts += ["I'M 12345 (hi)", "HelloWorld CamelCase ABCdef", "a,,b 1234", "ab\ncd  ", "  \n\n  x", "日本語テキスト 123",
          "<sentinel:12> IMGIMGABZ", "x\u3000y", "tab\tand  spaces   end   "]
texts = [t for t in texts if t]
bad = 0
for pre in pres:
    path = f"{work}/v-{pre}.gguf"
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    recs = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    out = subprocess.run([tool, "-m", path, "--no-bos"], input=recs.encode(), capture_output=True, check=True)
    ours = [json.loads(l).get("tokens") for l in out.stdout.decode().splitlines()]
    fails = sum(llm.tokenize(t.encode("utf-8", "surrogateescape"), add_bos=False, special=False) != o for t, o in zip(texts, ours))
    print(f"{pre:15} {len(texts) - fails}/{len(texts)} identical")
    bad += fails
sys.exit(1 if bad else 0)
PY
