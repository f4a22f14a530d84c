# fish completion for certroute(1)
#
# Hand-written; tests/docs/completions_in_sync.sh keeps it in step with the
# command tree (`certroute __commands`).

# The command groups: each takes a subcommand.
set -g __certroute_groups key csr cert account routes

# The command path typed so far ("", "key", "key generate", ...).
function __certroute_path
    set -l path
    for token in (commandline -opc)[2..-1]
        string match -q -- '-*' $token; and continue
        switch (count $path)
            case 0
                set path $token
            case 1
                contains -- $path[1] $__certroute_groups; or break
                set -a path $token
            case '*'
                break
        end
    end
    echo $path
end

# True when the command path typed so far is exactly $argv.
function __certroute_using
    test "$(__certroute_path)" = "$argv"
end

# The root and the leaf commands take the global options; the groups do not.
function __certroute_takes_globals
    not contains -- "$(__certroute_path)" $__certroute_groups
end

# True for the commands that talk to an ACME server.
function __certroute_acme
    contains -- "$(__certroute_path)" issue revoke 'account register' 'account show' \
        'account update' 'account rollover' 'account deactivate'
end

# True when the command path typed so far is one of $argv.
function __certroute_using_any
    contains -- "$(__certroute_path)" $argv
end

# The words after the command path that are not options or their values.
function __certroute_positionals
    set -l path (string split ' ' -- (__certroute_path))
    set -l words 0
    set -l skip 0
    for t in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case '--*=*'
            case --state-dir --lock-timeout
                set skip 1
            case '-*'
            case '*'
                # The first words are the command path.
                set words (math $words + 1)
                test $words -gt (count $path); and echo $t
        end
    end
end

# True when the command is $argv[1] and $argv[2] positional arguments are typed.
function __certroute_nth_arg
    __certroute_using $argv[1]; or return 1
    test (count (__certroute_positionals)) -eq $argv[2]
end

function __certroute_key_types
    printf '%s\t%s\n' \
        ec-p256 'ECDSA on P-256 (default)' \
        ec-p384 'ECDSA on P-384' \
        rsa-2048 'RSA, 2048 bits' \
        rsa-3072 'RSA, 3072 bits' \
        rsa-4096 'RSA, 4096 bits' \
        ed25519 Ed25519
end

function __certroute_servers
    printf '%s\t%s\n' \
        letsencrypt "Let's Encrypt (default)" \
        letsencrypt-staging "Let's Encrypt staging" \
        zerossl ZeroSSL \
        google 'Google Trust Services' \
        google-staging 'Google Trust Services staging' \
        buypass Buypass \
        buypass-staging 'Buypass test'
end

function __certroute_challenges
    printf '%s\t%s\n' \
        http-01 'HTTP on port 80 (built-in server, or files in --webroot)' \
        dns-01 'A TXT record set by --dns-hook (the only way to get wildcards)' \
        tls-alpn-01 'TLS on port 443 with ALPN acme-tls/1 (built-in listener)'
end

function __certroute_render_targets
    printf '%s\t%s\n' \
        nginx 'nginx server/location blocks to include in http {} (--standalone: a whole nginx.conf)' \
        haproxy 'A whole haproxy.cfg: frontends per entry point, ACLs, backends' \
        caddy 'Caddy JSON config for caddy run --config' \
        caddyfile 'A Caddyfile' \
        traefik 'The same dynamic configuration, normalised: one file, sorted, v3 rule syntax' \
        gateway-api 'Kubernetes Gateway API: Gateway, HTTPRoute, TLSRoute/TCPRoute' \
        ingress 'Kubernetes networking.k8s.io/v1 Ingress' \
        ingressroute 'Traefik CRDs (traefik.io/v1alpha1): IngressRoute, Middleware, TLSOption'
end

function __certroute_reasons
    printf '%s\t%s\n' \
        unspecified 'No reason given (default)' \
        keyCompromise 'The private key was compromised' \
        affiliationChanged "The subject's name or affiliation changed" \
        superseded 'Replaced by another certificate' \
        cessationOfOperation 'The names are no longer in use'
end

