# Shared helpers for the end-to-end CLI tests (sourced by every tests/cli/*.sh).
#
# Usage in a suite:
#   . "$(dirname "$0")/lib.sh"; init "$@"
#   begin "what the case checks"      # fresh empty directory, cwd = that directory
#   cr key generate -o k.pem          # runs the binary; sets RC, OUT (file), ERR (file)
#   expect_rc 0; expect_mode k.pem 600; ...
#   finish                            # prints 'N passed, N failed'; exit 1 if any failed
#
# A failed check prints the case, the command, expected vs actual, and the
# command's stdout/stderr; the suite continues with the next check and case.

set -u

PASSED=0
FAILED=0
CASE=""
CASE_FAILED=0
CASE_N=0
RC=0
LAST_CMD=""
DUMPED=0

init() {
  if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 PATH-TO-certroute (got '${1:-}')" >&2
    exit 2
  fi
  CR=$(realpath "$1")
  for tool in openssl python3 sha256sum stat; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "$0: the tests need '$tool' (install it; scripts/install-deps should)" >&2
      exit 1
    fi
  done
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/certroute-cli.XXXXXX")
  trap 'cd /; rm -rf "$TMP"' EXIT
  trap 'exit 130' INT HUP TERM
  CAP="$TMP/.capture"
  FIX="$TMP/fixtures"
  mkdir -p "$CAP" "$FIX"
  OUT="$CAP/stdout"
  ERR="$CAP/stderr"
  # Deterministic, colourless environment unless a case says otherwise.
  export NO_COLOR=1
  unset CERTROUTE_STATE_DIR CERTROUTE_SERVER CERTROUTE_CA_BUNDLE 2>/dev/null || true
}

_end_case() {
  [ -n "$CASE" ] || return 0
  if [ "$CASE_FAILED" -eq 0 ]; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
  fi
  CASE=""
}

# begin NAME: start a case in a fresh, empty working directory.
begin() {
  _end_case
  CASE="$1"
  CASE_FAILED=0
  CASE_N=$((CASE_N + 1))
  CASE_DIR="$TMP/case$CASE_N"
  mkdir -p "$CASE_DIR"
  cd "$CASE_DIR" || exit 1
  : >"$OUT"
  : >"$ERR"
  LAST_CMD=""
  RC=0
}

