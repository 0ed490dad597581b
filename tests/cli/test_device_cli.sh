#!/usr/bin/env bash
# otakit-device and otakit device on real flash image files: the demo's update story
# asserted step by step with the otadata bytes, the self-test overrides, configuration and
# eFuses persisting across runs (anti-rollback), the console (commands, JSON lines, a
# signal), confirm/rollback/status/config, and the errors: a corrupt device file names its
# line, a device that cannot boot exits 1.
source "$(dirname "$0")/lib.sh"
: "${OTAKIT_BUILD:?set OTAKIT_BUILD to the build folder}"
DEV="$OTAKIT_BUILD/otakit-device"
csv="$OTAKIT_SOURCE/examples/partitions/two_ota.csv"
head -c 30000 /dev/urandom > "$T/payload.bin"

FF20=$(printf 'ff%.0s' {1..20})
NEW=00000000; PENDING=01000000; VALID=02000000; INVALID=03000000; ABORTED=04000000
# entry SEQ STATE: the 32 bytes of an otadata entry as hex.
entry() {
  local crc
  case $1 in 1) crc=9a984347 ;; 2) crc=7437f655 ;; 3) crc=11504aed ;; esac
  echo "0$1000000${FF20}$2$crc"
}
e0() { hex_at "$1" 0xd000 32; }
e1() { hex_at "$1" 0xe000 32; }
empty() { [ "$(hex_at "$1" "$2" 4096 | tr -d f)" = "" ]; }
mk() { expect_exit 0 "$OTAKIT" image make --project-name dev-app --version "$1" "${@:3}" "$T/payload.bin" -o "$T/$2"; }
new_flash() { expect_exit 0 "$OTAKIT" flash create --partitions "${2:-$csv}" --write factory="$T/v1.bin" -o "$T/$1"; }

mk 1.0.0 v1.bin
mk 2.0.0 v2.bin
mk 3.0.0 v3.bin --selftest fail
mk 2.0.0 s2.bin --secure-version 2
mk 1.5.0 s1.bin --secure-version 1

# ---- the demo story ------------------------------------------------------------------------
F="$T/flash.bin"
new_flash flash.bin
expect_exit 0 "$DEV" --flash "$F" --once
expect_grep "I ([0-9]*) boot: selected factory: initial otadata: factory" "$T/out"
expect_grep "I ([0-9]*) boot: Loaded app from partition at offset 0x10000" "$T/out"
expect_grep "app: dev-app 1.0.0 running from factory (not an OTA slot)" "$T/out"
expect_grep "device: power off" "$T/out"
empty "$F" 0xd000 && empty "$F" 0xe000 || fail "factory boot leaves otadata blank"
expect_grep "^rollback *= on" "$F.device"
expect_grep "^efuse_secure_version *= 0x00000000" "$F.device"

expect_exit 0 "$OTAKIT" ota "$F" "$T/v2.bin"
[ "$(e0 "$F")" = "$(entry 1 $NEW)" ] || fail "v2 installed: entry 0 seq 1 NEW"

expect_exit 0 "$DEV" --flash "$F" --once
expect_grep "boot: otadata: entry 0 seq 1 NEW -> ota_0" "$T/out"
expect_grep "boot: otadata: entry 0 seq 1 NEW -> PENDING_VERIFY: first boot of ota_0" "$T/out"
expect_grep "boot: Loaded app from partition at offset 0x110000" "$T/out"
expect_grep "app: dev-app 2.0.0 running from ota_0 (PENDING_VERIFY)" "$T/out"
expect_grep "self-test passed (no marker in the image: a good app)" "$T/out"
[ "$(e0 "$F")" = "$(entry 1 $VALID)" ] || fail "v2 confirmed: entry 0 VALID"

expect_exit 0 "$OTAKIT" ota "$F" "$T/v3.bin"
[ "$(e1 "$F")" = "$(entry 2 $NEW)" ] || fail "v3 installed: entry 1 seq 2 NEW"

