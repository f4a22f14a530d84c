# Shared helpers for the renewal tests (sourced by tests/renew/*.sh).
# Builds on tests/cli/lib.sh (begin / cr / expect_* / finish) and adds a real
# pebble on loopback (scripts/pebble, always stopped), certificate issuance
# into a state directory, and checks of a certificate's versions on disk.
#
# Usage in a suite:
#   . "$(dirname "$0")/lib.sh"
#   renew_init "$@"               # $1 = certroute binary; skips (77) without pebble
#   start_pebble main             # scripts/pebble start $TMP/pebble-main; sources its env
#   STATE=$TMP/state
#   issue_cert a.example          # certroute issue -d a.example into $STATE (registers an account)
#   begin "..."; crr renew --force a.example; expect_rc 0; expect_complete a.example
#   finish
#
# Every renew in these tests passes --no-random-sleep: without a terminal renew
# would otherwise sleep up to 8 minutes first.

RENEW_LIB_DIR=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../cli/lib.sh
. "$RENEW_LIB_DIR/../cli/lib.sh"
PEBBLE_SCRIPT=$(CDPATH='' cd -- "$RENEW_LIB_DIR/../../scripts" && pwd)/pebble

PEBBLE_DIRS=""
BG_PIDS=""

renew_cleanup() {
  local d p
  for p in $BG_PIDS; do
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for d in $PEBBLE_DIRS; do
    "$PEBBLE_SCRIPT" stop "$d" >/dev/null 2>&1 || true
  done
  cd / || true
  rm -rf "$TMP"
}

# renew_init BINARY: as init (tests/cli/lib.sh), plus: skip (exit 77) without
# pebble, and an EXIT trap that stops every pebble and helper this suite started.
renew_init() {
  init "$@"
  trap renew_cleanup EXIT
  local tool
  for tool in pebble pebble-challtestsrv; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "$(basename "$0" .sh): SKIP: '$tool' not installed (Debian package pebble)"
      exit 77
    fi
  done
  for tool in curl flock; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$0: the renewal tests need $tool" >&2; exit 1; }
  done
  # Never the user's state or a real CA.
  export HOME="$TMP/home"
  export XDG_STATE_HOME="$TMP/home/.local/state"
  mkdir -p "$HOME"
  STATE="$TMP/state"
  # shellcheck disable=SC2034 # used by the suites (total time)
  T0=$SECONDS
}

# start_pebble LABEL [scripts/pebble start options...]: start a pebble in
# $TMP/pebble-LABEL and source its env (PEBBLE_DIRECTORY, PEBBLE_ROOT, ...).
start_pebble() {
  local label=$1 dir
  shift
  dir="$TMP/pebble-$label"
  PEBBLE_DIRS="$PEBBLE_DIRS $dir"
  if ! "$PEBBLE_SCRIPT" start "$dir" "$@" >"$TMP/pebble-$label.start" 2>&1; then
    echo "FAIL: scripts/pebble start $* did not start:"
    sed 's/^/    | /' "$TMP/pebble-$label.start"
    exit 1
  fi
  # shellcheck disable=SC1090,SC1091
  . "$dir/env"
}

# crr ARGS...: run certroute with --state-dir $STATE appended (and
# --no-random-sleep for renew).
crr() {
  if [ "${1:-}" = renew ]; then
    shift
    cr renew --no-random-sleep --state-dir "$STATE" "$@"
  else
    cr "$@" --state-dir "$STATE"
  fi
}

# issue_cert NAME [issue options...]: issue a certificate for DNS name NAME
# from the pebble into $STATE (registering an account if needed); exit the
# suite if that fails (nothing else can be tested).
# SERVER overrides the directory URL (default $PEBBLE_DIRECTORY).
issue_cert() {
  local name=$1
  shift
  if ! "$CR" issue -d "$name" --state-dir "$STATE" --server "${SERVER:-$PEBBLE_DIRECTORY}" \
      --ca-bundle "$PEBBLE_CA_BUNDLE" --http-port "$PEBBLE_HTTP_PORT" \
      --email test@example.com --agree-tos "$@" </dev/null >"$TMP/issue.out" 2>"$TMP/issue.err"; then
    echo "FAIL: certroute issue -d $name $* did not succeed:"
    sed 's/^/    | /' "$TMP/issue.out" "$TMP/issue.err"
    exit 1
  fi
}

# current_of NAME [STATE]: the version number `current` points to ("" if none).
current_of() {
  local l
  l=$(readlink "${2:-$STATE}/certs/$1/current" 2>/dev/null) || { echo ""; return 0; }
  case $l in versions/[0-9]*) echo "${l#versions/}" ;; *) echo "?$l" ;; esac
}

