#!/usr/bin/env bash
# otakit partition csv2bin | bin2csv | show on real files: the partitions_two_ota bytes and
# MD5 of spec §2.1 (expected bytes built here from the spec, not by otakit), gen_esp32part's
# CSV text, round trips, option effects, errors with line numbers, exit codes, --json.
source "$(dirname "$0")/lib.sh"
fx="$OTAKIT_SOURCE/tests/fixtures/partitions"

# ---- help and usage ----------------------------------------------------------------------
expect_exit 0 "$OTAKIT" partition --help
expect_grep "csv2bin IN.csv OUT.bin" "$T/out"
for c in csv2bin bin2csv show; do
  expect_exit 0 "$OTAKIT" partition "$c" --help
  expect_grep "usage: otakit partition $c" "$T/out"
done
expect_exit 2 "$OTAKIT" partition
expect_exit 2 "$OTAKIT" partition frobnicate
expect_exit 2 "$OTAKIT" partition csv2bin "$fx/two_ota.csv"
expect_exit 2 "$OTAKIT" partition csv2bin "$fx/two_ota.csv" "$T/x.bin" --bogus
expect_grep "unknown option '--bogus'" "$T/err"
expect_exit 2 "$OTAKIT" partition csv2bin "$fx/two_ota.csv" "$T/x.bin" --offset
expect_exit 2 "$OTAKIT" partition csv2bin "$fx/two_ota.csv" "$T/x.bin" --flash-size huge
expect_exit 2 "$OTAKIT" partition bin2csv "$fx/two_ota.csv" "$T/x.csv" --primary-bootloader-offset 0
expect_exit 1 "$OTAKIT" partition csv2bin "$T/missing.csv" "$T/x.bin"

# ---- csv2bin: the spec's bytes -------------------------------------------------------------
"$PY" - "$T/want.bin" <<'EOF'
import hashlib, struct, sys
rows = [("nvs", 1, 0x02, 0x9000, 0x4000), ("otadata", 1, 0x00, 0xD000, 0x2000),
        ("phy_init", 1, 0x01, 0xF000, 0x1000), ("factory", 0, 0x00, 0x10000, 0x100000),
        ("ota_0", 0, 0x10, 0x110000, 0x100000), ("ota_1", 0, 0x11, 0x210000, 0x100000)]
recs = b"".join(b"\xaa\x50" + struct.pack("<BBII", t, s, o, n) + name.encode().ljust(16, b"\0")
                + b"\0\0\0\0" for name, t, s, o, n in rows)
digest = hashlib.md5(recs).digest()
assert digest.hex() == "bf25822c0fa6d8641bd930251e06b4c4"
out = recs + b"\xeb\xeb" + b"\xff" * 14 + digest
open(sys.argv[1], "wb").write(out + b"\xff" * (0xC00 - len(out)))
EOF
expect_exit 0 "$OTAKIT" partition csv2bin "$fx/two_ota.csv" "$T/two_ota.bin"
[ "$(stat -c %s "$T/two_ota.bin")" -eq 3072 ] || fail "table length"
cmp "$T/two_ota.bin" "$T/want.bin" || fail "two_ota bytes differ from spec §2.1"
[ "$(hex_at "$T/two_ota.bin" 0xC0 32)" = "ebeb$(printf 'ff%.0s' {1..14})bf25822c0fa6d8641bd930251e06b4c4" ] \
  || fail "MD5 record"
# the lead's example CSV (different spacing) compiles to the same bytes
expect_exit 0 "$OTAKIT" partition csv2bin "$OTAKIT_SOURCE/examples/partitions/two_ota.csv" "$T/ex.bin"
cmp "$T/ex.bin" "$T/want.bin" || fail "examples/partitions/two_ota.csv"

# ---- bin2csv: gen_esp32part's text, round trip ----------------------------------------------
expect_exit 0 "$OTAKIT" partition bin2csv "$T/two_ota.bin" "$T/two_ota.csv"
diff "$T/two_ota.csv" "$fx/two_ota.expected.csv" || fail "bin2csv text"
expect_exit 0 "$OTAKIT" partition csv2bin "$T/two_ota.csv" "$T/again.bin"
cmp "$T/again.bin" "$T/two_ota.bin" || fail "csv -> bin -> csv -> bin"
expect_exit 0 "$OTAKIT" partition bin2csv "$T/again.bin" -
diff "$T/out" "$fx/two_ota.expected.csv" || fail "bin2csv to stdout"
for f in two_ota_large singleapp two_ota_coredump; do
  expect_exit 0 "$OTAKIT" partition csv2bin "$fx/$f.csv" "$T/$f.bin"
  expect_exit 0 "$OTAKIT" partition bin2csv "$T/$f.bin" "$T/$f.out.csv"
  expect_exit 0 "$OTAKIT" partition csv2bin "$T/$f.out.csv" "$T/$f.again.bin"
  cmp "$T/$f.bin" "$T/$f.again.bin" || fail "$f round trip"
