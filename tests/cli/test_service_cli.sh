#!/usr/bin/env bash
# otakit service FLASH MANIFEST_URI with file:// manifests: an app and a data partition in
# one run (bytes in the slot, the staging and the data partition, otadata, the state
# file), the reboot flag, not newer -> skipped (flash byte-identical, no reboot), a broken
# data image, a wrong SHA-256, break_after_fail, the order of events (--json), power cut
# inside the staging download and inside the copy -> repaired by the next run, a data
# partition written in place, an app download resumed after a power cut, and the
# manifest's own errors.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/service_lib.sh"
: "${OTAKIT_BUILD:?set OTAKIT_BUILD to the build folder}"
DEV="$OTAKIT_BUILD/otakit-device"

head -c 40000 /dev/urandom > "$T/payload.bin"
mkdir -p "$T/www"
app_image V1.0.0 "$T/v1.bin"
app_image V2.0.0 "$T/www/v2.bin"
app_image V3.0.0 "$T/www/v3.bin"
head -c 20000 /dev/urandom > "$T/www/storage-a.bin"
head -c 30000 /dev/urandom > "$T/www/storage-b.bin"
head -c 9000 /dev/urandom > "$T/tone.raw"
data_image V1.2.0 "$T/tone.raw" "$T/www/tone.bin"
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --size 4MB --write factory="$T/v1.bin" -o "$T/flash.bin"
M="$T/www/manifest.json"

# ---- app + data in one run: relative URIs, the reboot the app node asks for -------------
manifest "$M" "$(node app "$T/www/v2.bin" V2.0.0)" "$(node data "$T/www/storage-a.bin" V1.0.1 "$STORAGE_NODE")"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "manifest file://$T/www/manifest.json: 2 nodes" "$T/out"
expect_grep "\[1/2\] app ota_0: has V1.0.0, image V2.0.0" "$T/out"
expect_grep "\[1/2\] app ota_0: success: V2.0.0 installed in ota_0" "$T/out"
expect_grep "\[2/2\] data storage: has no known version, image V1.0.1" "$T/out"
expect_grep "\[2/2\] data storage: success: storage V1.0.1 written (20000 bytes" "$T/out"
expect_grep "done: 2 succeeded, 0 skipped, 0 failed, 0 not run; reboot requested" "$T/out"
expect_grep "reboot: svc-app V2.0.0 runs from ota_0; its self-test: confirmed" "$T/out"
cmp <(region "$T/flash.bin" $OTA0 0x20000 | head -c "$(size_of "$T/www/v2.bin")") "$T/www/v2.bin" || fail "ota_0 bytes"
holds "$T/flash.bin" $STORAGE "$T/www/storage-a.bin" || fail "storage holds the image, then 0xFF"
cmp <(region "$T/flash.bin" $STAGING $DATA_SIZE | head -c 20000) "$T/www/storage-a.bin" || fail "staged copy"
# otadata entry 0: seq 1, VALID (booted and confirmed by the reboot).
[ "$(hex_at "$T/flash.bin" 0xd000 4)$(hex_at "$T/flash.bin" 0xd018 4)" = "0100000002000000" ] || fail "otadata seq 1 VALID"
[ "$(state 'd["partitions"][0]["label"], d["partitions"][0]["state"], d["partitions"][0]["version"], d["partitions"][0]["size"]')" = "('storage', 'valid', 'V1.0.1', 20000)" ] || fail "state record"
[ "$(state '"commit" in d, "resume" in d')" = "(False, False)" ] || fail "nothing pending"
[ "$(state 'd["manifest"]["sha256"]')" = "$(sha_of "$M")" ] || fail "manifest remembered"

# ---- the same list again: both skipped, nothing written, no reboot -----------------------
cp "$T/flash.bin" "$T/before.bin"
expect_exit 0 "$OTAKIT" service --json "$T/flash.bin" "$M"
cp "$T/out" "$T/skip.json"
[ "$(jv "$T/skip.json" '[n["status"] for n in d["nodes"]]')" = "['skipped', 'skipped']" ] || fail "skipped"
[ "$(jv "$T/skip.json" '[n["reason"] for n in d["nodes"]]')" = "['NO_HIGHER_VERSION', 'NO_HIGHER_VERSION']" ] || fail "reasons"
[ "$(jv "$T/skip.json" 'd["reboot"], d["rebooted"], d["ok"]')" = "(False, False, True)" ] || fail "a skip never reboots"
cmp "$T/flash.bin" "$T/before.bin" || fail "skipped nodes changed the flash"
# An older app is skipped as well, without downloading (its URI does not even exist).
manifest "$M" '{"type": "app", "uri": "gone.bin", "version": "V1.5.0"}'
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "skipped: the list's V1.5.0 is not newer than the running V2.0.0: nothing downloaded" "$T/out"

