#!/bin/bash
# certroute issue / revoke end to end against a real pebble (alternate roots 2,
# no authorization reuse so every challenge really runs): one and three names
# over http-01, tls-alpn-01 and dns-01, webroot, IP certificates, a wildcard,
# key types, --csr, alternate chains, registering on the fly, --out-dir,
# --deploy-hook, a second version, and revocation confirmed by pebble.
# Server, CA bundle and state directory come from CERTROUTE_* variables here.
# Usage: issue.sh PATH-TO-certroute
# shellcheck disable=SC2016 # single-quoted JSON expressions, bash -c scripts
. "$(dirname "$0")/lib.sh"
acme_init "$@"
start_pebble issue --alternate-roots 2 --authz-reuse 0

STATE="$TMP/state"
export CERTROUTE_SERVER="$PEBBLE_DIRECTORY" CERTROUTE_CA_BUNDLE="$PEBBLE_CA_BUNDLE" CERTROUTE_STATE_DIR="$STATE"
HTTP=(--http-port "$PEBBLE_HTTP_PORT")
ALPN=(--challenge tls-alpn-01 --tls-alpn-port "$PEBBLE_TLS_PORT")

# A dns-01 hook that logs each call (arguments and CERTROUTE_* variables) and
# then runs the test pebble's real hook (challtestsrv).
HOOKLOG="$TMP/dns-hook.log"
cat >"$TMP/dns-hook" <<EOF
#!/bin/sh
printf '%s %s %s domain=%s txt_name=%s txt_value=%s token=%s\n' "\$1" "\$2" "\$3" \
  "\${CERTROUTE_DOMAIN:-}" "\${CERTROUTE_TXT_NAME:-}" "\${CERTROUTE_TXT_VALUE:-}" "\${CERTROUTE_TOKEN:+set}" >>'$HOOKLOG'
exec '$PEBBLE_DNS_HOOK' "\$@"
EOF
chmod 755 "$TMP/dns-hook"
DNS=(--challenge dns-01 --dns-hook "$TMP/dns-hook" --dns-resolver "$CHALLTESTSRV_DNS" --dns-propagation-timeout 20)

# expect_hook_calls OP TXT-NAME N: the hook log has N calls "OP TXT-NAME ...",
# each with CERTROUTE_TXT_NAME = TXT-NAME and CERTROUTE_TXT_VALUE = the value argument.
expect_hook_calls() {
  local n bad
  n=$(grep -c "^$1 $2 " "$HOOKLOG" 2>/dev/null)
  expect_eq "dns hook '$1 $2' calls" "$3" "$n"
  bad=$(awk -v op="$1" -v nm="$2" '$1 == op && $2 == nm && ($5 != "txt_name=" nm || $6 != "txt_value=" $3 || $7 != "token=set")' "$HOOKLOG" 2>/dev/null)
  [ -z "$bad" ] || fail "dns hook environment (CERTROUTE_TXT_NAME / _VALUE / _TOKEN) should match its arguments" "" "$bad"
}

# ---------------------------------------------------------------- account
begin "register the account used by this suite (CERTROUTE_* variables)"
cr account register --email issue@example.com --agree-tos
expect_rc 0
expect_eq "number of account directories" 1 "$(account_dirs "$STATE" | wc -l)"

