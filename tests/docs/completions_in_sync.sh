#!/bin/bash
# docs.completions_in_sync: the bash, zsh and fish completion scripts cover the
# command tree of the binary (`certroute __commands`), and nothing else.
#
# 1. Text: every command name, every long option and every value of an
#    enumerated option (from the commands' --help) occurs in each script as a
#    whole word (fish spells --opt as "-l opt").
# 2. Behaviour: each script is loaded into its shell (bash always; zsh and fish
#    when installed) and asked to complete, for every command,
#      "certroute CMD --"         must offer exactly CMD's long options,
#      "certroute GROUP "         must offer exactly GROUP's subcommands,
#      "certroute CMD --OPT "     must offer exactly OPT's enumerated values.
# Usage: completions_in_sync.sh CERTROUTE COMPLETIONS_DIR

# Word lists (options, values, command paths) are split on purpose:
# shellcheck disable=SC2086
set -eu

bin=$1
dir=$2
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
here=$(cd "$(dirname "$0")" && pwd)
bash_file=$dir/certroute.bash
zsh_file=$dir/_certroute
fish_file=$dir/certroute.fish

fail=0
problem() {
  echo "completions_in_sync: $*" >&2
  fail=1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Completions of file names must not depend on where the test runs.
cd "$tmp"

spec=$("$bin" __commands)
[ -n "$spec" ] || { echo "completions_in_sync: '$bin __commands' printed nothing" >&2; exit 1; }

# ---- the command tree --------------------------------------------------------
declare -A options=()   # "certroute key generate" -> its long options
declare -A children=()  # "certroute key" -> "generate show"
paths=()
while IFS=$'\t' read -r path opts; do
  [ "$path" = certroute ] || path="certroute $path"
  paths+=("$path")
  options[$path]=$(printf '%s\n' $opts | paste -sd ' ' -)
  if [ "$path" != certroute ]; then
    parent=${path% *}
    children[$parent]="${children[$parent]:-}${children[$parent]:+ }${path##* }"
  fi
done <<<"$spec"

# Enumerated values, from --help: "--type TEXT:{a,b,c}".
declare -A enums=()     # "certroute key generate|--type" -> "a b c"
for path in "${paths[@]}"; do
  [ -z "${children[$path]:-}" ] || continue
  while read -r opt values; do
    [ -n "$opt" ] && enums["$path|$opt"]=$values
  done < <("$bin" ${path#certroute} --help | grep -oE -- '--[a-z0-9-]+ [A-Z]+:\{[^}]*\}' |
    sed -E 's/^(--[a-z0-9-]+) [A-Z]+:\{([^}]*)\}$/\1 \2/; s/,/ /g')
done

# ---- 1. text -------------------------------------------------------------------
escape() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'; }
has_word() {  # FILE WORD
  local w re
  w=$(escape "$2")
  re="(^|[^[:alnum:]_-])$w([^[:alnum:]_-]|\$)"
  case $2 in
    --*) re="$re|(^|[[:space:]])-l[[:space:]]+$(escape "${2#--}")([^[:alnum:]_-]|\$)" ;;
  esac
  grep -Eq -- "$re" "$1"
}

words=$(
  for path in "${paths[@]}"; do
    printf '%s\n' ${path#certroute} ${options[$path]}
  done
  for key in "${!enums[@]}"; do printf '%s\n' ${enums[$key]}; done
)
words=$(printf '%s\n' "$words" | sed '/^$/d' | sort -u)
for file in "$bash_file" "$zsh_file" "$fish_file"; do
  if [ ! -s "$file" ]; then
    problem "$file: missing or empty"
    continue
  fi
  missing=""
  for w in $words; do
    has_word "$file" "$w" || missing="$missing $w"
  done
  [ -z "$missing" ] || problem "missing from $(basename "$file"):$missing"
done

# ---- 2. behaviour --------------------------------------------------------------
# The queries, one a line, and what each must offer.
queries=()
expected=()
for path in "${paths[@]}"; do
  queries+=("$path --")
  expected+=("${options[$path]}")
  if [ -n "${children[$path]:-}" ]; then
    queries+=("$path ")
    expected+=("${children[$path]}")
  fi
done
for key in "${!enums[@]}"; do
  queries+=("${key%%|*} ${key#*|} ")
  expected+=("${enums[$key]}")
done
printf '%s\n' "${queries[@]}" >"$tmp/queries"

# Compares a shell's answers ("INDEX CANDIDATE" lines) with the expectations.
compare() {  # SHELL FILE ANSWERS
  local i want got
  for i in "${!queries[@]}"; do
    want=$(printf '%s\n' ${expected[$i]} | sort -u)
    got=$(awk -v i="$i" '$1 == i { print $2 }' "$3" | sort -u)
    [ "$want" = "$got" ] && continue
    local extra missing
    missing=$(comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$got") | paste -sd ' ' -)
    extra=$(comm -13 <(printf '%s\n' "$want") <(printf '%s\n' "$got") | paste -sd ' ' -)
    [ -z "$missing" ] || problem "$1 ($(basename "$2")): '${queries[$i]}' does not offer: $missing"
    [ -z "$extra" ] || problem "$1 ($(basename "$2")): '${queries[$i]}' offers what the binary does not have: $extra"
  done
}

if [ -s "$bash_file" ]; then
  # bash: call the function `complete -F` registered, as bash would.
  bash --norc --noprofile -c '
    source "$1" || exit 1
    fn=$(complete -p certroute | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
    [ -n "$fn" ] || { echo "no complete -F for certroute" >&2; exit 1; }
    i=0
    while IFS= read -r line; do
      read -ra COMP_WORDS <<<"$line"
      [[ $line == *" " ]] && COMP_WORDS+=("")
      COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
      COMP_LINE=$line COMP_POINT=${#line}
      COMPREPLY=()
      "$fn" certroute "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
      for c in "${COMPREPLY[@]}"; do printf "%s %s\n" "$i" "$c"; done
      i=$((i + 1))
    done <"$2"' bash "$bash_file" "$tmp/queries" >"$tmp/bash.out" ||
    problem "bash ($(basename "$bash_file")): completing failed"
  compare bash "$bash_file" "$tmp/bash.out"
fi

if ! command -v zsh >/dev/null; then
  echo "completions_in_sync: zsh not installed: only the text of $(basename "$zsh_file") is checked"
elif [ -s "$zsh_file" ]; then
  zsh -n "$zsh_file" || problem "zsh ($(basename "$zsh_file")): syntax error"
  # zsh completes only in an interactive shell: drive one on a pseudo-terminal.
  # Its directory on fpath must hold nothing but the file under test.
  mkdir "$tmp/zfunc"
  cp "$zsh_file" "$tmp/zfunc/_certroute"
  timeout 30 zsh -f "$here/complete_zsh.zsh" "$tmp/zfunc" "$tmp/queries" >"$tmp/zsh.out" ||
    problem "zsh ($(basename "$zsh_file")): completing failed or timed out"
  compare zsh "$zsh_file" "$tmp/zsh.out"
fi

if ! command -v fish >/dev/null; then
  echo "completions_in_sync: fish not installed: only the text of $(basename "$fish_file") is checked"
elif [ -s "$fish_file" ]; then
  fish --no-execute "$fish_file" || problem "fish ($(basename "$fish_file")): syntax error"
  # shellcheck disable=SC2016  # fish expands these
  fish --no-config -c '
    source $argv[1]; or exit 1
    set -l i 0
    while read -l line
      for c in (complete -C"$line" | string replace -r "\t.*" "")
        echo $i $c
      end
      set i (math $i + 1)
    end <$argv[2]' "$fish_file" "$tmp/queries" >"$tmp/fish.out" ||
    problem "fish ($(basename "$fish_file")): completing failed"
  compare fish "$fish_file" "$tmp/fish.out"
fi

exit "$fail"
