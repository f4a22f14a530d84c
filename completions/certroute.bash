# bash completion for certroute(1)                         -*- shell-script -*-
#
# Hand-written; tests/docs/completions_in_sync.sh keeps it in step with the
# command tree (`certroute __commands`). Works with and without the
# bash-completion package.
#
# shellcheck disable=SC2207  # COMPREPLY=($(compgen ...)): the words hold no spaces

_certroute_key_types='ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096 ed25519'

# Complete file names for the current word.
_certroute_files() {
    if declare -F _filedir >/dev/null; then
        _filedir
    else
        compopt -o filenames 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}

_certroute() {
    local cur prev cword
    local -a words
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur=${words[cword]}
    prev=''
    ((cword > 0)) && prev=${words[cword - 1]}

    # `--opt=value`: bash splits it at '=' (COMP_WORDBREAKS).
    if [[ $cur == '=' && $prev == --* ]]; then
        cur=
    elif [[ $prev == '=' && $cword -ge 2 && ${words[cword - 2]} == --* ]]; then
        prev=${words[cword - 2]}
    fi

    # The command path: the words before the cursor that are not options.
    # No option before the command name takes a value.
    local path='' w i
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        [[ $w == -* || $w == '=' ]] && continue
        case "$path" in
            '') path=$w ;;
            key | csr | cert) path="$path $w" ;;
            *) break ;;  # a leaf command: the rest are its arguments
        esac
    done

    local global='--json --quiet --no-color --help'
    local commands='' opts='' positional_file=''

    case "$path" in
        '')
            commands='key csr cert'
            opts='--help --version --json --quiet --no-color'
            ;;
        key)
            commands='generate show'
            opts='--help'
            ;;
        csr)
            commands='create show'
            opts='--help'
            ;;
        cert)
            commands='show check'
            opts='--help'
            ;;
        'key generate')
            case $prev in
                -t | --type)
                    COMPREPLY=($(compgen -W "$_certroute_key_types" -- "$cur"))
                    return
                    ;;
                -o | --out | --passphrase-file)
                    _certroute_files
                    return
                    ;;
            esac
            opts="--type --out --passphrase-file --force $global"
            ;;
        'key show')
            case $prev in
                --passphrase-file)
                    _certroute_files
                    return
                    ;;
            esac
            opts="--passphrase-file $global"
            positional_file=1
            ;;
        'csr create')
            case $prev in
                --key-type)
                    COMPREPLY=($(compgen -W "$_certroute_key_types" -- "$cur"))
                    return
                    ;;
                -k | --key | --key-out | -o | --out | --passphrase-file)
                    _certroute_files
                    return
                    ;;
                -d | --domain | --ip | --email | --uri | --subject)
                    return  # free text
                    ;;
            esac
            opts="--domain --ip --email --uri --subject --key --passphrase-file --key-type --key-out --out --der --force $global"
            ;;
        'csr show' | 'cert show')
            opts="$global"
            positional_file=1
            ;;
        'cert check')
            case $prev in
                --key | --passphrase-file)
                    _certroute_files
                    return
                    ;;
                --days)
                    return  # a number
                    ;;
                --host)
                    COMPREPLY=($(compgen -A hostname -- "$cur"))
                    return
                    ;;
            esac
            opts="--days --host --key --passphrase-file $global"
            positional_file=1
            ;;
        *)
            return
            ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ -n $commands ]]; then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    elif [[ -n $positional_file ]]; then
        _certroute_files
    else
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    fi
}

complete -F _certroute certroute

# ex: filetype=sh
