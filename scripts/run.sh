#!/usr/bin/env bash
# The main job: set up and build if needed, then
#  * with a display (DISPLAY or WAYLAND_DISPLAY) and no arguments: open the window on the default
#    workspace, which offers the Quick comparison when it is empty;
#  * otherwise: run the headless demo (a tiny Mamba2 vs Diff-Mamba2 comparison on the default corpus);
#    arguments go to `diffmamba demo`.
# --window or --headless as the first argument chooses; the rest go to the window or the demo.
set -euo pipefail
BUILD=$("$(dirname "${BASH_SOURCE[0]}")/setup.sh")
mode=auto
case "${1:-}" in
  --window) mode=window; shift ;;
  --headless) mode=headless; shift ;;
esac
studio="$BUILD/app/diffmamba-studio"
if [ "$mode" = auto ]; then
  mode=headless
  if [ $# -eq 0 ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
    if [ -x "$studio" ]; then
      mode=window
    else
      echo "run.sh: a display is there but this build has no window (Qt 6 and QCustomPlot were not found); running the headless demo" >&2
    fi
  fi
fi
if [ "$mode" = window ]; then
  [ -x "$studio" ] || { echo "run.sh: this build has no window (Qt 6 and QCustomPlot were not found)" >&2; exit 2; }
  exec "$studio" "$@"
fi
exec "$BUILD/app/diffmamba" demo "$@"
