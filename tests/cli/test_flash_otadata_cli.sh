#!/usr/bin/env bash
# otakit flash create|info|write and otadata show|switch|erase on real files, checked byte
# for byte at the otadata sectors and the table sector.
source "$(dirname "$0")/lib.sh"
csv="$OTAKIT_SOURCE/examples/partitions/two_ota.csv"
head -c 40000 /dev/urandom > "$T/payload.bin"

expect_exit 0 "$OTAKIT" image make --project-name cli-app --version 1.0.0 --chip esp32 "$T/payload.bin" -o "$T/app1.bin"
expect_exit 0 "$OTAKIT" image make --project-name cli-app --version 2.0.0 --chip esp32 "$T/payload.bin" -o "$T/app2.bin"

# create: 4 MB of 0xFF with the table at 0x8000 and the factory app written
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --size 4MB --write factory="$T/app1.bin" -o "$T/flash.bin"
[ "$(stat -c %s "$T/flash.bin")" -eq 4194304 ] || fail "flash size"
expect_exit 0 "$OTAKIT" partition csv2bin "$csv" "$T/table.bin"
cmp <(dd if="$T/flash.bin" bs=4096 skip=8 count=1 status=none | head -c 3072) "$T/table.bin" || fail "table bytes at 0x8000"
[ "$(hex_at "$T/flash.bin" 0xd000 8192 | tr -d f)" = "" ] || fail "otadata not erased"
cmp <(head -c "$(stat -c %s "$T/app1.bin")" < <(dd if="$T/flash.bin" bs=65536 skip=1 status=none)) "$T/app1.bin" || fail "factory bytes"
[ "$(hex_at "$T/flash.bin" 0x110000 16)" = "ffffffffffffffffffffffffffffffff" ] || fail "ota_0 not erased"

# info: the table, the factory app verified, otadata empty so factory boots
expect_exit 0 "$OTAKIT" flash info "$T/flash.bin"
expect_grep "partition table at 0x8000: 6 partitions, MD5 ok" "$T/out"
expect_grep "factory  0x010000: cli-app 1.0.0 (ESP32" "$T/out"
expect_grep "ota_0    0x110000: empty" "$T/out"
expect_grep "no active entry: boots the default app: factory" "$T/out"
expect_exit 0 "$OTAKIT" flash info --json "$T/flash.bin"
cp "$T/out" "$T/info.json"
[ "$(json "$T/info.json" 'len(d["partitions"])')" = 6 ] || fail "json partitions"
[ "$(json "$T/info.json" 'd["partitions"][3]["image"]["version"]')" = "1.0.0" ] || fail "json version"
[ "$(json "$T/info.json" 'd["otadata"]["boot"]')" = "factory" ] || fail "json boot"
[ "$(json "$T/info.json" 'd["partitions"][4]["image"]')" = "None" ] || fail "json empty slot"

# write + switch to ota_0: entry 0 = seq 1, label 0xFF, state UNDEFINED, crc 0x4743989A
expect_exit 0 "$OTAKIT" flash write "$T/flash.bin" ota_0 "$T/app2.bin"
expect_grep "ota_0 at 0x110000: cli-app 2.0.0" "$T/out"
expect_exit 0 "$OTAKIT" otadata switch "$T/flash.bin" ota_0
expect_grep "otadata entry 0: seq 1, state UNDEFINED -> 'ota_0' boots next" "$T/out"
[ "$(hex_at "$T/flash.bin" 0xd000 32)" = "01000000$(printf 'ff%.0s' {1..20})ffffffff9a984347" ] || fail "entry 0 bytes"
[ "$(hex_at "$T/flash.bin" 0xd020 4064 | tr -d f)" = "" ] || fail "rest of sector 0"

# switch to ota_1 with rollback state NEW: entry 1 = seq 2, crc 0x55F63774
expect_exit 0 "$OTAKIT" otadata switch --state new "$T/flash.bin" ota_1
[ "$(hex_at "$T/flash.bin" 0xe000 32)" = "02000000$(printf 'ff%.0s' {1..20})000000007437f655" ] || fail "entry 1 bytes"
expect_exit 0 "$OTAKIT" otadata show --json "$T/flash.bin"
[ "$(json "$T/out" 'd["boot"]')" = "ota_1" ] || fail "boot ota_1"
[ "$(json "$T/out" 'd["active"]')" = 1 ] || fail "active 1"
[ "$(json "$T/out" 'd["entries"][1]["state"]')" = "NEW" ] || fail "state NEW"
expect_exit 0 "$OTAKIT" otadata show "$T/flash.bin"
expect_grep "entry 1 (0xe000): seq 2, state NEW, crc 0x55f63774 ok -> ota_1  \[active\]" "$T/out"

