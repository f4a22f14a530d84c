#!/bin/bash
# docs.man_in_sync: man/certroute.1.scd documents every command and option of
# the binary, each in its place, and nothing the binary no longer has.
#   - the root's options (the global ones) in GLOBAL OPTIONS;
#   - every leaf command in a subsection "## <command path>" of COMMANDS that
#     names each of its own long options and the values of its enumerated ones;
#   - every command group as the start of some subsection's path;
#   - every option definition line in a subsection (a line starting with the
#     bold option) is an option of that command, and every subsection is a
#     command.
# Usage: man_in_sync.sh CERTROUTE MAN.scd
set -eu

bin=$1
scd=$2
fail=0
problem() {
  echo "man_in_sync: $scd: $*" >&2
  fail=1
}

spec=$("$bin" __commands)
[ -n "$spec" ] || { echo "man_in_sync: '$bin __commands' printed nothing" >&2; exit 1; }

# True when $2 occurs in $1 as a whole word (letters, digits, '-' and '_' are
# word characters, so --key does not match --key-out).
has_word() {
  local re
  re=$(printf '%s' "$2" | sed 's/[][\.*^$+?(){}|/]/\\&/g')
  grep -Eq -- "(^|[^[:alnum:]_-])${re}([^[:alnum:]_-]|\$)" <<<"$1"
}

# The text of a section ("# NAME") or subsection ("## NAME"), up to the next
# heading of any level.
section() {
  awk -v h="$1" '
    /^#+ / { inside = ($0 == h); next }
    inside { print }' "$scd"
}

# The enumerated values of a command's options, from its --help:
# "--type TEXT:{a,b,c}" gives "--type a b c".
enums() {
  # shellcheck disable=SC2086  # the path is words
  "$bin" $1 --help | grep -oE -- '--[a-z0-9-]+ [A-Z]+:\{[^}]*\}' |
    sed -E 's/^(--[a-z0-9-]+) [A-Z]+:\{([^}]*)\}$/\1 \2/; s/,/ /g'
}

declare -A options=()  # command path -> its long options
paths=()
while IFS=$'\t' read -r path opts; do
  [ "$path" = certroute ] && path=
  paths+=("$path")
  options[${path:-.}]=$opts
done <<<"$spec"

global=${options[.]}
global_text=$(section '# GLOBAL OPTIONS')
[ -n "$global_text" ] || problem "no '# GLOBAL OPTIONS' section"
for opt in $global; do
  has_word "$global_text" "$opt" || problem "GLOBAL OPTIONS: $opt is missing"
done

is_global() { has_word "$global" "$1"; }

headings=$(grep -E '^## ' "$scd" | sed 's/^## //')
for path in "${paths[@]}"; do
  [ -n "$path" ] || continue
  if grep -q -- "^$path " <<<"$(printf '%s\n' "${paths[@]}")"; then
    # A command group: some subsection documents one of its commands.
    grep -q -- "^$path " <<<"$headings" || problem "command group '$path' has no subsection '## $path ...'"
    continue
  fi
  if ! grep -qxF -- "$path" <<<"$headings"; then
    problem "command '$path' has no subsection '## $path'"
    continue
  fi
  text=$(section "## $path")
  for opt in ${options[$path]}; do
    is_global "$opt" && continue
    has_word "$text" "$opt" || problem "## $path: option $opt is missing"
  done
  while read -r opt values; do
    [ -n "$opt" ] || continue
    for v in $values; do
      has_word "$text" "$v" || problem "## $path: value '$v' of $opt is missing"
    done
  done <<<"$(enums "$path")"
  # Option definitions: lines like "*-o*, *--out* _FILE_" or "*--der*".
  while read -r opt; do
    [ -n "$opt" ] || continue
    has_word "${options[$path]}" "$opt" || problem "## $path: documents $opt, which '$path' does not have"
  done <<<"$(grep -oE '^\*(-[A-Za-z0-9]\*, \*)?--[a-z0-9-]+\*' <<<"$text" | grep -oE -- '--[a-z0-9-]+')"
done

while read -r heading; do
  [ -n "$heading" ] || continue
  printf '%s\n' "${paths[@]}" | grep -qxF -- "$heading" ||
    problem "subsection '## $heading' is not a command of the binary"
done <<<"$headings"

exit "$fail"
