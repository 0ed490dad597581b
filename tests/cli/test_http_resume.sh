#!/usr/bin/env bash
# Interrupted downloads: a power cut (the process killed) in the middle of an HTTPS
# download resumes from FLASH.ota-checkpoint with one range request; a file changed on the
# server, or a server that answers 200 instead of 206, makes it start again from 0 and
# install the right image; connections dropped at many points cost one request each; a
# server that sends another version mid-download (206 with another ETag) is never spliced;
# a stalled server times out with a clear error. Real nginx for the real transfers, the
# purpose-made Python server for the misbehaviour. Each case ends in a correct update
# (bytes compared) or a clear error, with the running slot and otadata intact.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nginx.sh"
csv="$OTAKIT_SOURCE/examples/partitions/two_ota.csv"
FACTORY=0x10000 OTA0=0x110000 SLOT=0x100000
CP="$T/flash.bin.ota-checkpoint"

region() { dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) status=none; }
size_of() { stat -c %s "$1"; }
head -c 300000 /dev/urandom > "$T/payload.bin"
head -c 310000 /dev/urandom > "$T/payload3.bin"
expect_exit 0 "$OTAKIT" image make --project-name net-app --version 1.0.0 "$T/payload.bin" -o "$T/v1.bin"
expect_exit 0 "$OTAKIT" image make --project-name net-app --version 2.0.0 "$T/payload.bin" -o "$T/www/v2.bin"
expect_exit 0 "$OTAKIT" image make --project-name net-app --version 3.0.0 "$T/payload3.bin" -o "$T/www/v3.bin"
V2_SIZE=$(size_of "$T/www/v2.bin")
mkdir -p "$T/www/slow"
expect_exit 0 "$OTAKIT" flash create --partitions "$csv" --write factory="$T/v1.bin" -o "$T/fresh.bin"

# A full request past its first 100 KiB crawls, a range request runs at full speed: the
# first attempt is still downloading when the power is cut, the resumed one is quick.
SLOW='location /slow/ { limit_rate_after 100k; if ($http_range = "") { set $limit_rate 20k; } }'
make_certs
nginx_start "$SLOW"
pyserver_start
HTTPS="https://127.0.0.1:$HTTPS_PORT" PYURL="http://127.0.0.1:$PY_PORT"
CA=(--ca "$T/pki/ca.pem")

# installed FILE: ota_0 holds FILE, otadata selects it (seq 1 NEW), factory untouched.
installed() {
  cmp <(region "$T/flash.bin" $OTA0 $SLOT | head -c "$(size_of "$1")") "$1" || fail "ota_0 does not hold $1"
  [ "$(hex_at "$T/flash.bin" 0xd000 4)$(hex_at "$T/flash.bin" 0xd018 4)" = "0100000000000000" ] || fail "otadata: seq 1 NEW"
  cmp <(region "$T/flash.bin" $FACTORY $SLOT) <(region "$T/fresh.bin" $FACTORY $SLOT) || fail "the factory app changed"
  [ ! -e "$CP" ] || fail "a checkpoint is left after the update"
}
# power_cut URL [options]: run otakit ota, kill -9 it as soon as it saved a checkpoint.
power_cut() {
  "$OTAKIT" ota "$T/flash.bin" "$@" >"$T/cut.out" 2>"$T/cut.err" &
  local pid=$!
  for _ in $(seq 250); do
    [ -s "$CP" ] && break
    sleep 0.02
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ -s "$CP" ] || { cat "$T/cut.err"; fail "no checkpoint was saved before the power cut"; }
  cmp <(region "$T/flash.bin" 0xd000 0x2000) <(region "$T/fresh.bin" 0xd000 0x2000) || fail "otadata changed by a cut download"
}

# ---- a power cut mid-download over HTTPS, then a resume with one range request -----------
cp "$T/www/v2.bin" "$T/www/slow/v2.bin"
cp "$T/fresh.bin" "$T/flash.bin"
power_cut "$HTTPS/slow/v2.bin" "${CA[@]}"
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$HTTPS/slow/v2.bin" "${CA[@]}"
expect_grep "ota_0 <- $HTTPS/slow/v2.bin: net-app 2.0.0, $V2_SIZE bytes, verified" "$T/out"
expect_grep "note: resumed an interrupted download at byte [1-9]" "$T/err"
at=$(sed -n 's/.*resumed an interrupted download at byte \([0-9]*\).*/\1/p' "$T/err")
[ "$at" -ge 65536 ] || fail "resumed at $at: checkpoints come every 64 KiB"
nginx_requests | tail -1 | grep -q "GET /slow/v2.bin HTTP/1.1 \"bytes=$at-\" 206 $((V2_SIZE - at))" \
  || { nginx_requests; fail "the resume is one range request for the rest"; }
