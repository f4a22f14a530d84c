#!/usr/bin/env bash
# certroute cert show / cert check, end to end.  $1 = path to the certroute binary.
# Fixtures (a root CA, an intermediate, a leaf, an expired and a short-lived
# certificate) are made with openssl at test time.
. "$(dirname "$0")/lib.sh"
init "$@"

make_chain "$FIX"
make_expired "$FIX"
make_cert "$FIX" short 10 "DNS:short.example"
make_cert "$FIX" wild 365 "DNS:*.example.com"
openssl x509 -in "$FIX/leaf.pem" -outform DER -out "$FIX/leaf.der"
cat "$FIX/root.pem" "$FIX/int.pem" "$FIX/leaf.pem" >"$FIX/reversed.pem"
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*Fingerprint=//'; }

# --- cert show --------------------------------------------------------------

begin "cert show --json: a leaf+intermediate+root bundle, chain links"
cr cert show --json "$FIX/bundle.pem"
expect_rc 0
expect_err_empty
expect_valid_json
expect_json 'len(d["certificates"])' '3'
expect_json '[c["signed_by_next"] for c in d["certificates"]]' '[true, true, null]'
expect_json '[c["self_signed"] for c in d["certificates"]]' '[false, false, true]'
expect_json '[c["subject"] for c in d["certificates"]]' '["CN=www.example.com", "CN=Test-Int", "CN=Test-Root"]'
expect_json '[c["issuer"] for c in d["certificates"]]' '["CN=Test-Int", "CN=Test-Root", "CN=Test-Root"]'
expect_json 'd["certificates"][0]["dns_names"]' '["www.example.com", "*.example.com"]'
expect_json 'd["certificates"][0]["ips"]' '["127.0.0.1"]'
expect_json '88 <= d["certificates"][0]["days_left"] <= 90' 'true'
expect_json '998 <= d["certificates"][1]["days_left"] <= 1000' 'true'
expect_json 'd["certificates"][0]["sha256_fingerprint"]' "\"$(fingerprint "$FIX/leaf.pem")\""
expect_json 'd["certificates"][1]["sha256_fingerprint"]' "\"$(fingerprint "$FIX/int.pem")\""
expect_json 'd["certificates"][2]["sha256_fingerprint"]' "\"$(fingerprint "$FIX/root.pem")\""
serial=$(openssl x509 -in "$FIX/leaf.pem" -noout -serial | sed 's/^serial=//')
expect_json 'd["certificates"][0]["serial"].replace(":", "").upper()' "\"$serial\""
nb=$(openssl x509 -in "$FIX/leaf.pem" -noout -startdate | sed 's/^notBefore=//')
na=$(openssl x509 -in "$FIX/leaf.pem" -noout -enddate | sed 's/^notAfter=//')
expect_json 'd["certificates"][0]["not_before"][:10]' "\"$(date -u -d "$nb" +%Y-%m-%d)\""
expect_json 'd["certificates"][0]["not_after"][:10]' "\"$(date -u -d "$na" +%Y-%m-%d)\""
expect_json '"P-256" in d["certificates"][0]["key"]' 'true'

begin "cert show: human output lists every certificate"
cr cert show "$FIX/bundle.pem"
expect_rc 0
expect_err_empty
expect_out_contains "CN=www.example.com"
expect_out_contains "CN=Test-Int"
expect_out_contains "CN=Test-Root"
expect_out_contains "*.example.com"
expect_out_contains "$(fingerprint "$FIX/leaf.pem")"

begin "cert show: a bundle in the wrong order shows signed_by_next false"
cr cert show --json "$FIX/reversed.pem"
expect_rc 0
expect_json 'len(d["certificates"])' '3'
expect_json '[c["signed_by_next"] for c in d["certificates"]]' '[false, false, null]'
expect_json '[c["self_signed"] for c in d["certificates"]]' '[true, false, false]'

begin "cert show: a DER certificate is accepted"
cr cert show --json "$FIX/leaf.der"
expect_rc 0
expect_json 'len(d["certificates"])' '1'
expect_json 'd["certificates"][0]["sha256_fingerprint"]' "\"$(fingerprint "$FIX/leaf.pem")\""