expect_exit 0 "$DEV" --flash "$F" --once
expect_grep "app: dev-app 3.0.0 running from ota_1 (PENDING_VERIFY)" "$T/out"
expect_grep "W ([0-9]*) app: self-test failed (image marker: fail): ota_1 never confirms itself" "$T/out"
[ "$(e1 "$F")" = "$(entry 2 $PENDING)" ] || fail "v3 never confirms: entry 1 PENDING_VERIFY"
[ "$(e0 "$F")" = "$(entry 1 $VALID)" ] || fail "entry 0 kept"

expect_exit 0 "$DEV" --flash "$F" --once --json
cp "$T/out" "$T/boot.json"
[ "$(json "$T/boot.json" 'd["event"]')" = boot ] || fail "json event"
[ "$(json "$T/boot.json" 'd["boot"]["writes"][0]["kind"]')" = aborted ] || fail "json sweep"
[ "$(json "$T/boot.json" 'd["boot"]["writes"][0]["sector"]')" = 1 ] || fail "json sweep sector"
[ "$(json "$T/boot.json" 'd["boot"]["partition"]')" = ota_0 ] || fail "json rolled back"
[ "$(json "$T/boot.json" 'd["app"]["version"]')" = 2.0.0 ] || fail "json app version"
[ "$(json "$T/boot.json" 'd["app"]["state"]')" = VALID ] || fail "json app state"
[ "$(json "$T/boot.json" 'd["selftest"]["outcome"]')" = not_pending ] || fail "json self-test"
[ "$(json "$T/boot.json" 'd["otadata"][1]["state"]')" = ABORTED ] || fail "json otadata"
[ "$(e1 "$F")" = "$(entry 2 $ABORTED)" ] || fail "rolled back: entry 1 ABORTED"

# ---- the device option overrides the image's marker -------------------------------------------
expect_exit 0 "$OTAKIT" ota "$F" "$T/v3.bin"
[ "$(e1 "$F")" = "$(entry 2 $NEW)" ] || fail "v3 again: entry 1 NEW"
expect_exit 0 "$DEV" --flash "$F" --once --selftest pass
expect_grep "self-test passed (device option selftest = pass)" "$T/out"
[ "$(e1 "$F")" = "$(entry 2 $VALID)" ] || fail "--selftest pass confirms a fail-marked app"

# The option persists when set in the device file.
expect_exit 0 "$OTAKIT" device config "$F" --selftest fail
expect_grep "^selftest *= fail" "$F.device"
expect_exit 0 "$OTAKIT" ota "$F" "$T/v2.bin"
[ "$(e0 "$F")" = "$(entry 3 $NEW)" ] || fail "v2 into ota_0: entry 0 seq 3 NEW"
expect_exit 0 "$DEV" --flash "$F" --once
expect_grep "self-test failed (device option selftest = fail): ota_0 never confirms" "$T/out"
[ "$(e0 "$F")" = "$(entry 3 $PENDING)" ] || fail "stored fail option: PENDING_VERIFY"
expect_exit 0 "$OTAKIT" device config "$F" --selftest auto

# ---- configuration and eFuses persist: anti-rollback ------------------------------------------
A="$T/anti.bin"
new_flash anti.bin
expect_exit 0 "$OTAKIT" device config --json "$A" --anti-rollback on
[ "$(json "$T/out" 'd["device"]["anti_rollback"]')" = True ] || fail "config json"
[ "$(json "$T/out" 'd["changed"]')" = True ] || fail "config changed"
expect_exit 0 "$OTAKIT" ota "$A" "$T/s2.bin"
expect_exit 0 "$DEV" --flash "$A" --once
expect_grep "anti-rollback on (eFuse secure version 0 of 32 bits)" "$T/out"
expect_grep "eFuse: secure version 0 -> 2 (field 0x00000000 -> 0x00000003)" "$T/out"
expect_grep "^efuse_secure_version *= 0x00000003" "$A.device"
expect_exit 0 "$DEV" --flash "$A" --once --json
[ "$(json "$T/out" 'd["device"]["efuse_secure_version"]')" = 3 ] || fail "eFuse kept across power cycles"
[ "$(json "$T/out" 'd["device"]["secure_version"]')" = 2 ] || fail "secure version 2"
expect_exit 1 "$OTAKIT" ota "$A" "$T/s1.bin"
expect_grep "anti-rollback: the image's secure_version 1 is below the eFuse's 2" "$T/err"
[ "$(hex_at "$A" 0x210000 16)" = "ffffffffffffffffffffffffffffffff" ] || fail "ESP-IDF erases the refused slot"
[ "$(e0 "$A")" = "$(entry 1 $VALID)" ] || fail "selection kept"
empty "$A" 0xe000 || fail "nothing selected"
# Burn the eFuse past every app: nothing may boot any more.
expect_exit 0 "$OTAKIT" device config "$A" --burn-secure-version 3
expect_grep "^efuse_secure_version *= 0x00000007" "$A.device"
expect_exit 1 "$DEV" --flash "$A" --once
expect_grep "ota_0 refused: .*secure" "$T/out"
expect_grep "does not boot (load stage)" "$T/err"
expect_exit 2 "$OTAKIT" device config "$A" --burn-secure-version 33
expect_exit 2 "$OTAKIT" device config "$A" --rollback off
expect_grep "anti_rollback = on needs rollback = on" "$T/err"

