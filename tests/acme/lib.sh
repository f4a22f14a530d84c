# Shared helpers for the ACME end-to-end tests (sourced by tests/acme/*.sh).
# Builds on tests/cli/lib.sh (begin / cr / expect_* / finish) and adds a real
# pebble on loopback, started through scripts/pebble and always stopped.
#
# Usage in a suite:
#   . "$(dirname "$0")/lib.sh"
#   acme_init "$@"                      # $1 = certroute binary; skips (77) without pebble
#   start_pebble main --authz-reuse 0   # scripts/pebble start $TMP/pebble-main ...; sources its env
#   begin "what the case checks"
#   cr issue -d a.example.com ...; expect_rc 0; expect_cert a.example.com
#   finish
#
# Everything started here (pebbles, background helpers) is stopped by the EXIT trap.

ACME_LIB_DIR=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cli/lib.sh
. "$ACME_LIB_DIR/../cli/lib.sh"
PEBBLE_SCRIPT=$(CDPATH='' cd -- "$ACME_LIB_DIR/../../scripts" && pwd)/pebble

# json FILE EXPR: as in tests/cli/lib.sh, with python's site module skipped
# (halves the start-up time; these suites call it often).
json() {
  python3 -S -E - "$1" "$2" <<'EOF' 2>/dev/null || echo "INVALID-JSON"
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps(eval(sys.argv[2])))
EOF
}

PEBBLE_DIRS=""
BG_PIDS=""

acme_cleanup() {
  local d p
  for p in $BG_PIDS; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for d in $PEBBLE_DIRS; do
    "$PEBBLE_SCRIPT" stop "$d" >/dev/null 2>&1 || true
  done
  cd / || true
  rm -rf "$TMP"
}

# acme_init BINARY: as init (tests/cli/lib.sh), plus: skip (exit 77) without
# pebble, and an EXIT trap that stops every pebble and helper this suite started.
acme_init() {
  init "$@"
  trap acme_cleanup EXIT
  local tool
  for tool in pebble pebble-challtestsrv; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "$(basename "$0" .sh): SKIP: '$tool' not installed (Debian package pebble)"
      exit 77
    fi
  done
  command -v curl >/dev/null 2>&1 || { echo "$0: the ACME tests need curl" >&2; exit 1; }
  # The tests never touch the user's state or a real CA.
  export HOME="$TMP/home"
  export XDG_STATE_HOME="$TMP/home/.local/state"
  mkdir -p "$HOME"
}

# start_pebble LABEL [scripts/pebble start options...]: start a pebble in
# $TMP/pebble-LABEL and source its env (PEBBLE_DIRECTORY, PEBBLE_ROOT, ...).
# Any failure to start ends the suite (there is nothing to test without it).
start_pebble() {
  local label=$1 dir
  shift
  dir="$TMP/pebble-$label"
  PEBBLE_DIRS="$PEBBLE_DIRS $dir"
  unset PEBBLE_ROOT_1 PEBBLE_ROOT_2 PEBBLE_INTERMEDIATE_1 PEBBLE_INTERMEDIATE_2 \
    PEBBLE_EAB_KID PEBBLE_EAB_HMAC PEBBLE_EAB_KID_2 PEBBLE_EAB_HMAC_2
  if ! "$PEBBLE_SCRIPT" start "$dir" "$@" >"$TMP/pebble-$label.start" 2>&1; then
    echo "FAIL: scripts/pebble start $* did not start:"
    sed 's/^/    | /' "$TMP/pebble-$label.start"
    exit 1
  fi
  # shellcheck disable=SC1090,SC1091
  . "$dir/env"
  PEBBLE_DIR=$dir
}

# stop_pebble: stop the pebble started last (the EXIT trap stops it anyway).
stop_pebble() {
  "$PEBBLE_SCRIPT" stop "$PEBBLE_DIR" >/dev/null 2>&1 || true
}

# free_port: print a TCP port that is free on loopback right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bg CMD ARGS...: start a helper in the background (stopped by the EXIT trap);
# its pid is in BG_PID.
bg() {
  "$@" </dev/null >/dev/null 2>&1 &
  BG_PID=$!
  BG_PIDS="$BG_PIDS $BG_PID"
}

