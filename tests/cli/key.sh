#!/usr/bin/env bash
# certroute key generate / key show, end to end.  $1 = path to the certroute binary.
. "$(dirname "$0")/lib.sh"
init "$@"

# --- key generate -----------------------------------------------------------

begin "key generate: default is EC P-256, file 0600, no temporary file left"
cr key generate -o k.pem
expect_rc 0
expect_err_empty
expect_out_contains "k.pem"
expect_mode k.pem 600
expect_dir_only . k.pem
check "openssl reads the key as P-256" sh -c 'openssl pkey -in k.pem -noout -text | grep -q "NIST CURVE: P-256"'
check "the key is unencrypted PKCS#8 or SEC1 PEM" grep -Eq -- '-----BEGIN (EC )?PRIVATE KEY-----' k.pem
cr key show --json k.pem
expect_rc 0
expect_json 'd["type"]' '"ec-p256"'
expect_json 'd["bits"]' '256'

begin "key generate: 0600 even with umask 000"
(umask 000 && "$CR" key generate -q -o k.pem) >/dev/null 2>&1
expect_mode k.pem 600

for t in ec-p384:384:"NIST CURVE: P-384" rsa-2048:2048:"2048 bit" rsa-3072:3072:"3072 bit" \
  rsa-4096:4096:"4096 bit" ed25519:256:"ED25519 Private-Key"; do
  type=${t%%:*}
  rest=${t#*:}
  bits=${rest%%:*}
  text=${rest#*:}
  begin "key generate --type $type"
  cr key generate --type "$type" -o k.pem
  expect_rc 0
  expect_mode k.pem 600
  expect_dir_only . k.pem
  check "openssl shows '$text'" sh -c "openssl pkey -in k.pem -noout -text | grep -qF '$text'"
  cr key show --json k.pem
  expect_rc 0
  expect_json 'd["type"]' "\"$type\""
  expect_json 'd["bits"]' "$bits"
  expect_json 'd["public_key_sha256"]' "\"$(openssl_pub_sha256 k.pem)\""
done

begin "key generate without -o writes PEM to stdout and no file"
cr key generate
expect_rc 0
expect_err_empty
expect_out_contains "-----BEGIN PRIVATE KEY-----"
check "stdout is a key openssl reads" openssl pkey -in "$OUT" -noout
expect_dir_only .

begin "key generate -o - writes PEM to stdout and no file"
cr key generate --type ed25519 -o -
expect_rc 0
expect_err_empty
check "stdout is an Ed25519 key" sh -c "openssl pkey -in '$OUT' -noout -text | grep -q ED25519"
expect_dir_only .

begin "key generate: existing file without --force is refused and unchanged"
echo "precious, not a key" >k.pem
chmod 644 k.pem
before=$(sum_of k.pem)
cr key generate -o k.pem
expect_rc 1
expect_one_error "k.pem"
expect_err_contains "--force"
expect_eq "checksum of k.pem" "$before" "$(sum_of k.pem)"
expect_mode k.pem 644
expect_dir_only . k.pem

begin "key generate --force replaces an existing file (and it becomes 0600)"
"$CR" key generate -q -o k.pem
chmod 644 k.pem
before=$(sum_of k.pem)
cr key generate --force -o k.pem
expect_rc 0
[ "$(sum_of k.pem)" != "$before" ] || fail "k.pem should have been replaced"
expect_mode k.pem 600
check "the new key parses" openssl pkey -in k.pem -noout
expect_dir_only . k.pem

begin "key generate --passphrase-file encrypts the key"
printf 'correct horse\nsecond line is ignored\n' >pw
cr key generate --passphrase-file pw -o k.pem
expect_rc 0
expect_mode k.pem 600
check "PEM is ENCRYPTED PRIVATE KEY" grep -q -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' k.pem
check "openssl opens it with -passin file:pw" openssl pkey -in k.pem -passin file:pw -noout
check "the passphrase is the first line only" openssl pkey -in k.pem -passin 'pass:correct horse' -noout
if openssl pkey -in k.pem -passin pass:wrong -noout >/dev/null 2>&1; then
  fail "openssl should not open the key with a wrong passphrase"
fi
expect_dir_only . k.pem pw

begin "key generate --type dsa-1024 is a usage error"
cr key generate --type dsa-1024 -o k.pem
expect_rc 2
expect_one_error "dsa-1024"
expect_dir_only .

begin "key generate --passphrase-file with an empty first line is refused"
: >pw
cr key generate --passphrase-file pw -o k.pem
expect_rc 3
expect_one_error "pw"
expect_dir_only . pw

begin "key generate --quiet -o F prints nothing"
cr --quiet key generate -o k.pem
expect_rc 0
expect_out_empty
expect_err_empty
expect_file k.pem

# --- key show ---------------------------------------------------------------

begin "key show: type, bits and public-key SHA-256 match openssl"
"$CR" key generate -q -o k.pem
sha=$(openssl_pub_sha256 k.pem)
cr key show k.pem
expect_rc 0
expect_out_contains "ec-p256"
expect_out_contains "256"
expect_out_contains "$sha"
cr key show --json k.pem
expect_rc 0
expect_valid_json
expect_json 'd["public_key_sha256"]' "\"$sha\""
expect_json 'd["encrypted"]' 'false'

begin "key show -: reads stdin"
"$CR" key generate -q --type ec-p384 -o k.pem
cr_stdin k.pem key show --json -
expect_rc 0
expect_json 'd["type"]' '"ec-p384"'
expect_json 'd["public_key_sha256"]' "\"$(openssl_pub_sha256 k.pem)\""

begin "key show: DER (PKCS#8) key is accepted"
"$CR" key generate -q -o k.pem
openssl pkey -in k.pem -outform DER -out k.der
cr key show --json k.der
expect_rc 0
expect_json 'd["type"]' '"ec-p256"'
expect_json 'd["public_key_sha256"]' "\"$(openssl_pub_sha256 k.pem)\""

begin "key show: keys from openssl's other formats (SEC1 with EC PARAMETERS, PKCS#1 RSA)"
openssl ecparam -name prime256v1 -genkey -out ec.pem 2>/dev/null
openssl genrsa -traditional -out rsa.pem 2048 2>/dev/null
cr key show --json ec.pem
expect_rc 0
expect_json 'd["type"]' '"ec-p256"'
expect_json 'd["public_key_sha256"]' "\"$(openssl_pub_sha256 ec.pem)\""
cr key show --json rsa.pem
expect_rc 0
expect_json 'd["type"]' '"rsa-2048"'
expect_json 'd["public_key_sha256"]' "\"$(openssl_pub_sha256 rsa.pem)\""

begin "key show: encrypted key with the right passphrase"
printf 's3cret\n' >pw
"$CR" key generate -q --passphrase-file pw -o k.pem
cr key show --json --passphrase-file pw k.pem
expect_rc 0
expect_json 'd["encrypted"]' 'true'
expect_json 'd["public_key_sha256"]' "\"$(openssl_pub_sha256 k.pem pw)\""

begin "key show: encrypted key without a passphrase -> exit 3 with a hint"
printf 's3cret\n' >pw
"$CR" key generate -q --passphrase-file pw -o k.pem
cr key show k.pem
expect_rc 3
expect_one_error "k.pem"
expect_err_contains "hint: "
expect_err_contains "--passphrase-file"
expect_out_empty

begin "key show: encrypted key with the wrong passphrase -> exit 3"
printf 's3cret\n' >pw
printf 'wrong\n' >bad
"$CR" key generate -q --passphrase-file pw -o k.pem
cr key show --passphrase-file bad k.pem
expect_rc 3
expect_one_error "k.pem"
expect_out_empty

finish
