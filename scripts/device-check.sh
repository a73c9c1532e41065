#!/usr/bin/env bash
# The device check (issue 9): on a machine with an NVIDIA GPU, python3's torch as LibTorch, CMake, ninja and
# nvcc, but no Qt and no network, builds core + kernels + CLI + bench_kernels + bench_dist, then runs
# `diffmamba doctor`, `diffmamba selfcheck` (CPU oracles, then every CUDA kernel against the fp64 reference),
# bench_kernels and bench_dist --nccl (a 1-rank NCCL group + c10d Reducer against no group), compute-sanitizer,
# the peers (bench/peer_gpu.py: mamba-ssm's Triton SSD, transformers' Mamba2; ratios in $OUT/peer-table.md),
# then the jobs end to end (scripts/device-jobs.sh). DM_CHECK_SKIP="…" leaves steps out (see below).
# Everything it prints goes to $OUT/device-check.log; the benchmark table to $OUT/bench-table.md.
# The Debian packages the core needs come from .device-deps/ (scripts/fetch-device-deps.sh), unpacked with
# dpkg -x into the build folder. Without a GPU the CUDA steps say SKIPPED and why (rehearsal).
#
# Usage: scripts/device-check.sh [bench_kernels options, e.g. --no-train]
# Environment: OUT (default build-device/out), DM_DEVICE_BUILD (default build-device), DM_TORCH_CMAKE (LibTorch's
# share/cmake; default: python3's torch, else the setup.sh virtual environment), JOBS (default nproc).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${DM_DEVICE_BUILD:-$ROOT/build-device}
OUT=${OUT:-$BUILD/out}
DEBS=${DM_DEVICE_DEPS:-$ROOT/.device-deps}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$OUT" "$BUILD"
LOG=$OUT/device-check.log
: >"$LOG"
exec > >(tee -a "$LOG") 2>&1

START=$SECONDS
SUMMARY=()
step() { printf '\n== %s  [%ds]\n' "$*" $((SECONDS - START)); }
record() { SUMMARY+=("$(printf '%-28s %-8s %4ds' "$1" "$2" $((SECONDS - START)))"); }
finish() {
  printf '\n== summary (%ds in all)\n' $((SECONDS - START))
  printf '%s\n' "${SUMMARY[@]}"
  exit "$1"
}

step "machine"
uname -srm
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv 2>&1 | head -5 || true
echo "cores: $(nproc)"

# ---- dependencies: the carried .debs, unpacked into a prefix of our own --------------------------------------
step "dependencies from $DEBS"
PREFIX=$BUILD/deps-root
if ! compgen -G "$DEBS/*.deb" >/dev/null; then
  echo "no .deb files in $DEBS: run scripts/fetch-device-deps.sh first and carry .device-deps"
  record deps FAILED
  finish 1
fi
rm -rf "$PREFIX"
mkdir -p "$PREFIX"
unpack() {  # dpkg -x, or ar + tar where dpkg is missing (Debian 12 packages hold data.tar.xz)
  if command -v dpkg >/dev/null; then dpkg -x "$1" "$PREFIX"; else ar p "$1" data.tar.xz | tar -xJ -C "$PREFIX"; fi
}
for f in "$DEBS"/*.deb; do unpack "$f" || { record deps FAILED; finish 1; }; done
LIBDIR=$PREFIX/usr/lib/x86_64-linux-gnu
# pkg-config sees only the carried .pc files, with their /usr paths moved under the prefix.
export PKG_CONFIG_LIBDIR=$LIBDIR/pkgconfig:$PREFIX/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$PREFIX
PKG_CONFIG_BIN=$(command -v pkg-config || true)
[ -n "$PKG_CONFIG_BIN" ] || PKG_CONFIG_BIN=$PREFIX/usr/bin/pkgconf
echo "unpacked $(ls "$DEBS"/*.deb | wc -l) packages; pkg-config: $PKG_CONFIG_BIN"
record deps ok

# ---- LibTorch and the CUDA compiler ----------------------------------------------------------------------------
step "LibTorch and nvcc"
TORCH_CMAKE=${DM_TORCH_CMAKE:-$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)}
if [ -z "$TORCH_CMAKE" ]; then  # this project's own LibTorch (scripts/setup.sh), for a rehearsal
  TORCH_CMAKE=$(ls -d "${DM_CACHE:-$HOME/.cache/diffmamba-studio}"/torch-*/lib/python3*/site-packages/torch/share/cmake 2>/dev/null | head -n1)