# stop_bg PID: stop one helper started with bg.
stop_bg() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# wait_port PORT: wait (up to 5 s) until something accepts TCP on 127.0.0.1:PORT.
wait_port() {
  local _
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "wait_port: nothing listens on $1" >&2
  return 1
}

# expect_rc_in CODE...: the last exit code is one of CODEs.
expect_rc_in() {
  local c
  if [ "$RC" -ge 128 ]; then
    fail "crashed (killed by signal $((RC - 128)))" "exit $*" "exit $RC"
    return 0
  fi
  for c in "$@"; do [ "$RC" -eq "$c" ] && return 0; done
  fail "exit code" "one of: $*" "$RC"
}

# cert_serial FILE: the certificate's serial, lower-case hex without leading zeros.
cert_serial() {
  openssl x509 -in "$1" -noout -serial 2>/dev/null | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//'
}

# cert_sans FILE: the subjectAltName entries, one a line, sorted ("DNS:x", "IP:1.2.3.4").
cert_sans() {
  openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | sed 1d | tr ',' '\n' |
    sed 's/^ *//; s/ *$//; s/^IP Address:/IP:/' | sed '/^$/d' | sort
}

# expect_sans FILE ENTRY...: the certificate's SANs are exactly these.
expect_sans() {
  local f=$1 want got
  shift
  want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
  got=$(cert_sans "$f" | tr '\n' ' ')
  [ "$want" = "$got" ] || fail "subjectAltName of $f" "$want" "$got"
}

# cert_pub_sha256 FILE: SHA-256 of the certificate's SubjectPublicKeyInfo (DER).
cert_pub_sha256() {
  openssl x509 -in "$1" -noout -pubkey 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null |
    sha256sum | cut -d' ' -f1
}

# expect_verifies CERT CHAIN ROOT: openssl verify -CAfile ROOT -untrusted CHAIN CERT says OK.
expect_verifies() {
  local out
  if ! out=$(openssl verify -CAfile "$3" -untrusted "$2" "$1" 2>&1); then
    fail "openssl verify -CAfile $3 -untrusted $2 $1" "OK" "$(echo "$out" | tr '\n' ' ')"
  fi
}

# expect_not_verifies CERT CHAIN ROOT: the chain does not lead to ROOT.
expect_not_verifies() {
  if openssl verify -CAfile "$3" -untrusted "$2" "$1" >/dev/null 2>&1; then
    fail "the chain in $2 should not verify against $3"
  fi
}

# expect_key_matches CERT KEY: the private key belongs to the certificate.
expect_key_matches() {
  local c k
  c=$(cert_pub_sha256 "$1")
  k=$(openssl_pub_sha256 "$2")
  if [ -z "$c" ] || [ "$c" != "$k" ]; then
    fail "private key $2 should match certificate $1" "$c" "$k"
  fi
}

