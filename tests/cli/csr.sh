#!/usr/bin/env bash
# certroute csr create / csr show, end to end.  $1 = path to the certroute binary.
. "$(dirname "$0")/lib.sh"
init "$@"

# shellcheck disable=SC2317 # functions called through check()
# OpenSSL 3.0's 'req -verify' exits 0 even for a bad signature: look for 'verify OK'.
req_verifies() { # FILE [PEM|DER]
  openssl req -inform "${2:-PEM}" -in "$1" -verify -noout 2>&1 | grep -q 'verify OK'
}
req_text() { openssl req -inform "${2:-PEM}" -in "$1" -noout -text 2>/dev/null; }
req_subject() { openssl req -inform "${2:-PEM}" -in "$1" -noout -subject -nameopt RFC2253 2>/dev/null; }
req_pub_sha256() { openssl req -inform "${2:-PEM}" -in "$1" -noout -pubkey 2>/dev/null | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
dns_count() { req_text "$1" | grep -o 'DNS:' | wc -l; }

"$CR" key generate -q -o "$FIX/k.pem"
printf 'pass phrase\n' >"$FIX/pw"
"$CR" key generate -q --passphrase-file "$FIX/pw" -o "$FIX/enc.pem"
"$CR" key generate -q --type ed25519 -o "$FIX/ed.pem"

# --- csr create -------------------------------------------------------------

begin "csr create with a new key: verifies, SANs, CN, key 0600, nothing else on disk"
cr csr create -d example.com -d www.example.com --key-out k.pem -o r.csr
expect_rc 0
expect_err_empty
expect_dir_only . k.pem r.csr
expect_mode k.pem 600
check "openssl req -verify says 'verify OK'" req_verifies r.csr
check "SAN DNS:example.com" sh -c "openssl req -in r.csr -noout -text | grep -q 'DNS:example.com'"
check "SAN DNS:www.example.com" sh -c "openssl req -in r.csr -noout -text | grep -q 'DNS:www.example.com'"
expect_eq "subject" "subject=CN=example.com" "$(req_subject r.csr)"
expect_eq "the CSR carries the public key of k.pem" "$(openssl_pub_sha256 k.pem)" "$(req_pub_sha256 r.csr)"
check "the new key is EC P-256" sh -c 'openssl pkey -in k.pem -noout -text | grep -q "NIST CURVE: P-256"'

begin "csr create without -o writes the PEM CSR to stdout"
cr csr create -d example.com --key-out k.pem
expect_rc 0
expect_out_contains "-----BEGIN CERTIFICATE REQUEST-----"
check "stdout verifies" req_verifies "$OUT"
expect_dir_only . k.pem

begin "csr create -o - writes the CSR to stdout"
cr csr create -d example.com --key "$FIX/k.pem" -o -
expect_rc 0
check "stdout verifies" req_verifies "$OUT"
expect_dir_only .

begin "csr create: Unicode name becomes its A-label (UTF-8 locale)"
run env LANG=C.UTF-8 LC_ALL=C.UTF-8 "$CR" csr create -d 'bücher.example' --key "$FIX/k.pem" -o r.csr
expect_rc 0
check "SAN DNS:xn--bcher-kva.example" sh -c "openssl req -in r.csr -noout -text | grep -q 'DNS:xn--bcher-kva.example'"
expect_eq "subject" "subject=CN=xn--bcher-kva.example" "$(req_subject r.csr)"
check "verify OK" req_verifies r.csr

begin "csr create: Unicode name becomes its A-label under LANG=C LC_ALL=C (cron)"
run env -u LANGUAGE LANG=C LC_ALL=C "$CR" csr create -d 'bücher.example' -d 'ÄÖÜ.example' --key "$FIX/k.pem" --json
expect_rc 0
expect_json 'd["dns_names"]' '["xn--bcher-kva.example", "xn--4ca0bs.example"]'
expect_json 'd["subject"]' '"CN=xn--bcher-kva.example"'
json "$OUT" 'd["csr"]' | python3 -c 'import json,sys; sys.stdout.write(json.loads(sys.stdin.read()))' >r.csr 2>/dev/null
check "the CSR in the JSON verifies" req_verifies r.csr
check "SAN DNS:xn--4ca0bs.example" sh -c "openssl req -in r.csr -noout -text | grep -q 'DNS:xn--4ca0bs.example'"

begin "csr create: names lower-cased, duplicates removed (also A-label vs U-label), order kept"
cr csr create -d WWW.Example.COM -d www.example.com -d 'bücher.example' -d xn--bcher-kva.example \
  -d Example.com --key "$FIX/k.pem" -o r.csr --json
expect_rc 0
expect_json 'd["dns_names"]' '["www.example.com", "xn--bcher-kva.example", "example.com"]'
expect_eq "number of DNS SANs in the CSR" 3 "$(dns_count r.csr)"
expect_eq "subject" "subject=CN=www.example.com" "$(req_subject r.csr)"
check "no upper case in the CSR" sh -c "! openssl req -in r.csr -noout -text | grep -q 'DNS:WWW'"

begin "csr create: wildcard as the whole left-most label is accepted"
cr csr create -d '*.example.com' -d example.com --key "$FIX/k.pem" -o r.csr
expect_rc 0
check "SAN DNS:*.example.com" sh -c "openssl req -in r.csr -noout -text | grep -qF 'DNS:*.example.com'"
check "verify OK" req_verifies r.csr

begin "csr create: a valid name longer than 64 characters gives no CN but is a SAN"
long="$(printf 'a%.0s' $(seq 1 60)).example.com" # 72 characters
cr csr create -d "$long" -d short.example --key "$FIX/k.pem" -o r.csr
expect_rc 0
check "verify OK" req_verifies r.csr
check "SAN has the long name" sh -c "openssl req -in r.csr -noout -text | grep -q 'DNS:$long'"
check "no CN in the subject" sh -c "! openssl req -in r.csr -noout -subject | grep -q 'CN'"

begin "csr create: a 253-character name (the maximum) is accepted"
n253="$(printf 'a%.0s' $(seq 1 63)).$(printf 'b%.0s' $(seq 1 63)).$(printf 'c%.0s' $(seq 1 63)).$(printf 'd%.0s' $(seq 1 61))"
cr csr create -d "$n253" --key "$FIX/k.pem" -o r.csr
expect_rc 0
check "verify OK" req_verifies r.csr
expect_eq "length of the test name" 253 "${#n253}"

begin "csr create --subject sets O and C; CN still defaults to the first name"
cr csr create -d example.com --subject 'O=Example Org,C=DE' --key "$FIX/k.pem" -o r.csr
expect_rc 0
subj=$(openssl req -in r.csr -noout -subject -nameopt sep_multiline,sname 2>/dev/null)
case "$subj" in *"O=Example Org"*) ;; *) fail "subject should have O=Example Org" "O=Example Org" "$subj" ;; esac
case "$subj" in *"C=DE"*) ;; *) fail "subject should have C=DE" "C=DE" "$subj" ;; esac
case "$subj" in *"CN=example.com"*) ;; *) fail "subject should have CN=example.com" "CN=example.com" "$subj" ;; esac
check "verify OK" req_verifies r.csr