# switch back to ota_1 (already selected): v6 rule rewrites entry 1 in place, seq stays 2
expect_exit 0 "$OTAKIT" otadata switch --state valid "$T/flash.bin" ota_1
[ "$(hex_at "$T/flash.bin" 0xe000 32)" = "02000000$(printf 'ff%.0s' {1..20})020000007437f655" ] || fail "same-slot rewrite"
[ "$(hex_at "$T/flash.bin" 0xd000 4)" = "01000000" ] || fail "entry 0 kept"

# factory: otadata erased
expect_exit 0 "$OTAKIT" otadata switch "$T/flash.bin" factory
[ "$(hex_at "$T/flash.bin" 0xd000 8192 | tr -d f)" = "" ] || fail "switch factory erases"
expect_exit 0 "$OTAKIT" otadata switch "$T/flash.bin" ota_0
expect_exit 0 "$OTAKIT" otadata erase "$T/flash.bin"
expect_grep "'factory' boots next" "$T/out"
[ "$(hex_at "$T/flash.bin" 0xd000 8192 | tr -d f)" = "" ] || fail "erase"

# errors: clear message, non-zero exit, nothing changed
cp "$T/flash.bin" "$T/before.bin"
expect_exit 1 "$OTAKIT" otadata switch "$T/flash.bin" nosuch
expect_grep "no app partition labelled 'nosuch'" "$T/err"
expect_exit 1 "$OTAKIT" otadata switch "$T/flash.bin" nvs
expect_exit 1 "$OTAKIT" flash write "$T/flash.bin" phy_init "$T/app1.bin"
expect_grep "does not fit partition 'phy_init'" "$T/err"
cmp "$T/flash.bin" "$T/before.bin" || fail "a refused command changed the flash"
expect_exit 2 "$OTAKIT" otadata switch "$T/flash.bin"
expect_exit 2 "$OTAKIT" otadata show --offset 0x8001 "$T/flash.bin"

head -c 5000 /dev/zero > "$T/odd.bin"
expect_exit 1 "$OTAKIT" flash info "$T/odd.bin"
expect_grep "multiple of 4 KiB" "$T/err"
head -c 65536 /dev/zero | tr '\0' '\377' > "$T/blank.bin"
expect_exit 1 "$OTAKIT" otadata show "$T/blank.bin"
expect_grep "no valid partition table at 0x8000" "$T/err"
expect_exit 1 "$OTAKIT" flash info "$T/missing.bin"

# create refuses and leaves no file behind
printf 'nvs, data, nvs, 0x9001, 0x4000,\n' > "$T/bad.csv"
expect_exit 1 "$OTAKIT" flash create --partitions "$T/bad.csv" -o "$T/bad.bin"
[ ! -e "$T/bad.bin" ] || fail "bad CSV left an output file"
expect_exit 1 "$OTAKIT" flash create --partitions "$csv" --write phy_init="$T/app1.bin" -o "$T/bad.bin"
[ ! -e "$T/bad.bin" ] || fail "failed --write left an output file"
expect_exit 1 "$OTAKIT" flash create --partitions "$csv" --size 2MB -o "$T/bad.bin"
[ ! -e "$T/bad.bin" ] || fail "table beyond the flash left an output file"

# a bootloader goes to its chip's offset (ESP32-C3: 0x0, ESP32: 0x1000)
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --bootloader "$OTAKIT_CORPUS/bootloader_esp32c3.bin" -o "$T/c3.bin"
cmp <(head -c 17744 "$T/c3.bin") "$OTAKIT_CORPUS/bootloader_esp32c3.bin" || fail "c3 bootloader at 0x0"
expect_exit 0 "$OTAKIT" flash info "$T/c3.bin"
expect_grep "bootloader at 0x0: " "$T/out"
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --bootloader "$OTAKIT_CORPUS/bootloader_esp32.bin" -o "$T/e32.bin"
cmp <(dd if="$T/e32.bin" bs=4096 skip=1 status=none | head -c 7888) "$OTAKIT_CORPUS/bootloader_esp32.bin" || fail "esp32 bootloader at 0x1000"
expect_exit 0 "$OTAKIT" flash info "$T/e32.bin"
expect_grep "bootloader at 0x1000: " "$T/out"
echo "ok"
