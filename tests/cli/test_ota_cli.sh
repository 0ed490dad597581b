#!/usr/bin/env bash
# otakit ota FLASH SOURCE on real flash image files: the esp_ota_* sequence checked byte for
# byte in the slot and in otadata, the power-on it runs first, --json, the progress bar on a
# terminal, and every refusal (bad, truncated, foreign or oversized image, missing file,
# no otadata, no OTA slot, an unconfirmed running app, a device that does not boot), each
# leaving the running slot and the selection as they were.
source "$(dirname "$0")/lib.sh"
: "${OTAKIT_BUILD:?set OTAKIT_BUILD to the build folder}"
DEV="$OTAKIT_BUILD/otakit-device"
csv="$OTAKIT_SOURCE/examples/partitions/two_ota.csv"
head -c 40000 /dev/urandom > "$T/payload.bin"

FF20=$(printf 'ff%.0s' {1..20})
NEW=00000000; PENDING=01000000; VALID=02000000; ABORTED=04000000
# entry SEQ STATE: the 32 bytes of an otadata entry as hex (seq 1 and 2 only).
entry() {
  case $1 in
    1) echo "01000000${FF20}$2""9a984347" ;;
    2) echo "02000000${FF20}$2""7437f655" ;;
  esac
}
size_of() { stat -c %s "$1"; }
# region FILE OFFSET LEN: bytes of a flash region, for cmp.
region() { dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) status=none; }
mk() { expect_exit 0 "$OTAKIT" image make --project-name ota-app --version "$1" "${@:3}" "$T/payload.bin" -o "$T/$2"; }

mk 1.0.0 v1.bin
mk 2.0.0 v2.bin
mk 3.0.0 v3.bin --selftest fail
expect_grep "self-test fail)" "$T/out"

# The marker: 16 bytes right after esp_app_desc_t (image offset 0x120); the image stays valid.
[ "$(hex_at "$T/v3.bin" 0x120 16)" = "4f544b2d53454c46544553540146""0000" ] || fail "marker bytes"
[ "$(hex_at "$T/v2.bin" 0x120 16)" = "$(hex_at "$T/payload.bin" 0 16)" ] || fail "no marker in v2"
expect_exit 0 "$OTAKIT" image verify "$T/v3.bin"
[ $(( $(size_of "$T/v3.bin") - $(size_of "$T/v2.bin") )) -eq 16 ] || fail "marker size"

expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --write factory="$T/v1.bin" -o "$T/flash.bin"

# ---- install v2: the factory app runs, the next slot is ota_0 --------------------------
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$T/v2.bin"
[ "$(cat "$T/out")" = "ota_0 <- $T/v2.bin: ota-app 2.0.0, $(size_of "$T/v2.bin") bytes, verified, boots next (NEW)" ] \
  || { cat "$T/out"; fail "summary line"; }
[ ! -s "$T/err" ] || fail "no progress bar when stderr is not a terminal"
[ "$(hex_at "$T/flash.bin" 0xd000 32)" = "$(entry 1 $NEW)" ] || fail "entry 0: seq 1 NEW"
[ "$(hex_at "$T/flash.bin" 0xe000 4096 | tr -d f)" = "" ] || fail "entry 1 empty"
cmp <(head -c "$(size_of "$T/v2.bin")" < <(region "$T/flash.bin" 0x110000 0x20000)) "$T/v2.bin" || fail "ota_0 bytes"
cmp <(head -c "$(size_of "$T/v1.bin")" < <(region "$T/flash.bin" 0x10000 0x20000)) "$T/v1.bin" || fail "factory untouched"
[ -f "$T/flash.bin.device" ] || fail "the device file is saved"

