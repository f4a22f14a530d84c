#!/bin/sh
# `certroute routes lint` and `routes match` driven end to end: exit codes,
# output formats, and every kind of bad input.
#   cli.sh PATH-TO-certroute DATA-DIR PATH-TO-tests/cli/lib.sh
DATA=$(realpath "$2")
. "$3"
init "$1"

CLEAN="$DATA/../lint/clean.yml"
RULES="$DATA/../lint/rules.yml"
SHADOW="$DATA/../lint/shadowing.yml"
MATCH="$DATA/match.yml"

# ---- routes lint: exit codes -------------------------------------------------

begin "lint: a clean file exits 0"
cr routes lint "$CLEAN"
expect_rc 0
expect_out_contains "1 file checked: no problems"
expect_err_empty

begin "lint: errors exit 1"
cr routes lint "$RULES"
expect_rc 1
expect_out_contains "rules.yml:5:14: error: unknown matcher 'Hots' (did you mean Host?) [CR021]"
expect_out_contains "errors,"

begin "lint: warnings exit 0, and 1 with --strict"
cr routes lint "$SHADOW"
expect_rc 0
expect_out_contains "[CR043]"
cr routes lint --strict "$SHADOW"
expect_rc 1

begin "lint: --quiet prints errors only, no summary"
cr routes lint -q "$RULES"
expect_rc 1
expect_out_not_contains "warning:"
expect_out_not_contains "errors,"
cr routes lint -q "$CLEAN"
expect_rc 0
expect_out_empty

begin "lint: a PATH that does not exist exits 3 with one line"
cr routes lint nonexistent.yml
expect_rc 3
expect_one_error "reading nonexistent.yml" "no such file or directory"
expect_out_empty

begin "lint: a readable PATH is still linted when another is missing"
cr routes lint "$RULES" missing.yml
expect_rc 3
expect_out_contains "[CR021]"
expect_err_contains "reading missing.yml"

begin "lint: usage errors exit 2"
cr routes lint
expect_rc 2
expect_err_contains "at least one PATH"
cr routes lint --format yaml "$CLEAN"
expect_rc 2
cr routes lint --bogus "$CLEAN"
expect_rc 2

begin "lint: --entrypoints checks entry points"
cat >ep.yml <<'YML'
http:
  routers:
    r:
      rule: "Host(`a.example`)"
      entryPoints: [web, websecur]
      service: noop@internal
YML
cr routes lint ep.yml
expect_rc 0
cr routes lint --entrypoints web,websecure ep.yml
expect_rc 1
expect_out_contains "ep.yml:5:26: error: router 'r' uses entry point 'websecur', which is not one of --entrypoints (web, websecure) [CR033]"
cr routes lint --entrypoints web --entrypoints websecur ep.yml
expect_rc 0

# ---- routes lint: formats ------------------------------------------------------

begin "lint: --format json"
cr routes lint --format json "$RULES"
expect_rc 1
expect_valid_json
expect_json 'd["diagnostics"][0]["code"]' '"CR021"'
expect_json 'd["diagnostics"][0]["line"]' '5'
expect_json 'd["diagnostics"][0]["column"]' '14'
expect_json 'd["diagnostics"][0]["severity"]' '"error"'
expect_json 'sorted(d["diagnostics"][0].keys())' '["code", "column", "file", "line", "message", "severity"]'
expect_json 'd["summary"]["files"]' '1'

begin "lint: --json is --format json"
cr routes lint --json "$CLEAN"
expect_rc 0
expect_json 'd["diagnostics"]' '[]'

begin "lint: --format sarif"
cr routes lint --format sarif "$RULES"
expect_rc 1
expect_valid_json
expect_json 'd["version"]' '"2.1.0"'
expect_json 'd["runs"][0]["tool"]["driver"]["name"]' '"certroute"'
expect_json 'd["runs"][0]["results"][0]["ruleId"]' '"CR021"'
expect_json 'd["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"]' '5'

