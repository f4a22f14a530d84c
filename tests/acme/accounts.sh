#!/bin/bash
# ACME accounts against a real pebble: register, show, update, rollover (then
# issue with the new key), deactivate (then no more orders), several servers in
# one state directory. Flags --server / --ca-bundle / --state-dir throughout.
# Usage: accounts.sh PATH-TO-certroute
# shellcheck disable=SC2016 # single-quoted JSON expressions for json()
. "$(dirname "$0")/lib.sh"
acme_init "$@"
start_pebble main --authz-reuse 0

STATE="$TMP/state"
A=(--server "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$STATE")
HOSTDIR="$STATE/accounts/127.0.0.1_${PEBBLE_DIRECTORY#https://127.0.0.1:}"
HOSTDIR=${HOSTDIR%/dir}

# ---------------------------------------------------------------- before registering
begin "account show without an account says how to register"
cr account show "${A[@]}"
expect_rc 1
expect_one_error "no account" "$PEBBLE_DIRECTORY"
expect_err_contains "account register"
expect_out_empty

begin "issue without an account and without --email says how to register"
cr issue -d noacct.example.com --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc_in 1 2
expect_one_error "no account"
expect_err_contains "account register"
expect_not_issued noacct.example.com

# ---------------------------------------------------------------- register
begin "account register (no EAB) stores account.json and a 0600 key"
cr account register --email admin@example.com --agree-tos "${A[@]}"
expect_rc 0
expect_err_empty
ACCT_DIR=$(account_dirs "$STATE" | head -1)
expect_eq "number of account directories" 1 "$(account_dirs "$STATE" | wc -l)"
case $ACCT_DIR in "$HOSTDIR"/*) ;; *) fail "account directory" "$HOSTDIR/<id>" "$ACCT_DIR" ;; esac
expect_dir_only "$ACCT_DIR" account.json key.pem
expect_mode "$ACCT_DIR/key.pem" 600
check "account key is a private key openssl reads" openssl pkey -in "$ACCT_DIR/key.pem" -noout
expect_eq "account.json status" '"valid"' "$(json "$ACCT_DIR/account.json" 'd["status"]')"
expect_eq "account.json contact" '["mailto:admin@example.com"]' "$(json "$ACCT_DIR/account.json" 'd["contact"]')"
ACCT_URL=$(json "$ACCT_DIR/account.json" 'd["url"]' | tr -d '"')
case $ACCT_URL in "${PEBBLE_DIRECTORY%/dir}"/my-account/*) ;; *) fail "account URL" "${PEBBLE_DIRECTORY%/dir}/my-account/..." "$ACCT_URL" ;; esac
expect_out_contains "$ACCT_URL"
expect_no_leftovers "$STATE"

begin "registering again for the same server is refused and keeps the account"
before=$(sum_of "$ACCT_DIR/key.pem")
cr account register --email other@example.com --agree-tos "${A[@]}"
expect_rc 1
expect_one_error "exists already"
expect_eq "key.pem unchanged" "$before" "$(sum_of "$ACCT_DIR/key.pem")"
expect_eq "still one account" 1 "$(account_dirs "$STATE" | wc -l)"

# ---------------------------------------------------------------- show
begin "account show prints what the server has"
cr account show "${A[@]}"
expect_rc 0
expect_err_empty
expect_out_contains "$ACCT_URL"
expect_out_contains "valid"
expect_out_contains "mailto:admin@example.com"

begin "account show --json"
cr account show --json "${A[@]}"
expect_rc 0
expect_valid_json
expect_json 'd["url"]' "\"$ACCT_URL\""
expect_json 'd["status"]' '"valid"'
expect_json 'd["contact"]' '["mailto:admin@example.com"]'
expect_json 'd["key_sha256"]' "\"$(openssl_pub_sha256 "$ACCT_DIR/key.pem")\""

begin "CERTROUTE_* environment variables select server, CA bundle and state directory"
CERTROUTE_SERVER=$PEBBLE_DIRECTORY CERTROUTE_CA_BUNDLE=$PEBBLE_CA_BUNDLE CERTROUTE_STATE_DIR=$STATE \
  cr account show --json
expect_rc 0
expect_json 'd["url"]' "\"$ACCT_URL\""

# ---------------------------------------------------------------- update
begin "account update replaces the contacts, on the server and locally"
cr account update --email ops@example.com --email sec@example.com "${A[@]}"
expect_rc 0
expect_err_empty
cr account show --json "${A[@]}"
expect_rc 0
expect_json 'sorted(d["contact"])' '["mailto:ops@example.com", "mailto:sec@example.com"]'
expect_eq "account.json contact" '["mailto:ops@example.com", "mailto:sec@example.com"]' \
  "$(json "$ACCT_DIR/account.json" 'sorted(d["contact"])')"

begin "account update with an invalid e-mail is refused (exit 3) and changes nothing"
cr account update --email not-an-email "${A[@]}"
expect_rc 3
expect_one_error "not-an-email"
cr account show --json "${A[@]}"
expect_json 'sorted(d["contact"])' '["mailto:ops@example.com", "mailto:sec@example.com"]'

# ---------------------------------------------------------------- rollover
begin "an order with the original key works"
cr issue -d before-roll.example.com --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc 0
expect_cert before-roll.example.com

begin "account rollover replaces the key (same account URL, new 0600 key)"
old_sum=$(openssl_pub_sha256 "$ACCT_DIR/key.pem")
cp "$ACCT_DIR/key.pem" "$TMP/old-account-key.pem"
cr account rollover "${A[@]}"
expect_rc 0
expect_err_empty
expect_mode "$ACCT_DIR/key.pem" 600
new_sum=$(openssl_pub_sha256 "$ACCT_DIR/key.pem")
if [ -z "$new_sum" ] || [ "$new_sum" = "$old_sum" ]; then
  fail "key.pem should hold a new key" "not $old_sum" "$new_sum"
fi
for f in "$ACCT_DIR"/*; do
  case $f in *.pem*) expect_mode "$f" 600 ;; esac
done
cr account show --json "${A[@]}"
expect_rc 0
expect_json 'd["url"]' "\"$ACCT_URL\""
expect_json 'd["key_sha256"]' "\"$new_sum\""
expect_no_leftovers "$STATE"

begin "issue with the new key after rollover"
cr issue -d after-roll.example.com -d www.after-roll.example.com --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc 0
expect_cert after-roll.example.com
expect_sans "$STATE/certs/after-roll.example.com/current/cert.pem" DNS:after-roll.example.com DNS:www.after-roll.example.com

begin "the server no longer accepts the old account key"
rm -rf "$TMP/state-oldkey"
cp -a "$STATE" "$TMP/state-oldkey"
cp "$TMP/old-account-key.pem" "$TMP/state-oldkey/${ACCT_DIR#"$STATE"/}/key.pem"
cr account show --server "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$TMP/state-oldkey"
expect_rc 1
expect_one_error

begin "account rollover --key-type ec-p384, then issue"
cr account rollover --key-type ec-p384 "${A[@]}"
expect_rc 0
check "new key is P-384" bash -c 'openssl pkey -in "$1" -noout -text | grep -q "384 bit"' _ "$ACCT_DIR/key.pem"
cr issue -d p384-acct.example.com --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc 0
expect_cert p384-acct.example.com

# ---------------------------------------------------------------- other key types
begin "register with --key-type rsa-2048 (a second state directory), show, issue"
S2="$TMP/state-rsa"
cr account register --email rsa@example.com --agree-tos --key-type rsa-2048 \
  --server "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$S2"
expect_rc 0
d2=$(account_dirs "$S2" | head -1)
check "account key is RSA 2048" bash -c 'openssl pkey -in "$1" -noout -text | grep -q "2048 bit"' _ "$d2/key.pem"
cr issue -d rsa-acct.example.com --http-port "$PEBBLE_HTTP_PORT" \
  --server "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$S2"
expect_rc 0
expect_cert rsa-acct.example.com "$PEBBLE_ROOT" "$S2"

# ---------------------------------------------------------------- several servers
begin "accounts for two servers coexist in one state directory"
# The same pebble under another host name is another server as far as the
# state directory goes (its listener certificate is valid for localhost).
LOCAL_DIR="https://localhost:${PEBBLE_DIRECTORY#https://127.0.0.1:}"
cr account register --email second@example.com --agree-tos \
  --server "$LOCAL_DIR" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$STATE"
expect_rc 0
expect_eq "number of account directories" 2 "$(account_dirs "$STATE" | wc -l)"
cr account show --json --server "$LOCAL_DIR" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$STATE"
expect_rc 0
expect_json 'd["contact"]' '["mailto:second@example.com"]'
cr account show --json "${A[@]}"
expect_rc 0
expect_json 'd["url"]' "\"$ACCT_URL\""

# ---------------------------------------------------------------- deactivate
begin "account deactivate"
cr account deactivate "${A[@]}"
expect_rc 0
expect_err_empty
expect_eq "account.json status" '"deactivated"' "$(json "$ACCT_DIR/account.json" 'd["status"]')"

begin "a deactivated account cannot order (clear message)"
cr issue -d after-deact.example.com --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc 1
expect_one_error "deactivated"
expect_not_issued after-deact.example.com

begin "the server refuses orders from the deactivated account too"
# Pretend the local record missed the deactivation: the server must say no.
rm -rf "$TMP/state-stale"
cp -a "$STATE" "$TMP/state-stale"
python3 - "$TMP/state-stale/${ACCT_DIR#"$STATE"/}/account.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["status"] = "valid"
json.dump(d, open(sys.argv[1], "w"))
EOF
cr issue -d after-deact.example.com --http-port "$PEBBLE_HTTP_PORT" \
  --server "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$TMP/state-stale"
expect_rc 1
expect_one_error "deactivated"
expect_not_issued after-deact.example.com "$TMP/state-stale"

begin "the other server's account is untouched by the deactivation"
cr account show --json --server "$LOCAL_DIR" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$STATE"
expect_rc 0
expect_json 'd["status"]' '"valid"'

finish