finish() {
  _end_case
  cd /
  echo "$(basename "$0" .sh): $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}

_dump() {
  [ "$DUMPED" -eq 0 ] || return 0
  DUMPED=1
  echo "    command: $LAST_CMD (exit $RC)"
  echo "    --- stdout:"
  head -c 3000 "$OUT" | cat -v | sed 's/^/    | /'
  echo "    --- stderr:"
  head -c 3000 "$ERR" | cat -v | sed 's/^/    | /'
}

# fail WHAT [EXPECTED ACTUAL]
fail() {
  CASE_FAILED=1
  echo "FAIL [$CASE]: $1"
  if [ $# -ge 3 ]; then
    echo "    expected: $2"
    echo "    actual:   $3"
  fi
  [ -n "$LAST_CMD" ] && _dump
  return 0
}

# Under the asan preset, a sanitizer report fails the case whatever the exit code.
_sanitizer_check() {
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$ERR" "$OUT" 2>/dev/null; then
    fail "sanitizer report"
  fi
}

# run CMD ARGS...: run with stdin from /dev/null; capture exit code, stdout, stderr.
run() {
  LAST_CMD="$*"
  DUMPED=0
  "$@" </dev/null >"$OUT" 2>"$ERR"
  RC=$?
  _sanitizer_check
}

# run_stdin FILE CMD ARGS...: as run, with stdin from FILE.
run_stdin() {
  local in="$1"
  shift
  LAST_CMD="$* < $in"
  DUMPED=0
  "$@" <"$in" >"$OUT" 2>"$ERR"
  RC=$?
  _sanitizer_check
}

# cr ARGS...: run the certroute binary.
cr() { run "$CR" "$@"; }
# cr_stdin FILE ARGS...: run the binary with stdin from FILE.
cr_stdin() {
  local in="$1"
  shift
  run_stdin "$in" "$CR" "$@"
}

expect_rc() {
  if [ "$RC" -ge 128 ]; then
    fail "crashed (killed by signal $((RC - 128)))" "exit $1" "exit $RC"
  elif [ "$RC" -ne "$1" ]; then
    fail "exit code" "$1" "$RC"
  fi
}

expect_out_contains() {
  grep -qF -- "$1" "$OUT" || fail "stdout should contain '$1'"
}
expect_out_not_contains() {
  if grep -qF -- "$1" "$OUT"; then fail "stdout should not contain '$1'"; fi
}
expect_err_contains() {
  grep -qF -- "$1" "$ERR" || fail "stderr should contain '$1'"
}
expect_out_empty() {
  [ ! -s "$OUT" ] || fail "stdout should be empty" "(nothing)" "$(head -c 200 "$OUT" | cat -v)"
}
expect_err_empty() {
  [ ! -s "$ERR" ] || fail "stderr should be empty" "(nothing)" "$(head -c 200 "$ERR" | cat -v)"
}

# expect_one_error NEEDLE...: stderr is exactly one 'certroute: ' line that
# contains every NEEDLE, optionally followed by one 'hint:' line.
expect_one_error() {
  local lines first second needle
  lines=$(wc -l <"$ERR")
  # a last line without a newline counts too
  if [ -s "$ERR" ] && [ "$(tail -c 1 "$ERR" | od -An -c | tr -d ' ')" != '\n' ]; then
    lines=$((lines + 1))
  fi
  first=$(sed -n 1p "$ERR")
  second=$(sed -n 2p "$ERR")
  if [ "$lines" -lt 1 ] || [ "$lines" -gt 2 ]; then
    fail "stderr should be one 'certroute:' line (plus at most one 'hint:' line)" "1 or 2 lines" "$lines lines"
    return 0
  fi
  case "$first" in
    "certroute: "*) ;;
    *) fail "stderr's first line should start with 'certroute: '" "certroute: ..." "$first" ;;
  esac
  if [ "$lines" -eq 2 ]; then
    case "$second" in
      "hint: "*) ;;
      *) fail "stderr's second line should be a 'hint:' line" "hint: ..." "$second" ;;
    esac
  fi
  for needle in "$@"; do
    case "$first" in
      *"$needle"*) ;;
      *) fail "the error line should name '$needle'" "...$needle..." "$first" ;;
    esac
  done
}

# expect_error_lines N: stderr has exactly N lines, each starting 'certroute: '.
expect_error_lines() {
  local n bad
  n=$(grep -c '' "$ERR")
  bad=$(grep -vc '^certroute: ' "$ERR")
  [ "$n" -eq "$1" ] || fail "number of stderr lines" "$1" "$n"
  [ "$bad" -eq 0 ] || fail "every stderr line should start with 'certroute: '" "0 other lines" "$bad other lines"
}

expect_file() { [ -f "$1" ] || fail "file '$1' should exist"; }
expect_no_file() { [ ! -e "$1" ] || fail "'$1' should not exist"; }
expect_mode() {
  local m
  m=$(stat -c %a "$1" 2>/dev/null)
  [ "$m" = "$2" ] || fail "mode of $1" "$2" "${m:-missing}"
}

# expect_dir_only DIR NAME...: DIR holds exactly these entries (incl. hidden ones).
expect_dir_only() {
  local dir="$1" want got
  shift
  want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
  # shellcheck disable=SC2012 # plain names only
  got=$(ls -A "$dir" | sort | tr '\n' ' ')
  [ "$got" = "$want" ] || fail "entries of $dir" "${want:-(empty)}" "${got:-(empty)}"
}

