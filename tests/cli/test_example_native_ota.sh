#!/usr/bin/env bash
# examples/native_ota, an ESP-IDF app, run on a flash image file by its host main: update
# from the factory app to v2 (restart, PENDING_VERIFY, self-test, confirm), refuse the same
# version, a v3 whose self-test fails rolls back to v2 and is then refused as the last
# invalid version, a corrupt image is rejected, a run cut short by --max-boots resumes,
# an image carrying a failing self-test marker rolls back, the device file is read and
# keeps the eFuse that anti-rollback burns.
# The otadata bytes are checked against spec §3.6 (seq, state, CRC test vectors of §3.2).
source "$(dirname "$0")/lib.sh"
: "${OTAKIT_BUILD:?set OTAKIT_BUILD to the build directory}"
EX="$OTAKIT_BUILD/example-native_ota"
[ -x "$EX" ] || fail "$EX is not built"
csv="$OTAKIT_SOURCE/examples/partitions/two_ota.csv"
# Nothing from the caller's environment may configure the app.
unset EXAMPLE_FIRMWARE_UPG_URL EXAMPLE_DIAGNOSTIC
flash="$T/flash.bin"

# ---- images and the flash ------------------------------------------------------------------
for v in 1 2 3 4; do
  # 40 KiB payloads: dozens of 1 KiB download chunks, and distinct per version.
  "$PY" -c "import sys; sys.stdout.buffer.write(bytes((i * 7 + $v) & 0xff for i in range(40000)))" \
    >"$T/payload$v"
  expect_exit 0 "$OTAKIT" image make --project-name native_ota --version "$v.0" --chip esp32 \
    "$T/payload$v" -o "$T/v$v.bin"
done
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --write "factory=$T/v1.bin" -o "$flash"
expect_exit 0 "$OTAKIT" flash info "$flash" --json
cp "$T/out" "$T/info.json"
offset_of() { json "$T/info.json" "[p['offset'] for p in d['partitions'] if p['label'] == '$1'][0]"; }
od_off=$(offset_of otadata)
ota0_off=$(offset_of ota_0)
ota1_off=$(offset_of ota_1)

# run ARGS...: the example on $flash, exit 0 expected; output in $T/out, $T/err.
run() { expect_exit 0 "$EX" --flash "$flash" "$@"; }
# summary_is TEXT: the summary line equals TEXT.
summary_is() {
  local got
  got=$(grep '^summary: ' "$T/out") || { cat "$T/out" >&2; fail "no summary line"; }
  [ "$got" = "summary: $1" ] || fail "summary is '$got', wanted 'summary: $1'"
}
# sector_is N HEX32: otadata sector N starts with these 32 bytes and the rest is erased.
sector_is() {
  local at=$((od_off + $1 * 0x1000)) got
  got=$(hex_at "$flash" "$at" 32)
  [ "$got" = "$2" ] || fail "otadata sector $1 is $got, wanted $2"
  got=$(hex_at "$flash" $((at + 32)) $((0x1000 - 32)) | tr -d f)
  [ -z "$got" ] || fail "otadata sector $1 has bytes past its entry"
}
# slot_holds OFFSET IMAGE: the partition at OFFSET starts with IMAGE's bytes.
slot_holds() {
  cmp -n "$(stat -c %s "$2")" -i "$(($1)):0" "$flash" "$2" || fail "slot at $1 is not $2"
}
# otadata_json EXPR: evaluate over `otakit otadata show --json`.
otadata_json() {
  "$OTAKIT" otadata show --json "$flash" >"$T/od.json" || fail "otadata show"
  json "$T/od.json" "$1"
}
erased=$(printf 'ff%.0s' $(seq 20))
# Entries as spec §3.6 lays them out: seq, 20 label bytes (erased), state, CRC (§3.2).
seq1_valid="01000000${erased}020000009a984347"
seq2_invalid="02000000${erased}030000007437f655"

