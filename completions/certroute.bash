# bash completion for certroute(1)                         -*- shell-script -*-
#
# Hand-written; tests/docs/completions_in_sync.sh keeps it in step with the
# command tree (`certroute __commands`). Works with and without the
# bash-completion package.
#
# shellcheck disable=SC2207  # COMPREPLY=($(compgen ...)): the words hold no spaces

_certroute_key_types='ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096 ed25519'
_certroute_servers='letsencrypt letsencrypt-staging zerossl google google-staging buypass buypass-staging'
_certroute_challenges='http-01 dns-01 tls-alpn-01'
_certroute_reasons='unspecified keyCompromise affiliationChanged superseded cessationOfOperation'
_certroute_render_targets='nginx haproxy caddy caddyfile traefik gateway-api ingress ingressroute'
# The options every ACME command takes (account ..., issue, revoke).
_certroute_acme_options='--server --ca-bundle --state-dir --max-wait --lock-timeout'

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

# Complete directory names for the current word.
_certroute_dirs() {
    if declare -F _filedir >/dev/null; then
        _filedir -d
    else
        compopt -o filenames 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($(compgen -d -- "$cur"))
    fi
}

# Complete a hook: a command name, or a file when the word has a '/'.
_certroute_hooks() {
    if [[ $cur == */* ]]; then
        _certroute_files
    else
        COMPREPLY=($(compgen -c -- "$cur" | sort -u))
    fi
}

# The state directory the command line means: --state-dir, else
# CERTROUTE_STATE_DIR, else the default (as certroute works it out).
_certroute_state_dir() {
    local i
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} == --state-dir=?* ]]; then
            printf '%s\n' "${words[i]#--state-dir=}"
            return
        elif [[ ${words[i]} == --state-dir && $((i + 1)) -lt $cword ]]; then
            if [[ ${words[i + 1]} == '=' ]]; then
                ((i + 2 < cword)) && { printf '%s\n' "${words[i + 2]}"; return; }
            else
                printf '%s\n' "${words[i + 1]}"
                return
            fi
        fi
    done
    if [[ -n ${CERTROUTE_STATE_DIR:-} ]]; then
        printf '%s\n' "$CERTROUTE_STATE_DIR"
    elif ((EUID == 0)); then
        printf '%s\n' /var/lib/certroute
    elif [[ -n ${XDG_STATE_HOME:-} ]]; then
        printf '%s\n' "$XDG_STATE_HOME/certroute"
    else
        printf '%s\n' "$HOME/.local/state/certroute"
    fi
}

# Complete the version numbers of the certificate $1 in the state directory.
_certroute_cert_versions() {
    local dir d versions=()
    dir=$(_certroute_state_dir)
    dir=${dir/#\~/$HOME}
    for d in "$dir/certs/$1"/versions/*/; do
        d=$(basename "$d")
        [[ $d =~ ^[0-9]+$ ]] && versions+=("$d")
    done
    COMPREPLY=($(compgen -W "${versions[*]}" -- "$cur"))
}

# The words after the command that are not options or their values: the
# positional arguments so far. $1: the options that take a value.
_certroute_positionals() {
    local i w skip=''
    for ((i = argstart; i < cword; i++)); do
        w=${words[i]}
        if [[ -n $skip ]]; then
            skip=''
            [[ $w == '=' ]] && skip=1
            continue
        fi
        case $w in
            --*=*) ;;
            -*) [[ " $1 " == *" $w "* ]] && skip=1 ;;
            '=') ;;
            *) printf '%s\n' "$w" ;;
        esac
    done
}

