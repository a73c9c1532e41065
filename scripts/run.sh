#!/usr/bin/env bash
# The main job: set up and build if needed, then run the demo (a tiny Mamba2 vs Diff-Mamba2
# comparison on the default corpus). Extra arguments go to `diffmamba demo`.
set -euo pipefail
BUILD=$("$(dirname "${BASH_SOURCE[0]}")/setup.sh")
exec "$BUILD/app/diffmamba" demo "$@"
