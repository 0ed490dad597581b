# Shared by the update-service CLI tests (source after lib.sh): images, data images with the
# otakit data header (docs/service.md), manifests, and looks into the flash and the state.
csv="$OTAKIT_SOURCE/examples/partitions/two_ota_storage.csv"
OTA0=0x110000 OTA1=0x210000 STORAGE=0x310000 STAGING=0x320000 DATA_SIZE=0x10000

# region FILE OFFSET LEN: bytes of a flash region.
region() { dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) status=none; }
size_of() { stat -c %s "$1"; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
# holds FLASH OFFSET FILE: the region starts with FILE and is 0xFF after it (to 64 KiB).
holds() {
  cmp <(region "$1" "$2" $DATA_SIZE | head -c "$(size_of "$3")") "$3" >/dev/null || return 1
  [ -z "$(region "$1" "$2" $DATA_SIZE | tail -c +"$(( $(size_of "$3") + 1 ))" | tr -d '\377' | head -c 1)" ]
}
app_image() { # app_image VERSION OUT [options]
  expect_exit 0 "$OTAKIT" image make --project-name svc-app --version "$1" "${@:3}" "$T/payload.bin" -o "$2"
}
# data_image VERSION PAYLOAD OUT: the 32-byte otakit data header, then PAYLOAD.
data_image() {
  "$PY" - "$@" <<'PYEOF'
import struct, sys, zlib
version, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
major, minor, patch = (int(x) for x in version[1:].split('.'))
payload = open(src, 'rb').read()
head = (b'OTKD' + bytes([1, 0xFF, 0xFF, 0xFF]) +
        struct.pack('<II', major << 16 | minor << 8 | patch, len(payload)) + b'\xff' * 12)
open(out, 'wb').write(head + struct.pack('<I', zlib.crc32(head)) + payload)
PYEOF
}
# node TYPE FILE VERSION [MORE]: one manifest node for FILE (relative URI, its sha256 and
# size); MORE is appended inside the object (', "label": "storage"').
node() {
  printf '{"type": "%s", "uri": "%s", "version": "%s", "sha256": "%s", "size": %s%s}' \
    "$1" "$(basename "$2")" "$3" "$(sha_of "$2")" "$(size_of "$2")" "${4:-}"
}
# manifest OUT NODE...: {"nodes": [NODE, ...]}
manifest() { local out=$1; shift; local IFS=,; printf '{"nodes": [%s]}\n' "$*" > "$out"; }
STORAGE_NODE=', "label": "storage", "staging": "staging"'
# jv FILE EXPR: json, with EXPR in parentheses so that "a, b" prints as a tuple.
jv() { json "$1" "($2)"; }
# state EXPR: a Python expression over FLASH.service parsed as `d`.
state() { jv "$T/flash.bin.service" "$1"; }