installed "$T/www/v2.bin"

# ---- the file changed on the server between the attempts: If-Range -> 200 -> from 0 ------
cp "$T/fresh.bin" "$T/flash.bin"
cp "$T/www/v2.bin" "$T/www/slow/up.bin"
power_cut "$HTTPS/slow/up.bin" "${CA[@]}"
cp "$T/www/v3.bin" "$T/www/slow/up.bin"
touch -d '2020-01-01 00:00:00' "$T/www/slow/up.bin"
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$HTTPS/slow/up.bin" "${CA[@]}"
expect_grep "ota_0 <- $HTTPS/slow/up.bin: net-app 3.0.0" "$T/out"
expect_grep "checkpoint of an interrupted download was not used" "$T/err"
nginx_requests | tail -1 | grep -q "GET /slow/up.bin HTTP/1.1 \"bytes=[0-9]*-\" 200 $(size_of "$T/www/v3.bin")" \
  || { nginx_requests; fail "the changed file came whole"; }
installed "$T/www/v3.bin"

# ---- a server that answers a range with 200 (nginx max_ranges 0) after a power cut ------
cp "$T/fresh.bin" "$T/flash.bin"
power_cut "$HTTPS/slow/v2.bin" "${CA[@]}"
nginx_stop
nginx_start 'location /slow/ { max_ranges 0; }' same
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$HTTPS/slow/v2.bin" "${CA[@]}"
expect_grep "ota_0 <- $HTTPS/slow/v2.bin: net-app 2.0.0" "$T/out"
nginx_requests | tail -1 | grep -q "\"bytes=[0-9]*-\" 200 $V2_SIZE" || { nginx_requests; fail "200 for a range"; }
installed "$T/www/v2.bin"

# ---- connections dropped at many points: one more request per drop, bytes correct -------
for cut in 4093 65536 100001; do
  cp "$T/fresh.bin" "$T/flash.bin"
  : > "$T/py.log"
  expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$PYURL/drop/$cut/v2.bin" --allow-http
  drops=$(( (V2_SIZE + cut - 1) / cut - 1 ))
  expect_grep "the connection broke $drops time(s)" "$T/err"
  [ "$(wc -l < "$T/py.log")" -eq $((drops + 1)) ] || { cat "$T/py.log"; fail "cut $cut: one request per drop"; }
  for i in $(seq 1 "$drops"); do
    grep -q "bytes=$((i * cut))- " "$T/py.log" || { cat "$T/py.log"; fail "cut $cut: no range request from $((i * cut))"; }
  done
  installed "$T/www/v2.bin"
done

# ---- mid-download, the server ignores the range (200): start over, no splice ------------
cp "$T/fresh.bin" "$T/flash.bin"
: > "$T/py.log"
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$PYURL/norange-after/20000/v2.bin" --allow-http
expect_grep "started over from byte 0 1 time(s)" "$T/err"
grep -q "bytes=20000- .* -> 200" "$T/py.log" || { cat "$T/py.log"; fail "the range answered 200"; }
installed "$T/www/v2.bin"

# ---- mid-download, another version behind the same URL (206 with another ETag) ----------
cp "$T/fresh.bin" "$T/flash.bin"
: > "$T/py.log"
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$PYURL/swap/20000/v2.bin:v3.bin" --allow-http
expect_grep "net-app 3.0.0" "$T/out"
[ "$(sed -n 3p "$T/py.log" | cut -d' ' -f3)" = "-" ] || { cat "$T/py.log"; fail "after the mismatch: a request without Range"; }
installed "$T/www/v3.bin"

# ---- a connection that stalls is continued; a server that stalls for good times out -----
cp "$T/fresh.bin" "$T/flash.bin"
expect_exit 0 "$OTAKIT" ota "$T/flash.bin" "$PYURL/stall/150001/v2.bin" --allow-http --timeout 0.2
expect_grep "the connection broke 2 time(s)" "$T/err"
installed "$T/www/v2.bin"
cp "$T/fresh.bin" "$T/flash.bin"
expect_exit 1 "$OTAKIT" ota "$T/flash.bin" "$PYURL/stall/0/v2.bin" --allow-http --timeout 0.2
expect_grep "esp_https_ota_perform on ota_0 failed: timed out: no data for 200 ms at byte 0 ($PYURL/stall/0/v2.bin); 3 more request(s) brought nothing" "$T/err"
cmp <(region "$T/flash.bin" 0 0x400000) "$T/fresh.bin" || fail "a download that never started changed the flash"
echo ok
