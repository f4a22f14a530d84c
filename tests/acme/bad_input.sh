#!/bin/bash
# Bad input to the ACME commands: each is refused with the right exit code and
# one 'certroute: ...' line naming what is wrong, and leaves no account or
# certificate state behind. Unknown server alias, directory URLs that are not
# ACME (HTML page, 404, JSON that is no directory, connection refused, untrusted
# TLS), bad --ca-bundle, --agree-tos missing, invalid e-mail, dns-01 hooks that
# fail or cannot run, challenge ports already in use, a CSR with the account
# key, names the server rejects, wildcards without dns-01.
# The pebble here has a domainBlocklist (blocked.example.net), set through a
# PEBBLE_BIN wrapper since scripts/pebble writes no blocklist itself.
# Usage: bad_input.sh PATH-TO-certroute
. "$(dirname "$0")/lib.sh"
acme_init "$@"

# A 'pebble' wrapper that adds a domainBlocklist to the config scripts/pebble
# wrote, then becomes the real pebble (same pid and command name, so
# scripts/pebble stop still recognises it).
mkdir -p "$TMP/wrap"
cat >"$TMP/wrap/pebble" <<'EOF'
#!/bin/bash
cfg="" prev=""
for a in "$@"; do
  [ "$prev" = -config ] && cfg=$a
  prev=$a
done
python3 - "$cfg" <<'PY' || exit 1
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["pebble"]["domainBlocklist"] = ["blocked.example.net"]
json.dump(d, open(p, "w"), indent=2)
PY
exec "$REAL_PEBBLE" "$@"
EOF
chmod 755 "$TMP/wrap/pebble"
REAL_PEBBLE=$(command -v pebble) PEBBLE_BIN="$TMP/wrap/pebble" start_pebble bad --authz-reuse 0

STATE="$TMP/state"
A=(--server "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$STATE")
REG=(account register --email bad@example.com --agree-tos)
NOWHERE_PORT=$(free_port)
NOWHERE="http://127.0.0.1:$NOWHERE_PORT/dir"

# A plain web server: an HTML page at /, 404 elsewhere, a JSON file that is no directory.
mkdir -p "$TMP/www"
printf '<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><h1>It works</h1></body></html>\n' >"$TMP/www/index.html"
printf '{"hello": "world", "meta": {}}\n' >"$TMP/www/notdir.json"
WWW_PORT=$(free_port)
bg python3 -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$WWW_PORT"
wait_port "$WWW_PORT" || { echo "python3 http.server did not start" >&2; exit 1; }
WWW="http://127.0.0.1:$WWW_PORT"

# ---------------------------------------------------------------- the server
begin "unknown server alias: exit 2, names it, lists the aliases"
cr "${REG[@]}" --server no-such-ca --state-dir "$TMP/s-alias"
expect_rc 2
expect_one_error "no-such-ca"
expect_err_contains "letsencrypt"
expect_no_account "$TMP/s-alias"

begin "unknown server alias for issue: exit 2"
cr issue -d a.example.com --server no-such-ca --state-dir "$TMP/s-alias"
expect_rc 2
expect_one_error "no-such-ca"

begin "directory URL with nothing listening (connection refused): exit 4 naming the URL"
cr "${REG[@]}" --server "$NOWHERE" --state-dir "$TMP/s-refused"
expect_rc 4
expect_one_error "$NOWHERE"
expect_no_account "$TMP/s-refused"

begin "directory URL that is an HTML page: exit 4 naming the URL"
cr "${REG[@]}" --server "$WWW/" --state-dir "$TMP/s-html"
expect_rc 4
expect_one_error "$WWW/"
expect_no_account "$TMP/s-html"

begin "directory URL that is a 404: exit 4 naming the URL"
cr "${REG[@]}" --server "$WWW/acme/directory" --state-dir "$TMP/s-404"
expect_rc 4
expect_one_error "$WWW/acme/directory" "404"
expect_no_account "$TMP/s-404"

