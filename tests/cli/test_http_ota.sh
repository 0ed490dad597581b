#!/usr/bin/env bash
# otakit ota FLASH URL against a real nginx (HTTP and HTTPS with a CA and a server
# certificate made by openssl here): a full update over each, a redirect, a chunked
# response without Content-Length; and every refusal (plain http without --allow-http, a
# wrong CA, a redirect to http, 404, 500, garbage, a wrong chip, an image larger than the
# slot, a truncated image). Each ends in a correct update or a clear error, and the running
# slot and its otadata entry stay as they were; refusals made before anything is erased
# leave the target slot as it was too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nginx.sh"
csv="$OTAKIT_SOURCE/examples/partitions/two_ota.csv"
OTA0=0x110000 OTA1=0x210000 SLOT=0x100000

region() { dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) status=none; }
size_of() { stat -c %s "$1"; }
head -c 100000 /dev/urandom > "$T/payload.bin"
mk() { expect_exit 0 "$OTAKIT" image make --project-name net-app --version "$1" "${@:3}" "$T/payload.bin" -o "$2"; }
mk 1.0.0 "$T/v1.bin"
mk 2.0.0 "$T/www/v2.bin"
mk 3.0.0 "$T/www/v3.bin"
mk 9.0.0 "$T/www/c3.bin" --chip esp32c3
head -c 50000 "$T/www/v3.bin" > "$T/www/trunc.bin"
{ printf '\x42'; head -c 70000 /dev/urandom; } > "$T/www/garbage.bin"
head -c $((SLOT + 4096)) /dev/urandom > "$T/big-payload.bin"
expect_exit 0 "$OTAKIT" image make --project-name net-app --version 8 "$T/big-payload.bin" -o "$T/www/big.bin"

