#!/usr/bin/env bash
# Bad input gets a clear error and loses nothing (issue 3, "Bad input"):
# exit 3 (2 for bad flags), exactly one 'certroute: ' line naming the file or
# value (one 'hint:' line may follow), nothing on stdout, no partial file left
# behind, no crash.  $1 = path to the certroute binary.
. "$(dirname "$0")/lib.sh"
init "$@"

# Inputs live in $FIX; every case runs in a fresh empty directory that must
# still be empty afterwards (outputs are asked for as k.pem / r.csr there).
make_chain "$FIX"
cd "$FIX" || exit 1
"$CR" key generate -q -o key.pem
printf 'right\n' >pw
printf 'wrong\n' >wrongpw
"$CR" key generate -q --passphrase-file pw -o enc.pem
"$CR" csr create -q -d example.com --key key.pem -o req.csr
mkdir adir
: >empty
printf 'this is not a key, a CSR or a certificate\n' >garbage
printf '\x00\xff\xfe\x01garbage\x80' >binary
# Truncated PEM: cut in half (no END line) ...
for f in key.pem req.csr leaf.pem; do
  head -c $(($(wc -c <"$f") / 2)) "$f" >"half-$f"
done
# ... and a PEM whose base64 lost a line (BEGIN/END intact, DER inside cut short).
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-384 -out key384.pem 2>/dev/null
for f in key384.pem leaf.pem; do sed 3d "$f" >"holed-$f"; done
# DER variants (must be accepted when they parse).
openssl pkey -in key.pem -outform DER -out key.der
openssl req -in req.csr -outform DER -out req.der
openssl x509 -in leaf.pem -outform DER -out leaf.der
for f in key.der leaf.der; do
  head -c $(($(wc -c <"$f") / 2)) "$f" >"half-$f"
done
cd / || exit 1

# bad NAME RC NEEDLE ARGS...: one case expecting exit RC and a single error line naming NEEDLE.
bad() {
  local name="$1" rc="$2" needle="$3"
  shift 3
  begin "$name"
  cr "$@"
  expect_rc "$rc"
  expect_one_error "$needle"
  expect_out_empty
  expect_dir_only .
}

# --- files that are not what they should be ---------------------------------

for cmd in "key show" "csr show" "cert show" "cert check"; do
  # shellcheck disable=SC2086
  {
    bad "$cmd: missing file" 3 "nonexistent.pem" $cmd "$FIX/nonexistent.pem"
    bad "$cmd: a directory" 3 "adir" $cmd "$FIX/adir"
    bad "$cmd: empty file" 3 "empty" $cmd "$FIX/empty"
    bad "$cmd: garbage" 3 "garbage" $cmd "$FIX/garbage"
    bad "$cmd: binary garbage" 3 "binary" $cmd "$FIX/binary"
  }
done

begin "key show -: empty stdin"
cr_stdin /dev/null key show -
expect_rc 3
expect_one_error
expect_out_empty

bad "key show: truncated PEM (cut in half)" 3 "half-key.pem" key show "$FIX/half-key.pem"
bad "csr show: truncated PEM (cut in half)" 3 "half-req.csr" csr show "$FIX/half-req.csr"
bad "cert show: truncated PEM (cut in half)" 3 "half-leaf.pem" cert show "$FIX/half-leaf.pem"
bad "cert check: truncated PEM (cut in half)" 3 "half-leaf.pem" cert check "$FIX/half-leaf.pem"
bad "key show: PEM with a line of base64 missing" 3 "holed-key384.pem" key show "$FIX/holed-key384.pem"
bad "cert show: PEM with a line of base64 missing" 3 "holed-leaf.pem" cert show "$FIX/holed-leaf.pem"
bad "csr create --key: truncated key" 3 "half-key.pem" csr create -d example.com --key "$FIX/half-key.pem" -o r.csr

# --- DER where PEM was expected: accepted ------------------------------------

begin "DER accepted: key show, csr show, cert show, cert check, csr create --key, cert check --key"
cr key show "$FIX/key.der"
expect_rc 0
cr csr show "$FIX/req.der"
expect_rc 0
cr cert show "$FIX/leaf.der"
expect_rc 0
cr cert check "$FIX/leaf.der"
expect_rc 0
cr cert check "$FIX/bundle.pem" --key "$FIX/leaf.key"
expect_rc 0
openssl pkey -in "$FIX/leaf.key" -outform DER -out leaf-key.der
cr cert check "$FIX/bundle.pem" --key leaf-key.der
expect_rc 0
cr csr create -d example.com --key "$FIX/key.der" -o r.csr
expect_rc 0
check "the CSR from a DER key verifies" sh -c 'openssl req -in r.csr -verify -noout 2>&1 | grep -q "verify OK"'

