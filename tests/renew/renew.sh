#!/bin/bash
# renew.cli: `certroute renew`, `list`, `versions`, `rollback`, `remove` end to
# end against a real pebble (issue 5): output and exit codes for cron, hooks and
# their CERTROUTE_* variables, the lock, --days, --dry-run, list --json and
# --prometheus, and the version commands.
#
# Usage: renew.sh PATH-TO-certroute
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
renew_init "$@"
start_pebble main

# A hook that records each run: HOOKS/<label>.XXXXXX holds its CERTROUTE_*
# variables, HOOKS/order one line "<label> <CERTROUTE_NAME> <CERTROUTE_EVENT>" a run.
HOOKS=$TMP/hooks
mkdir -p "$HOOKS"
HOOK=$TMP/hook.sh
cat >"$HOOK" <<EOF
#!/bin/sh
f=\$(mktemp "$HOOKS/\$1.XXXXXX")
env | grep '^CERTROUTE_' | sort >"\$f"
echo "\$1 \${CERTROUTE_NAME:-} \${CERTROUTE_EVENT:-}" >>"$HOOKS/order"
EOF
chmod 755 "$HOOK"
hook_runs() { find "$HOOKS" -name "$1.*" | wc -l; }                   # LABEL
hook_files() { find "$HOOKS" -name "$1.*" | sort; }                   # LABEL
hook_var() { grep "^$2=" "$1" | head -1 | cut -d= -f2-; }             # FILE VAR
clear_hooks() { rm -rf "$HOOKS"; mkdir -p "$HOOKS"; }

# expect_hook_env FILE NAME EVENT VERSION: the variables a deploy hook got.
expect_hook_env() {
  local f=$1 name=$2 event=$3 v=$4 vd
  vd=$STATE/certs/$name/versions/$v
  expect_eq "CERTROUTE_NAME" "$name" "$(hook_var "$f" CERTROUTE_NAME)"
  expect_eq "CERTROUTE_EVENT" "$event" "$(hook_var "$f" CERTROUTE_EVENT)"
  expect_eq "CERTROUTE_DOMAINS" "$name" "$(hook_var "$f" CERTROUTE_DOMAINS)"
  expect_eq "CERTROUTE_VERSION_DIR" "$vd" "$(hook_var "$f" CERTROUTE_VERSION_DIR)"
  expect_eq "CERTROUTE_CERT" "$vd/cert.pem" "$(hook_var "$f" CERTROUTE_CERT)"
  expect_eq "CERTROUTE_KEY" "$vd/privkey.pem" "$(hook_var "$f" CERTROUTE_KEY)"
  expect_eq "CERTROUTE_CHAIN" "$vd/chain.pem" "$(hook_var "$f" CERTROUTE_CHAIN)"
  expect_eq "CERTROUTE_FULLCHAIN" "$vd/fullchain.pem" "$(hook_var "$f" CERTROUTE_FULLCHAIN)"
  local cert
  cert=$(hook_var "$f" CERTROUTE_CERT)
  if [ -f "$cert" ]; then
    expect_eq "CERTROUTE_NOT_AFTER is the certificate's notAfter" "$(not_after_rfc3339 "$cert")" "$(hook_var "$f" CERTROUTE_NOT_AFTER)"
  else
    fail "CERTROUTE_CERT ($cert) should be an existing file"
  fi
  for x in KEY CHAIN FULLCHAIN; do
    [ -f "$(hook_var "$f" "CERTROUTE_$x")" ] || fail "CERTROUTE_$x should be an existing file"
  done
}

# lines FILE: number of lines.
lines() { grep -c '' "$1"; }

# ---------------------------------------------------------------- setup
issue_cert a.example --deploy-hook "$HOOK spec-a"
issue_cert b.example

begin "issue --deploy-hook runs the hook with CERTROUTE_EVENT=issued and the CERTROUTE_* variables"
expect_complete a.example 1
expect_complete b.example 1
expect_eq "spec hook runs after issue" 1 "$(hook_runs spec-a)"
f=$(hook_files spec-a | head -1)
[ -n "$f" ] && expect_hook_env "$f" a.example issued 1
clear_hooks

# ---------------------------------------------------------------- nothing due
begin "nothing due: --quiet prints nothing at all and exits 0; no hook runs"
crr renew --quiet --pre-hook "$HOOK pre" --post-hook "$HOOK post" --deploy-hook "$HOOK cli"
expect_rc 0
expect_out_empty
expect_err_empty
expect_eq "hook runs when nothing is due" 0 "$(find "$HOOKS" -type f | wc -l)"
expect_complete a.example 1
expect_complete b.example 1