make_certs
nginx_start "location = /broken.bin { return 500; }
        location = /latest.bin { return 302 /v3.bin; }
        location = /to-http.bin { return 302 http://127.0.0.1:\$server_port/v3.bin; }
        location /chunked/ { alias $T/www/; ssi on; ssi_types *; }"
HTTPS="https://127.0.0.1:$HTTPS_PORT"
HTTP="http://127.0.0.1:$HTTP_PORT"
CA=(--ca "$T/pki/ca.pem")
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --write factory="$T/v1.bin" -o "$T/flash.bin"

# ---- a full update over HTTPS: the bytes in ota_0, otadata seq 1 NEW ---------------------
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$HTTPS/v2.bin" "${CA[@]}"
[ "$(cat "$T/out")" = "ota_0 <- $HTTPS/v2.bin: net-app 2.0.0, $(size_of "$T/www/v2.bin") bytes, verified, boots next (NEW)" ] \
  || { cat "$T/out"; fail "https summary"; }
cmp <(region "$T/flash.bin" $OTA0 $SLOT | head -c "$(size_of "$T/www/v2.bin")") "$T/www/v2.bin" || fail "ota_0 bytes"
[ "$(hex_at "$T/flash.bin" 0xd000 4)$(hex_at "$T/flash.bin" 0xd018 4)" = "0100000000000000" ] || fail "otadata entry 0 seq 1 NEW"
[ ! -e "$T/flash.bin.ota-checkpoint" ] || fail "no checkpoint left after a finished update"
nginx_requests | grep -q 'GET /v2.bin HTTP/1.1 "-" 200' || fail "one plain GET"

# Boot it: v2 (ota_0) runs and confirms itself. Every refusal below must leave it so.
expect_exit 0 "$OTAKIT_BUILD/otakit-device" --flash "$T/flash.bin" --once
cp "$T/flash.bin" "$T/good.bin"
intact() { # the running slot and otadata as after v2's boot; $2: ota_1 untouched too
  cmp <(region "$T/flash.bin" $OTA0 $SLOT) <(region "$T/good.bin" $OTA0 $SLOT) || fail "$1: ota_0 (running) changed"
  cmp <(region "$T/flash.bin" 0xd000 0x2000) <(region "$T/good.bin" 0xd000 0x2000) || fail "$1: otadata changed"
  if [ "${2:-}" = untouched ]; then
    cmp <(region "$T/flash.bin" $OTA1 $SLOT) <(region "$T/good.bin" $OTA1 $SLOT) || fail "$1: ota_1 was erased or written"
  fi
  [ ! -e "$T/flash.bin.ota-checkpoint" ] || fail "$1: a checkpoint was left"
}
refused() { # refused WHY URL [options]: exit 1 with WHY on stderr, nothing selected
  local why=$1; shift
  expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "$@"
  expect_grep "$why" "$T/err"
}

# ---- refused before anything is erased --------------------------------------------------
refused "esp_https_ota_begin on ota_1 failed: plain http:// is refused ($HTTP/v3.bin)" "$HTTP/v3.bin"
intact "plain http" untouched
refused "TLS: the server is not trusted with CA file $T/pki/other-ca.pem" "$HTTPS/v3.bin" --ca "$T/pki/other-ca.pem"
intact "wrong CA" untouched
refused "TLS: the server is not trusted with the system CA store" "$HTTPS/v3.bin"
intact "no CA" untouched
refused "refused: .*plain http:// is used only when allowed" "$HTTPS/to-http.bin" "${CA[@]}"
intact "redirect to http" untouched
refused "HTTP 404 Not Found ($HTTPS/nosuch.bin)" "$HTTPS/nosuch.bin" "${CA[@]}"
intact "404" untouched
refused "HTTP 500 Internal Server Error ($HTTPS/broken.bin)" "$HTTPS/broken.bin" "${CA[@]}"
intact "500" untouched
refused "esp_https_ota_perform on ota_1 failed: $HTTPS/garbage.bin is not an ESP app image: byte 0 is 0x42, expected 0xe9" \
  "$HTTPS/garbage.bin" "${CA[@]}"
intact "garbage" untouched
refused "image is for chip id 0x0005 (ESP32-C3), this device is 0x0000 (ESP32)" "$HTTPS/c3.bin" "${CA[@]}"
intact "wrong chip" untouched
refused "the image is $(size_of "$T/www/big.bin") bytes: it does not fit ota_1 (0x100000 bytes)" "$HTTPS/big.bin" "${CA[@]}"
intact "too big" untouched
refused "Couldn't connect to server\|cannot connect" "https://127.0.0.1:$(free_port)/v3.bin" "${CA[@]}"
intact "no server" untouched
expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "ftp://127.0.0.1/v3.bin"
expect_grep "scheme 'ftp' is not supported" "$T/err"
expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "https://user@127.0.0.1/v3.bin"
expect_grep "credentials in the URL" "$T/err"

# ---- downloaded, then refused: only the slot being written changed ----------------------
refused "esp_https_ota_finish on ota_1 failed: not a valid app image for this device: image truncated" \
  "$HTTPS/trunc.bin" "${CA[@]}"
intact "truncated"

# ---- redirect and chunked: correct updates ----------------------------------------------
cp "$T/good.bin" "$T/flash.bin"
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$HTTPS/latest.bin" "${CA[@]}"
expect_grep "ota_1 <- $HTTPS/latest.bin: net-app 3.0.0" "$T/out"
cmp <(region "$T/flash.bin" $OTA1 $SLOT | head -c "$(size_of "$T/www/v3.bin")") "$T/www/v3.bin" || fail "redirect: ota_1 bytes"
nginx_requests | grep -q 'GET /latest.bin HTTP/1.1 "-" 302' || fail "the redirect was served"

cp "$T/good.bin" "$T/flash.bin"
expect_exit 0 "$OTAKIT" ota --json "$T/flash.bin" "$HTTP/chunked/v3.bin" --allow-http
[ "$(json "$T/out" 'd["ok"]')" = True ] || fail "chunked json ok"
[ "$(json "$T/out" 'd["partition"]')" = ota_1 ] || fail "chunked partition"
[ "$(json "$T/out" 'd["size"]')" = "$(size_of "$T/www/v3.bin")" ] || fail "chunked size"
[ "$(json "$T/out" 'd["state"]')" = NEW ] || fail "chunked state"
cmp <(region "$T/flash.bin" $OTA1 $SLOT | head -c "$(size_of "$T/www/v3.bin")") "$T/www/v3.bin" || fail "chunked: ota_1 bytes"
if command -v curl >/dev/null; then
  curl -s -D - -o /dev/null "$HTTP/chunked/v3.bin" | grep -qi '^transfer-encoding: chunked' || fail "nginx did not chunk"
fi

# The next power-on runs v3 from ota_1.
expect_exit 0 "$OTAKIT_BUILD/otakit-device" --flash "$T/flash.bin" --once
expect_grep "net-app 3.0.0 running from ota_1" "$T/out"

# ---- usage ----------------------------------------------------------------------------
expect_exit 2 "$OTAKIT" ota "$T/flash.bin" "$HTTPS/v3.bin" --timeout 0
expect_exit 0 "$OTAKIT" ota --help
expect_grep "allow-http" "$T/out"
echo ok
