#!/bin/sh
# Golden tests of `certroute routes lint`: for each tests/data/lint/<case>.yml
# (or directory <case>.d), the text output and exit code must equal
# <case>.expected. Run with UPDATE_GOLDEN=1 to rewrite the expected files,
# then review the diff like code.
#   golden.sh PATH-TO-certroute DATA-DIR
set -u
bin=$(realpath "$1")
data=$2
cd "$data" || exit 2
export NO_COLOR=1
failed=0
n=0
for case in *.yml *.d; do
  [ -e "$case" ] || continue
  n=$((n + 1))
  expected="${case%.yml}.expected"
  actual=$("$bin" routes lint "$case" 2>&1; echo "[exit $?]")
  if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
    printf '%s\n' "$actual" >"$expected"
    echo "updated $expected"
    continue
  fi
  if [ ! -f "$expected" ]; then
    echo "FAIL $case: no $expected (run with UPDATE_GOLDEN=1 to create it)"
    failed=$((failed + 1))
    continue
  fi
  if ! printf '%s\n' "$actual" | diff -u "$expected" - >/tmp/certroute-golden.$$ 2>&1; then
    echo "FAIL $case: output differs from $expected:"
    cat /tmp/certroute-golden.$$
    failed=$((failed + 1))
  fi
done
rm -f /tmp/certroute-golden.$$
echo "golden: $((n - failed)) of $n cases match"
[ "$failed" -eq 0 ]
