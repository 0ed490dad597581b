#!/usr/bin/env bash
# The update service against a real nginx: a manifest over https (test CA) whose relative
# URIs bring an app and a data partition in one run; plain http refused unless allowed;
# not newer -> skipped with no image downloaded (nginx's log); a node's own CA
# (cert_pem); a wrong SHA-256, a broken data image with break_after_fail and a data
# update cut in its copy, over http; a download cut by a power cut and continued with a
# range request; and otakit-device polling a manifest that changes: If-None-Match -> 304
# while it is the same, applied once when it changes, the device rebooted into the new
# app.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nginx.sh"
source "$(dirname "$0")/service_lib.sh"
: "${OTAKIT_BUILD:?set OTAKIT_BUILD to the build folder}"
DEV="$OTAKIT_BUILD/otakit-device"
# How long the polling device gets to notice a change (x 0.1 s).
WAIT_TRIES=150

head -c 40000 /dev/urandom > "$T/payload.bin"
app_image V1.0.0 "$T/v1.bin"
mkdir -p "$T/www/fleet/img"
app_image V2.0.0 "$T/www/fleet/img/app-2.bin"
app_image V3.0.0 "$T/www/fleet/img/app-3.bin"
head -c 25000 /dev/urandom > "$T/www/fleet/img/storage-1.bin"
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --size 4MB --write factory="$T/v1.bin" -o "$T/flash.bin"
M="$T/www/fleet/manifest.json"
rel() { sed "s#\"uri\": \"#\"uri\": \"img/#"; }  # node URIs relative to the manifest: img/NAME

make_certs
nginx_start
HTTPS="https://127.0.0.1:$HTTPS_PORT"
HTTP="http://127.0.0.1:$HTTP_PORT"

# ---- https: app + data in one run, relative URIs ----------------------------------------
manifest "$M" "$(node app "$T/www/fleet/img/app-2.bin" V2.0.0 | rel)" \
  "$(node data "$T/www/fleet/img/storage-1.bin" V1.0.1 "$STORAGE_NODE" | rel)"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$HTTPS/fleet/manifest.json" --ca "$T/pki/ca.pem"
expect_grep "\[1/2\] app ota_0: success" "$T/out"
expect_grep "\[2/2\] data storage: success: storage V1.0.1 written (25000 bytes" "$T/out"
expect_grep "reboot: svc-app V2.0.0 runs from ota_0" "$T/out"
holds "$T/flash.bin" $STORAGE "$T/www/fleet/img/storage-1.bin" || fail "storage over https"
cmp <(region "$T/flash.bin" $OTA0 0x20000 | head -c "$(size_of "$T/www/fleet/img/app-2.bin")") "$T/www/fleet/img/app-2.bin" || fail "ota_0 over https"
for f in manifest.json img/app-2.bin img/storage-1.bin; do
  nginx_requests | grep -q "GET /fleet/$f HTTP/1.1 \"-\" 200" || { nginx_requests; fail "GET $f"; }
done
# The wrong CA: the manifest is refused, nothing runs.
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$HTTPS/fleet/manifest.json" --ca "$T/pki/other-ca.pem"
expect_grep "manifest $HTTPS/fleet/manifest.json" "$T/err"

# ---- plain http: refused unless allowed; then not newer -> skipped, nothing downloaded --
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$HTTP/fleet/manifest.json"
expect_grep "allow-http" "$T/err"
before=$(nginx_requests | grep -c "GET /fleet/img/" || true)
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$HTTP/fleet/manifest.json" --allow-http
expect_grep "done: 0 succeeded, 2 skipped, 0 failed, 0 not run; no reboot needed" "$T/out"
[ "$(nginx_requests | grep -c "GET /fleet/img/" || true)" = "$before" ] || fail "a skipped node downloaded its image"

