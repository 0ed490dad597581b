#!/usr/bin/env bash
# Anti-rollback end to end (spec §4.4): the image tool's --secure-version, the device's
# eFuse field (FLASH.device), the boot layer and esp_ota_set_boot_partition, through both
# ways an app arrives: `otakit ota` and `otakit service` (an update list with app nodes).
# A confirmed app raises the eFuse; an image below it is refused with the reason (and, as
# ESP-IDF does, its slot erased) while the running app and otadata stay; the eFuse never
# goes down; a low image put into a slot behind the engine's back does not boot. With
# secure boot on as well, a properly signed but old image is still refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/service_lib.sh"
: "${OTAKIT_BUILD:?set OTAKIT_BUILD to the build folder}"
DEV="$OTAKIT_BUILD/otakit-device"
csv="$OTAKIT_SOURCE/examples/partitions/two_ota.csv"
head -c 30000 /dev/urandom > "$T/payload.bin"
mkdir -p "$T/www"
# img VERSION SECURE_VERSION OUT
img() { app_image "$1" "$3" --secure-version "$2"; }
img V1.0.0 0 "$T/v1.bin"
img V2.0.0 2 "$T/v2.bin"
img V3.0.0 1 "$T/v3.bin"
img V5.0.0 1 "$T/www/v5.bin"
img V6.0.0 3 "$T/www/v6.bin"
efuse() { expect_exit 0 "$OTAKIT" device config --json "$T/flash.bin"; json "$T/out" '(d["device"]["efuse_secure_version"], d["device"]["secure_version"])'; }
otadata_sum() { region "$T/flash.bin" 0xd000 0x2000 | sha256sum; }
erased() { [ -z "$(region "$T/flash.bin" "$1" 0x100000 | tr -d '\377' | head -c 1)" ]; }

expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --write factory="$T/v1.bin" -o "$T/flash.bin"
expect_exit 0 "$OTAKIT" device config "$T/flash.bin" --anti-rollback on
[ "$(efuse)" = "(0, 0)" ] || fail "a new device: eFuse 0"

# ---- otakit ota: v2 (secure_version 2) installs; confirming it burns the eFuse to 2 --------
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$T/v2.bin"
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once
expect_grep "svc-app V2.0.0 running from ota_0" "$T/out"
expect_grep "eFuse: secure version 0 -> 2 (field 0x00000000 -> 0x00000003)" "$T/out"
[ "$(efuse)" = "(3, 2)" ] || fail "eFuse 2 after the confirmation"

# v3 (secure_version 1 < 2): refused at set_boot, its slot erased, nothing else changed.
before=$(otadata_sum)
expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "$T/v3.bin"
expect_grep "esp_ota_set_boot_partition on ota_1 failed: anti-rollback: the image's secure_version 1 is below the eFuse's 2; ESP-IDF refuses it and erases ota_1" "$T/err"
[ "$(otadata_sum)" = "$before" ] || fail "otadata unchanged after the refusal"
erased 0x210000 || fail "ota_1 erased (ESP-IDF's set_boot erases an image below the eFuse)"
[ "$(efuse)" = "(3, 2)" ] || fail "eFuse unchanged"
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once
expect_grep "svc-app V2.0.0 running from ota_0" "$T/out"

# ---- otakit service: the same rule for an app node -----------------------------------------
M="$T/www/manifest.json"
manifest "$M" "$(node app "$T/www/v5.bin" V5.0.0)"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "app ota_1: failed (PARTITION_WT_FAIL): file://$T/www/v5.bin: anti-rollback: its secure_version is below the eFuse's 2, so esp_ota_set_boot_partition refused it and erased ota_1" "$T/err"
[ "$(otadata_sum)" = "$before" ] || fail "otadata unchanged after the service's refusal"
erased 0x210000 || fail "ota_1 erased again"
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once
expect_grep "svc-app V2.0.0 running from ota_0" "$T/out"
# V6.0.0 (secure_version 3): installed, rebooted into, confirmed: the eFuse goes to 3.
manifest "$M" "$(node app "$T/www/v6.bin" V6.0.0)"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "app ota_1: success: V6.0.0 installed in ota_1" "$T/out"
expect_grep "reboot: svc-app V6.0.0 runs from ota_1; its self-test: confirmed" "$T/out"
[ "$(efuse)" = "(7, 3)" ] || fail "eFuse 3 after the service's update was confirmed"

# ---- boot: an old image selected behind the engine's back does not run --------------------
# ota_0 gets v3 (secure_version 1) and the newest otadata entry. With anti-rollback the
# bootloader's selection only takes entries whose app is at or above the eFuse (spec §4.1
# step 6): it passes over ota_0 and selects ota_1 (V6.0.0, 3).
expect_exit 0 "$OTAKIT" flash write "$T/flash.bin" ota_0 "$T/v3.bin"
expect_exit 0 "$OTAKIT" otadata switch "$T/flash.bin" ota_0 --state valid
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once --json
head -n 1 "$T/out" > "$T/boot.json"
json "$T/boot.json" 'd["boot"]["why"]' | grep -q "seq 3 (ota_0) refused: secure_version 1 < eFuse 3" \
  || { cat "$T/boot.json"; fail "selection passes over ota_0"; }
[ "$(json "$T/boot.json" '(d["boot"]["selected"], d["app"]["partition"], d["app"]["version"])')" = \
  "('ota_1', 'ota_1', 'V6.0.0')" ] || fail "ota_1 selected and runs"
[ "$(efuse)" = "(7, 3)" ] || fail "the eFuse never goes down"
# Burning by hand only goes up as well.
expect_exit 0 "$OTAKIT" device config "$T/flash.bin" --burn-secure-version 1
[ "$(efuse)" = "(7, 3)" ] || fail "--burn-secure-version 1 changes nothing at 3"

# ---- with secure boot on too: signed, but old, is still refused -----------------------------
openssl ecparam -name prime256v1 -genkey -noout -out "$T/ec.pem"
expect_exit 0 "$OTAKIT" image sign --key "$T/ec.pem" "$T/v3.bin" -o "$T/v3s.bin"
img V7.0.0 3 "$T/v7.bin"
expect_exit 0 "$OTAKIT" image sign --key "$T/ec.pem" "$T/v7.bin" -o "$T/v7s.bin"
expect_exit 0 "$OTAKIT" flash write "$T/flash.bin" factory "$T/v7s.bin"
expect_exit 0 "$OTAKIT" otadata switch "$T/flash.bin" factory
expect_exit 0 "$OTAKIT" device config "$T/flash.bin" --trust "$T/ec.pem" --secure-boot on
expect_exit 0 "$DEV" --flash "$T/flash.bin" --once
expect_grep "svc-app V7.0.0 running from factory" "$T/out"
expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "$T/v3s.bin"
expect_grep "anti-rollback: the image's secure_version 1 is below the eFuse's 3" "$T/err"
# The update service in secure mode: an unsigned app node is refused with the reason; the
# same app signed installs.
img V8.0.0 3 "$T/www/v8.bin"
manifest "$M" "$(node app "$T/www/v8.bin" V8.0.0)"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "app ota_0: failed (IMAGE_INVALID): file://$T/www/v8.bin: esp_ota_end: image at 0x110000: Secure Boot v2: unsigned" "$T/err"
expect_exit 0 "$OTAKIT" image sign --key "$T/ec.pem" "$T/www/v8.bin" -o "$T/www/v8s.bin"
manifest "$M" "$(node app "$T/www/v8s.bin" V8.0.0)"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "reboot: svc-app V8.0.0 runs from ota_0; its self-test: confirmed" "$T/out"
echo "ok"
