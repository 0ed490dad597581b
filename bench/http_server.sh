#!/usr/bin/env bash
# A private nginx for bench_http, started with the HTTP tests' helpers (tests/cli/nginx.sh):
# HTTP and HTTPS on 127.0.0.1 ports the system picked free, a test CA and a server
# certificate made by openssl. Writes "HTTP_PORT HTTPS_PORT DIR" to PORT_FILE (the files
# served are DIR/www, the CA is DIR/pki/ca.pem), then serves until its stdin closes (the
# bench ends or dies); nginx and DIR are removed on the way out.
#
#   bench/http_server.sh SOURCE_DIR PORT_FILE
set -euo pipefail
OTAKIT_SOURCE=${1:?source dir}
port_file=${2:?port file}
T=$(mktemp -d /tmp/otakit-bench-http-XXXXXX)
PY=/usr/bin/python3
fail() { echo "bench http server: $*" >&2; exit 1; }
# shellcheck source=../tests/cli/nginx.sh
source "$OTAKIT_SOURCE/tests/cli/nginx.sh"
make_certs
nginx_start ""
echo "$HTTP_PORT $HTTPS_PORT $T" > "$port_file.tmp"
mv "$port_file.tmp" "$port_file"
read -r _ || true
