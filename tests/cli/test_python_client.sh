#!/usr/bin/env bash
# The Python host client (python/otakit_host, python/otakit_push.py) run by the system
# /usr/bin/python3 with Debian's python3-protobuf, against a running otakit-device: its
# unit tests (framing, the .proto reader, the Auth vector), a full push over a Unix
# socket (otadata bytes, the version that runs), a corrupt image and one for another chip
# refused with the device's message, the client killed mid-push and the next push resumed
# at the device's offset, TCP with a wrong token refused and the right one pushing across
# a dropped link, and a serial line (a pty at a modelled 921600 baud).
source "$(dirname "$0")/push_lib.sh"
unset OTAKIT_TOKEN
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
PYDIR="$OTAKIT_SOURCE/python"
push_py() { "$PY" "$PYDIR/otakit_push.py" "$@"; }
"$PY" -c 'import google.protobuf' 2>/dev/null || fail "$PY cannot import google.protobuf (python3-protobuf)"

# ---- unit tests -------------------------------------------------------------------------
expect_exit 0 "$PY" -m unittest discover -s "$PYDIR/tests"
expect_grep "^OK" "$T/err"

mk 1.0.0 v1.bin
mk 2.0.0 v2.bin
mk 3.0.0 v3.bin
F="$T/flash.bin"
new_flash flash.bin
S="unix:$T/d.sock"
start_device "$F" "$S" "$T/dev.log"

# ---- a full push over a Unix socket -----------------------------------------------------
expect_exit 0 push_py --device "$S" "$T/v2.bin"
expect_grep "^ota_0 <- $T/v2.bin: push-app 2.0.0, [0-9]* bytes verified" "$T/out"
expect_grep "^rebooted: runs push-app 2.0.0 from ota_0 (VALID)" "$T/out"
expect_grep "ctrl: hello from otakit_push.py (protocol 1)" "$T/dev.log"
expect_grep "ctrl: activate: ota_0 (push-app 2.0.0) boots next" "$T/dev.log"
[ "$(e0 "$F")" = "$(entry 1 $VALID)" ] || fail "otadata entry 0: seq 1, VALID"
expect_exit 0 "$OTAKIT" otadata show --json "$F"
[ "$(json "$T/out" 'd["boot"] + " " + d["entries"][0]["state"]')" = "ota_0 VALID" ] || fail "otadata: boots ota_0"
expect_exit 0 push_py status --device "$S" --json
[ "$(json "$T/out" 'd["running_slot"] + " " + d["running"]["version"]')" = "ota_0 2.0.0" ] || fail "status: running"
[ "$(json "$T/out" 'd["slots"][1]["state"] + " " + d["session"]["state"]')" = "VALID none" ] || fail "status: slots, session"
# The C tool sees the same.
expect_exit 0 "$OTAKIT" device status --device "$S" --json
[ "$(json "$T/out" 'd["running"]["version"]')" = 2.0.0 ] || fail "otakit device status: 2.0.0"
expect_exit 0 push_py status --device "$S"
expect_grep "ota_0 .*VALID .*push-app 2.0.0  \[running\]  \[boots next\]" "$T/out"

# ---- refused images: the device's message, nothing activated ----------------------------
cp "$T/v1.bin" "$T/bad.bin"
printf '\x5a' | dd of="$T/bad.bin" bs=1 seek=50000 conv=notrunc 2>/dev/null
expect_exit 1 push_py --device "$S" "$T/bad.bin"
expect_grep "push $T/bad.bin to $S: IMAGE_REJECTED: ota_1: .*the image \(is invalid\|does not verify\)" "$T/err"
expect_exit 1 push_py --device "$S" --json "$T/bad.bin"
[ "$(json "$T/out" 'd["ok"], d["err"], d["code"], d["esp_err"] != 0')" = "False IMAGE_REJECTED 9 True" ] || fail "json: refused"
expect_exit 0 "$OTAKIT" image make --chip esp32c3 --project-name push-app --version 9.0.0 "$T/payload.bin" -o "$T/c3.bin"
expect_exit 1 push_py --device "$S" "$T/c3.bin"
expect_grep "IMAGE_REJECTED: ota_1: refused on the first chunk, nothing written: the image is for ESP32-C3" "$T/err"
[ "$(e0 "$F")" = "$(entry 1 $VALID)" ] || fail "a refused image changed the selecting otadata entry"
expect_exit 0 push_py status --device "$S" --json
[ "$(json "$T/out" 'd["running"]["version"] + " " + d["session"]["state"]')" = "2.0.0 failed" ] || fail "still 2.0.0"

