#!/bin/sh
# The real nginx accepts every golden nginx output: `nginx -t` on each
# golden/<case>.conf, included in a wrapper nginx.conf (events {} and
# http { include ...; } with pid, error log and temp paths in a temporary
# directory), or checked directly when the case renders with --standalone.
# The TLS cases name certs/*.pem by relative path: nginx resolves them against
# the wrapper's directory, where lib.sh's test certificates are made. nginx
# reads htpasswd files per request, not at -t, so none are needed. Upstream
# host names and missing certificate files (a certResolver's expected path)
# are substituted as lib.sh's `checkable` describes.
#
#   accept.sh TESTS-DIR       (TESTS-DIR = tests/render/nginx)
set -u
dir=$(realpath "$1")
. "$dir/lib.sh"
nginx_lib_init

TMP=$(mktemp -d "${TMPDIR:-/tmp}/certroute-nginx-accept.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT HUP TERM
make_certs "$TMP" || exit 1

n=0
failed=0
for golden in "$dir"/golden/*.conf; do
  [ -s "$golden" ] || continue # a case that renders nothing (usage error) has an empty golden
  case=$(basename "$golden" .conf)
  n=$((n + 1))
  work="$TMP/$case"
  mkdir -p "$work/out"
  ln -s "$TMP/certs" "$work/certs"
  sed "s|@OUT@|$work/out|g" "$golden" >"$work/out/nginx.conf"
  checkable "$work/out/nginx.conf" "$work/nginx.conf" "$TMP"
  if grep -q -- '--standalone' "$dir/cases/$case.yml" 2>/dev/null; then
    nginx_test "$work" "$work/nginx.conf" -g "pid $work/nginx.pid;" || {
      echo "FAIL $case: nginx -t rejects the standalone output"
      failed=$((failed + 1))
    }
    continue
  fi
  conf=$(nginx_wrapper "$work" "$work/nginx.conf")
  nginx_test "$work" "$conf" || {
    echo "FAIL $case: nginx -t rejects golden/$case.conf"
    failed=$((failed + 1))
  }
done
echo "nginx -t: $((n - failed)) of $n golden outputs accepted"
[ "$n" -gt 0 ] && [ "$failed" -eq 0 ]