# version_problem DIR [ROOT]: print why the version directory DIR is not a
# complete version (nothing when it is): the five files, privkey.pem 0600,
# the key matches the certificate, the chain verifies against ROOT
# ($PEBBLE_ROOT), fullchain.pem = cert.pem + chain.pem.
version_problem() {
  local d=$1 root=${2:-$PEBBLE_ROOT} f m c k out empty
  [ -d "$d" ] || { echo "$d is not a directory"; return 0; }
  for f in cert.pem chain.pem fullchain.pem privkey.pem meta.json; do
    [ -s "$d/$f" ] || { echo "$d/$f is missing or empty"; return 0; }
  done
  m=$(stat -c %a "$d/privkey.pem")
  [ "$m" = 600 ] || { echo "$d/privkey.pem has mode $m, not 600"; return 0; }
  c=$(openssl x509 -in "$d/cert.pem" -noout -pubkey 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
  k=$(openssl pkey -in "$d/privkey.pem" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
  empty=$(printf '' | sha256sum | cut -d' ' -f1)
  { [ "$c" != "$empty" ] && [ "$c" = "$k" ]; } || { echo "$d/privkey.pem does not match $d/cert.pem"; return 0; }
  if ! out=$(openssl verify -CAfile "$root" -untrusted "$d/chain.pem" "$d/cert.pem" 2>&1); then
    echo "$d: the chain does not verify: $(echo "$out" | tr '\n' ' ')"
    return 0
  fi
  if [ "$(cat "$d/cert.pem" "$d/chain.pem" | grep -v '^$' | sha256sum)" != "$(grep -v '^$' "$d/fullchain.pem" | sha256sum)" ]; then
    echo "$d/fullchain.pem is not cert.pem + chain.pem"
    return 0
  fi
  # meta.json: a whole JSON object naming the certificate's serial (cheap check, no python)
  { head -c 1 "$d/meta.json" | grep -q '{' && tail -c 2 "$d/meta.json" | grep -q '}' &&
    grep -q '"serial"' "$d/meta.json"; } || echo "$d/meta.json is not a complete JSON object"
}

# expect_complete NAME [VERSION] [STATE]: current -> versions/<n> (n = VERSION
# when given) and that version is complete (version_problem says nothing).
expect_complete() {
  local name=$1 want=${2:-} st=${3:-$STATE} v p
  v=$(current_of "$name" "$st")
  case $v in
    ''|\?*) fail "$st/certs/$name/current should point to versions/<n>" "versions/<n>" "${v:-(no link)}"; return 0 ;;
  esac
  [ -z "$want" ] || expect_eq "version current of $name points to" "$want" "$v"
  p=$(version_problem "$st/certs/$name/versions/$v")
  [ -z "$p" ] || fail "current version of $name should be complete" "complete" "$p"
}

# leftovers DIR: temporary files / directories (*.tmp*) under DIR, space-separated.
leftovers() {
  find "$1" -name '*.tmp*' 2>/dev/null | sort | tr '\n' ' '
}
expect_no_leftovers() {
  local left
  left=$(leftovers "$1")
  [ -z "$left" ] || fail "temporary files left under $1" "(none)" "$left"
}

# version_list NAME: `certroute versions NAME --json` as "n n n" (exits the
# check with a failure if that command fails).
version_list() {
  # (grep, not python: this runs after every kill and must be cheap)
  local out
  if ! out=$("$CR" versions "$1" --json --state-dir "${2:-$STATE}" </dev/null 2>"$TMP/versions.err"); then
    echo "ERROR"
    return 0
  fi
  printf '%s\n' "$out" | grep -o '"version": *[0-9]*' | grep -o '[0-9]*$' | tr '\n' ' ' | sed 's/ $//'
}

# snapshot DIR: every path under DIR with its type, mode, size and checksum
# (symlinks: their target), sorted: two equal snapshots mean nothing changed.
snapshot() {
  (cd "$1" && find . -mindepth 1 -printf '%p %y %m %s %l\n' | sort | while read -r p y m s l; do
    if [ "$y" = f ]; then echo "$p $y $m $s $(sha256sum <"$p" | cut -c1-16)"; else echo "$p $y $m $l"; fi
  done)
}

# not_after_rfc3339 CERT: the certificate's notAfter as YYYY-MM-DDTHH:MM:SSZ.
not_after_rfc3339() {
  date -u -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ
}

# can_unshare: whether `unshare -m` works here (root, or user namespaces).
# Sets UNSHARE to the command prefix to use, or "" when neither works.
can_unshare() {
  UNSHARE=""
  command -v unshare >/dev/null 2>&1 || return 1
  mkdir -p "$TMP/.unshare-probe"
  if unshare -m mount -t tmpfs -o size=64k tmpfs "$TMP/.unshare-probe" >/dev/null 2>&1; then
    UNSHARE="unshare -m"
  elif unshare -rm mount -t tmpfs -o size=64k tmpfs "$TMP/.unshare-probe" >/dev/null 2>&1; then
    UNSHARE="unshare -rm"
  fi
  rmdir "$TMP/.unshare-probe" 2>/dev/null
  [ -n "$UNSHARE" ]
}

# elapsed_ms START_NS: milliseconds since START_NS ($(date +%s%N)).
elapsed_ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# expect_rc_in CODE...: the last exit code is one of CODEs (and not a crash).
expect_rc_in() {
  local c
  if [ "$RC" -ge 128 ]; then
    fail "crashed (killed by signal $((RC - 128)))" "exit $*" "exit $RC"
    return 0
  fi
  for c in "$@"; do [ "$RC" -eq "$c" ] && return 0; done
  fail "exit code" "one of: $*" "$RC"
}
