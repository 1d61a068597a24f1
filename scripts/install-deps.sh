#!/usr/bin/env bash
# Installs llmkit's build dependencies from Debian packages. Idempotent: does nothing when all are present.
set -euo pipefail
# Build: compiler, CMake, the libraries (oneDNN's CMake file needs the OpenCL headers, which
# libdnnl-dev only recommends). `make models`: pip. Tests: python3 (JSON checks) and python3-jsonschema
# (tests/e2e/json_schema.sh validates outputs against their schemas), xxhash (xxhsum
# cross-checks), jq (the README's pipelines, run by tests/e2e/readme_commands.sh), zstd (compressed input),
# GNU parallel and Slurm with munge (examples/batch-gnu-parallel.sh and examples/batch-slurm.sh, run by
# tests/e2e/batch_shards.sh and tests/e2e/batch_slurm.sh, which starts a one-node cluster).
pkgs=(build-essential make cmake pkg-config git python3-pip libcli11-dev libsimdjson-dev libzstd-dev libxxhash-dev
      libdnnl-dev ocl-icd-opencl-dev catch2 python3 python3-jsonschema xxhash jq zstd parallel
      slurm-wlm munge)
# `scripts/install-deps.sh fuzz` (make fuzz): clang, its libFuzzer runtime and OpenMP library.
if [ "${1:-}" = fuzz ]; then
  pkgs=(clang libclang-rt-dev libomp-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
