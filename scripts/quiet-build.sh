#!/usr/bin/env bash
# Build a configured CMake tree with its output in DIR/build.log; on failure show the end
# of the log (the errors) and fail.
set -uo pipefail
dir=$1
jobs=${2:-2}
if cmake --build "$dir" -j "$jobs" >"$dir/build.log" 2>&1; then
  echo "built $dir (log: $dir/build.log)"
else
  grep -E 'error|Error|undefined' "$dir/build.log" | head -40
  echo "build of $dir failed; the whole log is $dir/build.log" >&2
  exit 1
fi
