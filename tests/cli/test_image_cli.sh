#!/usr/bin/env bash
# `otakit image info / verify / make` on the real corpus images and on images it makes:
# exact output lines, exit codes, JSON fields.
set -u

: "${OTAKIT:?set OTAKIT to the otakit binary}"
: "${OTAKIT_CORPUS:?set OTAKIT_CORPUS to the corpus folder}"
PY=/usr/bin/python3
BLINK="$OTAKIT_CORPUS/esp_idf_blink_esp32s2.bin"
HELLO="$OTAKIT_CORPUS/hello-world-signed.bin"
BL_C3="$OTAKIT_CORPUS/bootloader_esp32c3.bin"
BL_32="$OTAKIT_CORPUS/bootloader_esp32.bin"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export SOURCE_DATE_EPOCH=1700000000 # reproducible app desc date/time

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run EXPECTED_RC CMD...: stdout in $TMP/out, stderr in $TMP/err.
run() {
    local want=$1
    shift
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "exit $rc (expected $want): $* -- stderr: $(head -c 400 "$TMP/err")"
    fi
}

# has_line FILE LINE: FILE contains exactly this line.
has_line() {
    if ! grep -qxF -- "$2" "$1"; then
        fail "missing line in $(basename "$1"): '$2'"
        sed 's/^/    | /' "$1" | head -60 >&2
    fi
}

has_text() {
    if ! grep -qF -- "$2" "$1"; then
        fail "missing text in $(basename "$1"): '$2'"
        sed 's/^/    | /' "$1" | head -20 >&2
    fi
}

# ---- help -------------------------------------------------------------------------------
run 0 "$OTAKIT" image --help
has_text "$TMP/out" "info FILE"
for cmd in info verify make; do
    run 0 "$OTAKIT" image "$cmd" --help
    has_text "$TMP/out" "usage: otakit image $cmd"
done
run 2 "$OTAKIT" image
run 2 "$OTAKIT" image frobnicate
run 2 "$OTAKIT" image verify
run 2 "$OTAKIT" image verify --chip esp8266 "$BLINK"
has_text "$TMP/err" "--chip: unknown chip 'esp8266'"
run 2 "$OTAKIT" image info --bogus "$BLINK"

# ---- info: esptool image_info's text ----------------------------------------------------
run 0 "$OTAKIT" image info "$BLINK"
for line in \
    "File size: 182368 (bytes)" \
    "Detected image type: ESP32-S2" \
    "ESP32-S2 image header" \
    "=====================" \
    "Image version: 1" \
    "Entry point: 0x40022f84" \
    "Segments: 6" \
    "Flash size: 2MB" \
    "Flash freq: 80m" \
    "Flash mode: DIO" \
    "WP pin: 0xee (disabled)" \
    "Flash pins drive settings: clk_drv: 0x0, q_drv: 0x0, d_drv: 0x0, cs0_drv: 0x0, hd_drv: 0x0, wp_drv: 0x0" \
    "Chip ID: 2 (ESP32-S2)" \
    "Minimal chip revision: v0.0, (legacy min_rev = 0)" \
    "Maximal chip revision: v0.0" \
    "Segment   Length   Load addr   File offs  Memory types" \
    "-------  -------  ----------  ----------  ------------" \
    "      0  0x08c18  0x3f000020  0x00000018  DROM" \
    "      1  0x0204c  0x3ffbde90  0x00008c38  BYTE_ACCESSIBLE, MEM_INTERNAL, DRAM" \
    "      2  0x05384  0x40022000  0x0000ac8c  MEM_INTERNAL, IRAM" \
    "      3  0x15ce8  0x40080020  0x00010018  IROM" \
    "      4  0x06b0c  0x40027384  0x00025d08  MEM_INTERNAL, IRAM" \
    "      5  0x00010  0x50000000  0x0002c81c  RTC_DATA" \
    "Checksum: 0x18 (valid)" \
    "Validation hash: 10f48f4a71a48cc4c917d70d13bf717b1bc7f3187b3d564b00192f7e381531b7 (valid)" \
    "Application information" \
    "Project name: blink" \
    "App version: qa-test-v5.0-20220830-4-g4532e6" \
    "Compile time: Sep 13 2022 19:46:07" \
    "ESP-IDF: v5.0-beta1-427-g4532e6e0b2-dirt" \
    "Minimal eFuse block revision: 0.0" \
    "Maximal eFuse block revision: 0.0" \
    "Secure version: 0" \
    "Image type: app" \
    "Verdict: valid"; do
    has_line "$TMP/out" "$line"