# ---- usage ---------------------------------------------------------------------------------
expect_exit 0 "$EX" --help
expect_grep "usage: example-native_ota" "$T/out"
expect_exit 2 "$EX"
expect_grep "--flash FLASH is required" "$T/err"
expect_exit 2 "$EX" --flash "$flash" --selftest maybe
expect_exit 2 "$EX" --flash "$flash" --bogus x
expect_exit 1 "$EX" --flash "$T/missing.bin"

# ---- no update configured: the factory app runs and nothing is written ----------------------
cp "$flash" "$T/before.bin"
run
expect_grep "no update source configured" "$T/err"
summary_is "boots=1 restarts=0 stop=returned running=factory version=1.0 state=none last_invalid=-"
cmp "$flash" "$T/before.bin" || fail "a run without update changed the flash"

# ---- factory 1.0 -> ota_0 2.0: restart, PENDING_VERIFY, self-test passes, confirmed -----------
run --update "$T/v2.bin"
expect_grep "^host: boot 1: running 'factory' version '1.0' state none, self-test pass$" "$T/out"
expect_grep "^boot 1: factory version '1.0' state none -> restarted$" "$T/out"
expect_grep "^boot 2: ota_0 version '2.0' state PENDING_VERIFY -> returned$" "$T/out"
summary_is "boots=2 restarts=1 stop=returned running=ota_0 version=2.0 state=VALID last_invalid=-"
expect_grep "I ([0-9]*) native_ota: new firmware: 'native_ota' version 2.0" "$T/err"
expect_grep "native_ota: first boot of this image (PENDING_VERIFY)" "$T/err"
expect_grep "native_ota: self-test passed: image confirmed" "$T/err"
slot_holds "$ota0_off" "$T/v2.bin"
sector_is 0 "$seq1_valid"
sector_is 1 "$(printf 'ff%.0s' $(seq 32))"
[ "$(otadata_json "d['entries'][d['active']]['state']")" = VALID ] || fail "active entry not VALID"
[ "$(otadata_json "d['boot']")" = ota_0 ] || fail "otadata does not boot ota_0"

# ---- the same 2.0 again: refused before anything is erased ---------------------------------
cp "$flash" "$T/before.bin"
run --update "$T/v2.bin"
expect_grep "refusing version 2.0: it is the same version as the running one" "$T/err"
summary_is "boots=1 restarts=0 stop=returned running=ota_0 version=2.0 state=VALID last_invalid=-"
cmp "$flash" "$T/before.bin" || fail "a refused update changed the flash"

# ---- 3.0 fails its self-test: marked invalid, rolled back to 2.0 ----------------------------
run --update "$T/v3.bin" --selftest fail
expect_grep "^boot 1: ota_0 version '2.0' state VALID -> restarted$" "$T/out"
expect_grep "^boot 2: ota_1 version '3.0' state PENDING_VERIFY -> restarted$" "$T/out"
expect_grep "^boot 3: ota_0 version '2.0' state VALID -> returned$" "$T/out"
summary_is "boots=3 restarts=2 stop=returned running=ota_0 version=2.0 state=VALID last_invalid=ota_1"
expect_grep "self-test: diagnostic input reads 'fail'" "$T/err"
expect_grep "self-test failed: marking the image invalid and rolling back" "$T/err"
# Boot 3 still has 3.0 configured: refused as the version that failed.
expect_grep "last invalid firmware: version 3.0 in partition 'ota_1'" "$T/err"
expect_grep "refusing version 3.0: it failed its self-test before" "$T/err"
slot_holds "$ota1_off" "$T/v3.bin"
sector_is 0 "$seq1_valid"
sector_is 1 "$seq2_invalid"
[ "$(otadata_json "[e['state'] for e in d['entries'] if e['slot'] == 'ota_1'][0]")" = INVALID ] ||
  fail "ota_1's entry is not INVALID"
