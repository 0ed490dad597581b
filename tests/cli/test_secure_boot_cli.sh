#!/usr/bin/env bash
# Secure Boot v2 from the command line: `otakit image sign` writes the signature sector byte
# for byte as espsecure sign_data --version 2 lays it out (every field recomputed by
# tests/cli/sbv2_ref.py, a Python implementation sharing no code with otakit, and RSA-PSS
# signatures checked with the OpenSSL command line); `otakit image verify --pub` checks it
# and accepts blocks made by others; key digests match Espressif's published answer; and a
# device in secure mode (`otakit device config --secure-boot on --trust KEY`) refuses
# unsigned and wrongly-signed updates at `otakit ota` with the reason, running slot and
# otadata untouched, installs signed ones (RSA and ECDSA), and boots only signed images.
source "$(dirname "$0")/lib.sh"
: "${OTAKIT_BUILD:?set OTAKIT_BUILD to the build folder}"
DEV="$OTAKIT_BUILD/otakit-device"
REF="$OTAKIT_SOURCE/tests/cli/sbv2_ref.py"
FIX="$OTAKIT_SOURCE/tests/fixtures/sig"
csv="$OTAKIT_SOURCE/examples/partitions/two_ota.csv"
SECTOR=4096

# Keys made here, by the OpenSSL command line: two RSA-3072, one P-256.
openssl genrsa -out "$T/rsa.pem" 3072 2>/dev/null
openssl genrsa -out "$T/rsa2.pem" 3072 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$T/ec.pem"
openssl pkey -in "$T/rsa.pem" -pubout -out "$T/rsa.pub.pem"
head -c 40000 /dev/urandom > "$T/payload.bin"
size_of() { stat -c %s "$1"; }
mk() { expect_exit 0 "$OTAKIT" image make --project-name sb-app --version "$1" "${@:3}" "$T/payload.bin" -o "$T/$2"; }
mk 1.0.0 v1.bin
mk 2.0.0 v2.bin
mk 3.0.0 v3.bin --secure-pad-v2

# ---- key digests: otakit = Python = Espressif's published value ---------------------------
for k in rsa ec; do
  expect_exit 0 "$OTAKIT" image key-digest "$T/$k.pem" -o "$T/$k.digest"
  [ "$(cut -d' ' -f1 "$T/out")" = "$("$PY" "$REF" digest "$T/$k.pem")" ] || fail "$k key digest"
  [ "$(od -An -v -tx1 "$T/$k.digest" | tr -d ' \n')" = "$(cut -d' ' -f1 "$T/out")" ] || fail "$k -o bytes"
done
expect_exit 0 "$OTAKIT" image key-digest "$T/rsa.pub.pem"
[ "$(cut -d' ' -f1 "$T/out")" = "$(od -An -v -tx1 "$T/rsa.digest" | tr -d ' \n')" ] || fail "public = private digest"
# (The digest definition was also checked once, during development, against the digest
# Espressif publishes for esptool's own test key; that key is Espressif's data and is not
# kept in this repository.)

# ---- sign: the layout, field by field ------------------------------------------------------
expect_exit 0 "$OTAKIT" image sign --key "$T/rsa.pem" "$T/v1.bin" -o "$T/v1s.bin"
n=$(size_of "$T/v1.bin"); padded=$(( (n + SECTOR - 1) / SECTOR * SECTOR ))
[ "$(size_of "$T/v1s.bin")" -eq $((padded + SECTOR)) ] || fail "signed size = padded + one sector"
cmp <(head -c "$n" "$T/v1s.bin") "$T/v1.bin" || fail "the image bytes are kept"
[ -z "$(head -c "$padded" "$T/v1s.bin" | tail -c +$((n + 1)) | tr -d '\377')" ] || fail "0xFF padding"
expect_grep "signature sector at 0x$(printf %x $padded) with 1 block(s)" "$T/out"
"$PY" "$REF" check "$T/v1s.bin" "$T/rsa.pem" >/dev/null || fail "layout check (RSA)"
[ "$(hex_at "$T/v1s.bin" $padded 4)" = e7020000 ] || fail "magic, version 2, reserved"
# The RSA signature, reversed back to big-endian, verifies with the OpenSSL command line
# (PSS, SHA-256, MGF1-SHA-256, salt 32) over the SHA-256 of the padded image.
head -c "$padded" "$T/v1s.bin" | openssl dgst -sha256 -binary > "$T/digest.bin"
[ "$(hex_at "$T/v1s.bin" $((padded + 4)) 32)" = "$(od -An -v -tx1 "$T/digest.bin" | tr -d ' \n')" ] || fail "digest field"
"$PY" -c "import sys; d=open(sys.argv[1],'rb').read(); open(sys.argv[2],'wb').write(d[$padded+812:$padded+1196][::-1])" \
  "$T/v1s.bin" "$T/sig.be"
