#!/usr/bin/env bash
# Fetches the Debian packages the core needs beyond LibTorch, CMake and nvcc (headers, CMake/pkg-config files
# and their runtime libraries) into .device-deps/, for scripts/device-check.sh on a machine with no network.
# Run it here (it reaches Debian's archive through apt); the device call carries the folder (see docs/cuda.md).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${DM_DEVICE_DEPS:-$ROOT/.device-deps}
PACKAGES=(
  nlohmann-json3-dev libcli11-dev                # header-only, with CMake configs
  libyaml-cpp-dev libyaml-cpp0.7                 # yaml-cpp
  libsqlite3-dev libsqlite3-0                    # SQLite
  libutf8proc-dev libutf8proc2                   # utf8proc (found through pkg-config)
  libgloo-dev                                    # Gloo's headers for c10d's ProcessGroupGloo.hpp (code: LibTorch)
  pkgconf pkgconf-bin libpkgconf3                # pkg-config itself, in case the device lacks it
  fortunes-min                                   # the demo corpus for the GPU jobs (scripts/device-jobs.sh)
)

mkdir -p "$DEST"
cd "$DEST"
missing=()
for p in "${PACKAGES[@]}"; do
  compgen -G "${p}_*.deb" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! apt-get download "${missing[@]}" 2>/dev/null; then
    apt-get update -qq
    apt-get download "${missing[@]}"
  fi
fi
for p in "${PACKAGES[@]}"; do
  compgen -G "${p}_*.deb" >/dev/null || { echo "fetch-device-deps: $p was not downloaded" >&2; exit 1; }
done
# mamba-ssm's source (its Triton SSD is a peer in the device check; bench/peer_gpu.py imports only its
# ops/triton and utils, so no CUDA extension is built): the sdist from PyPI, checked against its sha256.
MAMBA_SSM=2.3.2.post1
mkdir -p python
if [ ! -f "python/mamba_ssm-$MAMBA_SSM.tar.gz" ]; then
  python3 - "$MAMBA_SSM" <<'PY'
import hashlib, json, sys, urllib.request
version = sys.argv[1]
meta = json.load(urllib.request.urlopen("https://pypi.org/pypi/mamba-ssm/json", timeout=60))
sdist = next(u for u in meta["releases"][version] if u["packagetype"] == "sdist")
data = urllib.request.urlopen(sdist["url"], timeout=120).read()
if hashlib.sha256(data).hexdigest() != sdist["digests"]["sha256"]:
    sys.exit(f"fetch-device-deps: {sdist['filename']} does not match its sha256")
open(f"python/{sdist['filename']}", "wb").write(data)
PY
fi
printf 'fetch-device-deps: %s packages in %s, %s in all\n' "$(ls ./*.deb | wc -l)" "$DEST" "$(du -sh . | cut -f1)"
