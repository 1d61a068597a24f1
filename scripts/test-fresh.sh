#!/usr/bin/env bash
# The README's first commands on a fresh Debian: a new bookworm root (mmdebstrap, from Debian's
# registry) gets a copy of this tree and runs `scripts/install-deps.sh && make demo` in it, so an install step that only a
# developer's machine happened to have (ocl-icd-opencl-dev for oneDNN's CMake file, python3-pip
# for `make models`) fails here instead of on a user's machine. The root is made, used and
# removed by one mmdebstrap call. Needs root; MIRROR overrides the Debian mirror.
#   scripts/test-fresh.sh [TARGET]      (TARGET: a make target, default demo)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-demo}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
if [ "$(id -u)" -ne 0 ]; then
  echo "test-fresh: needs root (mmdebstrap makes a chroot)" >&2
  exit 2
fi
if ! command -v mmdebstrap > /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >&2
fi
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
# The working tree as a clone would have it: tracked and untracked-but-not-ignored files, no build output.
git ls-files -z --cached --others --exclude-standard | xargs -0 -r tar -cf - --no-recursion |
  tar -xf - -C "$src"
t0=$(date +%s)
# --variant=apt: Debian's required packages and apt, nothing else; the project installs the rest.
# The hook runs inside the new root with /proc, /sys and /dev mounted; its exit status is ours.
# A site's own CA certificates (a TLS-inspecting proxy between this machine and PyPI) are the
# machine's configuration, not the project's: they are carried over as a user's machine has them.
mmdebstrap --variant=apt --format=null --quiet --include=ca-certificates \
  --customize-hook="mkdir -p \"\$1/src\" && cp -a $src/. \"\$1/src/llmkit\"" \
  --customize-hook="if ls /usr/local/share/ca-certificates/*.crt > /dev/null 2>&1; then \
      cp /usr/local/share/ca-certificates/*.crt \"\$1/usr/local/share/ca-certificates/\" && \
      chroot \"\$1\" update-ca-certificates > /dev/null; fi" \
  --customize-hook="chroot \"\$1\" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      bash -c 'cd /src/llmkit && scripts/install-deps.sh && make $TARGET JOBS=$(nproc)' 1>&2" \
  "$SUITE" /dev/null "deb $MIRROR $SUITE main" "deb ${MIRROR%/debian}/debian-security $SUITE-security main"
echo "test-fresh: scripts/install-deps.sh && make $TARGET passed in a fresh $SUITE root ($(( $(date +%s) - t0 )) s)" >&2