# ---- install v3 (--json): the power-on first boots v2 (NEW -> PENDING_VERIFY) and its
# self-test confirms it, then v3 goes to ota_1 ----------------------------------------
expect_exit 0 "$OTAKIT" ota --json "$T/flash.bin" "$T/v3.bin"
cp "$T/out" "$T/ota.json"
[ "$(json "$T/ota.json" 'd["ok"]')" = True ] || fail "json ok"
[ "$(json "$T/ota.json" 'd["partition"]')" = ota_1 ] || fail "json partition"
[ "$(json "$T/ota.json" 'd["address"]')" = $((0x210000)) ] || fail "json address"
[ "$(json "$T/ota.json" 'd["state"]')" = NEW ] || fail "json state"
[ "$(json "$T/ota.json" 'd["image"]["version"]')" = 3.0.0 ] || fail "json image version"
[ "$(json "$T/ota.json" 'd["image"]["selftest_marker"]')" = fail ] || fail "json marker"
[ "$(json "$T/ota.json" 'd["running"]["partition"]')" = ota_0 ] || fail "json running"
[ "$(json "$T/ota.json" 'd["running"]["state"]')" = VALID ] || fail "json running state"
[ "$(json "$T/ota.json" 'd["selftest"]["outcome"]')" = confirmed ] || fail "json self-test"
[ "$(json "$T/ota.json" 'd["boot"]["writes"][0]["kind"]')" = pending_verify ] || fail "json boot write"
[ "$(hex_at "$T/flash.bin" 0xd000 32)" = "$(entry 1 $VALID)" ] || fail "entry 0 VALID"
[ "$(hex_at "$T/flash.bin" 0xe000 32)" = "$(entry 2 $NEW)" ] || fail "entry 1: seq 2 NEW"

# ---- refused before the device is touched: missing or empty SOURCE ----------------------
cp "$T/flash.bin" "$T/before.bin"
expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "$T/nosuch.bin"
expect_grep "cannot open $T/nosuch.bin" "$T/err"
: > "$T/empty.bin"
expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "$T/empty.bin"
expect_grep "empty file" "$T/err"
cmp "$T/flash.bin" "$T/before.bin" || fail "a refused SOURCE changed the flash"

# ---- the running app (v3) never confirms: ESP-IDF refuses to update from it -------------
expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "$T/v1.bin"
expect_grep "esp_ota_begin on ota_0 failed: the running app (ota_1) is PENDING_VERIFY" "$T/err"
expect_grep "note: at this power-on ota_1 failed its self-test" "$T/err"
[ "$(hex_at "$T/flash.bin" 0xe000 32)" = "$(entry 2 $PENDING)" ] || fail "entry 1 PENDING_VERIFY"
cmp <(region "$T/flash.bin" 0x110000 0x100000) <(region "$T/before.bin" 0x110000 0x100000) || fail "ota_0 untouched"
# The next power-on rolls v3 back: ota_0 (v2) runs again.
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once
[ "$(hex_at "$T/flash.bin" 0xe000 32)" = "$(entry 2 $ABORTED)" ] || fail "entry 1 ABORTED"