[ "$(otadata_json "d['boot']")" = ota_0 ] || fail "otadata does not boot ota_0 after rollback"

# ---- a corrupt image: esp_ota_end refuses it, the boot selection stays ----------------------
head -c 30000 "$T/v4.bin" >"$T/v4-cut.bin"
run --update "$T/v4-cut.bin"
expect_grep "esp_ota_end: ESP_ERR_OTA_VALIDATE_FAILED" "$T/err"
# esp_ota_begin erased the inactive otadata sector (ota_1's INVALID entry, spec §5.1 begin
# step 8), so no invalid partition is left to report; ota_0 still boots.
summary_is "boots=1 restarts=0 stop=returned running=ota_0 version=2.0 state=VALID last_invalid=-"
sector_is 0 "$seq1_valid"
sector_is 1 "$(printf 'ff%.0s' $(seq 32))"
slot_holds "$ota0_off" "$T/v2.bin"

# ---- a run cut short after the update: the next power-on confirms it ------------------------
expect_exit 1 "$EX" --flash "$flash" --update "$T/v4.bin" --max-boots 1
summary_is "boots=1 restarts=1 stop=max_boots running=ota_0 version=2.0 state=VALID last_invalid=-"
expect_grep "the run stopped (max_boots): ESP_ERR_NOT_FINISHED" "$T/err"
run --selftest pass
expect_grep "^boot 1: ota_1 version '4.0' state PENDING_VERIFY -> returned$" "$T/out"
summary_is "boots=1 restarts=0 stop=returned running=ota_1 version=4.0 state=VALID last_invalid=-"
slot_holds "$ota1_off" "$T/v4.bin"
sector_is 1 "02000000${erased}020000007437f655"

# ---- a build that carries a failing self-test marker rolls back without --selftest ----------
expect_exit 0 "$OTAKIT" image make --project-name native_ota --version 5.0 --chip esp32 \
  --selftest fail "$T/payload4" -o "$T/v5.bin"
run --update "$T/v5.bin"
expect_grep "^host: boot 2: running 'ota_0' version '5.0' state PENDING_VERIFY, self-test fail$" "$T/out"
expect_grep "^boot 2: ota_0 version '5.0' state PENDING_VERIFY -> restarted$" "$T/out"
summary_is "boots=3 restarts=2 stop=returned running=ota_1 version=4.0 state=VALID last_invalid=ota_0"
expect_grep "refusing version 5.0: it failed its self-test before" "$T/err"

# ---- the device file beside the flash is read: a bad one stops the run ----------------------
printf 'rollback = maybe\n' >"$flash.device"
expect_exit 1 "$EX" --flash "$flash"
expect_grep "device file: .*flash.bin.device:1: rollback = maybe" "$T/err"
rm "$flash.device"

# ---- anti-rollback (device file): confirming 6.0 burns its secure_version into the eFuse,
# which the device file keeps; an older secure_version is then refused at set_boot --------
printf 'anti_rollback = on\n' >"$flash.device"
expect_exit 0 "$OTAKIT" image make --project-name native_ota --version 6.0 --chip esp32 \
  --secure-version 1 "$T/payload1" -o "$T/v6.bin"
run --update "$T/v6.bin"
summary_is "boots=2 restarts=1 stop=returned running=ota_0 version=6.0 state=VALID last_invalid=-"
grep -q '^efuse_secure_version *= 0x0*1 ' "$flash.device" || { cat "$flash.device" >&2; fail "eFuse not saved"; }
expect_exit 0 "$OTAKIT" image make --project-name native_ota --version 7.0 --chip esp32 \
  --secure-version 0 "$T/payload2" -o "$T/v7.bin"
run --update "$T/v7.bin"
expect_grep "esp_ota_set_boot_partition failed: ESP_ERR_OTA_SMALL_SEC_VER" "$T/err"
summary_is "boots=1 restarts=0 stop=returned running=ota_0 version=6.0 state=VALID last_invalid=-"
echo "ok"
