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
# The rows in the order of docs/performance.md, then any other bench program.
order=(local_update device_time http push sweep memory)
progs=()
for name in "${order[@]}"; do
  [ -x "$dir/bench_$name" ] && progs+=("$dir/bench_$name")
done
for prog in "$dir"/bench_*; do
  [ -x "$prog" ] || continue
  case " ${progs[*]} " in *" $prog "*) ;; *) progs+=("$prog") ;; esac
done
for prog in "${progs[@]}"; do
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
           "kernel": platform.release(),
           "load": [round(x, 2) for x in os.getloadavg()]}
for r in rows:
    r["machine"] = machine
json.dump(rows, open(sys.argv[2], "w"), indent=1)
print(f"\n{'row':<58} {'ours':>10} {'reference':>10} {'unit':<9} {'ratio':>6} {'target':>6}")
for r in rows:
    met = "reported" if r["target"] == 0 else "met" if r["met"] else "MISSED"
    print(f"{r['name']:<58} {r['ours']:>10.4g} {r['reference']:>10.4g} {r['unit']:<9} "
          f"{r['ratio']:>6.2f} {r['target']:>6.2f} {met}")
load = " ".join(f"{x:.2f}" for x in machine["load"])
print(f"\n{len(rows)} rows, {sum(not r['met'] for r in rows)} missed; machine: {cpu}, "
      f"{machine['cores']} cores, load average {load} -> {sys.argv[2]}")
PY