bad "key show: truncated DER" 3 "half-key.der" key show "$FIX/half-key.der"
bad "cert show: truncated DER" 3 "half-leaf.der" cert show "$FIX/half-leaf.der"

# --- encrypted keys ---------------------------------------------------------

begin "key show: encrypted key without a passphrase (with a hint)"
cr key show "$FIX/enc.pem"
expect_rc 3
expect_one_error "enc.pem"
expect_err_contains "hint:"
bad "key show: encrypted key, wrong passphrase" 3 "enc.pem" key show --passphrase-file "$FIX/wrongpw" "$FIX/enc.pem"
bad "csr create --key: encrypted key without a passphrase" 3 "enc.pem" csr create -d example.com --key "$FIX/enc.pem" -o r.csr
bad "csr create --key: encrypted key, wrong passphrase" 3 "enc.pem" csr create -d example.com --key "$FIX/enc.pem" --passphrase-file "$FIX/wrongpw" -o r.csr
bad "csr create: missing passphrase file" 3 "nopw" csr create -d example.com --key "$FIX/enc.pem" --passphrase-file "$FIX/nopw" -o r.csr
bad "cert check --key: encrypted key without a passphrase" 3 "enc.pem" cert check "$FIX/bundle.pem" --key "$FIX/enc.pem"

# --- the wrong kind of file -------------------------------------------------

bad "key show: a certificate where a key was expected" 3 "leaf.pem" key show "$FIX/leaf.pem"
bad "csr create --key: a certificate where a key was expected" 3 "leaf.pem" csr create -d example.com --key "$FIX/leaf.pem" -o r.csr
bad "csr create --key: a CSR where a key was expected" 3 "req.csr" csr create -d example.com --key "$FIX/req.csr" -o r.csr
bad "cert check --key: a certificate where a key was expected" 3 "leaf.pem" cert check "$FIX/bundle.pem" --key "$FIX/leaf.pem"
bad "cert show: a key where a certificate was expected" 3 "key.pem" cert show "$FIX/key.pem"
bad "csr show: a certificate where a CSR was expected" 3 "leaf.pem" csr show "$FIX/leaf.pem"
bad "csr create --key: missing key file" 3 "nokey.pem" csr create -d example.com --key "$FIX/nokey.pem" -o r.csr

# --- invalid names and addresses (each with --key-out: no key may be left) ---

n254="$(printf 'a%.0s' $(seq 1 63)).$(printf 'b%.0s' $(seq 1 63)).$(printf 'c%.0s' $(seq 1 63)).$(printf 'd%.0s' $(seq 1 62))"
label64="$(printf 'x%.0s' $(seq 1 64)).example.com"
bad "csr create -d a..b" 3 "a..b" csr create -d a..b --key-out k.pem -o r.csr
bad "csr create --domain=-a.example" 3 "-a.example" csr create --domain=-a.example --key-out k.pem -o r.csr
bad "csr create -d a-.example" 3 "a-.example" csr create -d a-.example --key-out k.pem -o r.csr
bad "csr create -d '*.*.example.com'" 3 "*.*.example.com" csr create -d '*.*.example.com' --key-out k.pem -o r.csr
bad "csr create -d 'foo.*.example.com'" 3 "foo.*.example.com" csr create -d 'foo.*.example.com' --key-out k.pem -o r.csr
bad "csr create -d 'f*.example.com'" 3 "f*.example.com" csr create -d 'f*.example.com' --key-out k.pem -o r.csr
bad "csr create -d <254 characters>" 3 "$n254" csr create -d "$n254" --key-out k.pem -o r.csr
bad "csr create -d <64-character label>" 3 "$label64" csr create -d "$label64" --key-out k.pem -o r.csr
bad "csr create -d 999.1.1.1" 3 "999.1.1.1" csr create -d 999.1.1.1 --key-out k.pem -o r.csr
bad "csr create --ip 999.1.1.1" 3 "999.1.1.1" csr create -d example.com --ip 999.1.1.1 --key-out k.pem -o r.csr
bad "csr create --ip 1.2.3" 3 "1.2.3" csr create -d example.com --ip 1.2.3 --key-out k.pem -o r.csr
bad "csr create -d ''" 3 "''" csr create -d '' --key-out k.pem -o r.csr
bad "csr create -d 'exa mple.com'" 3 "exa mple.com" csr create -d 'exa mple.com' --key-out k.pem -o r.csr
bad "csr create: a bad name after good ones" 3 "a..b" csr create -d example.com -d www.example.com -d a..b --key-out k.pem -o r.csr
bad "csr create --email without @" 3 "notanemail" csr create -d example.com --email notanemail --key-out k.pem -o r.csr