# ---- a node's own CA (ADF's cert_pem) replaces the run's CA for that node ---------------
pem() { "$PY" -c 'import json, sys; print(json.dumps(open(sys.argv[1]).read()))' "$1"; }
head -c 25000 /dev/urandom > "$T/www/fleet/img/storage-2.bin"
manifest "$M" "$(node data "$T/www/fleet/img/storage-2.bin" V1.0.2 "$STORAGE_NODE, \"cert_pem\": $(pem "$T/pki/other-ca.pem")" | rel)"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$HTTPS/fleet/manifest.json" --ca "$T/pki/ca.pem"
expect_grep "\[1/1\] data storage: failed (STREAM_INIT_FAIL)" "$T/err"
holds "$T/flash.bin" $STORAGE "$T/www/fleet/img/storage-1.bin" || fail "storage changed by a refused node"
manifest "$M" "$(node data "$T/www/fleet/img/storage-2.bin" V1.0.2 "$STORAGE_NODE, \"cert_pem\": $(pem "$T/pki/ca.pem")" | rel)"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$HTTPS/fleet/manifest.json" --ca "$T/pki/ca.pem"
holds "$T/flash.bin" $STORAGE "$T/www/fleet/img/storage-2.bin" || fail "storage-2 with the node's CA"

# ---- a wrong SHA-256 over http: the image is downloaded, refused, nothing selected ------
bad_sha=$(printf 'a%.0s' {1..64})
manifest "$M" "$(node app "$T/www/fleet/img/app-3.bin" V3.0.0 | rel | sed "s/\"sha256\": \"[0-9a-f]*\"/\"sha256\": \"$bad_sha\"/")"
cp "$T/flash.bin" "$T/before.bin"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$HTTP/fleet/manifest.json" --allow-http
expect_grep "failed (SHA256_MISMATCH)" "$T/err"
cmp <(region "$T/flash.bin" 0xd000 0x2000) <(region "$T/before.bin" 0xd000 0x2000) || fail "otadata changed"

# ---- over http too: a broken data image stops the list (break_after_fail); a data update
# cut inside its copy is completed by the next run ----------------------------------------
head -c 9000 /dev/urandom > "$T/tone.raw"
data_image V1.3.0 "$T/tone.raw" "$T/www/fleet/img/tone.bin"
cp "$T/www/fleet/img/tone.bin" "$T/www/fleet/img/tone-broken.bin"
printf '\x07' | dd of="$T/www/fleet/img/tone-broken.bin" bs=1 seek=9 conv=notrunc status=none
manifest "$M" "$(node data "$T/www/fleet/img/tone-broken.bin" V1.3.0 "$STORAGE_NODE, \"break_after_fail\": true" | rel)" \
  "$(node app "$T/www/fleet/img/app-3.bin" V3.0.0 | rel)"
expect_exit 1 "$OTAKIT" service --json "$T/flash.bin" "$HTTP/fleet/manifest.json" --allow-http
[ "$(jv "$T/out" '[(n["status"], n["reason"]) for n in d["nodes"]]')" = "[('failed', 'IMAGE_INVALID'), ('not_run', 'NOT_RUN')]" ] || { cat "$T/out"; fail "broken image over http"; }
holds "$T/flash.bin" $STORAGE "$T/www/fleet/img/storage-2.bin" || fail "storage changed by a broken image"
manifest "$M" "$(node data "$T/www/fleet/img/tone.bin" V1.3.0 "$STORAGE_NODE" | rel)"
# tone.bin: 9032 bytes = 3 sectors + 36 pages into staging; the copy erases storage (one
# block) and programs 36 pages: cut in the copy.
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$HTTP/fleet/manifest.json" --allow-http --power-cut 50
[ "$(state 'd["commit"]["target"]')" = storage ] || fail "commit record after the cut"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$HTTP/fleet/manifest.json" --allow-http
expect_grep "recovery: storage V1.3.0 copied from staging" "$T/out"
expect_grep "\[1/1\] data storage: skipped: storage holds V1.3.0" "$T/out"
holds "$T/flash.bin" $STORAGE "$T/www/fleet/img/tone.bin" || fail "storage not repaired"