begin "nothing due: one line per certificate, 'skipped NAME: N days left'"
crr renew
expect_rc 0
expect_err_empty
expect_eq "stdout lines" 2 "$(lines "$OUT")"
grep -qE '^skipped a\.example: [0-9]+ days left' "$OUT" || fail "a line 'skipped a.example: N days left'"
grep -qE '^skipped b\.example: [0-9]+ days left' "$OUT" || fail "a line 'skipped b.example: N days left'"

begin "nothing due: --json is an array with name, action, reason, not_after"
crr renew --json
expect_rc 0
expect_valid_json
expect_err_empty
expect_json 'len(d)' 2
expect_json 'sorted(x["name"] for x in d)' '["a.example", "b.example"]'
expect_json 'sorted(set(x["action"] for x in d))' '["skipped"]'
expect_json 'all(isinstance(x["reason"], str) and "days left" in x["reason"] for x in d)' true
na=$(not_after_rfc3339 "$STATE/certs/a.example/current/cert.pem")
expect_json '[x["not_after"] for x in d if x["name"] == "a.example"][0]' "\"$na\""

begin "renew NAME only looks at that certificate"
crr renew b.example
expect_rc 0
expect_eq "stdout" "skipped b.example" "$(cut -d: -f1 "$OUT")"

# ---------------------------------------------------------------- --force and hooks
begin "--force renews every certificate, runs the spec's and --deploy-hook's hooks (renewed), pre/post once"
clear_hooks
crr renew --force --deploy-hook "$HOOK cli" --pre-hook "$HOOK pre" --post-hook "$HOOK post"
expect_rc 0
expect_err_empty
expect_eq "stdout lines" 2 "$(lines "$OUT")"
grep -qE '^renewed a\.example \(expires [0-9]{4}-[0-9]{2}-[0-9]{2}\)$' "$OUT" || fail "a line 'renewed a.example (expires YYYY-MM-DD)'"
grep -qE '^renewed b\.example \(expires [0-9]{4}-[0-9]{2}-[0-9]{2}\)$' "$OUT" || fail "a line 'renewed b.example (expires YYYY-MM-DD)'"
expect_complete a.example 2
expect_complete b.example 2
expect_eq "pre-hook runs" 1 "$(hook_runs pre)"
expect_eq "post-hook runs" 1 "$(hook_runs post)"
expect_eq "spec deploy hook (a.example only) runs" 1 "$(hook_runs spec-a)"
expect_eq "--deploy-hook runs (once per renewed certificate)" 2 "$(hook_runs cli)"
f=$(hook_files spec-a | head -1)
[ -n "$f" ] && expect_hook_env "$f" a.example renewed 2
for f in $(hook_files cli); do
  n=$(hook_var "$f" CERTROUTE_NAME)
  case $n in a.example|b.example) expect_hook_env "$f" "$n" renewed 2 ;; *) fail "--deploy-hook ran for '$n'" ;; esac
done
expect_eq "pre-hook runs first" "pre" "$(head -1 "$HOOKS/order" | cut -d' ' -f1)"
expect_eq "post-hook runs last" "post" "$(tail -1 "$HOOKS/order" | cut -d' ' -f1)"
# the expiry in the line is the new certificate's
expect_out_contains "renewed a.example (expires $(not_after_rfc3339 "$STATE/certs/a.example/current/cert.pem" | cut -c1-10))"

begin "--force NAME renews only NAME; --quiet prints nothing when it succeeds"
clear_hooks
crr renew --force --quiet b.example --pre-hook "$HOOK pre"
expect_rc 0
expect_out_empty
expect_err_empty
expect_complete b.example 3
expect_complete a.example 2
expect_eq "pre-hook runs" 1 "$(hook_runs pre)"
expect_eq "a.example's spec hook does not run" 0 "$(hook_runs spec-a)"

begin "--force --json: action renewed, the new not_after and version"
crr renew --force --json a.example
expect_rc 0
expect_valid_json
expect_json 'len(d)' 1
expect_json 'd[0]["name"]' '"a.example"'
expect_json 'd[0]["action"]' '"renewed"'
expect_json 'd[0]["not_after"]' "\"$(not_after_rfc3339 "$STATE/certs/a.example/current/cert.pem")\""
expect_json 'd[0]["version"]' 3
expect_complete a.example 3