openssl pkeyutl -verify -pubin -inkey "$T/rsa.pub.pem" -in "$T/digest.bin" -sigfile "$T/sig.be" \
  -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 >/dev/null \
  || fail "openssl pkeyutl -verify of otakit's RSA-PSS signature"

# ECDSA, and --append: the RSA block kept, the ECDSA one added.
expect_exit 0 "$OTAKIT" image sign --key "$T/ec.pem" --append "$T/v1s.bin" -o "$T/v1se.bin"
expect_grep "block 0: RSA-3072, key digest .* (kept)" "$T/out"
"$PY" "$REF" check "$T/v1se.bin" "$T/rsa.pem" "$T/ec.pem" >/dev/null || fail "layout check (RSA + ECDSA)"
[ "$(hex_at "$T/v1se.bin" $((padded + 1216)) 4)" = e7030000 ] || fail "ECDSA: version 3, SHA-256"
[ "$(hex_at "$T/v1se.bin" $((padded + 1216 + 36)) 1)" = 02 ] || fail "ECDSA: curve id 2 (P-256)"
cmp <(head -c $((padded + 1216)) "$T/v1s.bin") <(head -c $((padded + 1216)) "$T/v1se.bin") || fail "kept block"
# Three keys at once, then nothing more fits.
expect_exit 0 "$OTAKIT" image sign --key "$T/rsa.pem" --key "$T/ec.pem" --key "$T/rsa2.pem" "$T/v2.bin" -o "$T/v2s3.bin"
"$PY" "$REF" check "$T/v2s3.bin" "$T/rsa.pem" "$T/ec.pem" "$T/rsa2.pem" >/dev/null || fail "three blocks"
expect_exit 1 "$OTAKIT" image sign --key "$T/rsa.pem" --append "$T/v2s3.bin" -o "$T/x.bin"
expect_grep "holds 3 blocks already" "$T/err"
expect_exit 2 "$OTAKIT" image sign --key "$T/rsa.pem" --key "$T/ec.pem" --key "$T/rsa2.pem" --key "$T/rsa.pem" "$T/v2.bin" -o "$T/x.bin"
[ ! -e "$T/x.bin" ] || fail "nothing written on a refusal"
# Keys that are not Secure Boot v2 keys.
openssl genrsa -out "$T/rsa2048.pem" 2048 2>/dev/null
expect_exit 1 "$OTAKIT" image sign --key "$T/rsa2048.pem" "$T/v2.bin" -o "$T/x.bin"
expect_grep "RSA key of 2048 bits; Secure Boot v2 takes RSA-3072 only" "$T/err"
expect_exit 1 "$OTAKIT" image sign --key "$T/rsa.pub.pem" "$T/v2.bin" -o "$T/x.bin"
expect_grep "not an unencrypted PEM private key" "$T/err"
# --secure-pad-v2: the image ends on a 64 KiB page, and so the sector starts there.
[ $(( $(size_of "$T/v3.bin") % 0x10000 )) -eq 0 ] || fail "--secure-pad-v2 image length"
expect_exit 0 "$OTAKIT" image sign --key "$T/ec.pem" "$T/v3.bin" -o "$T/v3e.bin"
[ "$(hex_at "$T/v3e.bin" "$(size_of "$T/v3.bin")" 2)" = e703 ] || fail "sector on the 64 KiB boundary"

