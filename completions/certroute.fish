# fish completion for certroute(1)
#
# Hand-written; tests/docs/completions_in_sync.sh keeps it in step with the
# command tree (`certroute __commands`).

# The command path typed so far ("", "key", "key generate", ...).
function __certroute_path
    set -l path
    for token in (commandline -opc)[2..-1]
        string match -q -- '-*' $token; and continue
        switch (count $path)
            case 0
                set path $token
            case 1
                contains -- $path[1] key csr cert; or break
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
    not contains -- "$(__certroute_path)" key csr cert
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

complete -c certroute -f

# Global options
complete -c certroute -s h -l help -d 'Print help and exit'
complete -c certroute -n __certroute_using -s V -l version -d 'Print the version of certroute, OpenSSL and libcurl'
complete -c certroute -n __certroute_takes_globals -l json -d 'Print a machine-readable JSON result on stdout'
complete -c certroute -n __certroute_takes_globals -s q -l quiet -d 'Print nothing but failures'
complete -c certroute -n __certroute_takes_globals -l no-color -d 'Never colour the output (also: NO_COLOR)'

# Commands
complete -c certroute -n __certroute_using -a key -d 'Generate and inspect private keys'
complete -c certroute -n __certroute_using -a csr -d 'Create and inspect certificate signing requests'
complete -c certroute -n __certroute_using -a cert -d 'Inspect and check certificates'

complete -c certroute -n '__certroute_using key' -a generate -d 'Generate a private key (0600, written atomically)'
complete -c certroute -n '__certroute_using key' -a show -d "Show a private key's type, size and public-key hash"

complete -c certroute -n '__certroute_using csr' -a create -d 'Create a CSR (and a new key, with --key-out)'
complete -c certroute -n '__certroute_using csr' -a show -d "Show a CSR's subject, names, key and signature"

complete -c certroute -n '__certroute_using cert' -a show -d 'Show every certificate in a PEM bundle, and how the chain links'
complete -c certroute -n '__certroute_using cert' -a check -d 'Exit 1 unless the certificate is valid long enough, covers the hosts and matches the key'

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
