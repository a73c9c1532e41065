#!/usr/bin/env bash
# The test command: set up and build if needed, then run every test suite through CTest.
set -euo pipefail
BUILD=$("$(dirname "${BASH_SOURCE[0]}")/setup.sh")
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
exec ctest --test-dir "$BUILD" --output-on-failure --timeout 1200 "$@"