# The state directory the command line means: --state-dir, else
# CERTROUTE_STATE_DIR, else the default.
function __certroute_state_dir
    set -l dir
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case --state-dir
                set -q tokens[(math $i + 1)]; and set dir $tokens[(math $i + 1)]
            case '--state-dir=*'
                set dir (string replace -- --state-dir= '' $tokens[$i])
        end
    end
    if test -z "$dir"
        if set -q CERTROUTE_STATE_DIR; and test -n "$CERTROUTE_STATE_DIR"
            set dir $CERTROUTE_STATE_DIR
        else if fish_is_root_user
            set dir /var/lib/certroute
        else if set -q XDG_STATE_HOME; and test -n "$XDG_STATE_HOME"
            set dir $XDG_STATE_HOME/certroute
        else
            set dir $HOME/.local/state/certroute
        end
    end
    string replace -r -- '^~' $HOME $dir
end

# The names of the certificates in the state directory.
function __certroute_cert_names
    set -l dir (__certroute_state_dir)
    for d in $dir/certs/*/
        basename $d
    end
end

# The versions of the certificate named by the first argument.
function __certroute_cert_versions
    set -l dir (__certroute_state_dir)
    set -l name (__certroute_positionals)[1]
    for d in $dir/certs/$name/versions/*/
        string match -r -- '^[0-9]+$' (basename $d)
    end
end

complete -c certroute -f

# Global options
complete -c certroute -s h -l help -d 'Print help and exit'
complete -c certroute -n __certroute_using -s V -l version -d 'Print the version of certroute, OpenSSL and libcurl'
complete -c certroute -n __certroute_takes_globals -l json -d 'Print a machine-readable JSON result on stdout'
complete -c certroute -n __certroute_takes_globals -s q -l quiet -d 'Print nothing but failures'
complete -c certroute -n __certroute_takes_globals -l no-color -d 'Never colour the output (also: NO_COLOR)'

# The options of every ACME command
complete -c certroute -n __certroute_acme -l server -x -a '(__certroute_servers)' -d 'ACME directory URL or alias (default letsencrypt)'
complete -c certroute -n __certroute_acme -l ca-bundle -r -F -d 'Also trust these roots (PEM) for the ACME server'
complete -c certroute -n __certroute_acme -l state-dir -x -a '(__fish_complete_directories)' -d 'State directory'
complete -c certroute -n __certroute_acme -l max-wait -x -d 'Longest Retry-After to wait through (default 300 s)'
complete -c certroute -n __certroute_acme -l lock-timeout -x -d 'Wait this long for another certroute to finish (default 0 s)'

# Commands
complete -c certroute -n __certroute_using -a key -d 'Generate and inspect private keys'
complete -c certroute -n __certroute_using -a csr -d 'Create and inspect certificate signing requests'
complete -c certroute -n __certroute_using -a cert -d 'Inspect and check certificates'
complete -c certroute -n __certroute_using -a account -d 'Register and manage ACME accounts'
complete -c certroute -n __certroute_using -a issue -d 'Order a certificate from the ACME server and store it as a new version'
complete -c certroute -n __certroute_using -a revoke -d 'Revoke a stored certificate, or any certificate with --cert'
complete -c certroute -n __certroute_using -a renew -d 'Renew the certificates that are due (for cron and systemd timers)'
complete -c certroute -n __certroute_using -a list -d 'List the certificates in the state directory, with expiry and due state'
complete -c certroute -n __certroute_using -a versions -d 'List the stored versions of a certificate'
complete -c certroute -n __certroute_using -a rollback -d "Switch a certificate's current version back (default: the previous one)"
complete -c certroute -n __certroute_using -a remove -d 'Move a certificate out of the state directory (to removed/; never deleted)'
complete -c certroute -n __certroute_using -a routes -d 'Lint Traefik dynamic configuration, explain routing, render it for other proxies'
complete -c certroute -n __certroute_using -a proxy -d 'Serve route files (or --route HOST=URL) as a reverse proxy, in the foreground'
complete -c certroute -n __certroute_using -a whoami -d 'Serve a test HTTP backend that answers with the request it received'

complete -c certroute -n '__certroute_using key' -a generate -d 'Generate a private key (0600, written atomically)'
complete -c certroute -n '__certroute_using key' -a show -d "Show a private key's type, size and public-key hash"

complete -c certroute -n '__certroute_using csr' -a create -d 'Create a CSR (and a new key, with --key-out)'
complete -c certroute -n '__certroute_using csr' -a show -d "Show a CSR's subject, names, key and signature"