begin "hooks run under the state directory's lock"
clear_hooks
crr renew --force b.example --pre-hook "flock -n '$STATE/lock' true && echo free >>'$HOOKS/lockcheck' || echo held >>'$HOOKS/lockcheck'" \
  --deploy-hook "flock -n '$STATE/lock' true && echo free >>'$HOOKS/lockcheck' || echo held >>'$HOOKS/lockcheck'"
expect_rc 0
expect_eq "lock state seen by the pre and deploy hooks" "held held" "$(tr '\n' ' ' <"$HOOKS/lockcheck" 2>/dev/null | sed 's/ $//')"

begin "output of a pre/post hook does not corrupt --json on stdout"
crr renew --force --json b.example --pre-hook "echo pre-hook-says-hello" --post-hook "echo post-hook-says-bye"
expect_rc 0
expect_valid_json

begin "a failing deploy hook: exit 1, one line naming the certificate and hook, the new version stays current"
v_before=$(current_of a.example)
crr renew --force a.example --deploy-hook "echo broken-hook-output; exit 7"
expect_rc 1
expect_one_error "a.example" "exit 7"
expect_complete a.example $((v_before + 1))
expect_out_contains "renewed a.example"

begin "a failing pre-hook is reported (exit 1)"
crr renew --force b.example --pre-hook "exit 3"
expect_rc 1
grep -q 'pre' "$ERR" || fail "stderr should name the pre hook"

# ---------------------------------------------------------------- the lock
# hold_lock SECONDS: hold $STATE/lock with flock(1) in the background until it
# is surely held; HOLDER = its pid.
hold_lock() {
  flock "$STATE/lock" sleep "$1" </dev/null >/dev/null 2>&1 &
  HOLDER=$!
  BG_PIDS="$BG_PIDS $HOLDER"
  local _
  for _ in $(seq 50); do
    flock -n "$STATE/lock" true 2>/dev/null || return 0
    sleep 0.05
  done
  fail "could not observe the background flock holding $STATE/lock"
}

begin "a second renew while the lock is held exits 1 at once with a clear message"
snap=$(snapshot "$STATE/certs")
hold_lock 6
t0=$(date +%s%N)
crr renew --force
ms=$(elapsed_ms "$t0")
expect_rc 1
expect_one_error "$STATE" "busy"
[ "$ms" -lt 2000 ] || fail "renew with the lock held should exit at once" "< 2000 ms" "$ms ms"
expect_eq "nothing renewed while the lock was held" "$snap" "$(snapshot "$STATE/certs")"
begin "also when nothing is due (the lock is taken before anything else)"
crr renew
expect_rc 1
expect_err_contains "busy"
begin "--lock-timeout 1 waits about a second, then exits 1"
t0=$(date +%s%N)
crr renew --force --lock-timeout 1
ms=$(elapsed_ms "$t0")
expect_rc 1
expect_err_contains "busy"
[ "$ms" -ge 900 ] && [ "$ms" -lt 4000 ] || fail "time --lock-timeout 1 waited" "about 1000 ms" "$ms ms"
begin "--lock-timeout 30 waits for the holder to finish, then renews"
va=$(current_of a.example)
crr renew --force --quiet --lock-timeout 30 a.example
ms=$(elapsed_ms "$t0")
expect_rc 0
expect_err_empty
[ "$ms" -ge 3000 ] || fail "renew should have waited for the lock holder (6 s from the start)" ">= 3000 ms" "$ms ms"
expect_complete a.example $((va + 1))
wait "$HOLDER" 2>/dev/null

# ---------------------------------------------------------------- --days
begin "--days N: due when fewer than N days are left (pebble's certificates: ~1825 days)"
vb=$(current_of b.example)
crr renew --days 10
expect_rc 0
expect_eq "stdout lines with --days 10" 2 "$(grep -c '^skipped ' "$OUT")"
expect_complete b.example "$vb"
crr renew --days 5000 b.example
expect_rc 0
expect_out_contains "renewed b.example"
expect_complete b.example $((vb + 1))
crr renew --days 5000 --json b.example
expect_rc 0
expect_json 'd[0]["action"]' '"renewed"'
expect_json '"5000" in d[0]["reason"]' true
begin "--days must be a number >= 0 (usage error, exit 2)"
crr renew --days -3
expect_rc 2
crr renew --days many
expect_rc 2