begin "lint: --format github"
cp "$RULES" rules.yml
cr routes lint --format github rules.yml
expect_rc 1
expect_out_contains "::error file=rules.yml,line=5,col=14,title=CR021 unknown-matcher::unknown matcher 'Hots' (did you mean Host?) [CR021]"
expect_out_contains "::warning file=rules.yml,"
bad=$(grep -vc '^::\(error\|warning\) ' "$OUT")
expect_eq "lines that are not workflow commands" 0 "$bad"

begin "lint: the source line and a caret on a terminal only"
cr routes lint "$RULES"
if grep -q '^ *^$' "$OUT"; then fail "no caret lines when stdout is not a terminal"; fi
if command -v script >/dev/null 2>&1; then
  script -qec "$CR routes lint --no-color $RULES" /dev/null | tr -d '\r' >tty.out 2>&1
  grep -q '^          rule: "Hots(`example.com`)"$' tty.out || fail "the source line on a TTY"
  grep -q '^                 ^$' tty.out || fail "the caret on a TTY"
  if grep -q "$(printf '\033')" tty.out; then fail "colour despite --no-color"; fi
fi

begin "lint: --explain"
cr routes lint --explain CR021
expect_rc 0
expect_out_contains "CR021 (unknown-matcher, error)"
cr routes lint --explain cr043
expect_rc 0
expect_out_contains "priority"
cr routes lint --explain all
expect_rc 0
expect_out_contains "CR001"
expect_out_contains "CR044"
cr routes lint --explain CR999
expect_rc 2
expect_err_contains "unknown code 'CR999'"

# ---- routes lint: bad input ------------------------------------------------------

begin "bad input: a binary file"
head -c 4096 "$CR" >bin.yml
cr routes lint bin.yml
expect_rc 1
expect_out_contains "[CR001]"

begin "bad input: a 100 MB file is refused without reading it"
truncate -s 100M big.yml
cr routes lint big.yml
expect_rc 1
expect_out_contains "big.yml: error: file is 100 MiB, larger than the 16 MiB limit [CR007]"

begin "bad input: a YAML bomb"
python3 - <<'PY'
lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
for i in range(1, 10):
    p, c = chr(ord('a') + i - 1), chr(ord('a') + i)
    lines.append(f'{c}: &{c} [' + ','.join(['*' + p] * 9) + ']')
lines.append('http:\n  routers:\n    x: *j')
open('bomb.yml', 'w').write('\n'.join(lines) + '\n')
PY
cr routes lint bomb.yml
expect_rc 1
expect_out_contains "aliases expand to more than"

begin "bad input: 10,000 levels of nesting"
python3 -c "open('deep.yml','w').write('a: ' + '['*10000 + ']'*10000 + '\n'); open('deep.json','w').write('{\"a\": ' + '['*10000 + ']'*10000 + '}'); open('deep.toml','w').write('a = ' + '['*10000 + ']'*10000 + '\n')"
for f in deep.yml deep.json deep.toml; do
  cr routes lint "$f"
  expect_rc 1
  expect_out_contains "[CR001]"
done

begin "bad input: invalid UTF-8"
printf 'http:\n  routers:\n    caf\351: {}\n' >latin1.yml
cr routes lint latin1.yml
expect_rc 1
expect_out_contains "latin1.yml:3:8: error: invalid UTF-8"

begin "bad input: a directory symlink loop"
mkdir -p conf/sub
ln -s .. conf/sub/up
ln -s ../conf conf/self
printf 'http: {}\n' >conf/sub/a.yml
cr routes lint conf
expect_rc 0
expect_out_contains "symbolic link to a directory: Traefik does not follow it"

begin "bad input: an empty file"
: >empty.yml
cr routes lint empty.yml
expect_rc 0
expect_out_contains "empty.yml: warning: the file defines nothing [CR008]"

begin "bad input: a file that is not readable"
printf 'http: {}\n' >secret.yml
chmod 000 secret.yml
if [ "$(id -u)" -ne 0 ]; then
  cr routes lint secret.yml
  expect_rc 3
  expect_one_error "reading secret.yml" "permission denied"
  mkdir d && cp secret.yml d/ 2>/dev/null; chmod 000 d/secret.yml 2>/dev/null
  printf 'http: {}\n' >d/ok.yml
  chmod 000 d/secret.yml
fi
chmod 600 secret.yml