# ---------------------------------------------------------------- http-01
begin "http-01, one name: files, modes, chain, key, spec.json, meta.json"
cr issue -d one.example.com "${HTTP[@]}"
expect_rc 0
expect_err_empty
expect_cert one.example.com "$PEBBLE_ROOT" "$STATE" 1
C=$STATE/certs/one.example.com
expect_sans "$C/current/cert.pem" DNS:one.example.com
expect_eq "spec.json domains" '["one.example.com"]' "$(json "$C/spec.json" 'd["domains"]')"
expect_eq "spec.json challenge" '"http-01"' "$(json "$C/spec.json" 'd["challenge"]["type"]')"
expect_eq "spec.json http port" "$PEBBLE_HTTP_PORT" "$(json "$C/spec.json" 'd["challenge"]["http_port"]')"
expect_eq "spec.json server" "\"$PEBBLE_DIRECTORY\"" "$(json "$C/spec.json" 'd["server"]')"
expect_eq "meta.json names" '["one.example.com"]' "$(json "$C/current/meta.json" 'd["names"]')"
for f in cert.pem chain.pem fullchain.pem; do
  m=$(stat -c %a "$C/current/$f")
  case $m in 6[0-4][0-4]) ;; *) fail "mode of $f" "0644 or tighter, readable by the owner" "$m" ;; esac
done

begin "http-01, three names, --json result"
cr issue -d h1.example.com -d h2.example.com -d h3.example.com "${HTTP[@]}" --json
expect_rc 0
expect_valid_json
expect_cert h1.example.com
C=$STATE/certs/h1.example.com
expect_sans "$C/current/cert.pem" DNS:h1.example.com DNS:h2.example.com DNS:h3.example.com
expect_json 'd["name"]' '"h1.example.com"'
expect_json 'd["cert"]' "\"$(readlink -f "$C/current")/cert.pem\""
expect_json 'd["serial"].lower().lstrip("0")' "\"$(cert_serial "$C/current/cert.pem")\""
expect_eq "spec.json domains" '["h1.example.com", "h2.example.com", "h3.example.com"]' "$(json "$C/spec.json" 'd["domains"]')"

begin "http-01 through --webroot (files served by another web server)"
mkdir -p "$TMP/webroot"
bg python3 -m http.server --bind 127.0.0.1 --directory "$TMP/webroot" "$PEBBLE_HTTP_PORT"
WEB_PID=$BG_PID
wait_port "$PEBBLE_HTTP_PORT" || fail "python3 http.server did not start"
cr issue -d web.example.com -d web2.example.com --webroot "$TMP/webroot"
expect_rc 0
expect_cert web.example.com
expect_sans "$STATE/certs/web.example.com/current/cert.pem" DNS:web.example.com DNS:web2.example.com
left=$(find "$TMP/webroot/.well-known/acme-challenge" -type f 2>/dev/null | wc -l)
expect_eq "challenge files removed from the webroot" 0 "$left"
stop_bg "$WEB_PID"

# ---------------------------------------------------------------- tls-alpn-01
begin "tls-alpn-01, one name"
cr issue -d alpn.example.com "${ALPN[@]}"
expect_rc 0
expect_cert alpn.example.com
expect_sans "$STATE/certs/alpn.example.com/current/cert.pem" DNS:alpn.example.com
expect_eq "spec.json challenge" '"tls-alpn-01"' "$(json "$STATE/certs/alpn.example.com/spec.json" 'd["challenge"]["type"]')"

begin "tls-alpn-01, three names"
cr issue -d t1.example.com -d t2.example.com -d t3.example.com "${ALPN[@]}"
expect_rc 0
expect_cert t1.example.com
expect_sans "$STATE/certs/t1.example.com/current/cert.pem" DNS:t1.example.com DNS:t2.example.com DNS:t3.example.com

# ---------------------------------------------------------------- dns-01
begin "dns-01, one name: hook called add then remove with the TXT name and value"
: >"$HOOKLOG"
cr issue -d dns.example.com "${DNS[@]}"
expect_rc 0
expect_cert dns.example.com
expect_sans "$STATE/certs/dns.example.com/current/cert.pem" DNS:dns.example.com
expect_hook_calls add _acme-challenge.dns.example.com. 1
expect_hook_calls remove _acme-challenge.dns.example.com. 1
check "hook got CERTROUTE_DOMAIN=dns.example.com" grep -q ' domain=dns.example.com ' "$HOOKLOG"
first=$(sed -n 1p "$HOOKLOG" | cut -d' ' -f1)
expect_eq "first hook call" add "$first"
expect_eq "spec.json challenge" '"dns-01"' "$(json "$STATE/certs/dns.example.com/spec.json" 'd["challenge"]["type"]')"

