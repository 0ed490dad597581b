#!/usr/bin/env bash
# The main job, on a simulated device's flash: build a 4 MB ESP32 flash image with ESP-IDF's
# factory + two OTA slots layout, then tell an over-the-air update story on it with the
# simulated device, showing the otadata boot record after every step:
#   factory v1 boots -> v2 is pushed over a Unix socket (otakit push) -> v2 boots
#   PENDING_VERIFY -> its self-test passes -> VALID -> a bad v3 is pushed -> v3 boots and
#   never confirms -> reboot -> rolled back to v2 -> v4 is pulled over HTTPS from a local
#   nginx and confirms itself.
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

# ---- the update story: a host pushes updates to the running device ---------------------
# The device runs in the background and serves the control path (docs/protocol.md) on a
# Unix socket; the updates reach it the way ESP-Hosted's host updates its co-processor,
# with `otakit push`. Its log goes to device.log; each step shows what it added.
sock="$out/device.sock"
log="$out/device.log"
shown=0
device_log() { # the device's log lines since the last call
  local n; n=$(wc -l < "$log")
  [ "$n" -gt "$shown" ] && sed -n "$((shown + 1)),${n}p" "$log" | sed 's/^/   | /'
  shown=$n
}
printf '
%s== %s%s
$ %s
' "$bold" "Power on the device; it serves the control path on a Unix socket. otadata is
   blank, so the bootloader picks the factory app (v1)" "$plain" \
  "$device --flash $flash --listen unix:$sock &"
"$device" --flash "$flash" --listen "unix:$sock" > "$log" 2>&1 &
device_pid=$!
trap 'kill "$device_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q 'ctrl: listening' "$log" && break; sleep 0.05; done
device_log
otadata
step "Push v2: Begin (size, SHA-256), pipelined writes (the device checks the first chunk,
   then erases as data arrives), End (verified), Activate: ota_0 gets otadata seq 1, NEW;
   the device reboots, marks v2 PENDING_VERIFY, its self-test passes: VALID" \
  "$otakit" push --device "unix:$sock" "$out/v2.bin"
device_log
otadata
step "Push the bad v3: ota_1, entry 1 gets seq 2; after the reboot v3 runs PENDING_VERIFY,
   but its self-test fails: it never confirms" \
  "$otakit" push --device "unix:$sock" "$out/v3-bad.bin"
device_log
otadata
step "Reboot it: the bootloader sweeps the unconfirmed entry to ABORTED and boots v2" \
  "$otakit" device reboot --device "unix:$sock"
device_log
otadata
step "Ask the running device what it holds" \
  "$otakit" device status --device "unix:$sock"
kill "$device_pid"
wait "$device_pid" || true
trap - EXIT

# ---- an update pulled over HTTPS ------------------------------------------------------
# A local nginx on a free 127.0.0.1 port (tests/cli/nginx.sh: config, logs and a test CA
# in a temp dir, stopped by pid when the demo ends), serving v4.
if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
  T=$(mktemp -d /tmp/otakit-demo-XXXXXX) PY=/usr/bin/python3 OTAKIT_SOURCE="$(dirname "$0")/.."
  fail() { echo "demo: $*" >&2; exit 1; }
  source "$(dirname "$0")/../tests/cli/nginx.sh"
  make_certs
  "$otakit" image make --project-name demo-app --version 4.0.0 "$out/payload.bin" \
    -o "$T/www/v4.bin" >/dev/null
  nginx_start
  cp "$T/pki/ca.pem" "$out/demo-ca.pem"
  step "v2 downloads v4 over HTTPS from a local nginx (esp_https_ota: TLS verified against
   a CA made with openssl just now; an interrupted download would resume from
   flash.bin.ota-checkpoint)" \
    "$otakit" ota "$flash" "https://127.0.0.1:$HTTPS_PORT/v4.bin" --ca "$out/demo-ca.pem"
  otadata
  step "Power on: v4 boots PENDING_VERIFY and confirms itself" \
    "$device" --flash "$flash" --once
  otadata
  stop_servers
fi
step "The device's configuration and eFuses persist beside its flash" \
  "$otakit" device config "$flash"
printf '\nDemo files are in %s/ (flash.bin is a real ESP flash image, flash.bin.device its\n' "$out"
printf 'configuration).\n'

# ---- the update service: an app and a data partition in one run ----------------------
# ESP-ADF's ota_service (docs/service.md): a JSON manifest (docs/manifest.md) lists app
# V2.0.0 and the data partition 'storage' V1.0.1, with their SHA-256 and sizes, on a flash
# whose layout has 'storage' and a 'staging' partition to verify data images in first.
svc="$out/service"
mkdir -p "$svc"
"$otakit" image make --project-name demo-app --version V1.0.0 "$out/payload.bin" \
  -o "$svc/app-1.bin" >/dev/null
"$otakit" image make --project-name demo-app --version V2.0.0 "$out/payload.bin" \
  -o "$svc/app-2.bin" >/dev/null
head -c 20000 /dev/zero | tr '\0' '\141' > "$svc/storage-1.bin"
"$otakit" flash create --partitions examples/partitions/two_ota_storage.csv --size 4MB \
  "${boot[@]}" --write factory="$svc/app-1.bin" -o "$svc/flash.bin" >/dev/null
svc_node() { # TYPE FILE VERSION [MORE]: a manifest node with the file's SHA-256 and size
  printf '{"type": "%s", "uri": "%s", "version": "%s", "sha256": "%s", "size": %s%s}' "$1" \
    "$(basename "$2")" "$3" "$(sha256sum "$2" | cut -d' ' -f1)" "$(stat -c %s "$2")" "${4:-}"
}
printf '{"nodes": [\n  %s,\n  %s\n]}\n' "$(svc_node app "$svc/app-2.bin" V2.0.0)" \
  "$(svc_node data "$svc/storage-1.bin" V1.0.1 ', "label": "storage", "staging": "staging"')" \
  > "$svc/manifest.json"
step "The update service (ESP-ADF's ota_service) on a fresh device running app V1.0.0: one
   manifest brings app V2.0.0 (version read from its descriptor before anything is
   erased) and data partition 'storage' V1.0.1 (staged, checked against its SHA-256,
   committed, copied); the app node asks for the reboot" \
  "$otakit" service "$svc/flash.bin" "$svc/manifest.json"
printf -- '-- what the device keeps between runs (%s):\n' "$svc/flash.bin.service"
sed 's/^/   /' "$svc/flash.bin.service"