# ---------------------------------------------------------------- --dry-run
begin "--dry-run --force orders for real but changes nothing in the state directory, runs no deploy hook"
clear_hooks
snap=$(snapshot "$STATE")
crr renew --dry-run --force --deploy-hook "$HOOK cli"
expect_rc 0
expect_err_empty
grep -q 'a.example' "$OUT" && grep -q 'b.example' "$OUT" || fail "the dry run should report both certificates"
expect_out_not_contains "skipped"
expect_eq "state directory after --dry-run" "$snap" "$(snapshot "$STATE")"
expect_eq "deploy hook runs in a dry run" 0 "$(hook_runs cli)"
begin "--dry-run --json: the would-be renewals, still nothing stored"
crr renew --dry-run --force --json a.example
expect_rc 0
expect_valid_json
expect_json 'd[0]["name"]' '"a.example"'
expect_json 'd[0]["action"]' '"renewed"'
expect_json 'isinstance(d[0]["not_after"], str)' true
expect_eq "state directory after --dry-run --json" "$snap" "$(snapshot "$STATE")"
begin "--dry-run with nothing due: skipped, exit 0"
crr renew --dry-run --quiet
expect_rc 0
expect_out_empty
expect_err_empty

# ---------------------------------------------------------------- a renewal that cannot reach its server
# c.example: issued, then its spec points at a port where nothing listens.
issue_cert c.example
python3 - "$STATE/certs/c.example/spec.json" <<'EOF'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["server"] = d["server_alias"] = "https://127.0.0.1:9/dir"
json.dump(d, open(p, "w"), indent=2)
EOF
begin "a due certificate whose ACME server cannot be reached: exit 4, one line naming it; the others still renew"
va=$(current_of a.example)
crr renew --force --quiet
expect_rc 4
expect_one_error "c.example"
expect_complete c.example 1
expect_complete a.example $((va + 1))

# ---------------------------------------------------------------- list
begin "list --json: name, domains, not_after (RFC 3339), days_left, due, reason, version"
crr list --json
expect_rc 0
expect_valid_json
expect_json 'sorted(x["name"] for x in d)' '["a.example", "b.example", "c.example"]'
expect_json '[x["domains"] for x in d if x["name"] == "a.example"][0]' '["a.example"]'
na=$(not_after_rfc3339 "$STATE/certs/a.example/current/cert.pem")
expect_json '[x["not_after"] for x in d if x["name"] == "a.example"][0]' "\"$na\""
expect_json 'all(__import__("re").fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", x["not_after"]) is not None for x in d)' true
days=$(( ($(date -u -d "$na" +%s) - $(date +%s)) / 86400 ))
dl=$(json "$OUT" '[x["days_left"] for x in d if x["name"] == "a.example"][0]')
[ "$dl" -ge $((days - 1)) ] 2>/dev/null && [ "$dl" -le $((days + 1)) ] ||
  fail "days_left of a.example (whole days until not_after)" "$days" "$dl"
expect_json 'all(isinstance(x["days_left"], int) and isinstance(x["due"], bool) and isinstance(x["reason"], str) and isinstance(x["version"], int) for x in d)' true
expect_json '[x["due"] for x in d]' '[false, false, false]'
expect_json '[x["version"] for x in d if x["name"] == "a.example"][0]' "$(current_of a.example)"
expect_json '[x["version"] for x in d if x["name"] == "b.example"][0]' "$(current_of b.example)"

begin "list (text): one entry per certificate"
crr list
expect_rc 0
for n in a.example b.example c.example; do grep -q "^$n " "$OUT" || fail "list should show $n"; done

begin "list --prometheus FILE writes the node_exporter metrics atomically"
mkdir -p textfile
crr list --quiet --prometheus textfile/certroute.prom
expect_rc 0
P=textfile/certroute.prom
expect_file "$P"
for m in certroute_cert_not_after_seconds certroute_cert_due certroute_last_renew_success_timestamp_seconds certroute_last_renew_failure; do
  grep -q "^# TYPE $m gauge" "$P" || fail "$P should declare '# TYPE $m gauge'"
  for n in a.example b.example c.example; do
    grep -qE "^$m\{name=\"$n\"\} [0-9.e+]+$" "$P" || fail "$P should have $m{name=\"$n\"}"
  done
done
expect_eq "certroute_cert_not_after_seconds{a.example}" "$(date -u -d "$na" +%s)" \
  "$(sed -n 's/^certroute_cert_not_after_seconds{name="a.example"} //p' "$P")"
