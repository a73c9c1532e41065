#!/usr/bin/env bash
# Idempotent set-up used by both README commands: installs the Debian packages the project needs,
# LibTorch (the PyPI `torch` wheel, pinned) into a virtual environment outside the checkout, then
# configures and builds. A second run downloads nothing and rebuilds only what changed.
#
# Environment: DM_CACHE (default ~/.cache/diffmamba-studio) holds the venv and the ccache;
# DM_BUILD_DIR (default <checkout>/build); DM_CMAKE_ARGS adds configure arguments.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TORCH_VERSION=2.11.0
CACHE=${DM_CACHE:-$HOME/.cache/diffmamba-studio}
VENV=$CACHE/torch-$TORCH_VERSION
BUILD=${DM_BUILD_DIR:-$ROOT/build}

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config python3-venv
  qt6-base-dev libqt6sql6-sqlite qt6-svg-dev qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools qt6-translations-l10n
  libqcustomplot-dev libqcustomplot2.1-qt6 libxkbcommon-dev
  libsqlite3-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libutf8proc-dev pkg-config
  libopenblas0-pthread libgloo-dev
  xvfb xauth libgl1-mesa-dri fonts-dejavu-core fonts-wqy-microhei
  fortunes-min
)

log() { printf '[setup] %s\n' "$*" >&2; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

install_torch() {
  if [ -f "$VENV/.complete" ]; then return 0; fi
  log "installing LibTorch: PyPI torch==$TORCH_VERSION into $VENV (one time, about 4.5 GB with its CUDA libraries)"
  mkdir -p "$CACHE"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --no-input --disable-pip-version-check --progress-bar off "torch==$TORCH_VERSION" >&2
  touch "$VENV/.complete"
}

torch_cmake_dir() {
  local d
  d=$(ls -d "$VENV"/lib/python3*/site-packages/torch/share/cmake 2>/dev/null | head -n1)
  [ -n "$d" ] || { log "LibTorch's CMake files are missing under $VENV; delete that folder and re-run"; exit 1; }
  printf '%s' "$d"
}

configure_and_build() {
  export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
  export CCACHE_BASEDIR=$ROOT
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
  export CCACHE_NOHASHDIR=1
  local prefix generator=()
  prefix=$(torch_cmake_dir)
  command -v ninja >/dev/null && generator=(-G Ninja)
  if [ ! -f "$BUILD/CMakeCache.txt" ] || ! grep -q "CMAKE_PREFIX_PATH:UNINITIALIZED=$prefix\$" "$BUILD/CMakeCache.txt"; then
    log "configuring in $BUILD"
    # shellcheck disable=SC2086
    cmake -S "$ROOT" -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache ${DM_CMAKE_ARGS:-} >&2
  fi
  log "building ($(nproc) jobs)"
  cmake --build "$BUILD" -j "$(nproc)" >&2
}

install_packages
install_torch
configure_and_build
printf '%s\n' "$BUILD"