# Complete the names of the certificates in the state directory.
_certroute_cert_names() {
    local dir d names=()
    dir=$(_certroute_state_dir)
    dir=${dir/#\~/$HOME}
    for d in "$dir"/certs/*/; do
        [[ -d $d ]] && names+=("$(basename "$d")")
    done
    COMPREPLY=($(compgen -W "${names[*]}" -- "$cur"))
}

# The values of the options the ACME and state-directory commands share;
# returns 1 for any other option.
_certroute_acme_values() {
    case $prev in
        --server)
            COMPREPLY=($(compgen -W "$_certroute_servers" -- "$cur"))
            ;;
        --ca-bundle)
            _certroute_files
            ;;
        --state-dir)
            _certroute_dirs
            ;;
        --max-wait | --lock-timeout)
            ;;  # a number
        *)
            return 1
            ;;
    esac
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
    # argstart: the index of the first word after the command path.
    local path='' w i argstart=$cword
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        [[ $w == -* || $w == '=' ]] && continue
        case "$path" in
            '') path=$w ;;
            key | csr | cert | account | routes) path="$path $w" ;;
            *) break ;;  # a leaf command: the rest are its arguments
        esac
        argstart=$((i + 1))
    done

    local global='--json --quiet --no-color --help'
    local commands='' opts='' positional_file=''

    case "$path" in
        '')
            commands='key csr cert account issue revoke renew list versions rollback remove routes proxy whoami'
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
        account)
            commands='register show update rollover deactivate'
            opts='--help'
            ;;
        routes)
            commands='lint match render'
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
        'account register')
            _certroute_acme_values && return
            case $prev in
                --key-type)
                    COMPREPLY=($(compgen -W "$_certroute_key_types" -- "$cur"))
                    return
                    ;;
                --email | --eab-kid | --eab-hmac-key)
                    return  # free text
                    ;;
            esac
            opts="--email --agree-tos --eab-kid --eab-hmac-key --key-type $_certroute_acme_options $global"
            ;;
        'account show' | 'account deactivate')
            _certroute_acme_values && return
            opts="$_certroute_acme_options $global"
            ;;
        'account update')
            _certroute_acme_values && return
            case $prev in
                --email)
                    return  # free text
                    ;;
            esac
            opts="--email $_certroute_acme_options $global"
            ;;
        'account rollover')
            _certroute_acme_values && return
            case $prev in
                --key-type)
                    COMPREPLY=($(compgen -W "$_certroute_key_types" -- "$cur"))
                    return
                    ;;
            esac
            opts="--key-type $_certroute_acme_options $global"
            ;;
        issue)
            _certroute_acme_values && return
            case $prev in
                --challenge)
                    COMPREPLY=($(compgen -W "$_certroute_challenges" -- "$cur"))
                    return
                    ;;
                --key-type)
                    COMPREPLY=($(compgen -W "$_certroute_key_types" -- "$cur"))
                    return
                    ;;
                --csr)
                    _certroute_files
                    return
                    ;;
                --webroot | --out-dir)
                    _certroute_dirs
                    return
                    ;;
                --dns-hook | --deploy-hook)
                    _certroute_hooks
                    return
                    ;;
                -d | --domain | --ip | --name | --http-port | --tls-alpn-port | --dns-resolver | \
                    --dns-propagation-timeout | --preferred-chain | --profile | --hook-timeout | \
                    --timeout | --email | --eab-kid | --eab-hmac-key)
                    return  # free text
                    ;;
            esac
            opts="--domain --ip --name --challenge --http-port --webroot --tls-alpn-port --dns-hook"
            opts="$opts --dns-resolver --dns-propagation-timeout --key-type --reuse-key --csr"
            opts="$opts --preferred-chain --profile --deploy-hook --hook-timeout --out-dir --timeout"
            opts="$opts --email --agree-tos --eab-kid --eab-hmac-key $_certroute_acme_options $global"
            ;;
        revoke)
            _certroute_acme_values && return
            case $prev in
                --reason)
                    COMPREPLY=($(compgen -W "$_certroute_reasons" -- "$cur"))
                    return
                    ;;
                --cert | --key)
                    _certroute_files
                    return
                    ;;
            esac
            opts="--cert --key --reason $_certroute_acme_options $global"
            if [[ $cur != -* ]]; then
                _certroute_cert_names
                return
            fi
            ;;
        renew)
            _certroute_acme_values && return
            case $prev in
                --deploy-hook | --pre-hook | --post-hook)
                    _certroute_hooks
                    return
                    ;;
                --days | --hook-timeout | --timeout)
                    return  # a number
                    ;;
            esac
            opts="--force --days --dry-run --no-random-sleep --deploy-hook --pre-hook --post-hook"
            opts="$opts --lock-timeout --hook-timeout --timeout --max-wait --state-dir $global"
            if [[ $cur != -* ]]; then
                _certroute_cert_names
                return
            fi
            ;;
        list)
            _certroute_acme_values && return
            case $prev in
                --prometheus)
                    _certroute_files
                    return
                    ;;
            esac
            opts="--prometheus --state-dir $global"
            ;;
        versions | rollback | remove)
            _certroute_acme_values && return
            opts="--state-dir $global"
            [[ $path == versions ]] || opts="--lock-timeout $opts"
            if [[ $cur != -* ]]; then
                local -a args
                args=($(_certroute_positionals '--state-dir --lock-timeout'))
                if ((${#args[@]} == 0)); then
                    _certroute_cert_names
                elif [[ $path == rollback && ${#args[@]} == 1 ]]; then
                    _certroute_cert_versions "${args[0]}"
                fi
                return
            fi
            ;;
        'routes lint')
            case $prev in
                --format)
                    COMPREPLY=($(compgen -W 'text json sarif github' -- "$cur"))
                    return
                    ;;
                --entrypoints | --explain)
                    return  # free text
                    ;;
            esac
            opts="--format --entrypoints --strict --explain $global"
            positional_file=1
            ;;
        'routes match')
            case $prev in
                --url | --method | --header | --client-ip | --entrypoint | --sni)
                    return  # free text
                    ;;
            esac
            opts="--url --method --header --client-ip --entrypoint --sni --explain $global"
            positional_file=1
            ;;
        'routes render')
            case $prev in
                --to)
                    COMPREPLY=($(compgen -W "$_certroute_render_targets" -- "$cur"))
                    return
                    ;;
                -o | --out)
                    _certroute_files  # a file, or a directory ending in '/'
                    return
                    ;;
                --entrypoint | --namespace)
                    return  # free text
                    ;;
            esac
            opts="--to --out --strict --entrypoint --namespace --standalone $global"
            positional_file=1
            ;;
        proxy)
            case $prev in
                --access-log-format)
                    COMPREPLY=($(compgen -W 'common json' -- "$cur"))
                    return
                    ;;
                --access-log | --tls-cert | --tls-key)
                    _certroute_files  # --access-log also takes '-' or 'off'
                    return
                    ;;
                --route | --entrypoint | --workers | --trusted-ips | --max-header-size | \
                    --max-header-count | --max-request-line | --max-body-size | --max-connections | \
                    --client-idle-timeout | --client-read-timeout | --write-timeout | \
                    --upstream-connect-timeout | --upstream-response-timeout | \
                    --upstream-idle-timeout | --drain-timeout)
                    return  # free text
                    ;;
            esac
            opts="--route --entrypoint --workers --access-log --access-log-format --no-watch"
            opts="$opts --tls-cert --tls-key --trusted-ips --forwarded-insecure --via"
            opts="$opts --max-header-size --max-header-count --max-request-line --max-body-size"
            opts="$opts --max-connections --client-idle-timeout --client-read-timeout --write-timeout"
            opts="$opts --upstream-connect-timeout --upstream-response-timeout --upstream-idle-timeout"
            opts="$opts --drain-timeout $global"
            positional_file=1
            ;;
        whoami)
            case $prev in
                --listen | --name)
                    return  # free text
                    ;;
            esac
            opts="--listen --name $global"
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
