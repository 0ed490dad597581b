#!/usr/bin/env bash
# Signed manifests (docs/manifest.md): a device given a P-256 key (otakit device config
# --manifest-key) takes only manifests signed with it. With file:// and then nginx:
# unsigned, wrongly signed, changed after signing, older and expired manifests are refused
# with their reason and leave flash and state byte-identical with no image fetched; a
# manifest signed by `otakit service sign`, or by plain `openssl dgst`, is accepted and
# raises the floor kept in FLASH.service; otakit's signature verifies with openssl;
# `otakit service verify`; --manifest-key none goes back to unsigned manifests;
# otakit-device --manifest refuses the same way.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nginx.sh"
source "$(dirname "$0")/service_lib.sh"
: "${OTAKIT_BUILD:?set OTAKIT_BUILD to the build folder}"
DEV="$OTAKIT_BUILD/otakit-device"
FUTURE="2100-01-01T00:00:00Z"
PAST="2000-01-01T00:00:00Z"

head -c 40000 /dev/urandom > "$T/payload.bin"
mkdir -p "$T/www/fleet"
app_image V1.0.0 "$T/v1.bin"
app_image V2.0.0 "$T/www/fleet/v2.bin"
app_image V3.0.0 "$T/www/fleet/v3.bin"
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --size 4MB --write factory="$T/v1.bin" -o "$T/flash.bin"
M="$T/www/fleet/manifest.json"
# signed_manifest VERSION EXPIRES NODE: a manifest with the signed fields.
signed_manifest() {
  printf '{"manifest_version": %s, "expires": "%s", "nodes": [%s]}\n' "$1" "$2" "$3" > "$M"
}
# snapshot / unchanged: the device's flash and state file are as they were.
snapshot() { cp "$T/flash.bin" "$T/before.bin"; cp "$T/flash.bin.service" "$T/before.service" 2>/dev/null || rm -f "$T/before.service"; }
unchanged() {
  cmp "$T/flash.bin" "$T/before.bin" || fail "$1: the flash changed"
  if [ -f "$T/before.service" ]; then cmp "$T/flash.bin.service" "$T/before.service" || fail "$1: the state changed"
  else [ ! -f "$T/flash.bin.service" ] || fail "$1: a state file appeared"; fi
}

# ---- keys: made by openssl; the device keeps the public point ---------------------------
( cd "$T" && openssl ecparam -name prime256v1 -genkey -noout -out key.pem &&
  openssl ec -in key.pem -pubout -out pub.pem && openssl ecparam -name prime256v1 -genkey -noout -out other.pem &&
  openssl ecparam -name secp384r1 -genkey -noout -out p384.pem && openssl genpkey -algorithm ed25519 -out ed.pem ) 2>/dev/null
point=$(openssl ec -in "$T/pub.pem" -pubin -outform DER 2>/dev/null | tail -c 64 | od -An -v -tx1 | tr -d ' \n')
expect_exit 0 "$OTAKIT" device config "$T/flash.bin" --manifest-key "$T/pub.pem" --json
[ "$(jv "$T/out" 'd["device"]["manifest_key"]')" = "$point" ] || fail "the key's point"
expect_grep "manifest_key          = $point" "$T/flash.bin.device"
# A private key gives the same point; other curves and no key at all are refused.
expect_exit 0 "$OTAKIT" device config "$T/flash.bin" --manifest-key "$T/key.pem" --json
[ "$(jv "$T/out" 'd["device"]["manifest_key"]')" = "$point" ] || fail "the private key's point"
expect_exit 1 "$OTAKIT" device config "$T/flash.bin" --manifest-key "$T/p384.pem"
expect_grep "not a P-256 (prime256v1) EC key: its curve is secp384r1" "$T/err"
expect_exit 1 "$OTAKIT" device config "$T/flash.bin" --manifest-key "$T/ed.pem"
expect_grep "not a P-256 (prime256v1) EC key" "$T/err"
expect_exit 1 "$OTAKIT" device config "$T/flash.bin" --manifest-key "$T/payload.bin"
expect_grep "not a PEM public or private key" "$T/err"
expect_grep "manifest_key          = $point" "$T/flash.bin.device"

# ---- file://: refusals first, nothing written, nothing fetched --------------------------
signed_manifest 5 "$FUTURE" "$(node app "$T/www/fleet/v2.bin" V2.0.0)"
# The first power-on confirms the factory app; after it the device is steady.
expect_exit 0 "$OTAKIT" device status "$T/flash.bin"
snapshot
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "manifest file://$M: not signed, and the device has a manifest key (cannot open $M.sig" "$T/err"
unchanged "unsigned"
expect_exit 0 "$OTAKIT" service sign --key "$T/other.pem" "$M"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "signature: does not verify under the device's manifest key" "$T/err"
unchanged "another key"
expect_exit 0 "$OTAKIT" service sign --key "$T/key.pem" "$M" -o "$T/good.sig"
cp "$T/good.sig" "$M.sig"
sed -i 's/V2.0.0/V2.0.1/' "$M"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "does not verify" "$T/err"
unchanged "changed after signing"
head -c 100 /dev/urandom > "$M.sig"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "larger than a signature (72 bytes at most)" "$T/err"
unchanged "a large signature file"
signed_manifest 5 "$PAST" "$(node app "$T/www/fleet/v2.bin" V2.0.0)"
expect_exit 0 "$OTAKIT" service sign --key "$T/key.pem" "$M"
expect_exit 1 "$OTAKIT" service --json "$T/flash.bin" "$M"
[ "$(jv "$T/out" 'd["ok"], d["manifest"], d["nodes"]')" = "(False, None, [])" ] || fail "expired --json"
expect_grep "manifest expired at $PAST" "$T/out"
unchanged "expired"

