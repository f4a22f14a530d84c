#!/bin/bash
# External account binding (RFC 8555 §7.3.4) against a pebble that requires it:
# a missing, malformed, half-given, wrong or unknown binding is refused clearly
# and leaves no account behind; a good one registers; issue --email --agree-tos
# --eab-* registers on the fly.
# Usage: eab.sh PATH-TO-certroute
# shellcheck disable=SC2016 # single-quoted JSON expressions for json()
. "$(dirname "$0")/lib.sh"
acme_init "$@"
start_pebble eab --eab

STATE="$TMP/state"
A=(--server "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$STATE")
REG=(account register --email eab@example.com --agree-tos)

begin "register without EAB where the server requires it: clear error, exit 1"
cr "${REG[@]}" "${A[@]}"
expect_rc 1
expect_one_error "external account binding"
expect_err_contains "--eab-kid"
expect_no_account

begin "EAB HMAC key that is not base64url: exit 3 (or 2), names the flag, nothing sent"
cr "${REG[@]}" --eab-kid "$PEBBLE_EAB_KID" --eab-hmac-key 'not base64url!' "${A[@]}"
expect_rc_in 3 2
expect_one_error "--eab-hmac-key" "base64url"
expect_no_account

begin "EAB HMAC key in standard base64 (+ and /) is not base64url either"
cr "${REG[@]}" --eab-kid "$PEBBLE_EAB_KID" --eab-hmac-key 'ab+cd/ef' "${A[@]}"
expect_rc_in 3 2
expect_one_error "--eab-hmac-key"
expect_no_account

begin "--eab-kid without --eab-hmac-key: usage error"
cr "${REG[@]}" --eab-kid "$PEBBLE_EAB_KID" "${A[@]}"
expect_rc 2
expect_one_error "--eab-kid" "--eab-hmac-key"
expect_no_account

begin "--eab-hmac-key without --eab-kid: usage error"
cr "${REG[@]}" --eab-hmac-key "$PEBBLE_EAB_HMAC" "${A[@]}"
expect_rc 2
expect_one_error "--eab-kid" "--eab-hmac-key"
expect_no_account

begin "EAB with the wrong HMAC key: the server's refusal, exit 1"
cr "${REG[@]}" --eab-kid "$PEBBLE_EAB_KID" --eab-hmac-key "$PEBBLE_EAB_HMAC_2" "${A[@]}"
expect_rc 1
expect_one_error "unauthorized"
expect_no_account

begin "EAB with a key ID the server does not know: the server's detail, exit 1"
cr "${REG[@]}" --eab-kid no-such-kid --eab-hmac-key "$PEBBLE_EAB_HMAC" "${A[@]}"
expect_rc 1
expect_one_error "unauthorized" "kid"
expect_no_account

begin "register with EAB"
cr "${REG[@]}" --eab-kid "$PEBBLE_EAB_KID" --eab-hmac-key "$PEBBLE_EAB_HMAC" "${A[@]}"
expect_rc 0
expect_err_empty
expect_eq "number of account directories" 1 "$(account_dirs "$STATE" | wc -l)"
ACCT_DIR=$(account_dirs "$STATE" | head -1)
expect_dir_only "$ACCT_DIR" account.json key.pem
expect_mode "$ACCT_DIR/key.pem" 600
expect_eq "account.json status" '"valid"' "$(json "$ACCT_DIR/account.json" 'd["status"]')"

begin "account show for the EAB account"
cr account show --json "${A[@]}"
expect_rc 0
expect_json 'd["status"]' '"valid"'
expect_json 'd["contact"]' '["mailto:eab@example.com"]'

begin "issue with the EAB-bound account"
cr issue -d eab.example.com --http-port "$PEBBLE_HTTP_PORT" "${A[@]}"
expect_rc 0
expect_cert eab.example.com

begin "issue --email --agree-tos without EAB where it is required: clear error, no account"
S2="$TMP/state2"
cr issue -d eab2.example.com --http-port "$PEBBLE_HTTP_PORT" --email two@example.com --agree-tos \
  --server "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$S2"
expect_rc 1
expect_one_error "external account binding"
expect_no_account "$S2"
expect_not_issued eab2.example.com "$S2"

begin "issue --email --agree-tos --eab-kid --eab-hmac-key registers on the fly"
cr issue -d eab2.example.com --http-port "$PEBBLE_HTTP_PORT" --email two@example.com --agree-tos \
  --eab-kid "$PEBBLE_EAB_KID_2" --eab-hmac-key "$PEBBLE_EAB_HMAC_2" \
  --server "$PEBBLE_DIRECTORY" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$S2"
expect_rc 0
expect_eq "number of account directories" 1 "$(account_dirs "$S2" | wc -l)"
expect_cert eab2.example.com "$PEBBLE_ROOT" "$S2"

finish