begin "csr create --subject with an explicit CN keeps it"
cr csr create -d example.com --subject 'CN=My Service,O=Example Org,C=DE' --key "$FIX/k.pem" -o r.csr
expect_rc 0
subj=$(openssl req -in r.csr -noout -subject -nameopt sep_multiline,sname 2>/dev/null)
case "$subj" in *"CN=My Service"*) ;; *) fail "subject should have CN=My Service" "CN=My Service" "$subj" ;; esac
check "SAN still DNS:example.com" sh -c "openssl req -in r.csr -noout -text | grep -q 'DNS:example.com'"

begin "csr create --ip --email --uri SANs"
cr csr create -d example.com --ip 127.0.0.1 --ip 2001:db8::1 --email admin@example.com \
  --uri https://example.com/id --key "$FIX/k.pem" -o r.csr
expect_rc 0
check "verify OK" req_verifies r.csr
text=$(req_text r.csr)
for want in "DNS:example.com" "IP Address:127.0.0.1" "IP Address:2001:DB8:0:0:0:0:0:1" \
  "email:admin@example.com" "URI:https://example.com/id"; do
  case "$text" in *"$want"*) ;; *) fail "CSR should contain SAN '$want'" ;; esac
done

begin "csr create --key with an existing key: same public key, no new file"
cr csr create -d example.com --key "$FIX/k.pem" -o r.csr
expect_rc 0
expect_dir_only . r.csr
expect_eq "CSR public key = key file's" "$(openssl_pub_sha256 "$FIX/k.pem")" "$(req_pub_sha256 r.csr)"