complete -c certroute -n '__certroute_using cert' -a show -d 'Show every certificate in a PEM bundle, and how the chain links'
complete -c certroute -n '__certroute_using cert' -a check -d 'Exit 1 unless the certificate is valid long enough, covers the hosts and matches the key'

complete -c certroute -n '__certroute_using account' -a register -d 'Register an account with the ACME server (key in the state directory)'
complete -c certroute -n '__certroute_using account' -a show -d 'Show the account for the server, as the server sees it'
complete -c certroute -n '__certroute_using account' -a update -d "Replace the account's contact addresses"
complete -c certroute -n '__certroute_using account' -a rollover -d 'Replace the account key (RFC 8555 key change)'
complete -c certroute -n '__certroute_using account' -a deactivate -d 'Deactivate the account for good'

# key generate
complete -c certroute -n '__certroute_using key generate' -s t -l type -x -a '(__certroute_key_types)' -d 'Key type (default ec-p256)'
complete -c certroute -n '__certroute_using key generate' -s o -l out -r -F -d "Write the key to FILE ('-' = stdout, the default)"
complete -c certroute -n '__certroute_using key generate' -l passphrase-file -r -F -d 'Encrypt the key with the first line of FILE'
complete -c certroute -n '__certroute_using key generate' -s f -l force -d 'Overwrite an existing file'

# key show FILE
complete -c certroute -n '__certroute_using key show' -F
complete -c certroute -n '__certroute_using key show' -l passphrase-file -r -F -d 'Passphrase for an encrypted key'

# csr create
complete -c certroute -n '__certroute_using csr create' -s d -l domain -x -d "DNS name (repeatable; Unicode allowed; '*.' wildcard)"
complete -c certroute -n '__certroute_using csr create' -l ip -x -d 'IP address SAN (repeatable)'
complete -c certroute -n '__certroute_using csr create' -l email -x -d 'E-mail address SAN (repeatable)'
complete -c certroute -n '__certroute_using csr create' -l uri -x -d 'URI SAN (repeatable)'
complete -c certroute -n '__certroute_using csr create' -l subject -x -d "Subject, such as 'CN=x,O=Example,C=DE'"
complete -c certroute -n '__certroute_using csr create' -s k -l key -r -F -d 'Sign with this existing private key'
complete -c certroute -n '__certroute_using csr create' -l passphrase-file -r -F -d 'Passphrase of --key, or to encrypt the --key-out key'
complete -c certroute -n '__certroute_using csr create' -l key-type -x -a '(__certroute_key_types)' -d 'Type of the new key'
complete -c certroute -n '__certroute_using csr create' -l key-out -r -F -d 'Generate a new key and write it here (0600)'
complete -c certroute -n '__certroute_using csr create' -s o -l out -r -F -d "Write the CSR here ('-' = stdout, the default)"
complete -c certroute -n '__certroute_using csr create' -l der -d 'Write DER instead of PEM'
complete -c certroute -n '__certroute_using csr create' -s f -l force -d 'Overwrite existing output files'

# csr show FILE
complete -c certroute -n '__certroute_using csr show' -F

# cert show FILE
complete -c certroute -n '__certroute_using cert show' -F

# cert check FILE
complete -c certroute -n '__certroute_using cert check' -F
complete -c certroute -n '__certroute_using cert check' -l days -x -d 'Fail when fewer than N days are left (default 30)'
complete -c certroute -n '__certroute_using cert check' -l host -x -a '(__fish_print_hostnames)' -d 'Fail unless the certificate covers NAME (repeatable)'
complete -c certroute -n '__certroute_using cert check' -l key -r -F -d 'Fail unless the certificate matches this private key'
complete -c certroute -n '__certroute_using cert check' -l passphrase-file -r -F -d 'Passphrase for an encrypted --key'

# account register
complete -c certroute -n '__certroute_using account register' -l email -x -d 'Contact e-mail address (repeatable)'
complete -c certroute -n '__certroute_using account register' -l agree-tos -d "Agree to the server's terms of service"
complete -c certroute -n '__certroute_using account register' -l eab-kid -x -d 'External account binding key ID (from the CA)'
complete -c certroute -n '__certroute_using account register' -l eab-hmac-key -x -d 'External account binding HMAC key, base64url'
complete -c certroute -n '__certroute_using account register' -l key-type -x -a '(__certroute_key_types)' -d 'Account key type (default ec-p256)'

# account show, account deactivate: the ACME options only

