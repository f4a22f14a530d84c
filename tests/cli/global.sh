#!/usr/bin/env bash
# Global behaviour: --version, --help everywhere, usage errors, --json,
# --quiet, colour (NO_COLOR / --no-color / TTY).  $1 = path to the certroute binary.
. "$(dirname "$0")/lib.sh"
init "$@"

"$CR" key generate -q -o "$FIX/k.pem"
make_cert "$FIX" short 10 "DNS:short.example"

has_escape() { grep -q "$(printf '\033')" "$@"; }

begin "--version prints certroute, OpenSSL and libcurl versions"
cr --version
expect_rc 0
expect_err_empty
check "a 'certroute X.Y.Z' line" grep -Eq '^certroute [0-9]+\.[0-9]+\.[0-9]+' "$OUT"
check "an 'OpenSSL 3.x' version" grep -Eq 'OpenSSL 3\.[0-9]+\.[0-9]+' "$OUT"
check "a libcurl version" grep -Eq 'libcurl/[0-9]+\.[0-9]+' "$OUT"
cr -V
expect_rc 0
check "-V is --version" grep -Eq '^certroute [0-9]' "$OUT"

begin "--help lists the commands and global flags"
cr --help
expect_rc 0
expect_err_empty
for w in key csr cert --json --quiet --no-color --version; do expect_out_contains "$w"; done

begin "every COMMAND --help exits 0 and lists its flags"
while IFS='|' read -r cmd flags; do
  # shellcheck disable=SC2086
  cr $cmd --help
  expect_rc 0
  expect_err_empty
  for f in $flags; do
    grep -qF -- "$f" "$OUT" || fail "'certroute $cmd --help' should list $f"
  done
done <<'EOF'
key|generate show
csr|create show
cert|show check
key generate|--type --out --passphrase-file --force ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096 ed25519
key show|--passphrase-file --json
csr create|--domain --ip --email --uri --subject --key --passphrase-file --key-type --key-out --out --der --force --json
csr show|--json
cert show|--json
cert check|--days --host --key --json
EOF

begin "usage errors exit 2 with a 'certroute:' line"
cr key generate --bogus
expect_rc 2
expect_one_error "--bogus"
cr cert show
expect_rc 2
expect_one_error
cr
expect_rc 2
expect_one_error
cr key
expect_rc 2
expect_one_error

begin "an unknown top-level option is named in the error"
cr --bogus
expect_rc 2
expect_one_error "--bogus"

begin "an unknown command is named in the error"
cr frobnicate
expect_rc 2
expect_one_error "frobnicate"

begin "--json before or after the command gives the same JSON"
cr --json key show "$FIX/k.pem"
expect_rc 0
expect_valid_json
cp "$OUT" before.json
cr key show "$FIX/k.pem" --json
expect_rc 0
expect_valid_json
check "same JSON" cmp -s before.json "$OUT"

begin "--quiet silences success output (key generate, csr create, cert check)"
cr --quiet key generate -o k.pem
expect_rc 0
expect_out_empty
expect_err_empty
expect_file k.pem
cr csr create -d example.com --key k.pem -o r.csr --quiet
expect_rc 0
expect_out_empty
expect_err_empty
expect_file r.csr
cr -q cert check "$FIX/short.pem" --days 5
expect_rc 0
expect_out_empty
expect_err_empty

begin "--quiet still prints failures"
cr --quiet key show missing.pem
expect_rc 3
expect_one_error "missing.pem"
cr --quiet cert check "$FIX/short.pem" --days 30
expect_rc 1
expect_error_lines 1

begin "no escape bytes when output is not a TTY (even without NO_COLOR)"
run env -u NO_COLOR "$CR" key show "$FIX/k.pem"
expect_rc 0
if has_escape "$OUT" "$ERR"; then fail "escape bytes in piped output"; fi
run env -u NO_COLOR "$CR" cert check "$FIX/short.pem"
expect_rc 1
if has_escape "$OUT" "$ERR"; then fail "escape bytes in piped error output"; fi

if command -v script >/dev/null 2>&1 && script -qc true /dev/null >/dev/null 2>&1; then
  # 'script' gives the command a TTY (stdout and stderr), and copies what it printed to our stdout.
  begin "on a TTY: colour without NO_COLOR; none with NO_COLOR or --no-color"
  run env -u NO_COLOR script -qec "'$CR' key show '$FIX/missing.pem'" /dev/null
  expect_rc 3
  has_escape "$OUT" || fail "an error on a TTY should be coloured"
  run env NO_COLOR=1 script -qec "'$CR' key show '$FIX/missing.pem'" /dev/null
  expect_rc 3
  expect_out_contains "certroute: "
  if has_escape "$OUT"; then fail "NO_COLOR=1 on a TTY: escape bytes in the output"; fi
  run env -u NO_COLOR script -qec "'$CR' --no-color key show '$FIX/missing.pem'" /dev/null
  expect_rc 3
  expect_out_contains "certroute: "
  if has_escape "$OUT"; then fail "--no-color on a TTY: escape bytes in the output"; fi
  run env -u NO_COLOR script -qec "'$CR' cert check --no-color '$FIX/short.pem'" /dev/null
  expect_rc 1
  if has_escape "$OUT"; then fail "cert check --no-color on a TTY: escape bytes in the output"; fi
  run env NO_COLOR=1 script -qec "'$CR' key show '$FIX/k.pem'" /dev/null
  expect_rc 0
  if has_escape "$OUT"; then fail "NO_COLOR=1 on a TTY: escape bytes in key show"; fi
else
  echo "SKIP: TTY colour cases need 'script' (util-linux)"
fi

finish