# ---- a power cut in the middle of a download: the next run asks for the rest (Range) ---
head -c 300000 /dev/urandom > "$T/big-payload.bin"
expect_exit 0 "$OTAKIT" image make --project-name svc-app --version V2.5.0 "$T/big-payload.bin" -o "$T/www/fleet/img/app-big.bin"
manifest "$M" "$(node app "$T/www/fleet/img/app-big.bin" V2.5.0 | rel)"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$HTTP/fleet/manifest.json" --allow-http --power-cut 700
offset=$(state 'd["resume"]["offset"]')
[ "$offset" -gt 0 ] || fail "no checkpoint"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$HTTP/fleet/manifest.json" --allow-http
expect_grep "reboot: svc-app V2.5.0 runs from ota_1" "$T/out"
nginx_requests | grep -q "GET /fleet/img/app-big.bin HTTP/1.1 \"bytes=$offset-\" 206" || { nginx_requests; fail "no range request from $offset"; }

# ---- a polling device, and a manifest that changes --------------------------------------
manifest "$M" "$(node data "$T/www/fleet/img/storage-1.bin" V1.0.1 "$STORAGE_NODE" | rel)"
v3_gets=$(nginx_requests | grep -c "GET /fleet/img/app-3.bin" || true)
OTAKIT_ALLOW_HTTP=1 "$DEV" --flash "$T/flash.bin" --manifest "$HTTP/fleet/manifest.json" \
  --poll 0.2 >"$T/dev.log" 2>&1 &
DEV_PID=$!
# wait_log PATTERN COUNT: until the device log has COUNT lines matching PATTERN.
wait_log() {
  for _ in $(seq "$WAIT_TRIES"); do
    [ "$(grep -c -- "$1" "$T/dev.log" || true)" -ge "$2" ] && return 0
    kill -0 "$DEV_PID" 2>/dev/null || { cat "$T/dev.log"; fail "the device stopped"; }
    sleep 0.1
  done
  cat "$T/dev.log"; fail "no '$1' (x$2) in the device log"
}
wait_log "service: manifest $HTTP/fleet/manifest.json: 1 node" 1
wait_log "service: manifest unchanged (ETag " 3
grep -q "service: \[1/1\] data storage: skipped" "$T/dev.log" || fail "storage is up to date"
nginx_requests | grep -q "GET /fleet/manifest.json HTTP/1.1 \"-\" 304" || fail "no 304 for an unchanged manifest"
# The fleet's manifest changes (other content, other size: another ETag).
manifest "$M" "$(node app "$T/www/fleet/img/app-3.bin" V3.0.0 | rel)" \
  "$(node data "$T/www/fleet/img/storage-1.bin" V1.0.1 "$STORAGE_NODE" | rel)"
wait_log "service: manifest $HTTP/fleet/manifest.json: 2 nodes" 1
wait_log "app: svc-app V3.0.0 running from ota_0 (PENDING_VERIFY)" 1
wait_log "service: manifest unchanged (ETag " 5
kill -TERM "$DEV_PID"
wait "$DEV_PID" || fail "the device exited with $?"
grep -q "service: \[1/2\] app ota_0: success" "$T/dev.log" || fail "v3 installed"
grep -q "service: rebooting: a node that succeeded asked for it" "$T/dev.log" || fail "rebooted"
grep -q "device: power off" "$T/dev.log" || fail "powered off on SIGTERM"
[ "$(grep -c "service: manifest $HTTP/fleet/manifest.json:" "$T/dev.log")" = 2 ] || { cat "$T/dev.log"; fail "each manifest applied once"; }
[ "$(nginx_requests | grep -c "GET /fleet/img/app-3.bin")" = $((v3_gets + 1)) ] || fail "v3 downloaded once"
echo "service http: ok"