done
expect_grep "^ota_1,app,ota_1,0x1d0000,1700K,$" "$T/two_ota_large.out.csv"
expect_grep "^coredump,data,coredump,0x110000,64K,$" "$T/two_ota_coredump.out.csv"
# a CSV is not a binary table and the other way round
expect_exit 1 "$OTAKIT" partition bin2csv "$fx/two_ota.csv" "$T/x.csv"
expect_grep "not a binary partition table" "$T/err"
expect_exit 1 "$OTAKIT" partition csv2bin "$T/two_ota.bin" "$T/x.bin"
expect_grep "binary table, not a CSV" "$T/err"
# a damaged MD5 record is refused by bin2csv (gen_esp32part's reader)
cp "$T/two_ota.bin" "$T/bad.bin"
printf '\x00' | dd of="$T/bad.bin" bs=1 seek=$((0xD0)) conv=notrunc status=none
expect_exit 1 "$OTAKIT" partition bin2csv "$T/bad.bin" "$T/x.csv"
expect_grep "MD5 checksums don't match" "$T/err"
[ ! -e "$T/x.csv" ] || fail "bin2csv wrote output for a bad table"

# ---- options ---------------------------------------------------------------------------------
expect_exit 0 "$OTAKIT" partition csv2bin --no-md5 "$fx/two_ota.csv" "$T/nomd5.bin"
cmp <(head -c 192 "$T/nomd5.bin") <(head -c 192 "$T/want.bin") || fail "--no-md5 records"
[ "$(hex_at "$T/nomd5.bin" 0xC0 2880 | tr -d f)" = "" ] || fail "--no-md5 left an MD5 record"
expect_exit 1 "$OTAKIT" partition bin2csv --no-md5 "$T/two_ota.bin" "$T/x.csv"
expect_grep "Invalid magic bytes (eb eb)" "$T/err"
expect_exit 0 "$OTAKIT" partition csv2bin --offset 0x9000 "$fx/two_ota.csv" "$T/off.bin"
[ "$(hex_at "$T/off.bin" 4 4)" = "00a00000" ] || fail "--offset moves nvs to 0xa000"
expect_exit 1 "$OTAKIT" partition csv2bin --flash-size 2MB "$fx/two_ota.csv" "$T/x.bin"
expect_grep "line 8: Partitions tables occupies 3.1MB of flash (3211264 bytes) which does not fit in available flash size 2MB." "$T/err"
expect_exit 0 "$OTAKIT" partition csv2bin --flash-size 4MB "$fx/two_ota.csv" "$T/x.bin"
printf 'ota_0, app, ota_0, , 0x101000\n' > "$T/secure.csv"
expect_exit 0 "$OTAKIT" partition csv2bin "$T/secure.csv" "$T/x.bin"
expect_exit 1 "$OTAKIT" partition csv2bin --secure v1 "$T/secure.csv" "$T/x.bin"
expect_grep "Size 0x101000 is not aligned to 0x10000" "$T/err"
printf 'bootloader, bootloader, primary, N/A, N/A\nnvs, data, nvs, , 0x4000\n' > "$T/boot.csv"
expect_exit 1 "$OTAKIT" partition csv2bin "$T/boot.csv" "$T/x.bin"
expect_grep "Error at line 1: Primary bootloader offset is not provided" "$T/err"
expect_exit 0 "$OTAKIT" partition csv2bin --primary-bootloader-offset 0x1000 "$T/boot.csv" "$T/boot.bin"
expect_exit 0 "$OTAKIT" partition bin2csv "$T/boot.bin" -
expect_grep "^bootloader,bootloader,primary,0x1000,28K,$" "$T/out"
# $VAR from the environment
printf '$PT_NAME, data, fat, , ${PT_SIZE}\n' > "$T/vars.csv"
PT_NAME=store PT_SIZE=64K expect_exit 0 "$OTAKIT" partition csv2bin "$T/vars.csv" "$T/vars.bin"
expect_exit 0 "$OTAKIT" partition bin2csv "$T/vars.bin" -
expect_grep "^store,data,fat,0x9000,64K,$" "$T/out"
expect_exit 1 "$OTAKIT" partition csv2bin "$T/vars.csv" "$T/x.bin"
expect_grep "Error at line 1: unknown variable 'PT_NAME'" "$T/err"