expect_eq "certroute_cert_due{a.example}" 0 "$(sed -n 's/^certroute_cert_due{name="a.example"} //p' "$P")"
expect_eq "certroute_last_renew_failure{a.example}" 0 "$(sed -n 's/^certroute_last_renew_failure{name="a.example"} //p' "$P")"
expect_eq "certroute_last_renew_failure{c.example} (its renewal failed)" 1 "$(sed -n 's/^certroute_last_renew_failure{name="c.example"} //p' "$P")"
ts=$(sed -n 's/^certroute_last_renew_success_timestamp_seconds{name="a.example"} //p' "$P")
now=$(date +%s)
[ -n "$ts" ] && [ "$ts" -gt $((now - 600)) ] && [ "$ts" -le $((now + 5)) ] ||
  fail "certroute_last_renew_success_timestamp_seconds{a.example} should be a recent time" "~$now" "$ts"
expect_dir_only textfile certroute.prom
# rewritten in place
crr list --quiet --prometheus textfile/certroute.prom
expect_rc 0
expect_dir_only textfile certroute.prom

# ---------------------------------------------------------------- versions, rollback, remove
begin "versions NAME lists every version, the current one marked"
n=$(current_of a.example)
crr versions a.example
expect_rc 0
expect_eq "versions listed" "$n" "$(lines "$OUT")"
expect_eq "the marked line" "* $n" "$(grep '^\*' "$OUT" | awk '{print $1, $2}')"
crr versions a.example --json
expect_rc 0
expect_json '[v["version"] for v in d]' "[$(seq -s ', ' 1 "$n")]"
expect_json '[v["version"] for v in d if v["current"]]' "[$n]"

begin "rollback NAME switches current to the previous version"
crr rollback a.example
expect_rc 0
expect_complete a.example $((n - 1))
crr versions a.example --json
expect_json '[v["version"] for v in d if v["current"]]' "[$((n - 1))]"

begin "rollback NAME VERSION; an unknown version is refused (exit 3), current unchanged"
crr rollback a.example 1
expect_rc 0
expect_complete a.example 1
crr rollback a.example 999
expect_rc 3
expect_one_error "a.example" "999"
expect_complete a.example 1
crr rollback a.example --lock-timeout 0 1
expect_rc 0

begin "rollback to the oldest version: 'no version before 1' (exit 1)"
crr rollback a.example
expect_rc 1
expect_one_error "a.example"
expect_complete a.example 1

begin "after a rollback, renew --force adds a new highest version and makes it current"
crr renew --force --quiet a.example
expect_rc 0
expect_complete a.example $((n + 1))

begin "rollback with the lock held: exit 1, current unchanged"
hold_lock 2
crr rollback a.example 2
expect_rc 1
expect_err_contains "busy"
expect_complete a.example $((n + 1))
wait "$HOLDER" 2>/dev/null

begin "remove NAME moves the certificate to STATE/removed/, keys kept"
keysum=$(cd "$STATE/certs/c.example" && sha256sum versions/*/privkey.pem)
crr remove c.example
expect_rc 0
expect_no_file "$STATE/certs/c.example"
moved=$(find "$STATE/removed" -mindepth 1 -maxdepth 1 -name 'c.example*' | head -1)
[ -n "$moved" ] || fail "STATE/removed/ should hold c.example's directory"
if [ -n "$moved" ]; then
  expect_eq "private keys in $moved" "$keysum" "$(cd "$moved" && sha256sum versions/*/privkey.pem)"
  expect_file "$moved/spec.json"
fi
crr list --json
expect_json 'sorted(x["name"] for x in d)' '["a.example", "b.example"]'
crr renew --force c.example
expect_rc 3
expect_one_error "c.example"
crr remove c.example
expect_rc 3
expect_one_error "c.example"
begin "after remove, renew with nothing due is silent again (exit 0)"
crr renew --quiet
expect_rc 0
expect_out_empty
expect_err_empty

begin "renew with a state directory that does not exist: nothing to do, exit 0, nothing created"
cr renew --no-random-sleep --quiet --state-dir "$TMP/nothing-here"
expect_rc 0
expect_out_empty
expect_err_empty
expect_no_file "$TMP/nothing-here"
cr renew --no-random-sleep --json --state-dir "$TMP/nothing-here"
expect_rc 0
expect_json 'd' '[]'

echo "renew: total $((SECONDS - T0)) s"
finish