begin "csr create --key with an encrypted key and --passphrase-file"
cr csr create -d example.com --key "$FIX/enc.pem" --passphrase-file "$FIX/pw" -o r.csr
expect_rc 0
check "verify OK" req_verifies r.csr
expect_eq "CSR public key = key file's" "$(openssl_pub_sha256 "$FIX/enc.pem" "$FIX/pw")" "$(req_pub_sha256 r.csr)"

begin "csr create --key with an Ed25519 key"
cr csr create -d example.com --key "$FIX/ed.pem" -o r.csr
expect_rc 0
check "verify OK" req_verifies r.csr
check "ED25519 signature" sh -c "openssl req -in r.csr -noout -text | grep -q 'Signature Algorithm: ED25519'"

begin "csr create --key-type rsa-2048 --key-out"
cr csr create -d example.com --key-type rsa-2048 --key-out k.pem -o r.csr
expect_rc 0
expect_mode k.pem 600
check "verify OK" req_verifies r.csr
check "RSA 2048 public key" sh -c "openssl req -in r.csr -noout -text | grep -q 'Public-Key: (2048 bit)'"
expect_eq "CSR public key = new key's" "$(openssl_pub_sha256 k.pem)" "$(req_pub_sha256 r.csr)"

begin "csr create --key-out --passphrase-file encrypts the new key"
cr csr create -d example.com --key-out k.pem --passphrase-file "$FIX/pw" -o r.csr
expect_rc 0
expect_mode k.pem 600
check "ENCRYPTED PRIVATE KEY" grep -q -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' k.pem
expect_eq "CSR public key = new key's" "$(openssl_pub_sha256 k.pem "$FIX/pw")" "$(req_pub_sha256 r.csr)"

begin "csr create --der: DER that openssl parses and verifies"
cr csr create -d example.com --key "$FIX/k.pem" --der -o r.der
expect_rc 0
check "not PEM" sh -c "! grep -q BEGIN r.der"
check "openssl req -inform DER verify OK" req_verifies r.der DER
check "SAN in the DER CSR" sh -c "openssl req -inform DER -in r.der -noout -text | grep -q 'DNS:example.com'"

begin "csr create --json: valid JSON with dns_names and the PEM"
cr csr create -d example.com -d www.example.com --key "$FIX/k.pem" --json
expect_rc 0
expect_valid_json
expect_json 'd["dns_names"]' '["example.com", "www.example.com"]'
expect_json 'd["subject"]' '"CN=example.com"'
expect_json 'd["key_type"]' '"ec-p256"'
expect_json '"-----BEGIN CERTIFICATE REQUEST-----" in d["csr"]' 'true'

begin "csr create --json -o F: JSON on stdout, CSR in F"
cr csr create -d example.com --key-out k.pem -o r.csr --json
expect_rc 0
expect_valid_json
expect_json 'd["dns_names"]' '["example.com"]'
check "r.csr verifies" req_verifies r.csr
expect_mode k.pem 600

begin "csr create without --key or --key-out is a usage error"
cr csr create -d example.com -o r.csr
expect_rc 2
expect_one_error
expect_dir_only .

begin "csr create with both --key and --key-out is a usage error, no key written"
cr csr create -d example.com --key "$FIX/k.pem" --key-out k.pem -o r.csr
expect_rc 2
expect_one_error
expect_dir_only .

begin "csr create --key-type foo is a usage error"
cr csr create -d example.com --key-type foo --key-out k.pem -o r.csr
expect_rc 2
expect_one_error "foo"
expect_dir_only .

begin "csr create: existing -o file without --force -> exit 1, unchanged, no new key"
echo "old csr" >r.csr
before=$(sum_of r.csr)
cr csr create -d example.com --key-out k.pem -o r.csr
expect_rc 1
expect_one_error "r.csr"
expect_eq "checksum of r.csr" "$before" "$(sum_of r.csr)"
expect_dir_only . r.csr

