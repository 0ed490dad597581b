#!/usr/bin/env bash
# otakit push over a Unix socket to a running otakit-device: a full push (otadata bytes,
# the reboot, the version that runs), the link dropped at many points, bit errors,
# garbage, duplicated and reordered frames, a wrong image and a corrupt one refused with
# nothing activated, a second host told busy, the device's power cut mid-transfer and the
# push resumed after its reboot, and status / confirm / rollback / reboot --device.
source "$(dirname "$0")/push_lib.sh"
mk 1.0.0 v1.bin
mk 2.0.0 v2.bin
mk 3.0.0 v3.bin
F="$T/flash.bin"
new_flash flash.bin
S="unix:$T/d.sock"
start_device "$F" "$S" "$T/dev.log"
[ "$WHERE" = "$S" ] || fail "listens on $WHERE"
# No token on a Unix socket: only its owner may connect (docs/security.md).
[ "$(stat -c %a "$T/d.sock")" = 600 ] || fail "the socket's mode is $(stat -c %a "$T/d.sock"), not 600"

# ---- a full push --------------------------------------------------------------------
expect_exit 0 "$OTAKIT" push --device "$S" "$T/v2.bin"
expect_grep "^ota_0 <- $T/v2.bin: push-app 2.0.0, [0-9]* bytes verified" "$T/out"
expect_grep "^rebooted: runs push-app 2.0.0 from ota_0 (VALID)" "$T/out"
[ "$(e0 "$F")" = "$(entry 1 $VALID)" ] || fail "otadata entry 0: seq 1, VALID (it confirmed itself)"
expect_grep "ctrl: begin: ota_0 .* nothing is erased until the first chunk checks out" "$T/dev.log"
expect_grep "ctrl: activate: ota_0 (push-app 2.0.0) boots next" "$T/dev.log"
expect_grep "app: push-app 2.0.0 running from ota_0 (PENDING_VERIFY)" "$T/dev.log"
[ ! -e "$F.session" ] || fail "the session file is removed once activated"
expect_exit 0 "$OTAKIT" device status --device "$S" --json
[ "$(json "$T/out" 'd["running_slot"] + " " + d["running"]["version"]')" = "ota_0 2.0.0" ] || fail "status: running"
[ "$(json "$T/out" 'd["slots"][1]["state"]')" = VALID ] || fail "status: ota_0 VALID"
[ "$(json "$T/out" 'd["session"]["state"]')" = none ] || fail "status: no session"
expect_exit 0 "$OTAKIT" device status --device "$S"
expect_grep "running: ota_0 push-app 2.0.0" "$T/out"
expect_grep "ota_0 .*VALID .*push-app 2.0.0  \[running\]  \[boots next\]" "$T/out"

# ---- the link dropped at many points: every link drops after 1..12000 bytes ----------
expect_exit 0 "$OTAKIT" push --device "$S" --json --inject seed=11,drop=12000 "$T/v3.bin"
[ "$(json "$T/out" 'd["ok"] and d["runs_image"]')" = True ] || fail "drops: pushed"
[ "$(json "$T/out" 'd["sha256"]')" = "$(sha256sum "$T/v3.bin" | cut -d' ' -f1)" ] \
  || fail "drops: the SHA-256 the push hashed as it sent is the file's"
[ "$(json "$T/out" 'd["injected"]["drops"] >= 5')" = True ] || fail "drops: the link dropped"
[ "$(json "$T/out" 'd["running"]["version"]')" = 3.0.0 ] || fail "drops: runs 3.0.0"
[ "$(e1 "$F")" = "$(entry 2 $VALID)" ] || fail "otadata entry 1: seq 2, VALID"

# ---- bit errors both ways, garbage, duplicated and reordered frames -----------------
# (4 KiB chunks: faults strike per frame, and more frames meet more of them)
mk 4.0.0 v4.bin
expect_exit 0 "$OTAKIT" push --device "$S" --json --chunk 4096 \
  --inject seed=5,flip=0.05,rx_flip=0.05,garbage=0.1,dup=0.1,reorder=0.1 "$T/v4.bin"