begin "dns-01, three names"
: >"$HOOKLOG"
cr issue -d d1.example.com -d d2.example.com -d d3.example.com "${DNS[@]}"
expect_rc 0
expect_cert d1.example.com
expect_sans "$STATE/certs/d1.example.com/current/cert.pem" DNS:d1.example.com DNS:d2.example.com DNS:d3.example.com
for n in d1 d2 d3; do
  expect_hook_calls add "_acme-challenge.$n.example.com." 1
  expect_hook_calls remove "_acme-challenge.$n.example.com." 1
done

begin "wildcard and its apex via dns-01: one TXT name, two values, both added before removal"
: >"$HOOKLOG"
cr issue -d wild.example.com -d '*.wild.example.com' "${DNS[@]}"
expect_rc 0
expect_cert wild.example.com
expect_sans "$STATE/certs/wild.example.com/current/cert.pem" 'DNS:*.wild.example.com' DNS:wild.example.com
expect_hook_calls add _acme-challenge.wild.example.com. 2
expect_hook_calls remove _acme-challenge.wild.example.com. 2
values=$(awk '$1 == "add" {print $3}' "$HOOKLOG" | sort -u | wc -l)
expect_eq "distinct TXT values added" 2 "$values"
last_add=$(grep -n '^add ' "$HOOKLOG" | tail -1 | cut -d: -f1)
first_remove=$(grep -n '^remove ' "$HOOKLOG" | head -1 | cut -d: -f1)
if [ -z "$last_add" ] || [ -z "$first_remove" ] || [ "$last_add" -ge "$first_remove" ]; then
  fail "both TXT values should be added before any is removed" "last add < first remove" "add@$last_add remove@$first_remove"
fi
n=$(grep -c ' domain=wild.example.com ' "$HOOKLOG")
expect_eq "hook calls with CERTROUTE_DOMAIN=wild.example.com (no '*.')" 4 "$n"

begin "a wildcard alone via dns-01 (--name for the state directory)"
cr issue -d '*.onlywild.example.com' --name onlywild "${DNS[@]}"
expect_rc 0
expect_cert onlywild
expect_sans "$STATE/certs/onlywild/current/cert.pem" 'DNS:*.onlywild.example.com'

# ---------------------------------------------------------------- IP identifiers
begin "IP certificate (--ip 127.0.0.1) over http-01"
cr issue --ip 127.0.0.1 "${HTTP[@]}"
expect_rc 0
expect_cert 127.0.0.1
expect_sans "$STATE/certs/127.0.0.1/current/cert.pem" IP:127.0.0.1
expect_eq "spec.json ips" '["127.0.0.1"]' "$(json "$STATE/certs/127.0.0.1/spec.json" 'd["ips"]')"

begin "IP certificate over tls-alpn-01, with a DNS name too"
cr issue -d mixed.example.com --ip 127.0.0.1 --name ip-alpn "${ALPN[@]}"
expect_rc 0
expect_cert ip-alpn
expect_sans "$STATE/certs/ip-alpn/current/cert.pem" IP:127.0.0.1 DNS:mixed.example.com

# ---------------------------------------------------------------- key types, CSR
begin "--key-type rsa-2048"
cr issue -d rsa.example.com --key-type rsa-2048 "${HTTP[@]}"
expect_rc 0
expect_cert rsa.example.com
check "certificate key is RSA 2048" bash -c 'openssl x509 -in "$1" -noout -text | grep -q "Public-Key: (2048 bit)"' _ "$STATE/certs/rsa.example.com/current/cert.pem"