begin "csr create: existing --key-out file without --force -> exit 1, unchanged, no CSR"
echo "old key" >k.pem
before=$(sum_of k.pem)
cr csr create -d example.com --key-out k.pem -o r.csr
expect_rc 1
expect_one_error "k.pem"
expect_eq "checksum of k.pem" "$before" "$(sum_of k.pem)"
expect_dir_only . k.pem

begin "csr create --force replaces existing -o and --key-out files"
echo "old key" >k.pem
echo "old csr" >r.csr
cr csr create -d example.com --key-out k.pem -o r.csr --force
expect_rc 0
check "new r.csr verifies" req_verifies r.csr
expect_eq "CSR public key = new key's" "$(openssl_pub_sha256 k.pem)" "$(req_pub_sha256 r.csr)"
expect_mode k.pem 600
expect_dir_only . k.pem r.csr

# --- csr show ---------------------------------------------------------------

"$CR" csr create -q -d example.com -d www.example.com --ip 192.0.2.7 --key "$FIX/k.pem" -o "$FIX/r.csr"
openssl req -in "$FIX/r.csr" -outform DER -out "$FIX/r.der"

begin "csr show: subject, SANs, key, signature algorithm, valid"
cr csr show "$FIX/r.csr"
expect_rc 0
expect_err_empty
expect_out_contains "CN=example.com"
expect_out_contains "www.example.com"
expect_out_contains "192.0.2.7"
expect_out_contains "P-256"
expect_out_contains "ecdsa-with-SHA256"
expect_out_contains "valid"

begin "csr show --json"
cr csr show --json "$FIX/r.csr"
expect_rc 0
expect_valid_json
expect_json 'd["subject"]' '"CN=example.com"'
expect_json 'd["dns_names"]' '["example.com", "www.example.com"]'
expect_json 'd["ips"]' '["192.0.2.7"]'
expect_json 'd["key_type"]' '"ec-p256"'
expect_json 'd["key_bits"]' '256'
expect_json 'd["signature_algorithm"]' '"ecdsa-with-SHA256"'
expect_json 'd["signature_valid"]' 'true'

begin "csr show: DER input accepted"
cr csr show --json "$FIX/r.der"
expect_rc 0
expect_json 'd["dns_names"]' '["example.com", "www.example.com"]'
expect_json 'd["signature_valid"]' 'true'

begin "csr show -: reads stdin"
cr_stdin "$FIX/r.csr" csr show --json -
expect_rc 0
expect_json 'd["subject"]' '"CN=example.com"'

begin "csr show: a CSR made by openssl (RSA, O and SANs)"
openssl req -new -newkey rsa:2048 -nodes -keyout o.key -out o.csr -subj '/CN=legacy.example/O=Acme' \
  -addext 'subjectAltName=DNS:legacy.example,DNS:alt.example' >/dev/null 2>&1
cr csr show --json o.csr
expect_rc 0
expect_json 'd["dns_names"]' '["legacy.example", "alt.example"]'
expect_json '"O=Acme" in d["subject"] and "CN=legacy.example" in d["subject"]' 'true'
expect_json 'd["key_type"]' '"rsa-2048"'
expect_json 'd["signature_algorithm"]' '"sha256WithRSAEncryption"'
expect_json 'd["signature_valid"]' 'true'

begin "csr show: a tampered signature is reported invalid (DER and PEM)"
cp "$FIX/r.der" t.der
# The last byte of an ECDSA CSR is the last byte of the signature's s value:
# flipping a bit keeps the DER well-formed but breaks the signature.
python3 -c 'import sys; d=bytearray(open(sys.argv[1],"rb").read()); d[-1]^=1; open(sys.argv[1],"wb").write(d)' t.der
openssl req -inform DER -in t.der -out t.pem 2>/dev/null
if ! openssl req -in t.pem -verify -noout 2>&1 | grep -q 'verify failure'; then
  fail "test set-up: openssl should see the tampered CSR's signature as bad"
fi
cr csr show --json t.der
[ "$RC" -eq 0 ] || [ "$RC" -eq 1 ] || fail "exit code" "0 or 1" "$RC"
expect_json 'd["signature_valid"]' 'false'
cr csr show t.pem
[ "$RC" -eq 0 ] || [ "$RC" -eq 1 ] || fail "exit code" "0 or 1" "$RC"
expect_out_contains "INVALID"

finish
