#!/bin/sh
# docs.man_groff: every built man page formats without a single groff warning,
# and man(1) renders it to non-empty text.
# Usage: man_groff.sh PAGE.roff...
set -eu

[ $# -gt 0 ] || { echo "man_groff: no pages given" >&2; exit 2; }
for tool in groff man; do
  command -v "$tool" >/dev/null || { echo "man_groff: $tool not found (scripts/install-deps)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
for page in "$@"; do
  if [ ! -s "$page" ]; then
    echo "man_groff: $page: missing or empty (was the 'man' target built?)" >&2
    fail=1
    continue
  fi

  # -ww: all warnings; -z: format, discard the output. Warnings go to stderr.
  rc=0
  groff -man -ww -z "$page" 2>"$tmp/groff.err" || rc=$?
  if [ "$rc" -ne 0 ] || [ -s "$tmp/groff.err" ]; then
    echo "man_groff: $page: groff exited $rc with:" >&2
    cat "$tmp/groff.err" >&2
    fail=1
  fi

  rc=0
  MANPAGER=cat MANWIDTH=80 man -l "$page" >"$tmp/man.out" 2>"$tmp/man.err" || rc=$?
  if [ "$rc" -ne 0 ] || [ ! -s "$tmp/man.out" ]; then
    echo "man_groff: $page: 'man -l' exited $rc, $(wc -c <"$tmp/man.out") bytes of output:" >&2
    cat "$tmp/man.err" >&2
    fail=1
  elif ! grep -q '^NAME' "$tmp/man.out"; then
    echo "man_groff: $page: rendered page has no NAME section" >&2
    fail=1
  fi
done
exit "$fail"