begin "--key-type ec-p384"
cr issue -d p384.example.com --key-type ec-p384 "${HTTP[@]}"
expect_rc 0
expect_cert p384.example.com
check "certificate key is P-384" bash -c 'openssl x509 -in "$1" -noout -text | grep -q "Public-Key: (384 bit)"' _ "$STATE/certs/p384.example.com/current/cert.pem"

begin "--csr: a CSR made by certroute csr create, its key stays the user's"
(cd "$TMP" && "$CR" csr create -d csr.example.com -d www.csr.example.com --key-out csr.key -o own.csr) >/dev/null 2>&1 ||
  fail "certroute csr create failed"
cr issue --csr "$TMP/own.csr" --name own-csr "${HTTP[@]}"
expect_rc 0
C=$STATE/certs/own-csr
[ -L "$C/current" ] || fail "$C/current should be a symlink"
expect_sans "$C/current/cert.pem" DNS:csr.example.com DNS:www.csr.example.com
expect_verifies "$C/current/cert.pem" "$C/current/chain.pem" "$PEBBLE_ROOT"
expect_key_matches "$C/current/cert.pem" "$TMP/csr.key"
expect_no_leftovers "$C"

# ---------------------------------------------------------------- alternate chains
begin "default chain leads to the default root, not to the alternates"
C=$STATE/certs/one.example.com/current
expect_not_verifies "$C/cert.pem" "$C/chain.pem" "$PEBBLE_ROOT_1"

ALT_CN=$(root_cn "$PEBBLE_ROOT_1")
begin "--preferred-chain '$ALT_CN' picks the chain up to alternate root 1"
[ -n "$ALT_CN" ] || fail "no CN in $PEBBLE_ROOT_1"
cr issue -d alt.example.com --preferred-chain "$ALT_CN" "${HTTP[@]}" --json
expect_rc 0
expect_json 'd["issuer"]' "\"$ALT_CN\""
expect_cert alt.example.com "$PEBBLE_ROOT_1"
C=$STATE/certs/alt.example.com/current
expect_not_verifies "$C/cert.pem" "$C/chain.pem" "$PEBBLE_ROOT"
expect_eq "spec.json preferred_chain" "\"$ALT_CN\"" "$(json "$STATE/certs/alt.example.com/spec.json" 'd["preferred_chain"]')"

ALT2_CN=$(root_cn "$PEBBLE_ROOT_2")
begin "--preferred-chain '$ALT2_CN' picks alternate root 2"
cr issue -d alt2.example.com --preferred-chain "$ALT2_CN" "${HTTP[@]}"
expect_rc 0
expect_cert alt2.example.com "$PEBBLE_ROOT_2"

begin "--preferred-chain with a CN nobody has: the default chain"
cr issue -d altnone.example.com --preferred-chain "No Such Root CA" "${HTTP[@]}"
expect_rc 0
expect_cert altnone.example.com "$PEBBLE_ROOT"

# ---------------------------------------------------------------- second version
begin "issuing the same name again makes version 2; version 1 stays whole"
v1=$(sum_of "$STATE/certs/one.example.com/versions/1/cert.pem")
cr issue -d one.example.com "${HTTP[@]}"
expect_rc 0
expect_cert one.example.com "$PEBBLE_ROOT" "$STATE" 2
expect_eq "versions/1/cert.pem unchanged" "$v1" "$(sum_of "$STATE/certs/one.example.com/versions/1/cert.pem")"
expect_mode "$STATE/certs/one.example.com/versions/1/privkey.pem" 600
[ "$(sum_of "$STATE/certs/one.example.com/versions/2/cert.pem")" != "$v1" ] || fail "version 2 should be a new certificate"