[ "$(json "$T/out" 'd["ok"] and d["runs_image"]')" = True ] || fail "faults: pushed"
[ "$(json "$T/out" 'd["injected"]["flips"] + d["injected"]["garbage"] > 0')" = True ] || fail "faults injected"
expect_exit 0 "$OTAKIT" device status --device "$S" --json
[ "$(json "$T/out" 'd["link"]["frames_dropped"] > 0')" = True ] || fail "damaged frames counted"
[ "$(json "$T/out" 'd["link"]["bytes_discarded"] > 0')" = True ] || fail "garbage counted"
[ "$(json "$T/out" 'd["running"]["version"]')" = 4.0.0 ] || fail "runs 4.0.0"

# ---- a wrong image and a corrupt one: refused, nothing activated --------------------
cp "$F" "$T/before.bin"
expect_exit 0 "$OTAKIT" image make --chip esp32c3 --project-name push-app --version 9.0.0 "$T/payload.bin" -o "$T/c3.bin"
expect_exit 1 "$OTAKIT" push --device "$S" "$T/c3.bin"
expect_grep "IMAGE_REJECTED: ota_1: refused on the first chunk, nothing written: the image is for ESP32-C3" "$T/err"
head -c 1100000 /dev/urandom > "$T/huge.payload"
expect_exit 0 "$OTAKIT" image make --project-name push-app --version 9.0.0 "$T/huge.payload" -o "$T/huge.bin"
expect_exit 1 "$OTAKIT" push --device "$S" "$T/huge.bin"
expect_grep "IMAGE_REJECTED: an image of [0-9]* bytes does not fit ota_1 (1048576 bytes)" "$T/err"
head -c 40000 /dev/zero | tr '\0' '\377' > "$T/blank.bin"
expect_exit 1 "$OTAKIT" push --device "$S" "$T/blank.bin"
expect_grep "not an ESP app image: byte 0 is 0xff" "$T/err"
cmp "$F" "$T/before.bin" || fail "a refused first chunk changed the flash"
cp "$T/v1.bin" "$T/bad.bin"
printf '\x5a' | dd of="$T/bad.bin" bs=1 seek=50000 conv=notrunc 2>/dev/null
expect_exit 1 "$OTAKIT" push --device "$S" "$T/bad.bin"
expect_grep "IMAGE_REJECTED: ota_1: .*the image \(is invalid\|does not verify\)" "$T/err"
# Nothing activated: the selecting entry is as it was. (Once its first chunk checked out,
# the update erased the other entry, which pointed at the slot being overwritten, as
# esp_ota_begin does: the bootloader must not roll back into half an image.)
[ "$(e0 "$F")" = "$(e0 "$T/before.bin")" ] || fail "the selecting otadata entry changed"
[ "$(hex_at "$F" 0xe000 0x1000 | tr -d f)" = "" ] || fail "ota_1's entry is erased"
expect_exit 0 "$OTAKIT" device status --device "$S" --json
[ "$(json "$T/out" 'd["running"]["version"] + " " + d["session"]["state"]')" = "4.0.0 failed" ] || fail "still 4.0.0"

# ---- a second host is told busy ---------------------------------------------------------
# The first host: connects, says Hello (a hand-made frame) and holds the link.
"$PY" - "$T/d.sock" > "$T/holder.log" 2>&1 <<'PYEOF' &
import socket, struct, sys, time, zlib
hello = bytes([0x08, 0x01, 0x12, 0x02, 0x08, 0x01])       # Request{id 1, hello{protocol 1}}
head = b"\xa5\xc3\x01\x00" + struct.pack("<I", len(hello))
frame = head + struct.pack("<I", zlib.crc32(head)) + hello + struct.pack("<I", zlib.crc32(hello))
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(frame)
print("holding", flush=True); s.recv(4096); time.sleep(30)
PYEOF
holder=$!
for _ in $(seq 100); do grep -q holding "$T/holder.log" && break; sleep 0.05; done
sleep 0.2
expect_exit 1 "$OTAKIT" push --device "$S" "$T/v2.bin"
expect_grep "BUSY: another host is connected to this device" "$T/err"
kill "$holder"; wait "$holder" 2>/dev/null || true
expect_exit 0 "$OTAKIT" device status --device "$S" --json
[ "$(json "$T/out" 'd["link"]["busy_refusals"] >= 1')" = True ] || fail "busy counted"

