#!/usr/bin/env bash
# Installs the Debian packages otakit needs to build and test, when they are missing.
# Runs `apt-get update` once, then one `apt-get install -y`. Without root it says exactly
# what to install and stops.
set -euo pipefail

# package -> why it is needed
declare -A need=(
  [cmake]="the build"
  [gcc]="the build"
  [make]="the build"
  [pkg-config]="finding libraries"
  [libssl-dev]="SHA-256 and MD5 (OpenSSL libcrypto, the crypto port's host backend)"
  [libcmocka-dev]="the unit tests (cmocka)"
  [clang]="the sanitizer build and the libFuzzer harnesses"
  [libclang-rt-14-dev]="clang's ASan/UBSan/libFuzzer runtimes"
  [python3]="CLI tests read --json output with Python's json module"
  [openssl]="tests make a CA and server certificates"
  [libcurl4-openssl-dev]="the http:// and https:// update sources (libcurl)"
  [nginx]="the HTTP/HTTPS update tests run a real nginx on 127.0.0.1"
  [curl]="make bench compares HTTP(S) updates with curl -o"
  [protobuf-c-compiler]="the control-path messages (.proto compiled with protobuf-c)"
  [libprotobuf-c-dev]="the control-path messages (protobuf-c runtime)"
  [python3-protobuf]="the Python host client of the control path"
  [protobuf-compiler]="protoc: the Python client's test checks its .proto reader against it"
  [libcjson-dev]="update-service manifests (cJSON, as ESP-IDF ships)"
  [libmbedtls-dev]="the second crypto backend (mbedTLS), tested like the first"
  [gcc-arm-none-eabi]="the Cortex-M4 cross build of the portable core"
  [libnewlib-arm-none-eabi]="the C library of the Cortex-M4 cross build"
)

missing=()
for pkg in "${!need[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

IFS=$'\n' missing=($(sort <<<"${missing[*]}")); unset IFS
echo "otakit: installing missing packages: ${missing[*]}"
for pkg in "${missing[@]}"; do echo "  - $pkg: ${need[$pkg]}"; done

if [ "$(id -u)" -ne 0 ]; then
  echo "otakit: not root, cannot install. Run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "otakit: apt-get not found; install these packages by hand: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