# ---- the good one: signed by otakit, checked by openssl, accepted ------------------------
signed_manifest 5 "$FUTURE" "$(node app "$T/www/fleet/v2.bin" V2.0.0)"
expect_exit 0 "$OTAKIT" service sign --key "$T/key.pem" "$M"
expect_grep "Wrote $M.sig: ECDSA P-256 signature of $M" "$T/out"
openssl dgst -sha256 -verify "$T/pub.pem" -signature "$M.sig" "$M" >/dev/null || fail "openssl rejects otakit's signature"
expect_exit 0 "$OTAKIT" service verify --key "$T/pub.pem" "$M"
expect_grep "signature valid ($M.sig); manifest_version 5, expires $FUTURE" "$T/out"
expect_exit 1 "$OTAKIT" service verify --key "$T/other.pem" "$M"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "\[1/1\] app ota_0: success: V2.0.0 installed" "$T/out"
[ "$(state 'd["manifest_floor"]["version"], d["manifest_floor"]["sha256"]')" = "(5, '$(sha_of "$M")')" ] || fail "the floor"

# ---- an older manifest (validly signed, unexpired) is refused ---------------------------
cp "$M" "$T/v5.json"; cp "$M.sig" "$T/v5.json.sig"
signed_manifest 4 "$FUTURE" "$(node app "$T/www/fleet/v3.bin" V3.0.0)"
expect_exit 0 "$OTAKIT" service sign --key "$T/key.pem" "$M"
snapshot
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "manifest_version 4 is below 5, the last one this device accepted" "$T/err"
unchanged "older"
# Signed by plain openssl (no otakit on the publisher's side): accepted.
signed_manifest 6 "$FUTURE" "$(node app "$T/www/fleet/v3.bin" V3.0.0)"
openssl dgst -sha256 -sign "$T/key.pem" -out "$M.sig" "$M"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "\[1/1\] app ota_1: success: V3.0.0 installed" "$T/out"
[ "$(state 'd["manifest_floor"]["version"]')" = 6 ] || fail "the floor after 6"
# Now even the old v5 is refused (a replay of the real thing).
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$T/v5.json"
expect_grep "manifest_version 5 is below 6" "$T/err"

# ---- otakit-device --manifest refuses the same way --------------------------------------
cp "$T/v5.json" "$M"; cp "$T/v5.json.sig" "$M.sig"
snapshot
expect_exit 1 "$DEV" --flash "$T/flash.bin" --manifest "$M"
expect_grep "E (.*) service: manifest file://$M: manifest_version 5 is below 6" "$T/out"
expect_grep "V3.0.0 running from ota_1" "$T/out"

# ---- no key again: unsigned manifests go ------------------------------------------------
expect_exit 0 "$OTAKIT" device config "$T/flash.bin" --manifest-key none
expect_grep "manifest_key          = none" "$T/flash.bin.device"
manifest "$M" "$(node app "$T/www/fleet/v2.bin" V2.0.0)"
rm -f "$M.sig"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "skipped" "$T/out"

# ---- nginx: the signature beside the manifest, over https -------------------------------
expect_exit 0 "$OTAKIT" device config "$T/flash.bin" --manifest-key "$T/pub.pem"
make_certs
nginx_start
HTTPS="https://127.0.0.1:$HTTPS_PORT"
app_image V4.0.0 "$T/www/fleet/v4.bin"
signed_manifest 7 "$FUTURE" "$(node app "$T/www/fleet/v4.bin" V4.0.0)"
snapshot
# No signature on the server: 404, refused, the image never requested.
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$HTTPS/fleet/manifest.json?fleet=a" --ca "$T/pki/ca.pem"
expect_grep "not signed, and the device has a manifest key (HTTP 404" "$T/err"
nginx_requests | grep -q "GET /fleet/manifest.json.sig?fleet=a HTTP/1.1 \"-\" 404" || { nginx_requests; fail "no GET of the .sig"; }
unchanged "unsigned over https"
expect_exit 0 "$OTAKIT" service sign --key "$T/other.pem" "$M"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$HTTPS/fleet/manifest.json" --ca "$T/pki/ca.pem"
expect_grep "does not verify" "$T/err"
unchanged "another key over https"
if nginx_requests | grep -q "GET /fleet/v4.bin"; then nginx_requests; fail "a refused manifest's image was fetched"; fi
expect_exit 0 "$OTAKIT" service sign --key "$T/key.pem" "$M"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$HTTPS/fleet/manifest.json" --ca "$T/pki/ca.pem"
expect_grep "\[1/1\] app ota_0: success: V4.0.0 installed" "$T/out"
nginx_requests | grep -q "GET /fleet/manifest.json.sig HTTP/1.1 \"-\" 200" || fail "the .sig over https"
nginx_requests | grep -q "GET /fleet/v4.bin HTTP/1.1 \"-\" 200" || fail "the image over https"
[ "$(state 'd["manifest_floor"]["version"]')" = 7 ] || fail "the floor after 7"
echo "service signed: ok"