# ---- otakit device status / confirm / rollback ----------------------------------------------
S="$T/status.bin"
new_flash status.bin
expect_exit 0 "$OTAKIT" ota "$S" "$T/v2.bin"
cp "$S" "$T/before.bin"; cp "$S.device" "$T/before.device"
expect_exit 0 "$OTAKIT" device status "$S"
expect_grep "next power-on (simulated on a copy" "$T/out"
expect_grep "NEW -> PENDING_VERIFY: first boot of ota_0" "$T/out"
expect_exit 0 "$OTAKIT" device status --json "$S"
[ "$(json "$T/out" 'd["otadata"][0]["state"]')" = NEW ] || fail "status: otadata now"
[ "$(json "$T/out" 'd["next_power_on"]["boot"]["partition"]')" = ota_0 ] || fail "status: next boot"
[ "$(json "$T/out" 'd["next_power_on"]["selftest"]["outcome"]')" = confirmed ] || fail "status: self-test"
cmp "$S" "$T/before.bin" || fail "status changed the flash"
cmp "$S.device" "$T/before.device" || fail "status changed the device file"

expect_exit 0 "$OTAKIT" device confirm "$S"
expect_grep "^confirmed ota_0: dev-app 2.0.0 (VALID)" "$T/out"
[ "$(e0 "$S")" = "$(entry 1 $VALID)" ] || fail "confirm: VALID"
expect_exit 0 "$OTAKIT" device confirm "$S"
expect_grep "^already valid: ota_0" "$T/out"
expect_exit 0 "$OTAKIT" ota "$S" "$T/v3.bin"
expect_exit 0 "$OTAKIT" device rollback "$S"
expect_grep "^ota_1 marked INVALID; rebooted: ota_0: dev-app 2.0.0 (VALID)" "$T/out"
[ "$(e1 "$S")" = "$(entry 2 $INVALID)" ] || fail "rollback: INVALID"
expect_exit 0 "$OTAKIT" device rollback --json "$S"
[ "$(json "$T/out" 'd["running"]["partition"]')" = factory ] || fail "rollback to factory"
[ "$(e0 "$S")" = "$(entry 1 $INVALID)" ] || fail "rollback: entry 0 INVALID"
expect_exit 1 "$OTAKIT" device confirm "$S"
expect_grep "cannot confirm factory: the running app is the factory app" "$T/err"
expect_exit 1 "$OTAKIT" device rollback "$S"
expect_grep "cannot roll back factory" "$T/err"