done

run 0 "$OTAKIT" image info "$BL_32"
has_line "$TMP/out" "Checksum: 0x83 (valid)"
has_line "$TMP/out" "WP pin: 0x0"
has_line "$TMP/out" "Image type: bootloader"
if grep -q "Validation hash" "$TMP/out"; then
    fail "bootloader_esp32.bin has no hash, yet info shows one"
fi

# A broken checksum is shown, not fatal, for info (as esptool); verify rejects it.
cp "$BLINK" "$TMP/bad.bin"
$PY - "$TMP/bad.bin" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[0x20 + 300] ^= 0x01   # a data byte of segment 0
open(p, 'wb').write(b)
EOF
run 0 "$OTAKIT" image info "$TMP/bad.bin"
has_line "$TMP/out" "Checksum: 0x18 (invalid - calculated 0x19)"
has_text "$TMP/out" "Validation hash: "
has_text "$TMP/out" " (invalid)"
has_line "$TMP/out" "Verdict: invalid: checksum: expected 0x19 (computed over segment data), found 0x18 (image offset 0x2c83f)"
run 1 "$OTAKIT" image verify "$TMP/bad.bin"
has_line "$TMP/err" "otakit: error: $TMP/bad.bin: invalid image: checksum: expected 0x19 (computed over segment data), found 0x18 (image offset 0x2c83f)"

# Not an image at all.
head -c 1000 /dev/zero >"$TMP/zero.bin"
run 1 "$OTAKIT" image info "$TMP/zero.bin"
has_text "$TMP/err" "header magic: expected 0xe9, found 0x00"

# ---- info --json ------------------------------------------------------------------------
run 0 "$OTAKIT" image info --json "$BLINK"
$PY - "$TMP/out" <<'EOF' || fail "info --json of blink"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["valid"] is True and j["error"] is None, j
assert j["kind"] == "app" and j["chip"] == "ESP32-S2"
assert j["header"]["chip_id"] == 2 and j["header"]["segment_count"] == 6
assert j["header"]["entry_addr"] == 0x40022f84
assert [s["load_addr"] for s in j["segments"]] == [0x3f000020, 0x3ffbde90, 0x40022000, 0x40080020, 0x40027384, 0x50000000]
assert [s["mapped"] for s in j["segments"]] == [True, False, False, True, False, False]
assert j["segments"][3]["data_offset"] == 0x10020
assert j["checksum"] == {"read": True, "stored": 0x18, "computed": 0x18, "valid": True}
h = "10f48f4a71a48cc4c917d70d13bf717b1bc7f3187b3d564b00192f7e381531b7"
assert j["hash"]["stored"] == h and j["hash"]["computed"] == h and j["hash"]["valid"]
assert j["image_length"] == 0x2c840 and j["total_length"] == 182368
assert j["app_desc"]["project_name"] == "blink"
assert j["app_desc"]["version"] == "qa-test-v5.0-20220830-4-g4532e6"
assert j["app_desc"]["secure_version"] == 0
assert j["bootloader_desc"] is None
EOF
run 0 "$OTAKIT" image info --json "$TMP/bad.bin"
$PY - "$TMP/out" <<'EOF' || fail "info --json of a broken image"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["valid"] is False and j["error"] == "ESP_ERR_IMAGE_INVALID"
assert j["reason"].startswith("checksum:"), j["reason"]
assert j["checksum"]["valid"] is False and j["hash"]["valid"] is False
EOF