# ---------------------------------------------------------------- register on the fly
begin "issue --email --agree-tos registers an account first (empty state directory)"
S2="$TMP/state-fly"
cr issue -d fly.example.com --email fly@example.com --agree-tos "${HTTP[@]}" --state-dir "$S2"
expect_rc 0
expect_eq "number of account directories" 1 "$(account_dirs "$S2" | wc -l)"
d=$(account_dirs "$S2" | head -1)
expect_eq "account contact" '["mailto:fly@example.com"]' "$(json "$d/account.json" 'd["contact"]')"
expect_mode "$d/key.pem" 600
expect_cert fly.example.com "$PEBBLE_ROOT" "$S2"

begin "issue --email without --agree-tos and no account: refused, nothing stored"
S3="$TMP/state-notos"
cr issue -d notos.example.com --email notos@example.com "${HTTP[@]}" --state-dir "$S3"
expect_rc 2
expect_one_error "terms of service"
expect_no_account "$S3"
expect_not_issued notos.example.com "$S3"

# ---------------------------------------------------------------- --out-dir
begin "--out-dir into a new directory: the four files, privkey 0600"
OUTD="$TMP/out-new"
cr issue -d out.example.com --out-dir "$OUTD" "${HTTP[@]}"
expect_rc 0
expect_cert out.example.com
expect_dir_only "$OUTD" cert.pem chain.pem fullchain.pem privkey.pem
for f in cert.pem chain.pem fullchain.pem privkey.pem; do
  expect_eq "$OUTD/$f = current/$f" "$(sum_of "$STATE/certs/out.example.com/current/$f")" "$(sum_of "$OUTD/$f" 2>/dev/null)"
done
expect_mode "$OUTD/privkey.pem" 600
expect_verifies "$OUTD/cert.pem" "$OUTD/chain.pem" "$PEBBLE_ROOT"

begin "--out-dir over existing files keeps each file's mode"
OUTD="$TMP/out-old"
mkdir -p "$OUTD"
for f in cert.pem chain.pem fullchain.pem privkey.pem; do echo old >"$OUTD/$f"; done
chmod 640 "$OUTD/privkey.pem"
chmod 604 "$OUTD/cert.pem"
chmod 600 "$OUTD/fullchain.pem"
cr issue -d out2.example.com --out-dir "$OUTD" "${HTTP[@]}"
expect_rc 0
expect_dir_only "$OUTD" cert.pem chain.pem fullchain.pem privkey.pem
for f in cert.pem chain.pem fullchain.pem privkey.pem; do
  expect_eq "$OUTD/$f = current/$f" "$(sum_of "$STATE/certs/out2.example.com/current/$f")" "$(sum_of "$OUTD/$f" 2>/dev/null)"
done
expect_mode "$OUTD/privkey.pem" 640
expect_mode "$OUTD/cert.pem" 604
expect_mode "$OUTD/fullchain.pem" 600
expect_mode "$OUTD/chain.pem" 644
expect_eq "spec.json out_dir" "\"$OUTD\"" "$(json "$STATE/certs/out2.example.com/spec.json" 'd["out_dir"]')"

# ---------------------------------------------------------------- --deploy-hook
begin "--deploy-hook gets CERTROUTE_EVENT=issued and the CERTROUTE_* paths"
cat >"$TMP/deploy-hook" <<EOF
#!/bin/sh
env | grep '^CERTROUTE_' | sort >'$TMP/deploy.env'
EOF
chmod 755 "$TMP/deploy-hook"
cr issue -d deploy.example.com -d www.deploy.example.com --deploy-hook "$TMP/deploy-hook" "${HTTP[@]}"
expect_rc 0
expect_cert deploy.example.com
V=$(readlink -f "$STATE/certs/deploy.example.com/current")
check "hook ran" test -s "$TMP/deploy.env"
hook_var() { sed -n "s/^$1=//p" "$TMP/deploy.env"; }
expect_eq "CERTROUTE_EVENT" issued "$(hook_var CERTROUTE_EVENT)"
expect_eq "CERTROUTE_NAME" deploy.example.com "$(hook_var CERTROUTE_NAME)"
expect_eq "CERTROUTE_DOMAINS" "deploy.example.com www.deploy.example.com" "$(hook_var CERTROUTE_DOMAINS)"
expect_eq "CERTROUTE_CERT" "$V/cert.pem" "$(readlink -f "$(hook_var CERTROUTE_CERT)")"
expect_eq "CERTROUTE_CHAIN" "$V/chain.pem" "$(readlink -f "$(hook_var CERTROUTE_CHAIN)")"
expect_eq "CERTROUTE_FULLCHAIN" "$V/fullchain.pem" "$(readlink -f "$(hook_var CERTROUTE_FULLCHAIN)")"
expect_eq "CERTROUTE_KEY" "$V/privkey.pem" "$(readlink -f "$(hook_var CERTROUTE_KEY)")"
expect_eq "deploy hooks in spec.json" "[\"$TMP/deploy-hook\"]" "$(json "$STATE/certs/deploy.example.com/spec.json" 'd["deploy_hooks"]')"