# ---- the device's power is cut mid-transfer; the push resumes after its reboot ----------
head -c 400000 /dev/urandom > "$T/big.payload"
expect_exit 0 "$OTAKIT" image make --project-name push-app --version 5.0.0 "$T/big.payload" -o "$T/v5.bin"
# The host sends at 2 Mbaud (200 KB/s) so the cut lands in the middle.
"$OTAKIT" push --device "$S" --json --inject baud=2000000 "$T/v5.bin" > "$T/cut.json" 2> "$T/cut.err" &
pusher=$!
for _ in $(seq 200); do
  [ -f "$F.session" ] && grep -q '^written = [1-9]' "$F.session" && break; sleep 0.02
done
grep -q '^written = [1-9]' "$F.session" || fail "no session saved during the transfer"
stop_device KILL
saved=$(sed -n 's/^written = //p' "$F.session")
start_device "$F" "$S" "$T/dev2.log"
set +e; wait "$pusher"; rc=$?; set -e
[ "$rc" -eq 0 ] || { cat "$T/cut.json" "$T/cut.err"; fail "push across the power cut: exit $rc"; }
expect_grep "saved session: image .*, $saved of [0-9]* bytes in ota_1" "$T/dev2.log"
expect_grep "ctrl: begin: ota_1 <- image .*: resumed at $((saved / 4096 * 4096))" "$T/dev2.log"
[ "$(json "$T/cut.json" 'd["resumes"] >= 1 and d["runs_image"]')" = True ] || fail "resumed and runs"
[ "$(json "$T/cut.json" 'd["bytes_sent"] < 2 * d["size"]')" = True ] || fail "not sent all over again"
[ "$(json "$T/cut.json" 'd["running"]["version"]')" = 5.0.0 ] || fail "runs 5.0.0"

# ---- the running app's decisions, over the link ---------------------------------------
expect_exit 0 "$OTAKIT" device confirm --device "$S"
expect_exit 0 "$OTAKIT" device rollback --device "$S"
expect_grep "^rollback: done; rebooted: runs push-app 4.0.0 from ota_0" "$T/out"
expect_exit 0 "$OTAKIT" device reboot --device "$S" --json
[ "$(json "$T/out" 'd["ok"] and d["running_slot"] == "ota_0"')" = True ] || fail "reboot"
expect_exit 0 "$OTAKIT" device abort --device "$S"

# ---- the image from a URL (the source layer, otakit/source.h) -----------------------
: > "$T/http.log" # exists before the server starts: read below under pipefail
"$PY" -u -m http.server 0 --bind 127.0.0.1 --directory "$T" >> "$T/http.log" 2>&1 &
BG_PIDS+=($!)
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/http.log" | head -1); [ -n "$port" ] && break; sleep 0.05
done
[ -n "$port" ] || fail "no HTTP server"
expect_exit 1 "$OTAKIT" push --device "$S" "http://127.0.0.1:$port/v2.bin"
expect_grep "plain http:// is refused" "$T/err"
expect_exit 1 "$OTAKIT" push --device "$S" --allow-http "http://127.0.0.1:$port/none.bin"
expect_grep "HTTP 404" "$T/err"
expect_exit 0 "$OTAKIT" push --device "$S" --allow-http "http://127.0.0.1:$port/v2.bin"
expect_grep "^rebooted: runs push-app 2.0.0 from ota_1 (VALID)" "$T/out"
expect_exit 2 "$OTAKIT" device config --device "$S"
expect_exit 2 "$OTAKIT" push "$T/v2.bin"
expect_exit 2 "$OTAKIT" push --device "nowhere:x" "$T/v2.bin"
expect_exit 2 "$DEV" --flash "$F" --once --listen "$S"
stop_device
expect_exit 1 "$OTAKIT" push --device "$S" --retries 1 "$T/v2.bin"
expect_grep "cannot connect" "$T/err"
[ ! -e "$T/d.sock" ] || fail "the socket file is removed at power off"
echo ok
