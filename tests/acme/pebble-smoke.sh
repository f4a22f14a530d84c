#!/bin/bash
# Smoke test for scripts/pebble: start pebble + challtestsrv on loopback, check the
# ACME directory, a nonce, the issuing root, the dns-01 hook (a real TXT query to
# challtestsrv), then stop and check both processes are gone. A second run starts
# with --eab --nonce-reject 90 --alternate-roots 2 and checks pebble took them.
# No arguments. Exit 0 when every check passes; 77 (skip) without pebble.
# shellcheck disable=SC2016 # bash -c '...' _ args: expanded by the inner shell
set -u

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
root=$(CDPATH='' cd -- "$here/../.." && pwd)
PEBBLE="$root/scripts/pebble"

for tool in pebble pebble-challtestsrv; do
  command -v "$tool" >/dev/null 2>&1 || { echo "pebble-smoke: SKIP: '$tool' not installed (Debian package pebble)"; exit 77; }
done
for tool in curl openssl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "pebble-smoke: '$tool' is required" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pebble-smoke.XXXXXX")
cleanup() {
  "$PEBBLE" stop "$TMP/a" >/dev/null 2>&1 || true
  "$PEBBLE" stop "$TMP/b" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

PASSED=0 FAILED=0
ok()   { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; [ $# -lt 2 ] || printf '       %s\n' "$2"; }
check() { # check DESCRIPTION COMMAND...
  local d=$1; shift
  if "$@"; then ok "$d"; else fail "$d"; fi
}

# process_gone PID: no such process, or only a zombie left (containers whose PID 1
# does not reap orphans keep zombies around).
process_gone() {
  local st
  [ -r "/proc/$1/stat" ] || return 0
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

# txt_query HOST PORT NAME: print the TXT strings of NAME, one a line. Uses dig
# when installed, else a minimal DNS query in python3, else returns 2 (skip).
txt_query() {
  if command -v dig >/dev/null 2>&1; then
    dig +short +time=2 +tries=1 @"$1" -p "$2" TXT "$3" | sed 's/^"//; s/"$//'
    return
  fi
  command -v python3 >/dev/null 2>&1 || return 2
  python3 - "$1" "$2" "$3" <<'EOF'
import random, socket, struct, sys
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
qid = random.randint(0, 65535)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
for label in name.rstrip(".").split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", 16, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, (host, port))
r, _ = s.recvfrom(65535)
if struct.unpack(">H", r[:2])[0] != qid:
    sys.exit("bad DNS reply id")
ancount = struct.unpack(">H", r[6:8])[0]
i = len(q)
def skip_name(i):
    while True:
        b = r[i]
        if b == 0:
            return i + 1
        if b & 0xC0 == 0xC0:
            return i + 2
        i += b + 1
for _ in range(ancount):
    i = skip_name(i)
    rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", r[i:i + 10])
    i += 10
    if rtype == 16:
        j = i
        while j < i + rdlen:
            n = r[j]
            print(r[j + 1:j + 1 + n].decode())
            j += n + 1
    i += rdlen
EOF
}

# ------------------------------------------------------------------ run 1: defaults
D=$TMP/a
if ! "$PEBBLE" start "$D" >"$TMP/start.out" 2>&1; then
  fail "scripts/pebble start" "$(cat "$TMP/start.out")"
  echo "$PASSED passed, $FAILED failed"; exit 1
fi
ok "scripts/pebble start"
# shellcheck disable=SC1091
. "$D/env"

for v in PEBBLE_DIRECTORY PEBBLE_CA_BUNDLE PEBBLE_MGMT PEBBLE_ROOT PEBBLE_HTTP_PORT \
         PEBBLE_TLS_PORT CHALLTESTSRV_MGMT CHALLTESTSRV_DNS PEBBLE_PID CHALLTESTSRV_PID; do
  if [ -n "${!v:-}" ]; then ok "env has $v"; else fail "env has $v"; fi
done
case $PEBBLE_DIRECTORY in https://127.0.0.1:*/dir) ok "directory URL on loopback" ;;
  *) fail "directory URL on loopback" "$PEBBLE_DIRECTORY" ;; esac

check "second start on a running DIR is refused" \
  bash -c '! "$1" start "$2" >/dev/null 2>&1' _ "$PEBBLE" "$D"

dir_json=$(curl -sf --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_DIRECTORY")
for k in newNonce newAccount newOrder; do
  if grep -q "\"$k\"" <<<"$dir_json"; then ok "directory has $k"; else fail "directory has $k" "$dir_json"; fi
done
new_nonce=$(sed -n 's/.*"newNonce": *"\([^"]*\)".*/\1/p' <<<"$dir_json")
if curl -sI --cacert "$PEBBLE_CA_BUNDLE" "$new_nonce" | grep -qi '^replay-nonce: *[A-Za-z0-9_-]\+'; then
  ok "HEAD newNonce returns Replay-Nonce"
else
  fail "HEAD newNonce returns Replay-Nonce" "$new_nonce"
fi

root_pem=$(curl -sf --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_MGMT/roots/0")
if grep -q -- '-----BEGIN CERTIFICATE-----' <<<"$root_pem" &&
   openssl x509 -noout <<<"$root_pem" 2>/dev/null; then
  ok "management /roots/0 is a PEM certificate"
else
  fail "management /roots/0 is a PEM certificate"
fi
if [ -f "$PEBBLE_ROOT" ] && [ "$(openssl x509 -noout -fingerprint <"$PEBBLE_ROOT")" = \
     "$(openssl x509 -noout -fingerprint <<<"$root_pem")" ]; then
  ok "PEBBLE_ROOT is the issuing root"
else
  fail "PEBBLE_ROOT is the issuing root"
fi
check "PEBBLE_INTERMEDIATE is signed by PEBBLE_ROOT" \
  bash -c 'openssl verify -CAfile "$1" "$2" >/dev/null' _ "$PEBBLE_ROOT" "$PEBBLE_INTERMEDIATE"

# dns-01 hook -> challtestsrv -> DNS answer
name=_acme-challenge.smoke.example.
dns_host=${CHALLTESTSRV_DNS%:*} dns_port=${CHALLTESTSRV_DNS##*:}
check "dns-hook add (apex value)" "$D/dns-hook" add "$name" value-apex
check "dns-hook add (wildcard value, same name)" "$D/dns-hook" add "$name" value-wild
txt=$(txt_query "$dns_host" "$dns_port" "$name"); rc=$?
if [ $rc = 2 ]; then
  echo "skip - TXT query (neither dig nor python3 installed)"
else
  if grep -qx value-apex <<<"$txt" && grep -qx value-wild <<<"$txt"; then
    ok "challtestsrv answers TXT with both values"
  else
    fail "challtestsrv answers TXT with both values" "got: $(tr '\n' ' ' <<<"$txt")"
  fi
  "$D/dns-hook" remove "$name" value-apex
  txt=$(txt_query "$dns_host" "$dns_port" "$name")
  if [ "$txt" = value-wild ]; then ok "dns-hook remove keeps the other value"; else
    fail "dns-hook remove keeps the other value" "got: $(tr '\n' ' ' <<<"$txt")"; fi
  "$D/dns-hook" remove "$name" value-wild
  txt=$(txt_query "$dns_host" "$dns_port" "$name")
  if [ -z "$txt" ]; then ok "dns-hook remove of the last value clears the name"; else
    fail "dns-hook remove of the last value clears the name" "got: $(tr '\n' ' ' <<<"$txt")"; fi
fi
check "dns-hook rejects a name without the trailing dot" \
  bash -c '! "$1" add _acme-challenge.smoke.example v 2>/dev/null' _ "$D/dns-hook"

check "scripts/pebble stop" "$PEBBLE" stop "$D"
check "pebble process is gone" process_gone "$PEBBLE_PID"
check "challtestsrv process is gone" process_gone "$CHALLTESTSRV_PID"
check "stop again is a no-op" "$PEBBLE" stop "$D"

# ------------------------------------------------------------------ run 2: options
D=$TMP/b
unset PEBBLE_ROOT_1 PEBBLE_ROOT_2 PEBBLE_EAB_KID PEBBLE_EAB_HMAC
if "$PEBBLE" start "$D" --eab --nonce-reject 90 --alternate-roots 2 >"$TMP/start.out" 2>&1; then
  ok "start --eab --nonce-reject 90 --alternate-roots 2"
  # shellcheck disable=SC1091
  . "$D/env"
  dir_json=$(curl -sf --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_DIRECTORY")
  if grep -q '"externalAccountRequired": *true' <<<"$dir_json"; then
    ok "directory meta.externalAccountRequired is true"
  else
    fail "directory meta.externalAccountRequired is true" "$dir_json"
  fi
  if [ "${PEBBLE_EAB_KID:-}" = kid-1 ] && [ -n "${PEBBLE_EAB_HMAC:-}" ]; then
    ok "env has PEBBLE_EAB_KID=kid-1 and PEBBLE_EAB_HMAC"
  else
    fail "env has PEBBLE_EAB_KID=kid-1 and PEBBLE_EAB_HMAC"
  fi
  check "pebble rejects 90% of nonces" grep -q 'reject 90% of good nonces' "$D/pebble.log"
  fps=""
  for f in "${PEBBLE_ROOT:-}" "${PEBBLE_ROOT_1:-}" "${PEBBLE_ROOT_2:-}"; do
    fps="$fps $(openssl x509 -noout -fingerprint -in "$f" 2>/dev/null | cut -d= -f2)"
  done
  if [ "$(tr ' ' '\n' <<<"$fps" | grep -c .)" = 3 ] &&
     [ "$(tr ' ' '\n' <<<"$fps" | grep . | sort -u | wc -l)" = 3 ]; then
    ok "three distinct roots saved (PEBBLE_ROOT, _1, _2)"
  else
    fail "three distinct roots saved (PEBBLE_ROOT, _1, _2)" "$fps"
  fi
  check "PEBBLE_INTERMEDIATE_2 is signed by PEBBLE_ROOT_2" \
    bash -c 'openssl verify -CAfile "$1" "$2" >/dev/null' _ "${PEBBLE_ROOT_2:-/nonexistent}" "${PEBBLE_INTERMEDIATE_2:-/nonexistent}"
  check "stop (options run)" "$PEBBLE" stop "$D"
  check "pebble process is gone (options run)" process_gone "$PEBBLE_PID"
  check "challtestsrv process is gone (options run)" process_gone "$CHALLTESTSRV_PID"
else
  fail "start --eab --nonce-reject 90 --alternate-roots 2" "$(cat "$TMP/start.out")"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
