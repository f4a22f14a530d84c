#!/bin/bash
# Fault injection against a real pebble.
#  1. pebble rejecting 90% of good nonces (PEBBLE_WFE_NONCEREJECT=90): account
#     registration and 10 full orders in a row all succeed (badNonce is retried).
#  2. challenges that fail (nothing listening where pebble connects, a dns-01
#     record that never appears) and a server that goes away: exit 1 (or 4 when
#     unreachable) with one message naming the identifier and pebble's detail,
#     and no half-written state: no current link or version for a new name, the
#     old version untouched for an existing one, no temporary files.
# Usage: faults.sh PATH-TO-certroute
# shellcheck disable=SC2016 # single-quoted JSON expressions for json()
. "$(dirname "$0")/lib.sh"
acme_init "$@"

# ---------------------------------------------------------------- 1. bad nonces
start_pebble nonce --nonce-reject 90 --authz-reuse 0
STATE="$TMP/state-nonce"
A=(--server "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$STATE")

begin "pebble really rejects 90% of nonces"
check "pebble.log says so" grep -q 'reject 90% of good nonces' "$PEBBLE_DIR/pebble.log"

begin "account register with 90% of nonces rejected"
cr account register --email nonce@example.com --agree-tos "${A[@]}"
expect_rc 0
expect_eq "number of account directories" 1 "$(account_dirs "$STATE" | wc -l)"

for i in 1 2 3 4 5 6 7 8 9 10; do
  begin "order $i of 10 with 90% of nonces rejected"
  cr issue -d "nonce$i.example.com" -d "www.nonce$i.example.com" --http-port "$PEBBLE_HTTP_PORT" -q "${A[@]}"
  expect_rc 0
  expect_err_empty
  expect_out_empty # -q
  if [ "$RC" -eq 0 ]; then
    expect_cert "nonce$i.example.com"
  else
    expect_not_issued "nonce$i.example.com" # even a failed order leaves nothing half-written
  fi
done

begin "account show and revoke with 90% of nonces rejected"
cr account show "${A[@]}"
expect_rc 0
# (whichever order above succeeded, so one badNonce failure does not hide this case)
rv=""
for i in 1 2 3 4 5 6 7 8 9 10; do
  [ -f "$STATE/certs/nonce$i.example.com/current/cert.pem" ] && { rv=nonce$i.example.com; break; }
done
if [ -z "$rv" ]; then
  fail "no certificate was issued above to revoke"
else
  cr revoke "$rv" "${A[@]}"
  expect_rc 0
  expect_eq "pebble status" Revoked "$(cert_status "$STATE/certs/$rv/current/cert.pem")"
fi
stop_pebble

# ---------------------------------------------------------------- 2. failing challenges
start_pebble fail --authz-reuse 0
STATE="$TMP/state-fail"
A=(--server "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$STATE")
# certroute serves http-01 / tls-alpn-01 on ports where pebble does not look.
WRONG_PORT=$(free_port)
while [ "$WRONG_PORT" = "$PEBBLE_HTTP_PORT" ] || [ "$WRONG_PORT" = "$PEBBLE_TLS_PORT" ]; do WRONG_PORT=$(free_port); done

begin "register (second pebble)"
cr account register --email fail@example.com --agree-tos "${A[@]}"
expect_rc 0

begin "http-01 with nothing listening where pebble connects: exit 1, identifier and pebble's detail"
cr issue -d fail.example.com --http-port "$WRONG_PORT" "${A[@]}"
expect_rc 1
expect_one_error "fail.example.com" "http-01" "connection refused"
expect_out_empty
expect_not_issued fail.example.com

begin "three names all failing http-01: still one error line, nothing stored"
cr issue -d f1.example.com -d f2.example.com -d f3.example.com --http-port "$WRONG_PORT" "${A[@]}"
expect_rc 1
expect_one_error "connection refused"
grep -qE 'f[123]\.example\.com' "$ERR" || fail "the error should name the failing identifier"
expect_not_issued f1.example.com

begin "tls-alpn-01 with nothing listening where pebble connects: exit 1, identifier and detail"
cr issue -d alpnfail.example.com --challenge tls-alpn-01 --tls-alpn-port "$WRONG_PORT" "${A[@]}"
expect_rc 1
expect_one_error "alpnfail.example.com" "tls-alpn-01"
grep -qiE 'connect|refused' "$ERR" || fail "the error should carry pebble's detail (connection failed)"
expect_not_issued alpnfail.example.com

begin "dns-01 whose record never appears: exit 1 naming the TXT name; hook remove still called"
cat >"$TMP/noop-hook" <<EOF
#!/bin/sh
echo "\$1 \$2 \$3" >>'$TMP/noop-hook.log'
EOF
chmod 755 "$TMP/noop-hook"
cr issue -d nodns.example.com --challenge dns-01 --dns-hook "$TMP/noop-hook" \
  --dns-resolver "$CHALLTESTSRV_DNS" --dns-propagation-timeout 1 "${A[@]}"
expect_rc 1
expect_one_error "_acme-challenge.nodns.example.com"
check "hook add called" grep -q '^add _acme-challenge.nodns.example.com. ' "$TMP/noop-hook.log"
check "hook remove called after the failure" grep -q '^remove _acme-challenge.nodns.example.com. ' "$TMP/noop-hook.log"
expect_not_issued nodns.example.com

begin "an existing certificate whose re-issue fails keeps its current version"
cr issue -d keep.example.com --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc 0
expect_cert keep.example.com "$PEBBLE_ROOT" "$STATE" 1
C=$STATE/certs/keep.example.com
before_cert=$(sum_of "$C/versions/1/cert.pem")
before_key=$(sum_of "$C/versions/1/privkey.pem")
before_spec=$(sum_of "$C/spec.json")
cr issue -d keep.example.com --http-port "$WRONG_PORT" "${A[@]}"
expect_rc 1
expect_one_error "keep.example.com" "connection refused"
expect_cert keep.example.com "$PEBBLE_ROOT" "$STATE" 1
expect_dir_only "$C/versions" 1
expect_eq "cert.pem unchanged" "$before_cert" "$(sum_of "$C/versions/1/cert.pem")"
expect_eq "privkey.pem unchanged" "$before_key" "$(sum_of "$C/versions/1/privkey.pem")"
expect_eq "spec.json unchanged (still the working port)" "$before_spec" "$(sum_of "$C/spec.json")"

begin "after the failures, the same names issue fine"
cr issue -d fail.example.com --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc 0
expect_cert fail.example.com "$PEBBLE_ROOT" "$STATE" 1

begin "the server gone (pebble stopped): exit 4 naming the URL, nothing stored"
stop_pebble
cr issue -d gone.example.com --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc 4
expect_one_error "$PEBBLE_DIRECTORY"
expect_not_issued gone.example.com
expect_no_leftovers "$STATE"

finish