# --- unwritable output directory ----------------------------------------------
# Root ignores directory modes, so the directory is a read-only tmpfs in a
# private mount namespace; the listing of it is taken inside that namespace.

ro_run() { # DIR CERTROUTE-ARGS...: run certroute with DIR read-only; listing of DIR to $CAP/ro-listing
  local dir="$1"
  shift
  # shellcheck disable=SC2016 # expanded by the inner sh
  run unshare -m sh -c 'dir=$1; listing=$2; shift 2; mount -t tmpfs -o ro tmpfs "$dir" || exit 99
    "$@"; rc=$?; ls -A "$dir" >"$listing"; exit $rc' sh "$dir" "$CAP/ro-listing" "$CR" "$@"
}

if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    # Not root: a mode-0555 directory is unwritable.
    ro_run() {
      local dir="$1"
      shift
      chmod 555 "$dir"
      run "$CR" "$@"
      ls -A "$dir" >"$CAP/ro-listing"
      chmod 755 "$dir"
    }
  else
    echo "SKIP: unwritable-directory cases need 'unshare -m' (root without it)"
    ro_run() { RC=99; LAST_CMD="(skipped)"; : >"$CAP/ro-listing"; }
  fi
fi

begin "key generate -o into a read-only directory"
mkdir ro
ro_run "$PWD/ro" key generate -o ro/k.pem
expect_rc 3
expect_one_error "ro/k.pem"
expect_out_empty
expect_eq "files in the read-only directory" "" "$(cat "$CAP/ro-listing")"

begin "csr create: CSR output into a read-only directory leaves no new key elsewhere"
mkdir ro rw
ro_run "$PWD/ro" csr create -d example.com --key-out rw/k.pem -o ro/r.csr
expect_rc 3
expect_one_error "ro/r.csr"
expect_out_empty
expect_eq "files in the read-only directory" "" "$(cat "$CAP/ro-listing")"
expect_dir_only rw

begin "csr create: --key-out into a read-only directory writes no CSR"
mkdir ro rw
ro_run "$PWD/ro" csr create -d example.com --key-out ro/k.pem -o rw/r.csr
expect_rc 3
expect_one_error "ro/k.pem"
expect_out_empty
expect_eq "files in the read-only directory" "" "$(cat "$CAP/ro-listing")"
expect_dir_only rw

bad "key generate -o into a missing directory" 3 "nodir/k.pem" key generate -o nodir/k.pem

# --- existing output without --force ------------------------------------------

begin "key generate: existing output file without --force -> exit 1, unchanged"
printf 'keep me\n' >k.pem
before=$(sum_of k.pem)
cr key generate -o k.pem
expect_rc 1
expect_one_error "k.pem"
expect_eq "checksum" "$before" "$(sum_of k.pem)"
expect_dir_only . k.pem

begin "csr create: existing output files without --force -> exit 1, unchanged"
printf 'keep me\n' >r.csr
printf 'keep me too\n' >k.pem
b1=$(sum_of r.csr)
b2=$(sum_of k.pem)
cr csr create -d example.com --key-out k.pem -o r.csr
expect_rc 1
expect_one_error
expect_eq "checksum of r.csr" "$b1" "$(sum_of r.csr)"
expect_eq "checksum of k.pem" "$b2" "$(sum_of k.pem)"
expect_dir_only . k.pem r.csr

# --- bad flags: exit 2 ------------------------------------------------------

bad "key generate --type dsa-1024" 2 "dsa-1024" key generate --type dsa-1024 -o k.pem
bad "csr create --key-type foo" 2 "foo" csr create -d example.com --key-type foo --key-out k.pem -o r.csr
bad "key generate --bogus" 2 "--bogus" key generate --bogus -o k.pem
bad "csr create --bogus" 2 "--bogus" csr create -d example.com --key-out k.pem --bogus
bad "cert check --days abc" 2 "abc" cert check --days abc "$FIX/leaf.pem"
bad "key show without a file" 2 "" key show

finish