# ---- the order of events (--json): recovery, start, per node begin/version/result, finish
manifest "$M" "$(node data "$T/www/tone.bin" V1.2.0 ', "label": "storage"')" "$(node app "$T/www/v3.bin" V3.0.0 ', "reboot_flag": false')"
expect_exit 0 "$OTAKIT" service --json "$T/flash.bin" "$M"
cp "$T/out" "$T/order.json"
[ "$(jv "$T/order.json" '" ".join(e["event"] + ("" if "index" not in e.get("result", e) else str(e.get("result", e)["index"])) for e in d["events"])')" = \
  "start node_begin0 version0 result0 node_begin1 version1 result1 finish" ] || { cat "$T/order.json"; fail "event order"; }
# Data with a header, in place (no staging named): its own header says V1.2.0.
holds "$T/flash.bin" $STORAGE "$T/www/tone.bin" || fail "tone image in place"
[ "$(jv "$T/order.json" 'd["nodes"][0]["current_version"], d["nodes"][0]["incoming_version"]')" = "('V1.0.1', 'V1.2.0')" ] || fail "tone versions"
# reboot_flag false: installed, selected (NEW), not rebooted.
[ "$(jv "$T/order.json" 'd["reboot"], d["rebooted"], d["running"]["version"], d["otadata"][1]["state"]')" = "(False, False, 'V2.0.0', 'NEW')" ] || fail "no reboot without the flag"
# Run again: the power-on that starts every run boots V3 (its self-test confirms it), so
# both nodes are now up to date.
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "\[2/2\] app ota_0: skipped: the list's V3.0.0 is not newer than the running V3.0.0" "$T/out"
expect_grep "\[1/2\] data storage: skipped: storage holds V1.2.0" "$T/out"

# ---- a broken data image (its header's CRC) and a wrong SHA-256: nothing touched --------
cp "$T/www/tone.bin" "$T/www/broken.bin"
printf '\x09' | dd of="$T/www/broken.bin" bs=1 seek=8 conv=notrunc status=none  # version byte
data_image V1.3.0 "$T/tone.raw" "$T/www/tone-3.bin"
cp "$T/flash.bin" "$T/before.bin"
manifest "$M" "$(node data "$T/www/broken.bin" V1.3.0 "$STORAGE_NODE")"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "\[1/1\] data storage: failed (IMAGE_INVALID): .*broken data header: CRC" "$T/err"
cmp "$T/flash.bin" "$T/before.bin" || fail "a broken data image changed the flash"
bad_sha=$(printf '0%.0s' {1..64})
manifest "$M" "$(node data "$T/www/tone-3.bin" V1.3.0 "$STORAGE_NODE" | sed "s/\"sha256\": \"[0-9a-f]*\"/\"sha256\": \"$bad_sha\"/")"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "failed (SHA256_MISMATCH): SHA-256 of file://$T/www/tone-3.bin is" "$T/err"
holds "$T/flash.bin" $STORAGE "$T/www/tone.bin" || fail "a wrong SHA-256 reached storage"
cmp <(region "$T/flash.bin" 0xd000 0x2000) <(region "$T/before.bin" 0xd000 0x2000) || fail "otadata changed"
[ "$(state '"commit" in d, d["partitions"][0]["state"]')" = "(False, 'valid')" ] || fail "state after a wrong hash"

# ---- break_after_fail: the failed node stops the list ----------------------------------
app_image V4.0.0 "$T/www/v4.bin"
manifest "$M" "$(node data "$T/www/tone-3.bin" V1.3.0 "$STORAGE_NODE, \"break_after_fail\": true" | sed "s/\"sha256\": \"[0-9a-f]*\"/\"sha256\": \"$bad_sha\"/")" \
  "$(node app "$T/www/v4.bin" V4.0.0)"
expect_exit 1 "$OTAKIT" service --json "$T/flash.bin" "$M"
[ "$(jv "$T/out" '[n["status"] for n in d["nodes"]], d["not_run"], d["rebooted"]')" = "(['failed', 'not_run'], 1, False)" ] || fail "break_after_fail"
cmp <(region "$T/flash.bin" 0xd000 0x2000) <(region "$T/before.bin" 0xd000 0x2000) || fail "the app after the break ran"
# Without the flag, the app runs and its reboot happens.
manifest "$M" "$(node data "$T/www/tone-3.bin" V1.3.0 "$STORAGE_NODE" | sed "s/\"sha256\": \"[0-9a-f]*\"/\"sha256\": \"$bad_sha\"/")" \
  "$(node app "$T/www/v4.bin" V4.0.0)"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "\[2/2\] app ota_0: success" "$T/out"
expect_grep "reboot: svc-app V4.0.0 runs from ota_0" "$T/out"