# ---- verify: --pub / --key-digest, and blocks made by others -------------------------------
expect_exit 0 "$OTAKIT" image verify --pub "$T/rsa.pub.pem" "$T/v2s3.bin"
expect_grep "block 0: RSA-3072, key digest .*: verified (trusted key 0)" "$T/out"
expect_grep "block 1: ECDSA, key digest .*: untrusted key" "$T/out"
expect_exit 0 "$OTAKIT" image verify --key-digest "$(cut -d' ' -f1 < <("$PY" "$REF" digest "$T/ec.pem"))" "$T/v1se.bin"
expect_exit 1 "$OTAKIT" image verify --pub "$T/rsa2.pem" "$T/v1se.bin"
expect_grep "invalid image: Secure Boot v2: no trusted signature (sector at 0x$(printf %x $padded)): block 0: RSA-3072 key .* not trusted; block 1: ECDSA key .* not trusted" "$T/err"
expect_exit 1 "$OTAKIT" image verify --pub "$T/rsa.pem" "$T/v1.bin"
expect_grep "Secure Boot v2: unsigned" "$T/err"
# A byte of the padding (signed, outside the image) changed: the digest no longer matches.
cp "$T/v1s.bin" "$T/bad.bin"
printf '\x00' | dd of="$T/bad.bin" bs=1 seek=$((padded - 1)) conv=notrunc status=none
expect_exit 1 "$OTAKIT" image verify --pub "$T/rsa.pem" "$T/bad.bin"
expect_grep "block 0: signs digest" "$T/err"
# Signatures made by the OpenSSL command line, wrapped in a block by the Python reference.
openssl pkeyutl -sign -inkey "$T/rsa.pem" -in "$T/digest.bin" -out "$T/ossl_rsa.sig" \
  -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32
"$PY" "$REF" assemble "$T/v1_ossl.bin" "$T/v1.bin" "$T/rsa.pub.pem" "$T/ossl_rsa.sig"
expect_exit 0 "$OTAKIT" image verify --pub "$T/rsa.pem" "$T/v1_ossl.bin"
openssl pkeyutl -sign -inkey "$T/ec.pem" -in "$T/digest.bin" -out "$T/ossl_ec.der"
"$PY" "$REF" assemble "$T/v1_ossl_ec.bin" "$T/v1.bin" "$T/ec.pem" "$T/ossl_ec.der"
expect_exit 0 "$OTAKIT" image verify --pub "$T/ec.pem" "$T/v1_ossl_ec.bin"
# PSS with a 20-byte salt is a valid PSS signature, but not what espsecure makes.
openssl pkeyutl -sign -inkey "$T/rsa.pem" -in "$T/digest.bin" -out "$T/salt20.sig" \
  -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:20
"$PY" "$REF" assemble "$T/v1_salt20.bin" "$T/v1.bin" "$T/rsa.pub.pem" "$T/salt20.sig"
expect_exit 1 "$OTAKIT" image verify --pub "$T/rsa.pem" "$T/v1_salt20.bin"
expect_grep "signature by trusted key 0 does not verify" "$T/err"

# ---- a device in secure mode ----------------------------------------------------------------
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --write factory="$T/v1s.bin" -o "$T/flash.bin"
expect_exit 2 "$OTAKIT" device config "$T/flash.bin" --secure-boot on
expect_grep "secure_boot = on needs a trusted key" "$T/err"
expect_exit 0 "$OTAKIT" device config "$T/flash.bin" --trust "$T/rsa.pub.pem" --secure-boot on
expect_grep "secure_boot           = on" "$T/out"
expect_grep "key_digest0           = $(cut -d' ' -f1 < <("$PY" "$REF" digest "$T/rsa.pem"))" "$T/out"
expect_grep "key_digest1           = none" "$T/out"
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once
expect_grep "running from factory" "$T/out"

