#!/bin/bash
# renew.bad_input: `certroute renew` with a damaged state directory or broken
# hooks (issue 5, "Bad input"). Two certificates: good.example (account A, at
# https://localhost:PORT/dir) and bad.example (account B, at
# https://127.0.0.1:PORT/dir, same pebble). Each case starts from a pristine
# copy, breaks bad.example one way, and runs `renew --force --quiet`: stderr is
# one clear 'certroute: bad.example: ...' line, the exit code is the one
# ARCHITECTURE.md gives (3 bad spec or state directory, 1 a failed hook), and
# good.example is still renewed. The broken certificate's files are not touched.
#
# Usage: bad_input.sh PATH-TO-certroute
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
renew_init "$@"
start_pebble main

# ---------------------------------------------------------------- the pristine state
LOCALHOST_DIR=${PEBBLE_DIRECTORY/127.0.0.1/localhost}
SERVER=$LOCALHOST_DIR issue_cert good.example
issue_cert bad.example
# bad.example gets a second version, so a non-current version can be damaged too.
"$CR" renew --force --no-random-sleep --quiet --state-dir "$STATE" bad.example </dev/null >/dev/null 2>&1
PORT_HOST=${PEBBLE_DIRECTORY#https://}; PORT_HOST=${PORT_HOST%%/*}
ACC_BAD=$STATE/accounts/${PORT_HOST/:/_}                  # accounts/127.0.0.1_PORT
ACC_GOOD=$STATE/accounts/localhost_${PORT_HOST#*:}       # accounts/localhost_PORT
PRISTINE=$TMP/pristine
cp -a "$STATE" "$PRISTINE"

begin "the pristine state: two certificates on two accounts"
expect_complete good.example 1
expect_complete bad.example 2
[ -d "$ACC_BAD" ] || fail "account directory $ACC_BAD should exist"
[ -d "$ACC_GOOD" ] || fail "account directory $ACC_GOOD should exist"

BAD=$STATE/certs/bad.example
# fresh: restore the pristine state directory.
fresh() {
  rm -rf "$STATE"
  cp -a "$PRISTINE" "$STATE"
}
# edit_spec PYTHON: change bad.example's spec.json (d is the parsed object).
edit_spec() {
  python3 - "$BAD/spec.json" "$1" <<'EOF'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
exec(sys.argv[2])
json.dump(d, open(p, "w"), indent=2)
EOF
}
snap_bad() { snapshot "$BAD" | grep -v '^\./last-renew\.json '; }

# broken_case TITLE CODE NEEDLE... : run `renew --force --quiet` (all
# certificates) on the state as broken by the caller; check the one error line
# (naming bad.example and each NEEDLE), the exit code, that good.example was
# renewed and that bad.example's files are unchanged.
broken_case() {
  local code=$1
  shift
  local before
  before=$(snap_bad)
  crr renew --force --quiet
  expect_rc "$code"
  expect_out_empty
  expect_one_error "bad.example" "$@"
  expect_complete good.example 2
  expect_eq "bad.example's files after the failed renew" "$before" "$(snap_bad)"
  expect_no_leftovers "$STATE/certs"
}

# ---------------------------------------------------------------- spec.json
begin "corrupt spec.json (truncated): exit 3, one line naming the certificate and the file; good.example renews"
fresh
head -c 40 "$PRISTINE/certs/bad.example/spec.json" >"$BAD/spec.json"
broken_case 3 "spec.json"

begin "... and renew without --force reports it the same way; list still lists both"
crr renew --quiet
expect_rc 3
expect_one_error "bad.example" "spec.json"
crr list --json
expect_rc 0
expect_json 'sorted(x["name"] for x in d)' '["bad.example", "good.example"]'
expect_json '[bool(x.get("error")) for x in d if x["name"] == "bad.example"][0]' true
expect_json '[x["version"] for x in d if x["name"] == "good.example"][0]' 2
crr list --quiet --prometheus "$TMP/certroute.prom"
expect_rc 0
expect_eq "certroute_last_renew_failure{bad.example}" 1 "$(sed -n 's/^certroute_last_renew_failure{name="bad.example"} //p' "$TMP/certroute.prom")"
expect_eq "certroute_last_renew_failure{good.example}" 0 "$(sed -n 's/^certroute_last_renew_failure{name="good.example"} //p' "$TMP/certroute.prom")"
grep -q '^certroute_cert_not_after_seconds{name="good.example"} [0-9]' "$TMP/certroute.prom" ||
  fail "the good certificate's expiry metric should still be written"

begin "empty spec.json: exit 3, one line"
fresh
: >"$BAD/spec.json"
broken_case 3 "spec.json"

begin "spec.json that is not an object ([1, 2]): exit 3, one line"
fresh
echo '[1, 2]' >"$BAD/spec.json"
broken_case 3 "spec.json"

begin "spec.json deleted: exit 3, one line"
fresh
rm "$BAD/spec.json"
broken_case 3 "spec.json"

begin "hand-edited spec.json, domains is a string: exit 3, one line"
fresh
edit_spec 'd["domains"] = "bad.example"'
broken_case 3 "spec.json"

begin "hand-edited spec.json, http_port is a string: exit 3, one line"
fresh
edit_spec 'd["challenge"]["http_port"] = "80"'
broken_case 3 "spec.json"

begin "hand-edited spec.json, challenge without a type: exit 3, one line"
fresh
edit_spec 'del d["challenge"]["type"]'
broken_case 3 "spec.json"

begin "hand-edited spec.json, unknown challenge type: exit 3, one line naming it"
fresh
edit_spec 'd["challenge"]["type"] = "carrier-pigeon-01"'
broken_case 3 "carrier-pigeon-01"

begin "hand-edited spec.json, no names at all: exit 3, one line"
fresh
edit_spec 'd["domains"] = []; d["ips"] = []'
broken_case 3 "spec.json"

begin "hand-edited spec.json, unknown key type: exit 3, one line naming it"
fresh
edit_spec 'd["key_type"] = "rsa-1"'
broken_case 3 "rsa-1"

# ---------------------------------------------------------------- versions and current
begin "current version missing chain.pem: exit 3, one line naming the file"
fresh
rm "$BAD/versions/2/chain.pem"
broken_case 3 "chain.pem"

begin "current version missing privkey.pem: exit 3, one line naming the file"
fresh
rm "$BAD/versions/2/privkey.pem"
broken_case 3 "privkey.pem"

begin "current version's cert.pem is garbage: renew (nothing due) reports it, exit 3, one line; list marks it"
# (meta.json still says the certificate is fine: renew must not report
# 'skipped: N days left' for a certificate that cannot be served.)
fresh
echo "not a certificate" >"$BAD/versions/2/cert.pem"
crr renew --quiet
expect_rc 3
expect_one_error "bad.example" "cert.pem"
crr list --json
expect_rc 0
expect_json '[bool(x.get("error")) for x in d if x["name"] == "bad.example"][0]' true

begin "current version's cert.pem is empty: renew reports it, exit 3, one line"
fresh
: >"$BAD/versions/2/cert.pem"
crr renew --quiet
expect_rc 3
expect_one_error "bad.example" "cert.pem"

begin "current symlink pointing nowhere (versions/99): exit 3, one line"
fresh
ln -sfn versions/99 "$BAD/current"
broken_case 3 "current"

begin "current symlink pointing outside the versions (/etc): exit 3, one line"
fresh
ln -sfn /etc "$BAD/current"
broken_case 3 "current"

begin "current symlink missing: exit 3, one line"
fresh
rm "$BAD/current"
broken_case 3 "current"

begin "current is a regular file: exit 3, one line"
fresh
rm "$BAD/current"
echo versions/2 >"$BAD/current"
broken_case 3 "current"

begin "an older version missing cert.pem: renew is not disturbed"
fresh
rm "$BAD/versions/1/cert.pem"
crr renew --force --quiet
expect_rc 0
expect_err_empty
expect_complete good.example 2
expect_complete bad.example 3

begin "rollback to a version missing cert.pem is refused (exit 3); current stays complete"
fresh
rm "$BAD/versions/1/cert.pem"
crr rollback bad.example 1
expect_rc 3
expect_one_error "bad.example"
expect_complete bad.example 2

begin "a leftover temporary version from a crash is ignored, cleared by the next renew, never listed"
fresh
cp -a "$BAD/versions/2" "$BAD/versions/.tmp-3-crashed1"
rm "$BAD/versions/.tmp-3-crashed1/meta.json"
crr versions bad.example --json
expect_rc 0
expect_json '[v["version"] for v in d]' '[1, 2]'
crr renew --force --quiet
expect_rc 0
expect_complete bad.example 3
expect_no_leftovers "$BAD"

# ---------------------------------------------------------------- accounts
begin "bad.example's account deleted (rm -r its accounts/ directory): exit 3, one line; good.example renews"
fresh
rm -r "$ACC_BAD"
broken_case 3 "account"

begin "the whole accounts/ directory deleted: one line per certificate, exit 3, nothing changed"
fresh
rm -r "$STATE/accounts"
snap=$(snapshot "$STATE/certs" | grep -v '/last-renew\.json ')
crr renew --force --quiet
expect_rc 3
expect_out_empty
expect_error_lines 2
grep -q '^certroute: bad.example: .*account' "$ERR" || fail "a line 'certroute: bad.example: ...account...'"
grep -q '^certroute: good.example: .*account' "$ERR" || fail "a line 'certroute: good.example: ...account...'"
expect_eq "certificates after the failed renew" "$snap" "$(snapshot "$STATE/certs" | grep -v '/last-renew\.json ')"
begin "... and with nothing due, renew needs no account: exit 0, silent"
crr renew --quiet
expect_rc 0
expect_out_empty
expect_err_empty

# ---------------------------------------------------------------- hooks
begin "a deploy hook (from the spec) that does not exist: exit 1, one line naming it; the new version stays current"
fresh
edit_spec 'd["deploy_hooks"] = ["/nonexistent/deploy-hook --reload"]'
crr renew --force --quiet
expect_rc 1
expect_out_empty
expect_one_error "bad.example" "/nonexistent/deploy-hook" "not found"
expect_complete bad.example 3
expect_complete good.example 2

begin "--deploy-hook that does not exist: one line per certificate, exit 1, both renewed"
fresh
crr renew --force --quiet --deploy-hook /nonexistent/hook
expect_rc 1
expect_error_lines 2
grep -q '^certroute: bad.example: .*/nonexistent/hook' "$ERR" || fail "a line naming bad.example and the hook"
grep -q '^certroute: good.example: .*/nonexistent/hook' "$ERR" || fail "a line naming good.example and the hook"
expect_complete bad.example 3
expect_complete good.example 2

begin "a deploy hook that is not executable: exit 1, one line"
fresh
printf '#!/bin/sh\nexit 0\n' >"$TMP/noexec-hook"
chmod 644 "$TMP/noexec-hook"
edit_spec "d['deploy_hooks'] = ['$TMP/noexec-hook']"
crr renew --force --quiet
expect_rc 1
expect_one_error "bad.example" "noexec-hook"
expect_complete bad.example 3
expect_complete good.example 2

MARK=29.$((RANDOM % 9000 + 1000))   # a sleep length no other process uses
begin "a deploy hook that hangs, --hook-timeout 1: stopped after ~1 s (with its children), exit 1, one line"
fresh
edit_spec "d['deploy_hooks'] = ['sleep ${MARK}1 & sleep ${MARK}2']"
t0=$(date +%s%N)
crr renew --force --quiet --hook-timeout 1
ms=$(elapsed_ms "$t0")
expect_rc 1
expect_out_empty
expect_one_error "bad.example" "timed out"
expect_complete bad.example 3
expect_complete good.example 2
[ "$ms" -lt 8000 ] || fail "renew with a hanging hook and --hook-timeout 1" "< 8000 ms" "$ms ms"
sleep 0.2
left=$(pgrep -f "sleep ${MARK}" | tr '\n' ' ')
if [ -n "$left" ]; then
  fail "the hanging hook's processes should be gone" "(none)" "pids $left"
  for p in $left; do kill -KILL "$p" 2>/dev/null; done   # ours: started by this case's hook
fi

begin "a hanging --deploy-hook with --hook-timeout 1 does not stop the next certificate's renewal"
fresh
t0=$(date +%s%N)
crr renew --force --quiet --hook-timeout 1 --deploy-hook "sleep ${MARK}3"
ms=$(elapsed_ms "$t0")
expect_rc 1
expect_error_lines 2
grep -q '^certroute: bad.example: .*timed out' "$ERR" || fail "a line 'bad.example: ... timed out'"
grep -q '^certroute: good.example: .*timed out' "$ERR" || fail "a line 'good.example: ... timed out'"
expect_complete bad.example 3
expect_complete good.example 2
[ "$ms" -lt 10000 ] || fail "two hanging hooks with --hook-timeout 1" "< 10000 ms" "$ms ms"
left=$(pgrep -f "sleep ${MARK}" | tr '\n' ' ')
[ -z "$left" ] || { fail "hook processes left" "(none)" "$left"; for p in $left; do kill -KILL "$p" 2>/dev/null; done; }

begin "--hook-timeout must be a number >= 0 (usage error, exit 2)"
crr renew --hook-timeout soon
expect_rc 2

# ---------------------------------------------------------------- names
begin "renew NAME for a certificate that does not exist: exit 3, one line naming it; the named good one renews"
fresh
crr renew --force --quiet nosuch.example good.example
expect_rc 3
expect_one_error "nosuch.example"
expect_complete good.example 2
expect_complete bad.example 2

begin "renew with a name that is not a valid certificate name: a clear error, nothing renewed"
fresh
crr renew --force --quiet ../bad.example
expect_rc_in 2 3
expect_one_error "../bad.example"
expect_complete good.example 1
expect_complete bad.example 2

echo "bad_input: total $((SECONDS - T0)) s"
finish