# account update
complete -c certroute -n '__certroute_using account update' -l email -x -d 'Contact e-mail address (repeatable; replaces the old ones)'

# account rollover
complete -c certroute -n '__certroute_using account rollover' -l key-type -x -a '(__certroute_key_types)' -d 'Type of the new key (default ec-p256)'

# issue
complete -c certroute -n '__certroute_using issue' -s d -l domain -x -a '(__fish_print_hostnames)' -d "DNS name (repeatable; '*.' wildcard needs dns-01)"
complete -c certroute -n '__certroute_using issue' -l ip -x -d 'IP address (repeatable; RFC 8738)'
complete -c certroute -n '__certroute_using issue' -l name -x -a '(__certroute_cert_names)' -d 'Certificate name in the state directory (default: the first name)'
complete -c certroute -n '__certroute_using issue' -l challenge -x -a '(__certroute_challenges)' -d 'Challenge type (default http-01)'
complete -c certroute -n '__certroute_using issue' -l http-port -x -d 'Port of the built-in http-01 server (default 80)'
complete -c certroute -n '__certroute_using issue' -l webroot -x -a '(__fish_complete_directories)' -d 'Serve http-01 with files under DIR/.well-known/acme-challenge'
complete -c certroute -n '__certroute_using issue' -l tls-alpn-port -x -d 'Port of the built-in tls-alpn-01 listener (default 443)'
complete -c certroute -n '__certroute_using issue' -l dns-hook -x -a '(__fish_complete_command)' -d 'dns-01 hook, run as: CMD add|remove TXT-NAME TXT-VALUE'
complete -c certroute -n '__certroute_using issue' -l dns-resolver -x -d 'Check dns-01 propagation against HOST:PORT'
complete -c certroute -n '__certroute_using issue' -l dns-propagation-timeout -x -d 'Seconds to wait for the TXT record (default 120)'
complete -c certroute -n '__certroute_using issue' -l key-type -x -a '(__certroute_key_types)' -d 'Certificate key type (default ec-p256)'
complete -c certroute -n '__certroute_using issue' -l reuse-key -d 'Keep the current key when renewing'
complete -c certroute -n '__certroute_using issue' -l csr -r -F -d 'Use this CSR (its key stays yours) instead of generating a key'
complete -c certroute -n '__certroute_using issue' -l preferred-chain -x -d 'Prefer the chain whose top issuer has this CN'
complete -c certroute -n '__certroute_using issue' -l profile -x -d 'Certificate profile offered by the server'
complete -c certroute -n '__certroute_using issue' -l deploy-hook -x -a '(__fish_complete_command)' -d 'Run after issuance, with CERTROUTE_* variables (repeatable)'
complete -c certroute -n '__certroute_using issue' -l hook-timeout -x -d 'Seconds a deploy hook may run (default 300)'
complete -c certroute -n '__certroute_using issue' -l out-dir -x -a '(__fish_complete_directories)' -d 'Also copy cert.pem, chain.pem, fullchain.pem, privkey.pem here'
complete -c certroute -n '__certroute_using issue' -l timeout -x -d 'Give up polling the order after this many seconds (default 120)'
complete -c certroute -n '__certroute_using issue' -l email -x -d 'Register an account first if there is none, with this contact'
complete -c certroute -n '__certroute_using issue' -l agree-tos -d 'Agree to the terms of service when registering'
complete -c certroute -n '__certroute_using issue' -l eab-kid -x -d 'External account binding key ID, when registering'
complete -c certroute -n '__certroute_using issue' -l eab-hmac-key -x -d 'External account binding HMAC key (base64url), when registering'

# revoke [NAME]
complete -c certroute -n '__certroute_using revoke' -a '(__certroute_cert_names)' -d 'Certificate in the state directory'
complete -c certroute -n '__certroute_using revoke' -l cert -r -F -d 'Certificate file to revoke instead'
complete -c certroute -n '__certroute_using revoke' -l key -r -F -d "Sign with the certificate's key instead of the account"
complete -c certroute -n '__certroute_using revoke' -l reason -x -a '(__certroute_reasons)' -d 'Revocation reason (default unspecified)'

# The state directory, and the lock, of the renewal commands
complete -c certroute -n '__certroute_using_any renew list versions rollback remove' -l state-dir -x -a '(__fish_complete_directories)' -d 'State directory'
complete -c certroute -n '__certroute_using_any renew rollback remove' -l lock-timeout -x -d 'Wait this long for another certroute to finish (default 0 s)'