begin "a failing --deploy-hook: exit 1 naming the hook, the certificate is still stored"
cr issue -d hookfail.example.com --deploy-hook 'echo boom >&2; exit 7' "${HTTP[@]}"
expect_rc 1
expect_one_error "deploy hook" "exit 7"
expect_cert hookfail.example.com

# ---------------------------------------------------------------- revoke
begin "revoke NAME: pebble says Revoked"
C=$STATE/certs/h1.example.com/current
expect_eq "status before" Valid "$(cert_status "$C/cert.pem")"
cr revoke h1.example.com
expect_rc 0
expect_err_empty
expect_eq "pebble status" Revoked "$(cert_status "$C/cert.pem")"
expect_eq "pebble reason (unspecified)" 0 "$(cert_revocation_reason "$C/cert.pem")"

begin "revoking it again: the server's alreadyRevoked, exit 1"
cr revoke h1.example.com
expect_rc 1
expect_one_error "alreadyRevoked"

begin "revoke --cert FILE --key FILE --reason keyCompromise (signed with the certificate key)"
C=$STATE/certs/t1.example.com/current
cp "$C/cert.pem" "$TMP/t1.pem"
cp "$C/privkey.pem" "$TMP/t1.key"
cr revoke --cert "$TMP/t1.pem" --key "$TMP/t1.key" --reason keyCompromise
expect_rc 0
expect_eq "pebble status" Revoked "$(cert_status "$TMP/t1.pem")"
expect_eq "pebble reason (keyCompromise)" 1 "$(cert_revocation_reason "$TMP/t1.pem")"

begin "revoke --cert FILE --key FILE with no account at all"
C=$STATE/certs/d1.example.com/current
cr revoke --cert "$C/cert.pem" --key "$C/privkey.pem" --state-dir "$TMP/state-empty"
expect_rc 0
expect_eq "pebble status" Revoked "$(cert_status "$C/cert.pem")"

begin "revoke --cert FILE (signed by the account) --reason superseded"
C=$STATE/certs/alpn.example.com/current
cr revoke --cert "$C/cert.pem" --reason superseded
expect_rc 0
expect_eq "pebble status" Revoked "$(cert_status "$C/cert.pem")"
expect_eq "pebble reason (superseded)" 4 "$(cert_revocation_reason "$C/cert.pem")"

begin "revoke --cert with a key that is not the certificate's: refused"
C=$STATE/certs/dns.example.com/current
cr revoke --cert "$C/cert.pem" --key "$TMP/csr.key"
expect_rc_in 1 3
expect_one_error
expect_eq "pebble status" Valid "$(cert_status "$C/cert.pem")"

begin "revoke NAME that is not in the state directory"
cr revoke no-such.example.com
expect_rc 3
expect_one_error "no-such.example.com"

begin "nothing temporary left anywhere in the state directory"
expect_no_leftovers "$STATE"
expect_no_leftovers "$S2"

finish
