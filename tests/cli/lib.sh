# Shared by the CLI tests: a temp dir removed on exit, and assertions that say what failed.
set -euo pipefail
: "${OTAKIT:?set OTAKIT to the otakit binary}"
: "${OTAKIT_SOURCE:?set OTAKIT_SOURCE to the repository root}"
T=$(mktemp -d /tmp/otakit-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_exit CODE CMD...: run CMD, require exit code CODE; output in $T/out, $T/err.
expect_exit() {
  local want=$1; shift
  set +e; "$@" >"$T/out" 2>"$T/err"; local got=$?; set -e
  [ "$got" -eq "$want" ] || { cat "$T/out" "$T/err" >&2; fail "exit $got, wanted $want: $*"; }
}
expect_grep() { grep -q -- "$1" "$2" || { cat "$2" >&2; fail "'$1' not in $2"; }; }
# hex_at FILE OFFSET LEN: lowercase hex of the bytes.
hex_at() { od -An -v -tx1 -j "$(($2))" -N "$3" "$1" | tr -d ' \n'; }
# json FILE EXPR: evaluate a Python expression over the parsed JSON document `d`.
json() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