begin "bad input: a FIFO is not read"
mkfifo pipe.yml
cr routes lint pipe.yml
expect_rc 3
expect_one_error "reading pipe.yml" "not a regular file"

begin "bad input: a directory with a broken file goes on with the others"
mkdir -p mixed
printf 'http:\n  routers: [\n' >mixed/a.yml
printf 'http:\n  routers:\n    r:\n      rule: "Hots(`x`)"\n      service: noop@internal\n' >mixed/b.yml
cr routes lint mixed
expect_rc 1
expect_out_contains "mixed/a.yml:3:1: error: invalid YAML"
expect_out_contains "mixed/b.yml:4:14: error: unknown matcher"

# ---- routes match -------------------------------------------------------------------

begin "match: the most specific router wins"
cr routes match "$MATCH" --url https://example.com/api/users
expect_rc 0
expect_out_contains "router:      api@file"
expect_out_contains "service:     api@file"
expect_out_contains "middlewares: auth@file, strip-api@file"
expect_out_contains "priority:    41 (the rule's length)"
expect_err_contains "router 'broken'"
expect_err_contains "is skipped, as Traefik does"

begin "match: headers, client IP, entry point, plain HTTP"
cr routes match "$MATCH" --url https://example.com/ --header 'X-Beta: 1'
expect_rc 0
expect_out_contains "router:      beta@file"
cr routes match "$MATCH" --url https://example.com/api/admin/x --client-ip 10.1.2.3
expect_out_contains "router:      api-admin@file"
cr routes match "$MATCH" --url https://example.com/api/admin/x --client-ip 192.0.2.1
expect_out_contains "router:      api@file"
cr routes match "$MATCH" --url http://example.com/api --entrypoint web
expect_rc 0
expect_out_contains "router:      http-redirect@file"
expect_out_contains "service:     noop@internal"
cr routes match "$MATCH" --url https://example.com/api --entrypoint web
expect_rc 1

begin "match: --explain lists the candidates in priority order"
cr routes match "$MATCH" --url https://example.com/api/admin --explain
expect_rc 0
first=$(sed -n 2p "$OUT")
case "$first" in *broken*2000*invalid*) ;; *) fail "first candidate" "broken 2000 invalid" "$first" ;; esac
expect_out_contains "beta       1000  no match: Header(\`X-Beta\`, \`1\`) is false"
expect_out_contains "ClientIP(\`10.0.0.0/8\`) is false"

begin "match: --quiet prints nothing but the failure"
cr routes match -q "$MATCH" --url https://example.com/api
expect_rc 0
expect_out_empty
expect_err_empty
cr routes match -q "$MATCH" --url https://other.example/
expect_rc 1
expect_out_empty
expect_error_lines 1

begin "match: no router exits 1"
cr routes match "$MATCH" --url https://other.example/
expect_rc 1
expect_err_contains "no router matches GET https://other.example/"

begin "match: --json"
cr routes match "$MATCH" --url https://example.com/api --json
expect_rc 0
expect_valid_json
expect_json 'd["router"]' '"api@file"'
expect_json 'd["service"]' '"api@file"'
expect_json 'd["middlewares"]' '["auth@file", "strip-api@file"]'
expect_json 'd["priority"]' '41'
expect_json 'd["candidates"][0]["router"]' '"broken@file"'
expect_json 'd["candidates"][-1]["status"]' '"matched"'
cr routes match "$MATCH" --url https://nothing.example/ --json
expect_rc 1
expect_json 'd["router"]' 'null'

begin "match: --sni matches TCP routers"
cr routes match "$MATCH" --sni db.example.com
expect_rc 0
expect_out_contains "router:      postgres@file"
cr routes match "$MATCH" --sni web.example.com
expect_rc 1

begin "match: usage errors exit 2"
cr routes match "$MATCH"
expect_rc 2
cr routes match "$MATCH" --url example.com/
expect_rc 2
cr routes match "$MATCH" --url ftp://example.com/
expect_rc 2
cr routes match "$MATCH" --url https://example.com/ --client-ip nope
expect_rc 2
cr routes match "$MATCH" --url https://example.com/ --header 'NoColon'
expect_rc 2
cr routes match missing.yml --url https://example.com/
expect_rc 3

finish
