#!/usr/bin/env bash
# The main job, on a simulated device's flash: build a 4 MB ESP32 flash image with ESP-IDF's
# factory + two OTA slots layout, then tell an over-the-air update story on it with the
# simulated device, showing the otadata boot record after every step:
#   factory v1 boots -> update to v2 -> v2 boots PENDING_VERIFY -> its self-test passes ->
#   VALID -> update to a bad v3 -> v3 boots and never confirms -> power on -> rolled back
#   to v2.
set -euo pipefail
build=${1:-build}
otakit="$build/otakit"
device="$build/otakit-device"
out="$build/demo"
rm -rf "$out"; mkdir -p "$out"
flash="$out/flash.bin"

# Headings in bold on a terminal, plain in logs.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n$ %s\n' "$bold" "$1" "$plain" "${*:2}"; "${@:2}"; }
otadata() { printf -- '-- otadata now:\n'; "$otakit" otadata show "$flash" | sed 's/^/   /'; }

# A payload standing in for the app's code: 64 KiB of deterministic bytes.
head -c 65536 /dev/zero | tr '\0' '\125' > "$out/payload.bin"

# ---- the flash image ------------------------------------------------------------------
step "Make three versions of the app (esptool-compatible images); v3 is a bad build whose
   self-test fails (a marker inside the image, see docs/device.md)" \
  "$otakit" image make --project-name demo-app --version 1.0.0 "$out/payload.bin" -o "$out/v1.bin"
"$otakit" image make --project-name demo-app --version 2.0.0 "$out/payload.bin" -o "$out/v2.bin"
"$otakit" image make --project-name demo-app --version 3.0.0 --selftest fail \
  "$out/payload.bin" -o "$out/v3-bad.bin"
# Espressif's own ESP32 bootloader from the shared corpus, when it is beside the project.
boot=()
corpus_boot="$(dirname "$0")/../../shared/corpus/bootloader_esp32.bin"
[ -f "$corpus_boot" ] && boot=(--bootloader "$corpus_boot")
step "Build a 4 MB flash image: bootloader, partition table at 0x8000, otadata erased, v1 as
   the factory app" \
  "$otakit" flash create --partitions examples/partitions/two_ota.csv --size 4MB \
  "${boot[@]}" --write factory="$out/v1.bin" -o "$flash"
otadata

# ---- the update story -----------------------------------------------------------------
step "Power on: otadata is blank, so the bootloader picks the factory app (v1)" \
  "$device" --flash "$flash" --once
otadata
step "v1 downloads v2 and installs it: the next slot is ota_0, otadata entry 0 gets seq 1, NEW" \
  "$otakit" ota "$flash" "$out/v2.bin"
otadata
step "Power on: the bootloader marks v2 PENDING_VERIFY and boots it; its self-test passes,
   it confirms itself: VALID" \
  "$device" --flash "$flash" --once
otadata
step "v2 installs the bad v3: the next slot is ota_1, entry 1 gets seq 2, NEW" \
  "$otakit" ota "$flash" "$out/v3-bad.bin"
otadata
step "Power on: v3 boots PENDING_VERIFY, but its self-test fails: it never confirms" \
  "$device" --flash "$flash" --once
otadata
step "Power on again: the bootloader sweeps the unconfirmed entry to ABORTED and boots v2" \
  "$device" --flash "$flash" --once
otadata
step "The device's configuration and eFuses persist beside its flash" \
  "$otakit" device config "$flash"
printf '\nDemo files are in %s/ (flash.bin is a real ESP flash image, flash.bin.device its\n' "$out"
printf 'configuration).\n'
