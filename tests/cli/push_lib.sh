# Shared by the control-path CLI tests (test_push_*.sh), on top of lib.sh: start a
# simulated device serving a transport in the background, find where it listens, stop it
# by pid (also when the test fails), and make app images.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${OTAKIT_BUILD:?set OTAKIT_BUILD to the build folder}"
DEV="$OTAKIT_BUILD/otakit-device"
DEV_PID=""
WHERE=""
BG_PIDS=() # other background helpers of a test, stopped by pid at exit
trap 'stop_device; for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT

# start_device FLASH URI LOG [otakit-device options...]: start it, wait until it listens;
# sets DEV_PID and WHERE (the URI a host uses: the real port, the pty's path).
start_device() {
  local flash=$1 uri=$2 log=$3; shift 3
  # The log exists before the device starts: the background job opens it only once it
  # runs, and reading a missing file would end the test under set -e -o pipefail.
  : > "$log"
  "$DEV" --flash "$flash" --listen "$uri" "$@" >> "$log" 2>&1 &
  DEV_PID=$!
  for _ in $(seq 200); do
    WHERE=$(sed -n 's/.* ctrl: listening on \([^ ]*\).*/\1/p' "$log" | head -1)
    [ -n "$WHERE" ] && return 0
    kill -0 "$DEV_PID" 2>/dev/null || { cat "$log" >&2; fail "otakit-device exited"; }
    sleep 0.05
  done
  cat "$log" >&2; fail "otakit-device did not listen on $uri"
}

# stop_device [SIGNAL]: TERM (power off) by default, KILL to cut the power.
stop_device() {
  if [ -n "$DEV_PID" ]; then
    kill -"${1:-TERM}" "$DEV_PID" 2>/dev/null || true
    wait "$DEV_PID" 2>/dev/null || true
    DEV_PID=""
  fi
}

# mk VERSION OUT [make options...]: an app image of a 70 KB payload.
head -c 70000 /dev/urandom > "$T/payload.bin"
mk() { expect_exit 0 "$OTAKIT" image make --project-name push-app --version "$1" "${@:3}" "$T/payload.bin" -o "$T/$2"; }
# new_flash NAME: a 4 MB flash, factory + two OTA slots, v1.bin as the factory app.
new_flash() {
  expect_exit 0 "$OTAKIT" flash create --partitions "$OTAKIT_SOURCE/examples/partitions/two_ota.csv" \
    --write factory="$T/v1.bin" -o "$T/$1"
}
# entry SEQ STATE: an otadata entry's 32 bytes as hex (seq 1..3).
FF20=$(printf 'ff%.0s' {1..20})
NEW=00000000; PENDING=01000000; VALID=02000000; INVALID=03000000; ABORTED=04000000
entry() {
  local crc
  case $1 in 1) crc=9a984347 ;; 2) crc=7437f655 ;; 3) crc=11504aed ;; esac
  echo "0$1000000${FF20}$2$crc"
}
e0() { hex_at "$1" 0xd000 32; }
e1() { hex_at "$1" 0xe000 32; }
