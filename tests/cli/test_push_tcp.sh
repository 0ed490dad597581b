#!/usr/bin/env bash
# otakit push over TCP: the device listens on 127.0.0.1 (a free port it picks), refuses to
# start without a shared-secret token, and refuses a host without it or with a wrong one
# (counted); the right token, from --token or OTAKIT_TOKEN, pushes and reads status.
source "$(dirname "$0")/push_lib.sh"
unset OTAKIT_TOKEN
mk 1.0.0 v1.bin
mk 2.0.0 v2.bin
F="$T/flash.bin"
new_flash flash.bin

expect_exit 2 "$DEV" --flash "$F" --listen tcp://127.0.0.1:0
expect_grep "TCP needs a shared-secret token (--token or OTAKIT_TOKEN)" "$T/err"
OTAKIT_TOKEN=s3cret start_device "$F" tcp://:0 "$T/dev.log"
case "$WHERE" in tcp://127.0.0.1:[1-9]*) ;; *) fail "listens on $WHERE, not 127.0.0.1" ;; esac
expect_grep "listening on $WHERE (token required)" "$T/dev.log"

expect_exit 1 "$OTAKIT" push --device "$WHERE" "$T/v2.bin"
expect_grep "UNAUTHENTICATED: .*the device needs the shared-secret token" "$T/err"
expect_exit 1 "$OTAKIT" push --device "$WHERE" --token guess "$T/v2.bin"
expect_grep "UNAUTHENTICATED: wrong token: the link is closed" "$T/err"
expect_exit 1 "$OTAKIT" device status --device "$WHERE" --token guess
[ "$(hex_at "$F" 0xd000 0x2000 | tr -d f)" = "" ] || fail "refused hosts changed otadata"

expect_exit 0 "$OTAKIT" push --device "$WHERE" --token s3cret "$T/v2.bin"
expect_grep "^rebooted: runs push-app 2.0.0 from ota_0 (VALID)" "$T/out"
OTAKIT_TOKEN=s3cret expect_exit 0 "$OTAKIT" device status --device "$WHERE" --json
[ "$(json "$T/out" 'd["link"]["auth_failures"]')" = 2 ] || fail "two wrong tokens counted"
[ "$(json "$T/out" 'd["running"]["version"]')" = 2.0.0 ] || fail "runs 2.0.0"
[ "$(e0 "$F")" = "$(entry 1 $VALID)" ] || fail "otadata entry 0: seq 1 VALID"
expect_exit 1 "$OTAKIT" push --device tcp://127.0.0.1:0 --token s3cret "$T/v2.bin"
expect_grep "a host needs the device's port" "$T/err"
echo ok
