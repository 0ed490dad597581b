# Shared by the HTTP tests (source after lib.sh): a private nginx per test, on 127.0.0.1
# ports the system picked free, with its config, logs and temp files in the test's temp
# dir; test certificates made with openssl; the misbehaving Python server; all stopped by
# pid when the test exits. Parallel-safe: nothing is shared between tests.
#
#   make_certs                 $T/pki: ca.pem (test CA), server.pem/.key for 127.0.0.1 and
#                              localhost signed by it, other-ca.pem (a CA that signed nothing)
#   nginx_start EXTRA [same]   serve $T/www over http on $HTTP_PORT and, after make_certs,
#                              https on $HTTPS_PORT; EXTRA is inserted into the server block
#                              (locations); logs in $T/nginx/{access,error}.log. "same":
#                              on the ports of the nginx nginx_stop stopped (the same URLs)
#   nginx_stop                 stop the nginx started last
#   nginx_requests             the access log's lines: "REQUEST RANGE STATUS BYTES"
#   pyserver_start             tests/cli/http_server.py on $PY_PORT, serving $T/www, its
#                              request log in $T/py.log
: "${T:?source lib.sh first}"
NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
OPENSSL=${OPENSSL:-openssl}
NGINX_PIDS=()
READY_TRIES=100      # x 0.05 s: a server that is not up in 5 s is broken
READY_SLEEP=0.05
CERT_DAYS=2          # certificates live for the test run only
mkdir -p "$T/www"

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: until something listens on PORT, while PID lives.
wait_port() {
  for _ in $(seq "$READY_TRIES"); do
    kill -0 "$2" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep "$READY_SLEEP"
  done
  return 1
}

stop_servers() {
  local pid
  for pid in "${NGINX_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${NGINX_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  NGINX_PIDS=()
}
trap 'stop_servers; rm -rf "$T"' EXIT

make_certs() {
  local d="$T/pki"
  mkdir -p "$d"
  (
    cd "$d"
    "$OPENSSL" ecparam -name prime256v1 -genkey -noout -out ca.key
    "$OPENSSL" req -x509 -new -key ca.key -subj "/CN=otakit test CA" -days "$CERT_DAYS" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=keyCertSign,cRLSign" \
      -out ca.pem
    "$OPENSSL" ecparam -name prime256v1 -genkey -noout -out other-ca.key
    "$OPENSSL" req -x509 -new -key other-ca.key -subj "/CN=otakit other CA" -days "$CERT_DAYS" \
      -addext "basicConstraints=critical,CA:TRUE" -out other-ca.pem
    "$OPENSSL" ecparam -name prime256v1 -genkey -noout -out server.key
    "$OPENSSL" req -new -key server.key -subj "/CN=127.0.0.1" -out server.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > server.ext
    "$OPENSSL" x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 1 \
      -days "$CERT_DAYS" -extfile server.ext -out server.pem
  ) >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log" >&2; fail "openssl could not make the test certificates"; }
}

# nginx_conf EXTRA: $T/nginx/nginx.conf for $HTTP_PORT (and $HTTPS_PORT after make_certs).
nginx_conf() {
  local extra=$1 d="$T/nginx" tls="" user=""
  if [ -f "$T/pki/server.pem" ]; then
    tls="listen 127.0.0.1:$HTTPS_PORT ssl;
        ssl_certificate $T/pki/server.pem;
        ssl_certificate_key $T/pki/server.key;"
  fi
  # A master started as root hands requests to workers of another user unless told.
  [ "$(id -u)" -eq 0 ] && user="user root root;"
  cat > "$d/nginx.conf" <<EOF
$user
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 64; }
http {
    log_format ranges '\$request "\$http_range" \$status \$body_bytes_sent';
    access_log $d/access.log ranges;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$HTTP_PORT;
        $tls
        root $T/www;
        $extra
    }
}
EOF
}

# A port found free can be taken by a parallel test before nginx binds it: then nginx
# exits at once, and another pair of ports is tried.
NGINX_START_TRIES=3

nginx_start() {
  local extra=${1:-} same=${2:-} d="$T/nginx" pid try
  mkdir -p "$d/tmp"
  for try in $(seq "$NGINX_START_TRIES"); do
    if [ "$same" != same ]; then
      HTTP_PORT=$(free_port)
      HTTPS_PORT=$(free_port)
    fi
    nginx_conf "$extra"
    "$NGINX_BIN" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" 2>>"$d/stderr.log" &
    pid=$!
    if wait_port "$HTTP_PORT" "$pid" &&
       { [ ! -f "$T/pki/server.pem" ] || wait_port "$HTTPS_PORT" "$pid"; }; then
      NGINX_PIDS+=("$pid")
      NGINX_PID=$pid
      return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ "$same" != same ] || break
  done
  cat "$d/stderr.log" "$d/error.log" >&2 2>/dev/null || true
  fail "nginx did not start"
}

nginx_stop() {
  kill -TERM "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  local kept=() pid
  for pid in "${NGINX_PIDS[@]}"; do
    [ "$pid" = "$NGINX_PID" ] || kept+=("$pid")
  done
  NGINX_PIDS=("${kept[@]}")
}

nginx_requests() { cat "$T/nginx/access.log" 2>/dev/null || true; }

pyserver_start() {
  : > "$T/py.log"
  "$PY" "$OTAKIT_SOURCE/tests/cli/http_server.py" --root "$T/www" --log "$T/py.log" \
    --port-file "$T/py.port" &
  local pid=$!
  NGINX_PIDS+=("$pid")
  for _ in $(seq "$READY_TRIES"); do
    [ -s "$T/py.port" ] && break
    sleep "$READY_SLEEP"
  done
  PY_PORT=$(cat "$T/py.port" 2>/dev/null) || fail "the test HTTP server did not start"
  wait_port "$PY_PORT" "$pid" || fail "the test HTTP server does not listen"
}