# Refused updates: unsigned, signed by a key the device does not trust. Nothing selected,
# the running app and otadata as they were.
mk 2.0.0 v2.bin
expect_exit 0 "$OTAKIT" image sign --key "$T/rsa2.pem" "$T/v2.bin" -o "$T/v2_wrong.bin"
region() { dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) status=none | sha256sum; }
before_factory=$(region "$T/flash.bin" 0x10000 0x100000)
before_otadata=$(region "$T/flash.bin" 0xd000 0x2000)
expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "$T/v2.bin"
expect_grep "esp_ota_end on ota_0 failed: not a valid app image for this device: Secure Boot v2: unsigned" "$T/err"
expect_exit 1 "$OTAKIT" ota --json "$T/flash.bin" "$T/v2_wrong.bin"
[ "$(json "$T/out" '(d["step"], d["err"])')" = "('esp_ota_end', 'ESP_ERR_OTA_VALIDATE_FAILED')" ] || { cat "$T/out"; fail "json step"; }
json "$T/out" 'd["reason"]' | grep -q "Secure Boot v2: no trusted signature .*block 0: RSA-3072 key .* not trusted" \
  || fail "json reason: $(json "$T/out" 'd["reason"]')"
# The same through esp_https_ota (a file:// URL).
expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "file://$T/v2_wrong.bin"
expect_grep "not a valid app image for this device: image at 0x[0-9a-f]*: Secure Boot v2: no trusted signature" "$T/err"
[ "$(region "$T/flash.bin" 0x10000 0x100000)" = "$before_factory" ] || fail "factory untouched"
[ "$(region "$T/flash.bin" 0xd000 0x2000)" = "$before_otadata" ] || fail "otadata untouched"
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once
expect_grep "sb-app 1.0.0 running from factory" "$T/out"

# The signed one installs and boots.
expect_exit 0 "$OTAKIT" image sign --key "$T/rsa.pem" "$T/v2.bin" -o "$T/v2s.bin"
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$T/v2s.bin"
expect_grep "ota_0 <- $T/v2s.bin: sb-app 2.0.0" "$T/out"
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once
expect_grep "sb-app 2.0.0 running from ota_0" "$T/out"
# A second trusted key (ECDSA) in key_digest1: its images install too.
expect_exit 0 "$OTAKIT" device config "$T/flash.bin" --trust "$T/ec.pem"
expect_grep "key_digest1           = $(cut -d' ' -f1 < <("$PY" "$REF" digest "$T/ec.pem"))" "$T/out"
mk 3.0.0 v3.bin
expect_exit 0 "$OTAKIT" image sign --key "$T/ec.pem" "$T/v3.bin" -o "$T/v3e.bin"
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$T/v3e.bin"
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once
expect_grep "sb-app 3.0.0 running from ota_1" "$T/out"

# ---- boot: an unsigned image written behind the engine's back does not run --------------------
mk 4.0.0 v4.bin
expect_exit 0 "$OTAKIT" flash write "$T/flash.bin" ota_0 "$T/v4.bin"
expect_exit 0 "$OTAKIT" otadata switch "$T/flash.bin" ota_0 --state valid
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once --json
head -n 1 "$T/out" > "$T/boot.json"
[ "$(json "$T/boot.json" 'd["boot"]["selected"]')" = ota_0 ] || fail "ota_0 selected"
[ "$(json "$T/boot.json" 'd["boot"]["refused"][0]["partition"]')" = ota_0 ] || fail "ota_0 refused"
json "$T/boot.json" 'd["boot"]["refused"][0]["reason"]' | grep -q "image at 0x110000: Secure Boot v2" \
  || fail "refusal reason: $(json "$T/boot.json" 'd["boot"]["refused"][0]["reason"]')"
# The fallback walk goes down from the selection (ota_0) to the factory app (spec §4.2).
[ "$(json "$T/boot.json" '(d["app"]["partition"], d["app"]["version"])')" = "('factory', '1.0.0')" ] \
  || { cat "$T/boot.json"; fail "fell back to the signed factory app"; }
# The same device with secure boot off runs it (the reason was the signature alone).
expect_exit 0 "$OTAKIT" device config "$T/flash.bin" --secure-boot off
expect_exit 0 "$OTAKIT" otadata switch "$T/flash.bin" ota_0 --state valid
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once
expect_grep "sb-app 4.0.0 running from ota_0" "$T/out"
echo "ok"