# ---- verify: the corpus README's verdicts ------------------------------------------------
run 0 "$OTAKIT" image verify "$BLINK"
has_line "$TMP/out" "$BLINK: valid ESP32-S2 app image"
has_line "$TMP/out" "  checksum: 0x18 (valid)"
has_line "$TMP/out" "  SHA-256: 10f48f4a71a48cc4c917d70d13bf717b1bc7f3187b3d564b00192f7e381531b7 (valid)"
has_line "$TMP/out" "  app: blink qa-test-v5.0-20220830-4-g4532e6, secure_version 0"
run 0 "$OTAKIT" image verify --chip esp32 --require-hash "$HELLO"
has_line "$TMP/out" "$HELLO: valid ESP32 app image"
has_line "$TMP/out" "  checksum: 0x30 (valid)"
has_line "$TMP/out" "  SHA-256: 06a1d6eb2c280ca64b44b8c487d2d856dc8e5acf6e08060c61efbf086ad795d2 (valid)"
run 0 "$OTAKIT" image verify "$BL_C3"
has_line "$TMP/out" "$BL_C3: valid ESP32-C3 bootloader image"
has_line "$TMP/out" "  checksum: 0x77 (valid)"
has_line "$TMP/out" "  SHA-256: 4faeab1bd3fd6a7d4adfa0fd38f41bfc67a8c3c0a9d6d882b65580da2e5e6347 (valid; checked here, though ESP-IDF checks a bootloader's hash only with secure boot v2)"
run 0 "$OTAKIT" image verify --no-bootloader-hash "$BL_C3"
has_text "$TMP/out" "(not checked: ESP-IDF checks a bootloader's hash only with secure boot v2)"
run 0 "$OTAKIT" image verify "$BL_32"
has_line "$TMP/out" "  checksum: 0x83 (valid)"
has_line "$TMP/out" "  SHA-256: not appended"
run 1 "$OTAKIT" image verify --require-hash "$BL_32"
has_text "$TMP/err" "header hash_appended: expected 1"

# Rules that depend on the device.
run 1 "$OTAKIT" image verify --chip esp32 "$BLINK"
has_line "$TMP/err" "otakit: error: $BLINK: invalid image: header chip_id: expected 0x0000 (ESP32), found 0x0002 (ESP32-S2) (image offset 0xc)"
run 0 "$OTAKIT" image verify --chip ESP32-S2 --chip-rev v1.0 "$BLINK"
run 1 "$OTAKIT" image verify --partition-size 0x20000 "$BLINK"
has_text "$TMP/err" "past the partition size 0x20000"
run 1 "$OTAKIT" image verify --partition-size 0x2c85f "$BLINK"
has_text "$TMP/err" "image length: 0x2c860 bytes with the appended SHA-256 exceed the partition size 0x2c85f"
run 1 "$OTAKIT" image verify --bootloader --chip esp32c3 "$BLINK"
has_text "$TMP/err" "header chip_id"
run 1 "$OTAKIT" image verify --app "$BL_C3"
has_text "$TMP/err" "segment 0 data_len: 0x14 bytes, but an app's segment 0 must hold esp_app_desc_t"

# An image inside a flash dump: fine at a 64 KiB offset, misaligned at 4 KiB.
$PY - "$BLINK" "$TMP/flash.bin" <<'EOF'
import sys
img = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(b'\xff' * 0x10000 + img + b'\xff' * 0x1000 + b'\xff' * 0x1000 + img)
EOF
run 0 "$OTAKIT" image verify --offset 0x10000 "$TMP/flash.bin"
OFF2=$((0x10000 + 182368 + 0x2000))
run 1 "$OTAKIT" image verify --offset "$OFF2" "$TMP/flash.bin"
has_text "$TMP/err" "segment 0 load_addr: 0x3f000020 is flash-mapped"

# Every single byte of the hashed range matters: a few positions through the CLI (the unit
# tests sweep all of them).
for pos in 0 1 3 12 23 24 28 0x20 0x8c38 0x10018 0x2c83e 0x2c83f 0x2c840 0x2c85f; do
    cp "$BLINK" "$TMP/flip.bin"
    $PY -c "
import sys
b = bytearray(open('$TMP/flip.bin', 'rb').read()); b[$pos] ^= 0xff
open('$TMP/flip.bin', 'wb').write(b)"
    run 1 "$OTAKIT" image verify "$TMP/flip.bin"
    has_text "$TMP/err" "invalid image: "
done

