#!/usr/bin/env bash
# Installs everything low-ts needs on Debian 12 (run as root, or with sudo available):
# system packages from Debian, npm packages, the native addon and the TypeScript build.
#   bash scripts/setup.sh            core: libtorch, OpenBLAS, Fashion-MNIST
#   bash scripts/setup.sh --bench    also PyTorch, torchvision and CVXOPT, the references the benchmarks and interop tests compare against
#   bash scripts/setup.sh --browser  also Chromium, for the report's browser check
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libtorch-dev libgloo-dev libopenblas0-openmp dataset-fashion-mnist g++ make python3)
for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(python3-torch python3-torchvision python3-cvxopt) ;;
    --browser) packages+=(chromium) ;;
    *) echo "setup.sh: unknown option '$arg' (expected --bench or --browser)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "low-ts: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# libtorch calls whatever libblas.so.3 the system selects; make sure it is OpenBLAS, not the reference BLAS.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
  *openblas*) ;;
  *) echo "low-ts: warning: libblas.so.3 is $blas, not OpenBLAS; training will be several times slower." >&2 ;;
esac

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
# npm's install hook builds the addon where libtorch is found and lets a core-only install pass
# without it; here the engine is the point, so a missing libtorch fails (an up-to-date build is instant).
node native/build.mjs
