#!/usr/bin/env bash
# `make size`: cross-build the core for a Cortex-M4 (scripts/cross-build.sh), then print
# text/data/bss per layer, the RAM of one OTA handle and of one boot run, and the worst
# stack paths, for the lean and the text configurations (scripts/size_report.py).
# Fails when the core's text is over 16 KiB or one boot run needs more than 2 KiB of stack.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/cortex-m4}
scripts/cross-build.sh "$out" >/dev/null
# The sizes of the core's types on the target, per configuration (same flags as the build).
for name in lean text; do
  flags=$(sed -n 's/^ *-D/-D/p' "$out/$name/flags" | tr '\n' ' ')
  # shellcheck disable=SC2086 # flags is a list of -D options
  arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -std=c11 -Os -ffreestanding \
    $flags -Iinclude -Iinclude/esp -c ports/cortex-m4/sizes.c -o "$out/$name/sizes.o"
done
arm-none-eabi-size "$out/lean/example.elf" "$out/text/example.elf"
echo
python3 scripts/size_report.py "$out"
