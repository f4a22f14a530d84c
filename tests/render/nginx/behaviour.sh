#!/bin/sh
# Behavioural equivalence: the rendered nginx sends each request to the
# backend `certroute routes match` names.
#
# Each CASES-DIR/<case>.yml names its services' servers http://127.0.0.1:@NAME@
# (one backend per service, NAME = the service's name). The test picks free
# ports, starts one python3 process serving every backend (each answers its
# own NAME), renders the case with --entrypoint web=127.0.0.1:PORT and
# websecure=127.0.0.1:PORT2, starts nginx, and for every request of
# CASES-DIR/<case>.requests, one a line:
#     METHOD URL [HEADER: VALUE]...        (tab-separated, 3 headers at most; '#' starts a comment)
# asks `certroute routes match` which router and service take it (entry point
# web for http://, websecure for https://), then sends it with curl and checks
# the backend that answered is that service's (or that nginx answers 404 when
# no router matches). http:// requests go to nginx's web port with the URL's
# Host; https:// ones to the websecure port with the URL's host as SNI
# (--resolve), verifying nginx's certificate against the test certificates
# (lib.sh make_certs, in the case's directory as certs/). nginx and the
# backends are always stopped (trap).
#
#   behaviour.sh PATH-TO-certroute TESTS-DIR [CASES-DIR]   (default TESTS-DIR/behaviour)
set -u
bin=$(realpath "$1")
dir=$(realpath "$2")
cases_dir=$(realpath "${3:-$dir/behaviour}")
. "$dir/lib.sh"
nginx_lib_init
for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "SKIP: the behaviour test needs $tool"
    exit 77
  }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/certroute-nginx-behaviour.XXXXXX")
NGINX_PID=""
BACKENDS_PID=""
cleanup() {
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
  [ -n "$BACKENDS_PID" ] && kill "$BACKENDS_PID" 2>/dev/null && wait "$BACKENDS_PID" 2>/dev/null
  NGINX_PID=""
  BACKENDS_PID=""
}
trap 'cleanup; rm -rf "$TMP"' EXIT
trap 'exit 130' INT HUP TERM

# wait_port PORT: until something accepts connections on 127.0.0.1:PORT (5 s at most).
wait_port() {
  i=0
  while [ $i -lt 100 ]; do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

total=0
failed=0
cases=0
for case_file in "$cases_dir"/*.yml; do
  [ -e "$case_file" ] || continue
  case=$(basename "$case_file" .yml)
  cases=$((cases + 1))
  work="$TMP/$case"
  mkdir -p "$work"
  names=$(grep -o '@[A-Za-z0-9_-]*@' "$case_file" | tr -d '@' | sort -u)
  count=$(echo "$names" | wc -l)
  ports=$(free_ports $((count + 2)))
  nginx_port=$(echo "$ports" | sed -n 1p)
  tls_port=$(echo "$ports" | sed -n 2p)
  make_certs "$work" || exit 1
  cat "$work"/certs/*.pem >"$work/ca-bundle.pem"
  sed_args=""
  specs=""
  i=3
  for name in $names; do
    port=$(echo "$ports" | sed -n "${i}p")
    sed_args="$sed_args -e s/@$name@/$port/g"
    specs="$specs $name=$port"
    i=$((i + 1))
  done
  # shellcheck disable=SC2086
  sed $sed_args "$case_file" >"$work/$case.yml"

  if ! (cd "$work" && "$bin" routes render --to nginx --quiet "$case.yml" -o "$work/out/" \
    --entrypoint "web=127.0.0.1:$nginx_port" --entrypoint "websecure=127.0.0.1:$tls_port") 2>"$work/render.err"; then
    echo "FAIL $case: routes render failed:"
    sed 's/^/    /' "$work/render.err"
    failed=$((failed + 1))
    continue
  fi
  conf=$(nginx_wrapper "$work" "$work/out/nginx.conf")
  # shellcheck disable=SC2086
  python3 "$dir/backends.py" $specs >"$work/backends.out" 2>&1 &
  BACKENDS_PID=$!
  "$NGINX" -p "$work/" -c "$conf" -e "$work/error.log" -g 'daemon off;' >"$work/nginx.out" 2>&1 &
  NGINX_PID=$!
  first_backend=$(echo "$specs" | awk '{split($1, a, "="); print a[2]}')
  if ! wait_port "$nginx_port" || ! wait_port "$first_backend"; then
    echo "FAIL $case: nginx or the backends did not start:"
    sed 's/^/    /' "$work/nginx.out" "$work/error.log" "$work/backends.out" 2>/dev/null
    failed=$((failed + 1))
    cleanup
    continue
  fi

  tab=$(printf '\t')
  while IFS="$tab" read -r method url h1 h2 h3; do
    case "$method" in '' | '#'*) continue ;; esac
    total=$((total + 1))
    case "$url" in https://*) ep=websecure ;; *) ep=web ;; esac
    # What Traefik does: the router and its service (the top-level "service"
    # of the JSON answer: "name@file", or null).
    set -- --url "$url" --method "$method" --entrypoint "$ep" --client-ip 127.0.0.1
    for h in "${h1:-}" "${h2:-}" "${h3:-}"; do [ -n "$h" ] && set -- "$@" --header "$h"; done
    service=$("$bin" routes match "$work/$case.yml" "$@" --json 2>/dev/null |
      sed -n 's/^  "service": "\([^"@]*\).*/\1/p')
    expected=${service:-404}
    # What nginx does.
    rest=${url#*://}
    hostport=${rest%%/*}
    hostport=${hostport%%\?*}
    host=${hostport%%:*}
    path=${rest#"$hostport"}
    [ -n "$path" ] || path=/
    if [ "$ep" = websecure ]; then
      set -- --cacert "$work/ca-bundle.pem" --resolve "$host:$tls_port:127.0.0.1" "https://$host:$tls_port$path"
    else
      set -- -H "Host: $host" "http://127.0.0.1:$nginx_port$path"
    fi
    for h in "${h1:-}" "${h2:-}" "${h3:-}"; do [ -n "$h" ] && set -- "$@" -H "$h"; done
    code=$(curl -s -o "$work/body" -w '%{http_code}' --max-time 5 -X "$method" --path-as-is "$@")
    if [ "$code" = 200 ]; then actual=$(cat "$work/body"); else actual=$code; fi
    if [ "$actual" != "$expected" ]; then
      echo "FAIL $case: $method $url ${h1:-} ${h2:-} ${h3:-}: Traefik -> $expected, nginx -> $actual"
      failed=$((failed + 1))
    fi
  done <"$cases_dir/$case.requests"
  cleanup
done
echo "nginx behaviour: $((total - failed)) of $total requests reach the backend routes match names ($cases configs)"
[ "$total" -gt 0 ] && [ "$failed" -eq 0 ]