# ---- invalid images: the reason, nothing selected, the running slot (ota_0) untouched ----
cp "$T/v2.bin" "$T/bad.bin"
printf '\x00' | dd of="$T/bad.bin" bs=1 seek=5000 conv=notrunc status=none
head -c 3000 "$T/v2.bin" > "$T/trunc.bin"
expect_exit 0 "$OTAKIT" image make --project-name ota-app --version 9 --chip esp32c3 "$T/payload.bin" -o "$T/c3.bin"
{ printf '\xe9'; head -c $((0x100000)) /dev/zero; } > "$T/big.bin"
cp "$T/flash.bin" "$T/before.bin"
check_refused() {
  expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "$T/$1"
  expect_grep "$2" "$T/err"
  [ "$(hex_at "$T/flash.bin" 0xd000 32)" = "$(entry 1 $VALID)" ] || fail "$1: entry 0 changed"
  cmp <(region "$T/flash.bin" 0x110000 0x100000) <(region "$T/before.bin" 0x110000 0x100000) \
    || fail "$1: the running slot changed"
  expect_exit 0 "$OTAKIT" otadata show --json "$T/flash.bin"
  [ "$(json "$T/out" 'd["boot"]')" = ota_0 ] || fail "$1: something else is selected"
}
# The engine finds a bad checksum with the last write, or at end at the latest.
check_refused bad.bin "on ota_1 failed: not a valid app image for this device: checksum"
check_refused trunc.bin "not a valid app image for this device: image truncated"
check_refused c3.bin "header chip_id: expected 0x0000 (ESP32), found 0x0005 (ESP32-C3)"
check_refused big.bin "esp_ota_begin on ota_1 failed: an image of 1048577 bytes does not fit ota_1"
# begin invalidated the stale ABORTED entry of the slot being rewritten (ESP-IDF does).
[ "$(hex_at "$T/flash.bin" 0xe000 4096 | tr -d f)" = "" ] || fail "entry 1 erased by begin"
expect_exit 1 "$OTAKIT" ota --json "$T/flash.bin" "$T/bad.bin"
[ "$(json "$T/out" 'd["ok"]')" = False ] || fail "json failure ok"
[ "$(json "$T/out" 'd["step"] in ("esp_ota_write", "esp_ota_end")')" = True ] || fail "json failure step"
[ "$(json "$T/out" 'd["err"]')" = ESP_ERR_OTA_VALIDATE_FAILED ] || fail "json failure err"
[ "$(json "$T/out" 'd["running"]["partition"]')" = ota_0 ] || fail "json failure running"

# ---- a progress bar when stderr is a terminal ------------------------------------------
if command -v script >/dev/null; then
  expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --write factory="$T/v1.bin" -o "$T/tty.bin"
  expect_exit 0 script -qec "'$OTAKIT' ota '$T/tty.bin' '$T/v2.bin'" /dev/null
  expect_grep "ota_0 \[##############################\] 100% " "$T/out"
  expect_grep "ota_0 <- $T/v2.bin: ota-app 2.0.0" "$T/out"
fi

# ---- layouts and devices that cannot take an update ---------------------------------------
printf 'nvs,data,nvs,0x9000,0x4000\nfactory,app,factory,0x10000,1M\nota_0,app,ota_0,,1M\nota_1,app,ota_1,,1M\n' > "$T/nootadata.csv"
expect_exit 0 "$OTAKIT" flash create --partitions "$T/nootadata.csv" --write factory="$T/v1.bin" -o "$T/noota.bin"
expect_exit 1 "$OTAKIT" ota "$T/noota.bin" "$T/v2.bin"
expect_grep "esp_ota_set_boot_partition on ota_0 failed: the partition table has no otadata partition" "$T/err"
printf 'nvs,data,nvs,0x9000,0x6000\nfactory,app,factory,0x10000,1M\n' > "$T/single.csv"
expect_exit 0 "$OTAKIT" flash create --partitions "$T/single.csv" --write factory="$T/v1.bin" -o "$T/single.bin"
expect_exit 1 "$OTAKIT" ota "$T/single.bin" "$T/v2.bin"
expect_grep "no OTA app slot" "$T/err"
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" -o "$T/noapp.bin"
expect_exit 1 "$OTAKIT" ota "$T/noapp.bin" "$T/v2.bin"
expect_grep "power on failed: the device does not boot (load stage)" "$T/err"
head -c 5000 /dev/zero > "$T/odd.bin"
expect_exit 1 "$OTAKIT" ota "$T/odd.bin" "$T/v2.bin"
expect_grep "multiple of 4 KiB" "$T/err"
expect_exit 1 "$OTAKIT" ota "$T/none.bin" "$T/v2.bin"
expect_grep "no such flash image" "$T/err"

# ---- usage ----------------------------------------------------------------------------------
expect_exit 2 "$OTAKIT" ota "$T/flash.bin"
expect_exit 2 "$OTAKIT" ota --bogus "$T/flash.bin" "$T/v2.bin"
expect_exit 0 "$OTAKIT" ota --help
expect_grep "esp_ota_get_next_update_partition" "$T/out"
echo "ok"
