#!/usr/bin/env bash
# otakit push over a serial line: the device creates a pty pair and serves its master end
# at a modelled 921600 baud; the host opens the slave end (serial:/dev/pts/N?baud=921600).
# A full push, one with bit errors and garbage on the line, status and reboot.
source "$(dirname "$0")/push_lib.sh"
mk 1.0.0 v1.bin
mk 2.0.0 v2.bin
mk 3.0.0 v3.bin
F="$T/flash.bin"
new_flash flash.bin
start_device "$F" "pty?baud=921600" "$T/dev.log"
case "$WHERE" in serial:/dev/*\?baud=921600) ;; *) fail "listens on $WHERE" ;; esac

expect_exit 0 "$OTAKIT" push --device "$WHERE" --json "$T/v2.bin"
[ "$(json "$T/out" 'd["ok"] and d["runs_image"] and d["running_slot"] == "ota_0"')" = True ] || fail "pushed"
# The UART model holds: 921600 baud is 92,160 bytes/s at most.
[ "$(json "$T/out" 'd["size"] / (d["transfer_us"] / 1e6) <= 92160')" = True ] || fail "faster than the UART"
[ "$(e0 "$F")" = "$(entry 1 $VALID)" ] || fail "otadata entry 0: seq 1 VALID"

# A noisy link at UART speed against a device that may be a slow sanitizer build: answers
# get 5 s before a request is sent again (the default 2 s is tuned for clean links).
expect_exit 0 "$OTAKIT" push --device "$WHERE" --json --timeout 5000 \
  --inject seed=3,flip=0.05,rx_flip=0.05,garbage=0.1 "$T/v3.bin"
[ "$(json "$T/out" 'd["ok"] and d["runs_image"] and d["running"]["version"] == "3.0.0"')" = True ] || fail "pushed with faults"
expect_exit 0 "$OTAKIT" device status --device "$WHERE" --json
[ "$(json "$T/out" 'd["running_slot"] + " " + d["slots"][2]["state"]')" = "ota_1 VALID" ] || fail "status"
[ "$(json "$T/out" 'd["link"]["bytes_discarded"] > 0')" = True ] || fail "garbage counted"
expect_exit 0 "$OTAKIT" device reboot --device "$WHERE"
expect_grep "^reboot: done; rebooted: runs push-app 3.0.0 from ota_1" "$T/out"
expect_exit 1 "$OTAKIT" push --device "serial:$T/none" --retries 0 "$T/v2.bin"
expect_grep "cannot open" "$T/err"
echo ok
