# Shared helpers of the nginx render tests (sourced by golden.sh, accept.sh,
# corpus.sh and behaviour.sh). POSIX sh.
#
#   nginx_lib_init            sets NGINX (the binary) or exits 77 (skip) without it
#   make_certs DIR            test certificates (openssl, at test time) in DIR/certs:
#                             a.example.com.pem (+ www.a.example.com), wildcard.b.example.com.pem
#                             (*.b.example.com), default.pem; each with DIR/certs/<name>.key
#   nginx_wrapper DIR INC [STANDALONE]
#                             writes DIR/wrapper.conf: pid, error log and temp paths in DIR,
#                             `events {}` and `http { include INC; }` (or INC itself with
#                             STANDALONE=1, given the same paths by -g and -e); prints its path
#   nginx_test DIR CONF       nginx -t -c CONF with prefix DIR; prints nginx's output on failure
#   checkable IN OUT DIR      copies a rendered config for `nginx -t` on this machine (below)
#   free_ports N              N free TCP ports on 127.0.0.1, one per line

nginx_lib_init() {
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  if [ ! -x "$NGINX" ]; then
    echo "SKIP: nginx is not installed (scripts/install-deps installs it)"
    exit 77
  fi
  if ! command -v openssl >/dev/null 2>&1; then
    echo "SKIP: openssl is not installed"
    exit 77
  fi
}

# make_certs DIR: self-signed EC certificates with known names.
make_certs() {
  mkdir -p "$1/certs"
  _mk() { # name subject-cn san-list
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/CN=$2" -addext "subjectAltName=$3" \
      -keyout "$1/certs/$4.key" -out "$1/certs/$4.pem" >/dev/null 2>&1 || {
      echo "make_certs: openssl failed for $4" >&2
      return 1
    }
  }
  _mk "$1" a.example.com "DNS:a.example.com,DNS:www.a.example.com" a.example.com &&
    _mk "$1" "*.b.example.com" "DNS:*.b.example.com" wildcard.b.example.com &&
    _mk "$1" default.example "DNS:default.example" default
}

# nginx_wrapper DIR INCLUDE [STANDALONE]
nginx_wrapper() {
  _dir=$1
  mkdir -p "$_dir/temp"
  if [ "${3:-}" = 1 ]; then
    echo "$2"
    return
  fi
  cat >"$_dir/wrapper.conf" <<EOF
pid $_dir/nginx.pid;
error_log $_dir/error.log;
user root;
events {
}
http {
    access_log off;
    client_body_temp_path $_dir/temp/body;
    proxy_temp_path $_dir/temp/proxy;
    fastcgi_temp_path $_dir/temp/fastcgi;
    uwsgi_temp_path $_dir/temp/uwsgi;
    scgi_temp_path $_dir/temp/scgi;
    include $2;
}
EOF
  echo "$_dir/wrapper.conf"
}

# nginx_test DIR CONF [-g DIRECTIVES]: 0 when nginx accepts the configuration.
nginx_test() {
  _dir=$1
  _conf=$2
  shift 2
  if "$NGINX" -t -q -p "$_dir/" -c "$_conf" -e "$_dir/error.log" "$@" >"$_dir/nginx-t.out" 2>&1; then
    return 0
  fi
  sed 's/^/    /' "$_dir/nginx-t.out"
  return 1
}

free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# checkable IN OUT DIR: IN with the two substitutions that let `nginx -t` run
# on any machine, and only these:
#  - upstream servers named by host name (docker service names such as
#    `whoami:80`, internal names) point at 127.0.0.1 instead: nginx resolves
#    upstream names when it reads its configuration, and the tests use no
#    network;
#  - certificate, key and CA files (ssl_certificate, ssl_certificate_key,
#    ssl_client_certificate, proxy_ssl_*) that do not exist here are replaced
#    by DIR/certs/default.pem and .key (make_certs).
# Everything else is checked as rendered.
checkable() {
  awk -v cert="$3/certs/default.pem" -v key="$3/certs/default.key" -v base="$(dirname "$2")" '
    function exists(p,   r) { if (p !~ /^\//) p = base "/" p; r = (getline _ < p) >= 0; close(p); return r }
    /^ *upstream / { up = 1 }
    up && /^ *}/ { up = 0 }
    up && $1 == "server" && $2 !~ /^(\[|[0-9.]+:)/ { sub(/server [^ ;]*:/, "server 127.0.0.1:") }
    $1 ~ /^(ssl_certificate|ssl_client_certificate|ssl_trusted_certificate|proxy_ssl_certificate|proxy_ssl_trusted_certificate|ssl_certificate_key|proxy_ssl_certificate_key)$/ {
      p = $2; gsub(/[";]/, "", p)
      if (!exists(p)) { $2 = "\"" ($1 ~ /_key$/ ? key : cert) "\";" }
    }
    { print }' "$1" >"$2"
}