begin "cert show -: reads stdin"
cr_stdin "$FIX/bundle.pem" cert show --json -
expect_rc 0
expect_json 'len(d["certificates"])' '3'

begin "cert show: an expired certificate has negative days_left"
cr cert show --json "$FIX/expired.pem"
expect_rc 0
expect_json 'd["certificates"][0]["days_left"] < 0' 'true'
expect_json 'd["certificates"][0]["not_after"]' '"2020-02-01T00:00:00Z"'

# --- cert check -------------------------------------------------------------

begin "cert check: a fine certificate exits 0"
cr cert check "$FIX/bundle.pem"
expect_rc 0
expect_err_empty

begin "cert check --quiet: nothing printed when fine"
cr --quiet cert check "$FIX/bundle.pem" --host www.example.com
expect_rc 0
expect_out_empty
expect_err_empty

begin "cert check --days: 10-day certificate fails --days 30 (also the default), passes --days 5"
cr cert check --days 30 "$FIX/short.pem"
expect_rc 1
expect_error_lines 1
expect_err_contains "short.pem"
cr cert check "$FIX/short.pem"
expect_rc 1
expect_error_lines 1
cr cert check --days 5 "$FIX/short.pem"
expect_rc 0
expect_err_empty

begin "cert check: an expired certificate fails even with --days 0"
cr cert check --days 0 "$FIX/expired.pem"
expect_rc 1
expect_error_lines 1
expect_err_contains "expired.pem"
expect_err_contains "expired"

begin "cert check --host: names and IPs the certificate covers"
cr cert check "$FIX/bundle.pem" --host www.example.com --host a.example.com --host 127.0.0.1
expect_rc 0
expect_err_empty

begin "cert check --host: host names are matched case-insensitively"
cr cert check "$FIX/bundle.pem" --host WWW.Example.COM
expect_rc 0
expect_err_empty

begin "cert check --host: a name not covered fails"
cr cert check "$FIX/bundle.pem" --host www.example.org
expect_rc 1
expect_error_lines 1
expect_err_contains "www.example.org"

begin "cert check --host: an IP not covered fails"
cr cert check "$FIX/bundle.pem" --host 127.0.0.2
expect_rc 1
expect_error_lines 1
expect_err_contains "127.0.0.2"

begin "cert check --host: *.example.com covers a.example.com only"
cr cert check "$FIX/wild.pem" --host a.example.com
expect_rc 0
expect_err_empty
cr cert check "$FIX/wild.pem" --host a.b.example.com
expect_rc 1
expect_error_lines 1
expect_err_contains "a.b.example.com"
cr cert check "$FIX/wild.pem" --host example.com
expect_rc 1
expect_error_lines 1
expect_err_contains "example.com"

begin "cert check --key: matching key 0, another key 1"
cr cert check "$FIX/bundle.pem" --key "$FIX/leaf.key"
expect_rc 0
expect_err_empty
cr cert check "$FIX/bundle.pem" --key "$FIX/int.key"
expect_rc 1
expect_error_lines 1
expect_err_contains "key"

begin "cert check: two failed checks give two lines"
cr cert check "$FIX/bundle.pem" --host nope.example.org --key "$FIX/root.key"
expect_rc 1
expect_error_lines 2
cr cert check "$FIX/short.pem" --days 30 --host other.example
expect_rc 1
expect_error_lines 2

begin "cert check --json: failures listed, exit 1"
cr cert check --json "$FIX/short.pem" --host other.example
expect_rc 1
expect_valid_json
expect_json 'd["ok"]' 'false'
expect_json 'len(d["failures"])' '2'
cr cert check --json "$FIX/bundle.pem"
expect_rc 0
expect_json 'd["ok"]' 'true'

begin "cert check: a DER certificate is accepted"
cr cert check "$FIX/leaf.der" --host www.example.com --key "$FIX/leaf.key"
expect_rc 0
expect_err_empty

begin "cert check --days -1 is a usage error"
cr cert check --days -1 "$FIX/bundle.pem"
expect_rc 2

finish
