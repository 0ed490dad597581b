#!/usr/bin/env bash
# make bench: run every benchmark program in BUILD/bench, collect their rows (each compares
# ours with a reference measured in the same run) into BUILD/bench/results.json with the
# machine they ran on, and print the table. Not part of make test: timings are for a quiet
# machine, not a pass/fail gate.
set -euo pipefail
build=${1:-build}
dir="$build/bench"
rows="$dir/rows.jsonl"
rm -f "$rows"
export OTAKIT_BENCH_ROWS="$rows"
export OTAKIT_BUILD="$build"
for prog in "$dir"/bench_*; do
  [ -x "$prog" ] || continue
  echo "== $(basename "$prog")" >&2
  "$prog" >/dev/null
done
/usr/bin/python3 - "$rows" "$dir/results.json" <<'PY'
import json, os, platform, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
cpu = "unknown"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
machine = {"cpu": cpu, "cores": os.cpu_count(), "arch": platform.machine(),
           "kernel": platform.release()}
for r in rows:
    r["machine"] = machine
json.dump(rows, open(sys.argv[2], "w"), indent=1)
print(f"\n{'row':<50} {'ours':>12} {'reference':>12} {'unit':<6} {'ratio':>7} {'target':>7}")
for r in rows:
    met = "met" if r["met"] else "MISSED"
    print(f"{r['name']:<50} {r['ours']:>12.4g} {r['reference']:>12.4g} {r['unit']:<6} "
          f"{r['ratio']:>7.2f} {r['target']:>7.2f} {met}")
print(f"\n{len(rows)} rows, {sum(not r['met'] for r in rows)} missed; machine: {cpu}, "
      f"{machine['cores']} cores -> {sys.argv[2]}")
PY