# ---- the client killed mid-push; the next push resumes at the device's offset -----------
head -c 400000 /dev/urandom > "$T/big.payload"
expect_exit 0 "$OTAKIT" image make --project-name push-app --version 5.0.0 "$T/big.payload" -o "$T/v5.bin"
size=$(stat -c %s "$T/v5.bin")
# A small window at a modelled 2 Mbaud (200 KB/s) so the kill lands in the middle.
# (The session file, saved every 64 KiB, shows when the device has some of it.)
"$PY" "$PYDIR/otakit_push.py" --device "$S" --window 2 --baud 2000000 "$T/v5.bin" > "$T/killed.out" 2>&1 &
pusher=$!
BG_PIDS+=("$pusher")
sha=$(sha256sum "$T/v5.bin" | cut -c1-64)
saved() { grep -q "^sha256 = $sha" "$F.session" 2>/dev/null && grep -q '^written = [1-9]' "$F.session"; }
for _ in $(seq 200); do saved && break; sleep 0.02; done
kill -KILL "$pusher"; wait "$pusher" 2>/dev/null || true
saved || fail "no session saved during the transfer"
# The device takes what the dead client had queued, then sees its link go down (until
# then another host is told BUSY).
for _ in $(seq 100); do push_py status --device "$S" --json > "$T/out" 2>/dev/null && break; sleep 0.05; done
[ "$(json "$T/out" 'd["session"]["state"]')" = receiving ] || { cat "$T/out" "$T/killed.out"; tail "$T/dev.log"; fail "the killed push left a receiving session"; }
at=$(json "$T/out" 'd["session"]["next_offset"]')
[ "$at" -gt 0 ] && [ "$at" -lt "$size" ] || fail "the device holds $at of $size bytes"
expect_exit 0 push_py --device "$S" --json "$T/v5.bin"
[ "$(json "$T/out" 'd["resumed_from"]')" = "$at" ] || fail "resumed from $(json "$T/out" 'd["resumed_from"]'), not $at"
[ "$(json "$T/out" 'd["bytes_sent"]')" = $((size - at)) ] || fail "only the missing bytes are sent"
[ "$(json "$T/out" 'd["ok"] and d["runs_image"] and d["running"]["version"] == "5.0.0"')" = True ] || fail "runs 5.0.0"
expect_grep "ctrl: begin: ota_1 <- image .*: resumed at $at" "$T/dev.log"
[ "$(e1 "$F")" = "$(entry 2 $VALID)" ] || fail "otadata entry 1: seq 2, VALID"

# ---- the running app's decisions --------------------------------------------------------
expect_exit 0 push_py rollback --device "$S"
expect_grep "^rollback: done; rebooted: runs push-app 2.0.0 from ota_0" "$T/out"
expect_exit 0 push_py reboot --device "$S" --json
[ "$(json "$T/out" 'd["ok"] and d["running_slot"] == "ota_0"')" = True ] || fail "reboot"
expect_exit 0 push_py abort --device "$S"
expect_exit 2 push_py --device "nowhere:x" "$T/v2.bin"
expect_exit 2 push_py --device "$S" --window 0 "$T/v2.bin"
stop_device
expect_exit 1 push_py --device "$S" --retries 1 "$T/v2.bin"
expect_grep "LINK: unix:$T/d.sock: cannot connect" "$T/err"

# ---- TCP: the token --------------------------------------------------------------------
F2="$T/flash2.bin"
new_flash flash2.bin
OTAKIT_TOKEN=s3cret start_device "$F2" tcp://:0 "$T/dev-tcp.log"
case "$WHERE" in tcp://127.0.0.1:[1-9]*) ;; *) fail "listens on $WHERE" ;; esac
expect_exit 1 push_py --device "$WHERE" "$T/v2.bin"
expect_grep "UNAUTHENTICATED: .*the device needs the shared-secret token" "$T/err"
expect_exit 1 push_py --device "$WHERE" --token guess "$T/v2.bin"
expect_grep "UNAUTHENTICATED: wrong token: the link is closed" "$T/err"
[ "$(hex_at "$F2" 0xd000 0x2000 | tr -d f)" = "" ] || fail "refused hosts changed otadata"
# The right token; the first link is cut after 30000 bytes: reconnect, Begin resumes.
expect_exit 0 push_py --device "$WHERE" --token s3cret --json --drop-at 30000 "$T/v3.bin"
[ "$(json "$T/out" 'd["ok"] and d["runs_image"] and d["running"]["version"] == "3.0.0"')" = True ] || fail "tcp: pushed"
[ "$(json "$T/out" 'd["resumes"] == 1 and 0 < d["resumed_at"] < d["size"] and d["connects"] >= 2')" = True ] || fail "tcp: resumed after the drop"
expect_grep "ctrl: begin: ota_0 <- image .*: resumed at $(json "$T/out" 'd["resumed_at"]')" "$T/dev-tcp.log"
OTAKIT_TOKEN=s3cret expect_exit 0 push_py status --device "$WHERE" --json
[ "$(json "$T/out" 'd["link"]["auth_failures"]')" = 1 ] || fail "the wrong token counted"
[ "$(json "$T/out" 'd["running_slot"] + " " + d["running"]["version"]')" = "ota_0 3.0.0" ] || fail "tcp: status"
expect_exit 0 "$OTAKIT" otadata show --json "$F2"
[ "$(json "$T/out" 'd["boot"] + " " + d["entries"][0]["state"]')" = "ota_0 VALID" ] || fail "tcp: otadata"
stop_device

# ---- a serial line: a pty at 921600 baud ------------------------------------------------
F3="$T/flash3.bin"
new_flash flash3.bin
start_device "$F3" "pty?baud=921600" "$T/dev-pty.log"
case "$WHERE" in serial:/dev/*\?baud=921600) ;; *) fail "listens on $WHERE" ;; esac
expect_exit 0 push_py --device "$WHERE" --json "$T/v2.bin"
[ "$(json "$T/out" 'd["ok"] and d["runs_image"] and d["running_slot"] == "ota_0"')" = True ] || fail "serial: pushed"
[ "$(json "$T/out" 'd["size"] / (d["transfer_us"] / 1e6) <= 92160')" = True ] || fail "faster than the UART"
expect_exit 0 push_py status --device "$WHERE" --json
[ "$(json "$T/out" 'd["running"]["version"]')" = 2.0.0 ] || fail "serial: status"
echo ok