# ---- every check fails with its line ------------------------------------------------------------
check() { # check 'CSV TEXT' 'EXPECTED MESSAGE PART'
  printf '%b' "$1" > "$T/e.csv"
  expect_exit 1 "$OTAKIT" partition csv2bin "$T/e.csv" "$T/e.bin"
  expect_grep "$2" "$T/err"
  [ ! -e "$T/e.bin" ] || fail "output written for a bad CSV"
}
check '# t\nfactory, app, factory, 0x18000, 1M\n' 'line 2: Partition factory invalid: Offset 0x18000 is not aligned to 0x10000'
check 'a, data, nvs, 0x9000, 0x4000\nb, data, fat, 0xa000, 4K\n' 'CSV Error at line 2: Partitions overlap. Partition sets offset 0xa000. Previous partition ends 0xd000'
check 'nvs, data, nvs, , 0x4000\nnvs, data, fat, , 4K\n' "line 2: Partition names must be unique ('nvs' is also at line 1)"
check '\notadata, data, ota, , 0x1000\n' 'line 2: otadata partition must have size = 0x2000'
check 'o1, data, ota, , 8K\no2, data, ota, , 8K\n' 'line 2: Found multiple otadata partitions'
check 'x, app, ota_99, , 1M\n' "Error at line 1: Value 'ota_99' is not valid. Known keywords: factory, test, ota_0"
check 'x, app, , , 1M\n' 'Error at line 1: App partition cannot have an empty subtype'
check 'otadata, data, ota, , 8K, readonly\n' "line 1: Partition otadata invalid: 'otadata' partition of type 1 and subtype 0 is always read-write and cannot be read-only"
check 'nvs, data, nvs, , 8K\n' "must be flagged as 'readonly' (the size of read/write NVS has to be at least 0x3000)"
check 'x, data, fat, , 4K, shiny\n' "Error at line 1: CSV flag column contains unknown flag 'shiny'"
"$PY" -c "
for i in range(95): print('p%d, data, fat, , 4K' % i)" > "$T/e.csv"
expect_exit 1 "$OTAKIT" partition csv2bin "$T/e.csv" "$T/e.bin"
expect_grep "line 95: Binary partition table length (3072) longer than max" "$T/err"
expect_exit 0 "$OTAKIT" partition csv2bin --no-md5 "$T/e.csv" "$T/e.bin"

# ---- show ---------------------------------------------------------------------------------------
expect_exit 0 "$OTAKIT" partition show "$T/two_ota.bin"
expect_grep "^MD5              ok$" "$T/out"
expect_grep "^  4  ota_0            app             ota_0     0x110000   0x100000 (1M)$" "$T/out"
expect_exit 0 "$OTAKIT" partition show --json "$T/two_ota.bin"
cp "$T/out" "$T/show.json"
[ "$(json "$T/show.json" 'd["md5"]')" = ok ] || fail "json md5"
[ "$(json "$T/show.json" 'd["format"]')" = bin ] || fail "json format"
[ "$(json "$T/show.json" 'len(d["partitions"])')" = 6 ] || fail "json count"
[ "$(json "$T/show.json" 'd["partitions"][1]["label"], d["partitions"][1]["type_name"], d["partitions"][1]["subtype_name"], hex(d["partitions"][1]["offset"]), hex(d["partitions"][1]["size"])')" \
  = "otadata data ota 0xd000 0x2000" ] || fail "json otadata"
# a damaged MD5 is shown and makes the exit status 1
expect_exit 1 "$OTAKIT" partition show "$T/bad.bin"
expect_grep "^MD5              mismatch$" "$T/out"
# a whole flash image: 4 MB of 0xFF with the table at 0x8000 (or elsewhere with --offset)
"$PY" -c "
import sys
t = open(sys.argv[1], 'rb').read()
img = bytearray(b'\xff' * 0x400000); img[0x8000:0x8000 + len(t)] = t
open(sys.argv[2], 'wb').write(img)
img = bytearray(b'\xff' * 0x200000); img[0xf000:0xf000 + len(t)] = t
open(sys.argv[3], 'wb').write(img)" "$T/two_ota.bin" "$T/flash.img" "$T/small.img"
expect_exit 0 "$OTAKIT" partition show --json "$T/flash.img"
cp "$T/out" "$T/img.json"
[ "$(json "$T/img.json" 'd["format"], d["table_offset"], d["md5"], d["bootloader_check"]["result"]')" \
  = "image 32768 ok ok" ] || fail "json image"
expect_exit 0 "$OTAKIT" partition show "$T/flash.img"
expect_grep "flash image, table at 0x8000" "$T/out"
expect_grep "^Bootloader check ok (flash 0x400000)$" "$T/out"
# a 2 MB image is too small for ota_0/ota_1: the bootloader would refuse the table
expect_exit 1 "$OTAKIT" partition show --offset 0xf000 "$T/small.img"
expect_grep "Bootloader check ESP_ERR_INVALID_SIZE" "$T/out"
expect_exit 1 "$OTAKIT" partition show "$T/small.img"
expect_grep "no partition table" "$T/err"
# a CSV
expect_exit 0 "$OTAKIT" partition show --json "$fx/two_ota_coredump.csv"
cp "$T/out" "$T/csv.json"
[ "$(json "$T/csv.json" 'd["format"], hex(d["partitions"][5]["offset"])')" = "csv 0x120000" ] \
  || fail "json csv"
expect_exit 1 "$OTAKIT" partition show "$T/e.csv"
expect_grep "line 95" "$T/err"
echo "partition CLI: all checks passed"