begin "directory URL that is JSON but no ACME directory: exit 4 naming the URL"
cr "${REG[@]}" --server "$WWW/notdir.json" --state-dir "$TMP/s-json"
expect_rc 4
expect_one_error "$WWW/notdir.json"
expect_no_account "$TMP/s-json"

begin "pebble's management root is not the directory: exit 4 naming the URL"
cr "${REG[@]}" --server "$PEBBLE_MGMT/" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$TMP/s-mgmt"
expect_rc 4
expect_one_error "$PEBBLE_MGMT/"
expect_no_account "$TMP/s-mgmt"

begin "HTTPS directory with an untrusted certificate (no --ca-bundle): exit 4 naming the URL"
cr "${REG[@]}" --server "$PEBBLE_DIRECTORY" --state-dir "$TMP/s-tls"
expect_rc 4
expect_one_error "$PEBBLE_DIRECTORY"
expect_no_account "$TMP/s-tls"

begin "--ca-bundle that does not exist: exit 3 naming the file"
cr "${REG[@]}" --server "$PEBBLE_DIRECTORY" --ca-bundle "$TMP/no-such-ca.pem" --state-dir "$TMP/s-ca"
expect_rc 3
expect_one_error "$TMP/no-such-ca.pem"
expect_no_account "$TMP/s-ca"

begin "--ca-bundle that is not PEM: exit 3 naming the file"
echo "this is not a certificate" >"$TMP/garbage.pem"
cr "${REG[@]}" --server "$PEBBLE_DIRECTORY" --ca-bundle "$TMP/garbage.pem" --state-dir "$TMP/s-ca2"
expect_rc 3
expect_one_error "$TMP/garbage.pem"
expect_no_account "$TMP/s-ca2"

# ---------------------------------------------------------------- registration
begin "--agree-tos missing: exit 2, the terms URL in the hint, no account"
cr account register --email bad@example.com "${A[@]}"
expect_rc 2
expect_one_error "terms of service"
expect_err_contains "--agree-tos"
expect_no_account

begin "invalid e-mail: exit 3 naming it, no account"
cr account register --email not-an-email --agree-tos "${A[@]}"
expect_rc 3
expect_one_error "not-an-email"
expect_no_account

begin "invalid e-mail with spaces: exit 3"
cr account register --email 'a b@example.com' --agree-tos "${A[@]}"
expect_rc 3
expect_one_error "a b@example.com"
expect_no_account

begin "register the account for the cases below"
cr "${REG[@]}" "${A[@]}"
expect_rc 0

# ---------------------------------------------------------------- dns-01 hooks
begin "--dns-hook that exits non-zero: exit 1 naming the hook and its exit, nothing stored"
printf '#!/bin/sh\necho "zone is read-only" >&2\nexit 3\n' >"$TMP/failing-hook"
chmod 755 "$TMP/failing-hook"
cr issue -d hookfail.example.com --challenge dns-01 --dns-hook "$TMP/failing-hook" \
  --dns-resolver "$CHALLTESTSRV_DNS" "${A[@]}"
expect_rc 1
expect_one_error "$TMP/failing-hook" "exit 3"
expect_not_issued hookfail.example.com

begin "--dns-hook that is not executable: exit 1 naming the hook"
printf '#!/bin/sh\nexit 0\n' >"$TMP/noexec-hook"
chmod 644 "$TMP/noexec-hook"
cr issue -d noexec.example.com --challenge dns-01 --dns-hook "$TMP/noexec-hook" \
  --dns-resolver "$CHALLTESTSRV_DNS" "${A[@]}"
expect_rc 1
expect_one_error "$TMP/noexec-hook"
expect_not_issued noexec.example.com

begin "--dns-hook that does not exist: exit 1 naming the hook"
cr issue -d nohook.example.com --challenge dns-01 --dns-hook "$TMP/no-such-hook" \
  --dns-resolver "$CHALLTESTSRV_DNS" "${A[@]}"
expect_rc 1
expect_one_error "$TMP/no-such-hook"
expect_not_issued nohook.example.com