fi
[ -d "$TORCH_CMAKE" ] || { echo "no LibTorch found (python3 has no torch; set DM_TORCH_CMAKE)"; record libtorch FAILED; finish 1; }
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
echo "LibTorch cmake: $TORCH_CMAKE"
echo "nvcc: ${NVCC:-not found} $([ -n "$NVCC" ] && "$NVCC" --version | tail -n2 | head -n1)"
[ -n "$NVCC" ] || { record nvcc FAILED; finish 1; }
record libtorch+nvcc ok

# ---- configure and build (GUI and QtTest suites off: no Qt there) ---------------------------------------------
step "configure"
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
cmake --version | head -n1
cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DDM_GUI=OFF -DDM_TESTS=OFF -DDM_BENCH=ON \
  -DDM_CUDA=ON -DCMAKE_CUDA_COMPILER="$NVCC" -DPKG_CONFIG_EXECUTABLE="$PKG_CONFIG_BIN" \
  -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
  -DCMAKE_PREFIX_PATH="$TORCH_CMAKE;$PREFIX/usr;$LIBDIR/cmake;$PREFIX/usr/share/cmake" "${LAUNCHER[@]}" ||
  { record configure FAILED; finish 1; }
grep -E "^(yaml-cpp|nlohmann_json|CLI11)_DIR|^SQLite3_INCLUDE_DIR|^SQLite3_LIBRARY" "$BUILD/CMakeCache.txt"
record configure ok

step "build diffmamba + bench_kernels + bench_dist with $JOBS jobs (ptxas -v reports in $OUT/build.log)"
cmake --build "$BUILD" -j "$JOBS" --target diffmamba bench_kernels bench_dist >"$OUT/build.log" 2>&1
rc=$?
grep -E "error|ptxas info    : Used|spill" "$OUT/build.log" | grep -v " 0 bytes spill" | sort | uniq -c | head -40
tail -n 3 "$OUT/build.log"
[ $rc -eq 0 ] || { record build FAILED; finish 1; }
record build ok

# ---- run -------------------------------------------------------------------------------------------------------
FAILED=0
# DM_CHECK_SKIP="bench sanitizer …" leaves steps out (a rerun that does only what the first call did not reach):
# selfcheck, bench, peers, sanitizer, jobs.
wanted() { [[ " ${DM_CHECK_SKIP:-} " != *" $1 "* ]] || { record "$1" "SKIPPED(asked)"; return 1; }; }
run_step() {  # name, timeout seconds, command…   (exit 77 = skipped; TEE_TO=file also saves the output)
  local name=$1 limit=$2 rc
  shift 2
  step "$name: $*"
  if [ -n "${TEE_TO:-}" ]; then
    timeout "$limit" "$@" | tee "$TEE_TO"
    rc=${PIPESTATUS[0]}
  else
    timeout "$limit" "$@"
    rc=$?
  fi
  case $rc in
    0) record "$name" ok ;;
    77) record "$name" SKIPPED ;;
    124) record "$name" TIMEOUT; FAILED=1 ;;
    *) record "$name" "FAILED($rc)"; FAILED=1 ;;
  esac
}
cd "$BUILD" || finish 1
# The carried runtime libraries (yaml-cpp, utf8proc, sqlite) for our executables only, not for the tools above.
export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
run_step doctor 30 ./app/diffmamba doctor
if wanted selfcheck; then
  run_step "selfcheck cpu" 60 ./app/diffmamba selfcheck --device cpu
  run_step "selfcheck cuda" 120 ./app/diffmamba selfcheck --device cuda
fi
if wanted bench; then
  TEE_TO=$OUT/bench.txt run_step bench_kernels 240 ./bench/bench_kernels "$@"
  # Data-parallel overhead on one GPU (issue 17): a 1-rank NCCL group with the Reducer vs no group.
  TEE_TO=$OUT/bench-nccl.txt run_step "bench_dist nccl" 90 ./bench/bench_dist --nccl --steps 20
  grep -E '^(\||## )' "$OUT/bench.txt" >"$OUT/bench-table.md" 2>/dev/null || true