# ---- power cut inside the staging download, then inside the copy: the next run repairs -
# storage-b: 30000 bytes = 8 sectors erased + 118 pages programmed into staging, then the
# copy: one 64 KiB block erase of storage + 118 pages.
manifest "$M" "$(node data "$T/www/storage-b.bin" V1.5.0 "$STORAGE_NODE")"
for cut in 60:torn 130:torn 170:cut-before 175:cut-after; do
  cp "$T/flash.bin" "$T/pre-cut.bin"
  cp "$T/flash.bin.service" "$T/pre-cut.service"
  expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M" --power-cut "$cut"
  expect_grep "the power was cut" "$T/err"
  n=${cut%%:*}
  if [ "$n" -lt 126 ]; then  # in the download: storage untouched, nothing committed
    holds "$T/flash.bin" $STORAGE "$T/www/tone.bin" || fail "cut $cut: storage changed"
    [ "$(state '"commit" in d')" = False ] || fail "cut $cut: committed"
  else                       # in the copy: the commit record says so
    [ "$(state 'd["commit"]["target"], d["partitions"][0]["state"]')" = "('storage', 'torn')" ] || fail "cut $cut: commit record"
  fi
  expect_exit 0 "$OTAKIT" service --json "$T/flash.bin" "$M"
  holds "$T/flash.bin" $STORAGE "$T/www/storage-b.bin" || fail "cut $cut: not repaired"
  if [ "$n" -lt 126 ]; then
    [ "$(jv "$T/out" 'd["recovered"], d["nodes"][0]["status"]')" = "(0, 'success')" ] || fail "cut $cut: redone"
  else
    [ "$(jv "$T/out" 'd["recovered"], d["events"][0]["event"], d["nodes"][0]["status"]')" = "(1, 'recover', 'skipped')" ] || fail "cut $cut: recovered"
  fi
  [ "$(state '"commit" in d, d["partitions"][0]["version"]')" = "(False, 'V1.5.0')" ] || fail "cut $cut: record"
  cp "$T/pre-cut.bin" "$T/flash.bin"
  cp "$T/pre-cut.service" "$T/flash.bin.service"
done

# In place (no staging partition): a cut leaves the partition marked torn; the next run
# says so and writes it again.
manifest "$M" "$(node data "$T/www/storage-b.bin" V1.5.0 ', "label": "storage"')"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M" --power-cut 40
[ "$(state 'd["partitions"][0]["state"]')" = torn ] || fail "in place: torn"
expect_exit 0 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "recovery: storage is torn" "$T/err"
expect_grep "\[1/1\] data storage: has no known version, image V1.5.0" "$T/out"
holds "$T/flash.bin" $STORAGE "$T/www/storage-b.bin" || fail "in place: redone"

# ---- the device runs a list itself: otakit-device --manifest --------------------------
app_image V5.0.0 "$T/www/v5.bin"
manifest "$M" "$(node app "$T/www/v5.bin" V5.0.0)"
expect_exit 0 "$DEV" --flash "$T/flash.bin" --manifest "$M"
expect_grep "I ([0-9]*) service: \[1/1\] app ota_1: success" "$T/out"
expect_grep "I ([0-9]*) service: rebooting" "$T/out"
expect_grep "app: svc-app V5.0.0 running from ota_1 (PENDING_VERIFY)" "$T/out"
expect_exit 0 "$DEV" --flash "$T/flash.bin" --manifest "$M"
expect_grep "service: manifest unchanged" "$T/out"

# ---- an app download cut by a power cut resumes from its last checkpoint (64 KiB) -------
head -c 300000 /dev/urandom > "$T/big-payload.bin"
expect_exit 0 "$OTAKIT" image make --project-name svc-app --version V6.0.0 "$T/big-payload.bin" -o "$T/www/v6.bin"
manifest "$M" "$(node app "$T/www/v6.bin" V6.0.0)"
# 300 KiB: 5 block erases and about 1170 page programs; cut in the middle of them.
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M" --power-cut 700
[ "$(state 'd["resume"]["partition"], d["resume"]["offset"] % 65536, d["resume"]["offset"] > 0')" = "('ota_0', 0, True)" ] || fail "checkpoint"
expect_exit 0 "$OTAKIT" service --json "$T/flash.bin" "$M"
[ "$(jv "$T/out" 'd["nodes"][0]["status"], d["nodes"][0]["resumed_from"] > 0, d["nodes"][0]["resumed_from"] + d["nodes"][0]["bytes"] == '"$(size_of "$T/www/v6.bin")"', d["running"]["version"]')" = \
  "('success', True, True, 'V6.0.0')" ] || { cat "$T/out"; fail "resumed"; }
[ "$(state '"resume" in d')" = False ] || fail "checkpoint dropped"

# ---- the manifest's own errors -----------------------------------------------------------
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$T/www/nosuch.json"
expect_grep "nosuch.json" "$T/err"
printf '{"nodes": [{"type": "data", "uri": "x.bin"}]}' > "$M"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "nodes\[0\].label: required for a data node" "$T/err"
printf '{"nodes": [' > "$M"
expect_exit 1 "$OTAKIT" service "$T/flash.bin" "$M"
expect_grep "not valid JSON" "$T/err"
expect_exit 2 "$OTAKIT" service "$T/flash.bin"
expect_exit 2 "$OTAKIT" service "$T/flash.bin" "$M" --power-cut 0
expect_exit 0 "$OTAKIT" service --help
expect_grep "MANIFEST_URI" "$T/out"
echo "service cli: ok"