# renew [NAME...]
complete -c certroute -n '__certroute_using renew' -a '(__certroute_cert_names)' -d 'Certificate in the state directory'
complete -c certroute -n '__certroute_using renew' -l force -d 'Renew even if not due'
complete -c certroute -n '__certroute_using renew' -l days -x -d 'Renew when fewer than N days are left'
complete -c certroute -n '__certroute_using renew' -l dry-run -d 'Decide and order against the staging server; store nothing'
complete -c certroute -n '__certroute_using renew' -l no-random-sleep -d "Don't sleep 0-8 minutes first when run without a terminal"
complete -c certroute -n '__certroute_using renew' -l deploy-hook -x -a '(__fish_complete_command)' -d 'Also run after each renewal (repeatable)'
complete -c certroute -n '__certroute_using renew' -l pre-hook -x -a '(__fish_complete_command)' -d 'Run once before renewing, only when something is due'
complete -c certroute -n '__certroute_using renew' -l post-hook -x -a '(__fish_complete_command)' -d 'Run once after renewing, only when something was due'
complete -c certroute -n '__certroute_using renew' -l hook-timeout -x -d 'Seconds a hook may run (default 300)'
complete -c certroute -n '__certroute_using renew' -l timeout -x -d 'Give up polling an order after this many seconds (default 120)'
complete -c certroute -n '__certroute_using renew' -l max-wait -x -d 'Longest Retry-After to wait through (default 300 s)'

# list
complete -c certroute -n '__certroute_using list' -l prometheus -r -F -d 'Also write a node_exporter textfile here'

# versions NAME, rollback NAME [VERSION], remove NAME
complete -c certroute -n '__certroute_nth_arg versions 0' -a '(__certroute_cert_names)' -d 'Certificate in the state directory'
complete -c certroute -n '__certroute_nth_arg rollback 0' -a '(__certroute_cert_names)' -d 'Certificate in the state directory'
complete -c certroute -n '__certroute_nth_arg rollback 1' -a '(__certroute_cert_versions)' -d 'Version to make current'
complete -c certroute -n '__certroute_nth_arg remove 0' -a '(__certroute_cert_names)' -d 'Certificate in the state directory'

complete -c certroute -n '__certroute_using routes' -a lint -d 'Check Traefik dynamic configuration; exit 1 on errors'
complete -c certroute -n '__certroute_using routes' -a match -d 'Show which router serves a request, as Traefik decides it'
complete -c certroute -n '__certroute_using routes' -a render -d 'Render route files for nginx, HAProxy, Caddy or Kubernetes'

# routes lint PATH...
complete -c certroute -n '__certroute_using routes lint' -F
complete -c certroute -n '__certroute_using routes lint' -l format -x -a 'text json sarif github' -d 'Output format (default text)'
complete -c certroute -n '__certroute_using routes lint' -l entrypoints -x -d "The static configuration's entry points (comma-separated)"
complete -c certroute -n '__certroute_using routes lint' -l strict -d 'Exit 1 on warnings too'
complete -c certroute -n '__certroute_using routes lint' -l explain -x -d "Explain a diagnostic code ('all' lists them) and exit"

# routes match PATH...
complete -c certroute -n '__certroute_using routes match' -F
complete -c certroute -n '__certroute_using routes match' -l url -x -d 'The request URL (http:// or https://), for HTTP routers'
complete -c certroute -n '__certroute_using routes match' -l method -x -d 'The request method (default GET)'
complete -c certroute -n '__certroute_using routes match' -l header -x -d "A request header 'Name: value' (repeatable)"
complete -c certroute -n '__certroute_using routes match' -l client-ip -x -d "The client's IP address, for ClientIP matchers"
complete -c certroute -n '__certroute_using routes match' -l entrypoint -x -d 'Only routers on this entry point'
complete -c certroute -n '__certroute_using routes match' -l sni -x -a '(__fish_print_hostnames)' -d 'A TLS server name, to match TCP routers instead'
complete -c certroute -n '__certroute_using routes match' -l explain -d 'List every candidate router and why it did not match'

