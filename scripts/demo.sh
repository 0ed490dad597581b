#!/usr/bin/env bash
# The main job, on a simulated device's flash: make an app image, build a 4 MB flash image
# with ESP-IDF's two-OTA layout and that app as the factory app, and show what is on it.
set -euo pipefail
build=${1:-build}
otakit="$build/otakit"
out="$build/demo"
rm -rf "$out"; mkdir -p "$out"

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

# A payload standing in for the app's code: 64 KiB of deterministic bytes.
head -c 65536 /dev/zero | tr '\0' '\125' > "$out/payload.bin"

step "Make a factory app image (esptool-compatible)" \
  "$otakit" image make --project-name demo-app --version 1.0.0 --chip esp32 \
  "$out/payload.bin" -o "$out/factory.bin"
step "What is in it" "$otakit" image info "$out/factory.bin"
step "Compile the partition table" \
  "$otakit" partition csv2bin examples/partitions/two_ota.csv "$out/partitions.bin"
# Espressif's own ESP32 bootloader from the shared corpus, when it is beside the project.
boot=()
corpus_boot="$(dirname "$0")/../../shared/corpus/bootloader_esp32.bin"
[ -f "$corpus_boot" ] && boot=(--bootloader "$corpus_boot")
step "Build a 4 MB flash image: bootloader, table at 0x8000, otadata erased, factory app" \
  "$otakit" flash create --partitions examples/partitions/two_ota.csv --size 4MB \
  "${boot[@]}" --write factory="$out/factory.bin" -o "$out/flash.bin"
step "The flash image, as the bootloader would see it" "$otakit" flash info "$out/flash.bin"

"$otakit" image make --project-name demo-app --version 1.1.0 --chip esp32 \
  "$out/payload.bin" -o "$out/app-1.1.0.bin"
step "Put version 1.1.0 in ota_0" \
  "$otakit" flash write "$out/flash.bin" ota_0 "$out/app-1.1.0.bin"
step "Select ota_0 for the next boot (what otatool.py switch_ota_partition does)" \
  "$otakit" otadata switch "$out/flash.bin" ota_0
step "otadata now" "$otakit" otadata show "$out/flash.bin"
printf '\nDemo files are in %s/ (flash.bin is a real ESP flash image).\n' "$out"
