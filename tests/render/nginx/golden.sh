#!/bin/sh
# Golden tests of `certroute routes render --to nginx`, in the style of Caddy's
# adapt tests: each cases/<case>.yml is rendered and compared with
#   golden/<case>.conf   the rendered configuration
#   golden/<case>.diag   what the command printed on stderr, the side files it
#                        wrote (with their mode and content) and its exit code
# A case's first lines may hold `# args: ...` (extra flags, such as --strict or
# --entrypoint). Every case renders into a temporary directory (-o DIR/), whose
# path reads @OUT@ in the golden files; the working directory holds certs/
# with test certificates made by openssl at test time (see lib.sh), which the
# TLS cases name by relative path.
#
#   golden.sh PATH-TO-certroute TESTS-DIR       (TESTS-DIR = tests/render/nginx)
#   UPDATE_GOLDEN=1 golden.sh ...                rewrites the golden files; review the diff
set -u
bin=$(realpath "$1")
dir=$(realpath "$2")
. "$dir/lib.sh"
nginx_lib_init
export NO_COLOR=1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/certroute-nginx-golden.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT HUP TERM
make_certs "$TMP" || exit 1
mkdir -p "$dir/golden"

n=0
failed=0
for case_file in "$dir"/cases/*.yml; do
  [ -e "$case_file" ] || continue
  case=$(basename "$case_file" .yml)
  n=$((n + 1))
  work="$TMP/$case"
  mkdir -p "$work"
  ln -s "$TMP/certs" "$work/certs"
  cp "$case_file" "$work/$case.yml"
  args=$(sed -n 's/^# args: //p' "$case_file" | head -n 1)
  # shellcheck disable=SC2086 # args are words
  (cd "$work" && "$bin" routes render --to nginx --quiet "$case.yml" -o "$work/out/" $args) \
    >"$work/stdout" 2>"$work/stderr"
  rc=$?
  conf="$work/actual.conf"
  diag="$work/actual.diag"
  if [ -f "$work/out/nginx.conf" ]; then sed "s|$work/out|@OUT@|g" "$work/out/nginx.conf" >"$conf"; else : >"$conf"; fi
  {
    sed "s|$work/out|@OUT@|g" "$work/stderr"
    for f in "$work"/out/*; do
      [ -f "$f" ] || continue
      [ "$(basename "$f")" = nginx.conf ] && continue
      echo "--- side file $(basename "$f") (mode $(stat -c %a "$f")) ---"
      cat "$f"
    done
    echo "[exit $rc]"
  } >"$diag"
  if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$conf" "$dir/golden/$case.conf"
    cp "$diag" "$dir/golden/$case.diag"
    echo "updated golden/$case.conf and golden/$case.diag"
    continue
  fi
  ok=1
  for kind in conf diag; do
    expected="$dir/golden/$case.$kind"
    if [ ! -f "$expected" ]; then
      echo "FAIL $case: no golden/$case.$kind (run with UPDATE_GOLDEN=1 to create it)"
      ok=0
    elif ! diff -u "$expected" "$work/actual.$kind" >"$work/diff" 2>&1; then
      echo "FAIL $case: the $kind output differs from golden/$case.$kind:"
      cat "$work/diff"
      ok=0
    fi
  done
  [ "$ok" = 1 ] || failed=$((failed + 1))
done
echo "nginx golden: $((n - failed)) of $n cases match"
[ "$n" -gt 0 ] && [ "$failed" -eq 0 ]