# routes render --to TARGET PATH...
complete -c certroute -n '__certroute_using routes render' -F
complete -c certroute -n '__certroute_using routes render' -l to -x -a '(__certroute_render_targets)' -d 'The target to render for'
complete -c certroute -n '__certroute_using routes render' -s o -l out -r -F -d 'Write to FILE, or into DIR/ with the files the config needs (default stdout)'
complete -c certroute -n '__certroute_using routes render' -l strict -d 'Exit 1 when the target cannot express something'
complete -c certroute -n '__certroute_using routes render' -l entrypoint -x -d 'NAME=[ADDR]:PORT the rendered proxy listens on (default web=:80, websecure=:443)'
complete -c certroute -n '__certroute_using routes render' -l namespace -x -d 'Kubernetes namespace (default default)'
complete -c certroute -n '__certroute_using routes render' -l standalone -d 'nginx: a whole nginx.conf instead of an http{} include'

# proxy PATH... | --route HOST=URL
complete -c certroute -n '__certroute_using proxy' -F
complete -c certroute -n '__certroute_using proxy' -l route -x -d 'HOST=URL[,URL...]: proxy HOST (or * for any) to these servers (repeatable)'
complete -c certroute -n '__certroute_using proxy' -l entrypoint -x -d 'NAME=[ADDR]:PORT to listen on (default web=:8080, websecure=:8443 with tls)'
complete -c certroute -n '__certroute_using proxy' -l workers -x -d 'Worker threads, one event loop each (default: one per CPU)'
complete -c certroute -n '__certroute_using proxy' -l access-log -r -F -d "Where the access log goes: FILE, '-' (stdout, the default) or off"
complete -c certroute -n '__certroute_using proxy' -l access-log-format -x -a 'common json' -d 'Access log format (default common)'
complete -c certroute -n '__certroute_using proxy' -l no-watch -d 'Do not reload when the route files change (SIGHUP still reloads)'
complete -c certroute -n '__certroute_using proxy' -l tls-cert -r -F -d 'Default certificate (PEM) for TLS routers; with --route, also serve HTTPS'
complete -c certroute -n '__certroute_using proxy' -l tls-key -r -F -d 'The private key of --tls-cert (PEM)'
complete -c certroute -n '__certroute_using proxy' -l trusted-ips -x -d 'Peers whose X-Forwarded-* headers are kept (IPs or CIDR ranges, repeatable)'
complete -c certroute -n '__certroute_using proxy' -l forwarded-insecure -d "Keep every client's X-Forwarded-* headers"
complete -c certroute -n '__certroute_using proxy' -l via -d 'Add a Via header to requests and responses'
complete -c certroute -n '__certroute_using proxy' -l max-header-size -x -d 'Largest request head in bytes (default 32768)'
complete -c certroute -n '__certroute_using proxy' -l max-header-count -x -d 'Most header fields in a request (default 100)'
complete -c certroute -n '__certroute_using proxy' -l max-request-line -x -d 'Longest request line in bytes (default 8192)'
complete -c certroute -n '__certroute_using proxy' -l max-body-size -x -d 'Largest request body in bytes (default 0: no limit)'
complete -c certroute -n '__certroute_using proxy' -l max-connections -x -d 'Most client connections at once (default 16384)'
complete -c certroute -n '__certroute_using proxy' -l client-idle-timeout -x -d 'Keep-alive time between requests (default 180s)'
complete -c certroute -n '__certroute_using proxy' -l client-read-timeout -x -d "Time to receive a request's head or body part (default 60s)"
complete -c certroute -n '__certroute_using proxy' -l write-timeout -x -d 'Time for a write to either side to progress (default 60s)'
complete -c certroute -n '__certroute_using proxy' -l upstream-connect-timeout -x -d 'Time to connect to a server (default 5s)'
complete -c certroute -n '__certroute_using proxy' -l upstream-response-timeout -x -d 'Time for a server to start answering (default 60s)'
complete -c certroute -n '__certroute_using proxy' -l upstream-idle-timeout -x -d 'How long pooled server connections stay open (default 90s)'
complete -c certroute -n '__certroute_using proxy' -l drain-timeout -x -d 'On SIGINT/SIGTERM, how long requests in flight may finish (default 10s)'

# whoami
complete -c certroute -n '__certroute_using whoami' -l listen -x -d 'Listen on ADDR:PORT (default 127.0.0.1:8000; port 0 picks one)'
complete -c certroute -n '__certroute_using whoami' -l name -x -d 'Name to report in every answer'