fi

[ -s "$OUT/bench-table.md" ] && { echo; cat "$OUT/bench-table.md"; } || rm -f "$OUT/bench-table.md"

# compute-sanitizer over the kernel checks (no language models): out-of-bounds and misaligned accesses
# (memcheck), shared-memory hazards in the tiles (racecheck), only while under about 6 minutes are spent;
# any error it reports fails the check (exit code 3).
SANITIZER=$(command -v compute-sanitizer || ls "$(dirname "${NVCC:-/usr/local/cuda/bin/nvcc}")"/compute-sanitizer 2>/dev/null || true)
for tool in memcheck racecheck; do
  if ! wanted sanitizer; then
    break
  elif [ -z "$SANITIZER" ]; then
    record "sanitizer $tool" "SKIPPED"; echo "compute-sanitizer not found"
  elif ! ./app/diffmamba doctor 2>/dev/null | grep -q "^CUDA available *yes"; then
    record "sanitizer $tool" "SKIPPED"; echo "no GPU: compute-sanitizer $tool not run"
  elif [ $((SECONDS - START)) -gt 340 ]; then
    record "sanitizer $tool" "SKIPPED"; echo "compute-sanitizer $tool left out: $((SECONDS - START)) s already spent"
  else
    # Without LibTorch's caching allocator every tensor is its own allocation, so memcheck sees an
    # out-of-bounds access instead of one landing in a neighbour inside a cached block.
    PYTORCH_NO_CUDA_MEMORY_CACHING=1 run_step "sanitizer $tool" 60 "$SANITIZER" --tool "$tool" --error-exitcode 3 \
      --print-limit 20 ./app/diffmamba selfcheck --device cuda --kernels-only --seed 1
  fi
done

# Peers on the same GPU (issue 18): mamba-ssm's Triton SSD (from its sdist, carried in .device-deps/python) and
# transformers' Mamba2 (python3's, its pure-PyTorch path) at the 370M shape; then ours against them, with ratios.
PEER=$ROOT/bench/peer_gpu.py
MSS=$(ls "$DEBS"/python/mamba_ssm-*.tar.gz 2>/dev/null | head -n1)
if ! wanted peers; then
  :
elif [ $((SECONDS - START)) -gt 360 ]; then
  record peers SKIPPED; echo "peers left out: $((SECONDS - START)) s already spent"
elif [ -z "$MSS" ]; then
  record "peer mamba-ssm" FAILED; FAILED=1; echo "no mamba-ssm sdist in $DEBS/python: run scripts/fetch-device-deps.sh"
else
  mkdir -p "$OUT/peers" && tar -xzf "$MSS" -C "$OUT/peers"
  run_step "peer mamba-ssm ssd" 120 python3 "$PEER" ssd --mamba-ssm "$(ls -d "$OUT"/peers/mamba_ssm-*/ | head -n1)" \
    --out "$OUT/peer-ssd.json"
  run_step "peer transformers 370M" 180 python3 "$PEER" hf-train --out "$OUT/peer-hf.json"
  # bench.txt may come from an earlier call on the same, still warm machine (DM_CHECK_SKIP=bench, same OUT).
  if [ -s "$OUT/peer-ssd.json" ] && [ -s "$OUT/peer-hf.json" ] && [ -s "$OUT/bench.txt" ]; then
    TEE_TO=$OUT/peer-table.md run_step "peer table" 20 python3 "$PEER" table "$OUT/bench.txt" "$OUT/peer-ssd.json" \
      "$OUT/peer-hf.json"
  fi
fi

# The jobs end to end on the GPU (train with and without our kernels, finetune-needle, eval-babilong on the GPU
# and the CPU, lens): scripts/device-jobs.sh, on the fortunes text carried as a .deb. Last, while time is left.
if ! wanted jobs; then
  :
elif [ $((SECONDS - START)) -gt 400 ]; then
  record "GPU jobs" SKIPPED; echo "GPU jobs left out: $((SECONDS - START)) s already spent"
else
  TEE_TO=$OUT/jobs.txt run_step "GPU jobs" 180 "$ROOT/scripts/device-jobs.sh" ./app/diffmamba \
    "$PREFIX/usr/share/games/fortunes" "$OUT/jobs"
fi
finish $FAILED