# ---- make -------------------------------------------------------------------------------
$PY -c "open('$TMP/payload.bin','wb').write(bytes((i*7+1)&255 for i in range(3001)))"
$PY -c "open('$TMP/iram.bin','wb').write(bytes((i*3)&255 for i in range(0x900)))"
$PY -c "open('$TMP/irom.bin','wb').write(bytes((i*5)&255 for i in range(0x3000)))"
for chip in esp32 esp32s2 esp32c3 esp32s3 esp32c2 esp32c6 esp32h2 esp32p4 esp32c5; do
    run 0 "$OTAKIT" image make --chip "$chip" --project-name "demo-$chip" --version 2.5.0 \
        --secure-version 7 --idf-ver v5.4.1 "$TMP/payload.bin" -o "$TMP/app_$chip.bin"
    has_text "$TMP/out" "Wrote $TMP/app_$chip.bin: "
    run 0 "$OTAKIT" image verify --chip "$chip" --require-hash "$TMP/app_$chip.bin"
    has_line "$TMP/out" "  app: demo-$chip 2.5.0, secure_version 7"
    run 0 "$OTAKIT" image info "$TMP/app_$chip.bin"
    has_line "$TMP/out" "Project name: demo-$chip"
    has_line "$TMP/out" "App version: 2.5.0"
    has_line "$TMP/out" "ESP-IDF: v5.4.1"
    has_line "$TMP/out" "Compile time: Nov 14 2023 22:13:20"
    has_line "$TMP/out" "Secure version: 7"
    has_text "$TMP/out" "Checksum: 0x"
    has_text "$TMP/out" "(valid)"
    has_line "$TMP/out" "Verdict: valid"
done
# Reproducible: the same inputs make the same bytes.
run 0 "$OTAKIT" image make --chip esp32 --project-name demo-esp32 --version 2.5.0 \
    --secure-version 7 --idf-ver v5.4.1 "$TMP/payload.bin" -o "$TMP/again.bin"
cmp -s "$TMP/again.bin" "$TMP/app_esp32.bin" || fail "image make is not reproducible"

# Extra segments: RAM fills the gap before the IROM segment, which lands on its page offset.
run 0 "$OTAKIT" image make --chip esp32s2 --project-name segs --version 1 \
    --segment 0x40022000:"$TMP/iram.bin" --segment 0x40080020:"$TMP/irom.bin" \
    --flash-mode qio --flash-freq 40m --flash-size 4MB "$TMP/payload.bin" -o "$TMP/segs.bin"
run 0 "$OTAKIT" image info "$TMP/segs.bin"
has_line "$TMP/out" "Flash size: 4MB"
has_line "$TMP/out" "Flash freq: 40m"
has_line "$TMP/out" "Flash mode: QIO"
has_line "$TMP/out" "      0  0x00cbc  0x3f000020  0x00000018  DROM"
has_line "$TMP/out" "      1  0x00900  0x40022000  0x00000cdc  MEM_INTERNAL, IRAM"
has_line "$TMP/out" "      3  0x03000  0x40080020  0x00010018  IROM"
has_text "$TMP/out" "0x00000000  0x000015e4  PADDING"

run 0 "$OTAKIT" image make --chip esp32 --project-name nohash --version 1 --no-hash - -o "$TMP/nohash.bin"
run 0 "$OTAKIT" image verify "$TMP/nohash.bin"
has_line "$TMP/out" "  SHA-256: not appended"
run 0 "$OTAKIT" image make --chip esp32c3 --project-name pad --version 1 --secure-pad-v2 \
    "$TMP/payload.bin" -o "$TMP/pad.bin"
size=$(stat -c %s "$TMP/pad.bin")
[ $((size % 65536)) -eq 0 ] || fail "secure pad v2 image is $size bytes, not a multiple of 64 KiB"

run 2 "$OTAKIT" image make --version 1 "$TMP/payload.bin" -o "$TMP/x.bin"
has_text "$TMP/err" "--project-name and --version are required"
run 2 "$OTAKIT" image make --chip esp9000 --project-name a --version 1 "$TMP/payload.bin" -o "$TMP/x.bin"
run 2 "$OTAKIT" image make --chip esp32 --flash-freq 48m --project-name a --version 1 "$TMP/payload.bin" -o "$TMP/x.bin"
has_text "$TMP/err" "--flash-freq: '48m' is not a ESP32 frequency"
run 1 "$OTAKIT" image make --chip esp32s2 --project-name a --version 1 \
    --segment 0x40080020:"$TMP/irom.bin" --segment 0x40088000:"$TMP/irom.bin" - -o "$TMP/x.bin"
has_text "$TMP/err" "land in the same 0x10000-byte MMU page"
run 1 "$OTAKIT" image make --project-name a --version 1 "$TMP/missing.bin" -o "$TMP/x.bin"

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "image CLI: all checks passed"
