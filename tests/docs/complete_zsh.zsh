#!/usr/bin/zsh -f
# Completes each line of QUERIES with the zsh completion functions in DIR, by
# typing it (and a TAB) into an interactive zsh on a pseudo-terminal, and
# prints "INDEX CANDIDATE" for every match offered (INDEX counts from 0).
# A helper of completions_in_sync.sh.
# Usage: complete_zsh.zsh DIR QUERIES
emulate -L zsh
zmodload zsh/zpty || exit 2
local dir=$1 queries=$2

zpty z zsh -f -i
zpty -w z "PS1= RPS1=; bindkey -e; unsetopt autolist; setopt nobeep"
zpty -w z "fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
# Report every match, then add it as usual. The quotes keep the typed text
# (echoed by the terminal) from looking like a report.
zpty -w z 'compadd() { local -a m; builtin compadd -O m "$@"; local c; for c in $m; do print -r -- "@""@C $__q $c"; done; builtin compadd "$@" }'
# The completion widget reports when it is done, so that the next keys are
# sent only then: zle does not complete while more input is pending.
zpty -w z '__test-complete() { _main_complete; print -r -- "@""@DONE" }'
zpty -w z "zle -C __test-complete .complete-word __test-complete; bindkey '^I' __test-complete"

local -i i=0
local line out
while IFS= read -r line; do
  zpty -w z "__q=$i"
  zpty -n -w z "$line"$'\t'
  while zpty -r z out; do
    out=${out//$'\r'/}
    while [[ $out =~ '@@C ([0-9]+) ([^[:space:][:cntrl:]]+)' ]]; do
      print -r -- "$match[1] $match[2]"
      out=${out[MEND+1,-1]}
    done
    [[ $out == *@@DONE* ]] && break
  done
  # Kill the line (^U) and send it empty.
  zpty -n -w z $'\x15\n'
  (( i++ ))
done <$queries
zpty -d z
