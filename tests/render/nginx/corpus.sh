#!/bin/sh
# Every file of the shared corpus of real Traefik dynamic configurations
# renders to nginx without a crash (exit 0: warnings are fine), and nginx
# accepts the output (`nginx -t`). Files that `certroute routes lint` reports
# errors for are skipped, as `routes render` refuses them.
#
# Two substitutions make the outputs checkable on any machine (lib.sh,
# checkable): upstream host names become 127.0.0.1 (nginx resolves them when
# it reads the configuration; the corpus names docker services, and the tests
# use no network), and certificate files that do not exist here (the corpus
# names its authors' paths) become a test certificate made by openssl.
# Everything else is checked as rendered.
#
#   corpus.sh PATH-TO-certroute TESTS-DIR CORPUS-DIR
set -u
bin=$(realpath "$1")
dir=$(realpath "$2")
corpus=$3
. "$dir/lib.sh"
nginx_lib_init
if [ ! -d "$corpus" ]; then
  echo "SKIP: no corpus at $corpus (CI clones shared/ beside the repository)"
  exit 77
fi
corpus=$(realpath "$corpus")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/certroute-nginx-corpus.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT HUP TERM
make_certs "$TMP" || exit 1

n=0
skipped=0
failed=0
for f in $(find "$corpus" -type f \( -name '*.yml' -o -name '*.yaml' -o -name '*.toml' -o -name '*.json' \) | sort); do
  name=$(echo "${f#"$corpus"/}" | tr '/' '_')
  if ! "$bin" routes lint "$f" >/dev/null 2>&1; then
    skipped=$((skipped + 1))
    continue
  fi
  n=$((n + 1))
  work="$TMP/$name"
  mkdir -p "$work"
  "$bin" routes render --to nginx --quiet "$f" -o "$work/out/" >"$work/stdout" 2>"$work/stderr"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "FAIL $name: routes render exited $rc"
    sed 's/^/    /' "$work/stderr"
    failed=$((failed + 1))
    continue
  fi
  checkable "$work/out/nginx.conf" "$work/checked.conf" "$TMP"
  conf=$(nginx_wrapper "$work" "$work/checked.conf")
  if ! nginx_test "$work" "$conf"; then
    echo "FAIL $name: nginx -t rejects the output"
    failed=$((failed + 1))
  fi
done
echo "nginx corpus: $((n - failed)) of $n files render and pass nginx -t ($skipped skipped: lint errors)"
[ "$n" -gt 0 ] && [ "$failed" -eq 0 ]