expect_eq() { # WHAT EXPECTED ACTUAL
  [ "$2" = "$3" ] || fail "$1" "$2" "$3"
}

# check WHAT CMD ARGS...: fail unless the command succeeds.
check() {
  local what="$1"
  shift
  "$@" >/dev/null 2>&1 || fail "$what (command: $*)"
}

# json FILE EXPR: print json.dumps(EXPR) where d is the document in FILE
# (strings print quoted, booleans as true/false, None as null). Prints
# 'INVALID-JSON' when FILE does not parse.
json() {
  python3 - "$1" "$2" <<'EOF' 2>/dev/null || echo "INVALID-JSON"
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps(eval(sys.argv[2])))
EOF
}
expect_json() { # EXPR EXPECTED (on stdout of the last command)
  local v
  v=$(json "$OUT" "$1")
  [ "$v" = "$2" ] || fail "JSON $1" "$2" "$v"
}
expect_valid_json() {
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT" 2>/dev/null ||
    fail "stdout should be valid JSON"
}

sum_of() { sha256sum "$1" | cut -d' ' -f1; }

# Public-key SHA-256 of a key file as openssl computes it (SHA-256 of the DER SubjectPublicKeyInfo).
openssl_pub_sha256() {
  openssl pkey -in "$1" ${2:+-passin "file:$2"} -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}

# make_chain DIR: a root CA, an intermediate signed by it, a leaf signed by the
# intermediate (90 days, SANs www.example.com, *.example.com, IP 127.0.0.1) and
# bundle.pem = leaf + intermediate + root. EC P-256 keys for speed.
make_chain() {
  local d="$1"
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    set -e
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
      -subj /CN=Test-Root -days 3650 \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key -out int.csr -subj /CN=Test-Int
    printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >ca.ext
    openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -days 1000 -extfile ca.ext -out int.pem
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=www.example.com
    printf 'subjectAltName=DNS:www.example.com,DNS:*.example.com,IP:127.0.0.1\n' >leaf.ext
    openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -days 90 -extfile leaf.ext -out leaf.pem
    cat leaf.pem int.pem root.pem >bundle.pem
  ) >"$d/.openssl.log" 2>&1 || {
    echo "make_chain: openssl failed:" >&2
    cat "$d/.openssl.log" >&2
    exit 1
  }
}

# make_cert DIR NAME DAYS SAN: a self-signed EC certificate NAME.pem/NAME.key valid for DAYS days.
make_cert() {
  (
    cd "$1" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$2.key" -out "$2.pem" \
      -subj "/CN=$2" -days "$3" -addext "subjectAltName=$4"
  ) >"$1/.openssl-$2.log" 2>&1 || {
    echo "make_cert: openssl failed:" >&2
    cat "$1/.openssl-$2.log" >&2
    exit 1
  }
}

# make_expired DIR: expired.pem/expired.key, issued by the chain's intermediate
# in DIR (make_chain first), valid 2020-01-01 to 2020-02-01, SAN DNS:old.example.com.
# openssl x509 cannot back-date (no -not_after in 3.0), so use 'openssl ca'.
make_expired() {
  (
    cd "$1" || exit 1
    set -e
    mkdir -p ca
    : >ca/index.txt
    echo 01 >ca/serial
    cat >ca/ca.cnf <<EOF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $1/ca
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = pol
unique_subject = no
copy_extensions = copy
[ pol ]
commonName = supplied
EOF
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout expired.key \
      -subj /CN=old.example.com -addext subjectAltName=DNS:old.example.com -out expired.csr
    openssl ca -batch -config ca/ca.cnf -cert int.pem -keyfile int.key -in expired.csr -out expired.pem \
      -startdate 20200101000000Z -enddate 20200201000000Z -notext
  ) >"$1/.openssl-expired.log" 2>&1 || {
    echo "make_expired: openssl failed:" >&2
    cat "$1/.openssl-expired.log" >&2
    exit 1
  }
}