# ---- the console ------------------------------------------------------------------------
C="$T/console.bin"
new_flash console.bin
expect_exit 0 "$OTAKIT" ota "$C" "$T/v3.bin"
printf 'status\nconfirm\n  status  \nbogus\nquit\nstatus\n' > "$T/cmds"
expect_exit 0 "$DEV" --flash "$C" < "$T/cmds"
expect_grep "self-test failed (image marker: fail)" "$T/out"
expect_grep "app: esp_ota_mark_app_valid_cancel_rollback(): ota_0 is VALID" "$T/out"
expect_grep "app: otadata: entry 0 seq 1 VALID -> ota_0" "$T/out"
expect_grep "unknown command 'bogus'" "$T/out"
[ "$(grep -c 'running from ota_0' "$T/out")" -eq 3 ] || fail "status after quit ran"
[ "$(e0 "$C")" = "$(entry 1 $VALID)" ] || fail "console confirm"
printf 'rollback\n' | expect_exit 0 "$DEV" --flash "$C"
expect_grep "ota_0 is INVALID, rebooting" "$T/out"
expect_grep "running from factory" "$T/out"
[ "$(e0 "$C")" = "$(entry 1 $INVALID)" ] || fail "console rollback"
printf 'status\nreboot\n' | expect_exit 0 "$DEV" --flash "$C" --json
[ "$(wc -l < "$T/out")" -eq 3 ] || fail "one JSON line per event"
for n in 1 2 3; do sed -n "${n}p" "$T/out" > "$T/line$n.json"; done
[ "$(json "$T/line1.json" 'd["event"]')" = boot ] || fail "json line 1"
[ "$(json "$T/line2.json" 'd["event"] + d["app"]["partition"]')" = statusfactory ] || fail "json line 2"
[ "$(json "$T/line3.json" 'd["event"] + str(d["power_on"])')" = boot2 ] || fail "json line 3"

# A signal powers the device off: exit 0.
mkfifo "$T/in"
"$DEV" --flash "$C" < "$T/in" > "$T/sig.out" 2>&1 &
pid=$!
exec 3> "$T/in"
for _ in $(seq 100); do grep -q "console:" "$T/sig.out" && break; sleep 0.05; done
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
exec 3>&-
[ "$rc" -eq 0 ] || { cat "$T/sig.out"; fail "SIGTERM: exit $rc"; }
expect_grep "device: SIGTERM" "$T/sig.out"
expect_grep "device: power off" "$T/sig.out"

# ---- errors ------------------------------------------------------------------------------
cp "$F.device" "$T/good.device"
echo "colour = blue" >> "$F.device"
line=$(wc -l < "$F.device")
expect_exit 1 "$DEV" --flash "$F" --once
expect_grep "$F.device:$line: unknown key 'colour'" "$T/err"
expect_exit 1 "$OTAKIT" ota "$F" "$T/v2.bin"
expect_grep "$F.device:$line: unknown key 'colour'" "$T/err"
sed -e 's/^rollback .*/rollback = maybe/' "$T/good.device" > "$F.device"
line=$(grep -n '^rollback = maybe' "$F.device" | cut -d: -f1)
expect_exit 1 "$OTAKIT" device status "$F"
expect_grep "$F.device:$line: rollback = maybe: expected on or off" "$T/err"
cp "$T/good.device" "$F.device"

expect_exit 1 "$DEV" --flash "$T/none.bin" --once
expect_grep "no such flash image" "$T/err"
expect_exit 1 "$OTAKIT" device config "$T/none.bin"
[ ! -e "$T/none.bin.device" ] || fail "a device file for a missing flash"
head -c 65536 /dev/zero | tr '\0' '\377' > "$T/blank.bin"
expect_exit 1 "$DEV" --flash "$T/blank.bin" --once
expect_grep "does not boot (table stage)" "$T/err"
expect_grep "E ([0-9]*) boot: cannot boot (table)" "$T/out"

printf 'nvs,data,nvs,0x9000,0x4000\nfactory,app,factory,0x10000,1M\nota_0,app,ota_0,,1M\nota_1,app,ota_1,,1M\n' > "$T/nootadata.csv"
new_flash noota.bin "$T/nootadata.csv"
expect_exit 0 "$DEV" --flash "$T/noota.bin" --once
expect_exit 1 "$OTAKIT" device confirm "$T/noota.bin"
expect_grep "the partition table has no otadata partition" "$T/err"

expect_exit 2 "$DEV" --once
expect_exit 2 "$DEV" --flash "$F" --selftest sometimes
expect_exit 2 "$DEV" --flash "$F" extra
expect_exit 2 "$OTAKIT" device config "$F" --selftest sometimes
expect_exit 2 "$OTAKIT" device nosuch "$F"
expect_exit 2 "$OTAKIT" device confirm
expect_exit 0 "$DEV" --help
expect_grep "reboot, confirm, rollback, status" "$T/out"
echo "ok"