# expect_cert NAME [ROOT] [STATE-DIR] [VERSION]: certs/NAME in the state directory
# ($STATE by default) is a complete issued certificate: current -> versions/<n>
# (n = VERSION when given), cert.pem chain.pem fullchain.pem privkey.pem (0600)
# meta.json, spec.json; the chain verifies against ROOT ($PEBBLE_ROOT by default);
# the key matches; fullchain = cert + chain; meta.json's serial is the cert's.
expect_cert() {
  local name=$1 root=${2:-$PEBBLE_ROOT} st=${3:-$STATE} want_v=${4:-} d link v f ms
  d=$st/certs/$name
  if [ ! -L "$d/current" ]; then
    fail "$d/current should be a symlink to versions/<n>"
    return 0
  fi
  link=$(readlink "$d/current")
  case $link in
    versions/[0-9]*) v=${link#versions/} ;;
    *) fail "target of $d/current" "versions/<n>" "$link"; return 0 ;;
  esac
  [ -z "$want_v" ] || expect_eq "version that current points to" "versions/$want_v" "$link"
  [ -d "$d/versions/$v" ] || fail "$d/versions/$v should be a directory"
  for f in cert.pem chain.pem fullchain.pem privkey.pem meta.json; do
    expect_file "$d/current/$f"
  done
  expect_file "$d/spec.json"
  expect_mode "$d/current/privkey.pem" 600
  [ -f "$d/current/cert.pem" ] || return 0
  expect_verifies "$d/current/cert.pem" "$d/current/chain.pem" "$root"
  expect_key_matches "$d/current/cert.pem" "$d/current/privkey.pem"
  if [ "$(cat "$d/current/cert.pem" "$d/current/chain.pem" | sum_of /dev/stdin)" != "$(sum_of "$d/current/fullchain.pem")" ]; then
    # tolerate a missing final newline between the two, nothing else
    if [ "$(cat "$d/current/cert.pem" "$d/current/chain.pem" | grep -v '^$' | sum_of /dev/stdin)" != \
         "$(grep -v '^$' "$d/current/fullchain.pem" | sum_of /dev/stdin)" ]; then
      fail "fullchain.pem should be cert.pem followed by chain.pem"
    fi
  fi
  ms=$(grep -o '"serial": *"[0-9A-Fa-f:]*"' "$d/current/meta.json" | sed 's/.*: *"//; s/"$//; s/://g' |
    tr 'A-F' 'a-f' | sed 's/^0*//')
  expect_eq "meta.json serial of $name" "$(cert_serial "$d/current/cert.pem")" "$ms"
  expect_no_leftovers "$d"
}

# expect_no_leftovers DIR: no temporary files or directories (*.tmp*) under DIR.
expect_no_leftovers() {
  local left
  [ -e "$1" ] || return 0
  left=$(find "$1" -name '*.tmp*' 2>/dev/null | head -5 | tr '\n' ' ')
  [ -z "$left" ] || fail "temporary files left under $1" "(none)" "$left"
}

# expect_not_issued NAME [STATE-DIR]: nothing usable was written for NAME: no
# current link, no version, no spec, no temporary files.
expect_not_issued() {
  local d=${2:-$STATE}/certs/$1
  if [ -e "$d/current" ] || [ -L "$d/current" ]; then fail "$d/current should not exist"; fi
  if [ -d "$d/versions" ] && [ -n "$(find "$d/versions" -mindepth 1 -maxdepth 1)" ]; then
    fail "$d/versions should hold nothing" "(empty)" "$(find "$d/versions" -mindepth 1 -maxdepth 1 | tr '\n' ' ')"
  fi
  [ ! -e "$d/spec.json" ] || fail "$d/spec.json should not exist after a failed first order"
  expect_no_leftovers "${2:-$STATE}"
}

# cert_status CERT: pebble's revocation status of the certificate ("Valid",
# "Revoked"), from the management API; "unknown" if pebble does not know it.
cert_status() {
  local serial
  serial=$(cert_serial "$1")
  curl -sf --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_MGMT/cert-status-by-serial/$serial" 2>/dev/null |
    python3 -S -E -c 'import json,sys; print(json.load(sys.stdin)["Status"])' 2>/dev/null || echo unknown
}
# cert_revocation_reason CERT: the reason code pebble recorded (0 unspecified, 1 keyCompromise, ...).
cert_revocation_reason() {
  local serial
  serial=$(cert_serial "$1")
  curl -sf --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_MGMT/cert-status-by-serial/$serial" 2>/dev/null |
    python3 -S -E -c 'import json,sys; print(json.load(sys.stdin).get("Reason", "none"))' 2>/dev/null || echo unknown
}

# root_cn PEM: the subject CN of a certificate.
root_cn() {
  openssl x509 -in "$1" -noout -subject -nameopt multiline 2>/dev/null | sed -n 's/^ *commonName *= *//p'
}

# account_dirs [STATE-DIR]: the account directories (accounts/<host>/<id>), one a line.
account_dirs() {
  find "${1:-$STATE}/accounts" -mindepth 2 -maxdepth 2 -type d 2>/dev/null | sort
}

# expect_no_account [STATE-DIR]: no account directory holds any file (a failed
# registration leaves no key behind).
expect_no_account() {
  local files
  files=$(find "${1:-$STATE}/accounts" -type f 2>/dev/null | head -5 | tr '\n' ' ')
  [ -z "$files" ] || fail "no account files should exist" "(none)" "$files"
}
