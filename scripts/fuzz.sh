#!/usr/bin/env bash
# make fuzz: run every libFuzzer harness of a clang fuzz tree (-DOTAKIT_FUZZ=ON) for a
# longer time than `make test` does, each on a copy of its kept corpus (so what it finds
# does not land in tests/fuzz/corpus unasked), JOBS at a time, and report every crash.
#
#   scripts/fuzz.sh BUILD_DIR [SECONDS] [JOBS] [NAME...]
#
# Per harness, in BUILD_DIR/fuzz-long/NAME/: corpus/ (the grown corpus), log, and the
# crash-*, leak-*, timeout-* inputs libFuzzer wrote. A crash is kept until the next run;
# fix it and copy the input into tests/fuzz/corpus/NAME/ as its regression test. Exit 1
# when any harness found something.
set -uo pipefail
build=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS] [JOBS] [NAME...]}
seconds=${2:-60}
jobs=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
src=$(cd "$(dirname "$0")/.." && pwd)
# The longest input tried: the harnesses parse tables, headers and short programs; larger
# inputs only slow the search down (the same bound as make test's runs).
max_len=8192
# A single input running this long is a hang worth reporting.
timeout_s=10

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$src"/tests/fuzz/fuzz_*.c; do names+=("$(basename "$f" .c)"); done
fi

run_one() {
  local name=$1 bin="$build/$1" work="$build/fuzz-long/$1"
  [ -x "$bin" ] || { echo "$name: not built (is $build a -DOTAKIT_FUZZ=ON tree?)"; return 1; }
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp "$src/tests/fuzz/corpus/$name/"* "$work/corpus/" 2>/dev/null || true
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" -max_total_time="$seconds" -max_len="$max_len" -timeout="$timeout_s" \
    -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1
  local rc=$?
  local execs rate
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
  local found
  found=$(ls "$work" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' || true)
  if [ $rc -ne 0 ] || [ -n "$found" ]; then
    echo "$name: FOUND SOMETHING (exit $rc) after ${execs:-?} inputs: ${found:-see log}; log $work/log"
    return 1
  fi
  echo "$name: ok, ${execs:-?} inputs in ${seconds} s (${rate:-?}/s), corpus $(ls "$work/corpus" | wc -l) files"
}
export -f run_one
export build seconds src max_len timeout_s

echo "== fuzzing ${#names[@]} harnesses for $seconds s each, $jobs at a time ($build) =="
printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} >"$build/fuzz-long.txt"
status=$?
sort "$build/fuzz-long.txt"
exit $(( status == 0 ? 0 : 1 ))
