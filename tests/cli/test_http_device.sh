#!/usr/bin/env bash
# Updates pulled by a device over HTTPS from a real nginx: `otakit-device --pull URL` at
# power-on (the new app runs at the next power-on; --json; a refusal; a power cut in the
# middle resumed by the next --pull), and the ESP-IDF example app examples/https_ota, which
# calls esp_https_ota() and restarts into the new image, unchanged.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nginx.sh"
: "${OTAKIT_BUILD:?set OTAKIT_BUILD to the build folder}"
DEV="$OTAKIT_BUILD/otakit-device"
EXAMPLE="$OTAKIT_BUILD/example-https_ota"
csv="$OTAKIT_SOURCE/examples/partitions/two_ota.csv"
OTA0=0x110000 SLOT=0x100000
CP="$T/flash.bin.ota-checkpoint"
region() { dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) status=none; }
size_of() { stat -c %s "$1"; }

head -c 300000 /dev/urandom > "$T/payload.bin"
mk() { expect_exit 0 "$OTAKIT" image make --project-name dev-app --version "$1" "$T/payload.bin" -o "$2"; }
mk 1.0.0 "$T/v1.bin"
mk 2.0.0 "$T/www/v2.bin"
mkdir -p "$T/www/slow"
cp "$T/www/v2.bin" "$T/www/slow/v2.bin"
make_certs
nginx_start 'location /slow/ { limit_rate_after 100k; if ($http_range = "") { set $limit_rate 20k; } }'
HTTPS="https://127.0.0.1:$HTTPS_PORT"
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --write factory="$T/v1.bin" -o "$T/fresh.bin"

# ---- otakit-device --pull: installed at power-on, runs at the next one -------------------
cp "$T/fresh.bin" "$T/flash.bin"
SSL_CERT_FILE="$T/pki/ca.pem" expect_exit 0 "$DEV" --flash "$T/flash.bin" --once --pull "$HTTPS/v2.bin"
expect_grep "dev-app 1.0.0 running from factory" "$T/out"
expect_grep "esp_https_ota: downloading $HTTPS/v2.bin" "$T/out"
expect_grep "esp_https_ota: ota_0 <- $HTTPS/v2.bin: dev-app 2.0.0, $(size_of "$T/www/v2.bin") bytes, verified; boots at the next power-on" "$T/out"
cmp <(region "$T/flash.bin" $OTA0 $SLOT | head -c "$(size_of "$T/www/v2.bin")") "$T/www/v2.bin" || fail "ota_0 bytes"
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once
expect_grep "dev-app 2.0.0 running from ota_0 (PENDING_VERIFY)" "$T/out"

# --json: one line for the pull, after the boot's.
cp "$T/fresh.bin" "$T/flash.bin"
SSL_CERT_FILE="$T/pki/ca.pem" expect_exit 0 "$DEV" --flash "$T/flash.bin" --once --json --pull "$HTTPS/v2.bin"
tail -1 "$T/out" > "$T/pull.json"
[ "$(json "$T/pull.json" 'd["event"]')" = pull ] || fail "json event"
[ "$(json "$T/pull.json" 'd["ok"]')" = True ] || fail "json ok"
[ "$(json "$T/pull.json" 'd["partition"]')" = ota_0 ] || fail "json partition"
[ "$(json "$T/pull.json" 'd["size"]')" = "$(size_of "$T/www/v2.bin")" ] || fail "json size"

# Refused: no CA for the test server (the system store does not know it), then plain http.
cp "$T/fresh.bin" "$T/flash.bin"
SSL_CERT_FILE= expect_exit 1 "$DEV" --flash "$T/flash.bin" --once --pull "$HTTPS/v2.bin"
expect_grep "update from $HTTPS/v2.bin failed: TLS: the server is not trusted with the system CA store" "$T/err"
expect_exit 1 "$DEV" --flash "$T/flash.bin" --once --pull "http://127.0.0.1:$HTTP_PORT/v2.bin"
expect_grep "plain http:// is refused" "$T/err"
cmp "$T/flash.bin" "$T/fresh.bin" || fail "a refused pull changed the flash"
OTAKIT_ALLOW_HTTP=1 expect_exit 0 "$DEV" --flash "$T/flash.bin" --once --pull "http://127.0.0.1:$HTTP_PORT/v2.bin"

# ---- a power cut in the middle of a device's download, resumed by the next --pull -------
cp "$T/fresh.bin" "$T/flash.bin"
SSL_CERT_FILE="$T/pki/ca.pem" "$DEV" --flash "$T/flash.bin" --once --pull "$HTTPS/slow/v2.bin" >"$T/cut.out" 2>&1 &
pid=$!
for _ in $(seq 250); do [ -s "$CP" ] && break; sleep 0.02; done
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ -s "$CP" ] || { cat "$T/cut.out"; fail "no checkpoint before the power cut"; }
SSL_CERT_FILE="$T/pki/ca.pem" expect_exit 0 "$DEV" --flash "$T/flash.bin" --once --pull "$HTTPS/slow/v2.bin"
expect_grep "esp_https_ota: resumed an interrupted download at byte [1-9]" "$T/out"
nginx_requests | tail -1 | grep -q '"bytes=[0-9]*-" 206' || { nginx_requests; fail "the resume is a range request"; }
cmp <(region "$T/flash.bin" $OTA0 $SLOT | head -c "$(size_of "$T/www/v2.bin")") "$T/www/v2.bin" || fail "resumed: ota_0 bytes"
[ ! -e "$CP" ] || fail "the checkpoint is removed once installed"

# ---- the ESP-IDF example app: esp_https_ota(), restart, confirm --------------------------
cp "$T/fresh.bin" "$T/flash.bin"
expect_exit 0 "$EXAMPLE" --flash "$T/flash.bin" --url "$HTTPS/v2.bin" --ca "$T/pki/ca.pem"
expect_grep "summary: boots=2 restarts=1 stop=returned running=ota_0 version=2.0.0" "$T/out"
for line in "OTA started" "Connected to server" "Verifying chip id of new image: 0" \
            "Boot partition updated. Next Partition: 16" "OTA finish" "OTA Succeed, Rebooting" \
            "App is valid, rollback cancelled successfully"; do
  expect_grep "https_ota_example: $line" "$T/err"
done
expect_exit 0 "$OTAKIT" otadata show --json "$T/flash.bin"
[ "$(json "$T/out" 'd["boot"]')" = ota_0 ] || fail "example: ota_0 selected"
# Without the CA (the bundle = the system store) the example's update is refused.
cp "$T/fresh.bin" "$T/flash.bin"
expect_exit 0 "$EXAMPLE" --flash "$T/flash.bin" --url "$HTTPS/v2.bin"
expect_grep "Firmware upgrade failed: ESP_FAIL" "$T/err"
expect_grep "summary: boots=1 restarts=0 stop=returned running=factory" "$T/out"
expect_exit 0 "$EXAMPLE" --help
echo ok