begin "dns-01 without --dns-hook: exit 2"
cr issue -d nohook2.example.com --challenge dns-01 "${A[@]}"
expect_rc 2
expect_one_error "--dns-hook"
expect_not_issued nohook2.example.com

# ---------------------------------------------------------------- ports in use
# certroute binds [::] dual-stack, so a listener on 0.0.0.0 blocks it.
occupy() { # occupy PORT: hold a listening socket on 0.0.0.0:PORT in the background
  bg python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(); time.sleep(60)' "$1"
  wait_port "$1" || fail "could not occupy port $1"
}

begin "--http-port already in use: clear message naming the port, nothing stored"
BUSY=$(free_port)
occupy "$BUSY"
busy_pid=$BG_PID
cr issue -d busy.example.com --http-port "$BUSY" "${A[@]}"
expect_rc_in 1 3
expect_one_error "$BUSY"
grep -qi 'in use' "$ERR" || fail "the error should say the port is in use"
expect_not_issued busy.example.com
stop_bg "$busy_pid"

begin "--tls-alpn-port already in use: clear message naming the port"
BUSY=$(free_port)
occupy "$BUSY"
busy_pid=$BG_PID
cr issue -d busy-alpn.example.com --challenge tls-alpn-01 --tls-alpn-port "$BUSY" "${A[@]}"
expect_rc_in 1 3
expect_one_error "$BUSY"
grep -qi 'in use' "$ERR" || fail "the error should say the port is in use"
expect_not_issued busy-alpn.example.com
stop_bg "$busy_pid"

# ---------------------------------------------------------------- CSR with the account key
begin "a CSR signed with the account key is refused (RFC 8555 §11.1)"
ACCT_KEY=$(account_dirs "$STATE" | head -1)/key.pem
(cd "$TMP" && "$CR" csr create -d acctkey.example.com --key "$ACCT_KEY" -o acctkey.csr) >/dev/null 2>&1 ||
  fail "certroute csr create --key <account key> failed"
cr issue --csr "$TMP/acctkey.csr" --name acctkey --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc_in 1 3
expect_one_error "account key"
expect_not_issued acctkey

# ---------------------------------------------------------------- names
begin "a name the server rejects: exit 1 with the server's detail, nothing stored"
cr issue -d blocked.example.net --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc 1
expect_one_error "blocked.example.net" "rejectedIdentifier" "forbidden by policy"
expect_not_issued blocked.example.net

begin "one rejected name among good ones: exit 1 naming it"
cr issue -d fine.example.com -d www.blocked.example.net --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc 1
expect_one_error "www.blocked.example.net" "rejectedIdentifier"
expect_not_issued fine.example.com

begin "an invalid domain name (empty label) is refused locally: exit 3"
cr issue -d 'a..example.com' --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc 3
expect_one_error "a..example.com"
expect_no_file "$STATE/certs/a..example.com"

begin "wildcard with http-01 (the default): exit 2 before contacting anyone"
cr issue -d '*.wild.example.com' --server "$NOWHERE" --state-dir "$TMP/s-wild"
expect_rc 2
expect_one_error "*.wild.example.com" "dns-01"
expect_no_file "$TMP/s-wild/certs"

begin "wildcard with tls-alpn-01: exit 2 before contacting anyone"
cr issue -d example.org -d '*.example.org' --challenge tls-alpn-01 --server "$NOWHERE" --state-dir "$TMP/s-wild"
expect_rc 2
expect_one_error "*.example.org" "dns-01"
expect_no_file "$TMP/s-wild/certs"

begin "issue with no names: exit 2"
cr issue "${A[@]}"
expect_rc 2
expect_one_error

begin "revoke with neither NAME nor --cert: exit 2"
cr revoke "${A[@]}"
expect_rc 2
expect_one_error

begin "nothing at all was stored for the refused requests"
n=$(find "$STATE/certs" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
expect_eq "entries under $STATE/certs" 0 "$n"
expect_no_leftovers "$STATE"

finish
