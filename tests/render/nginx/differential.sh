#!/bin/sh
# Differential test: random configurations (random_configs.py, a fixed seed)
# whose rules overlap where nginx's server and location rules disagree with
# Traefik's priority order, rendered and run by behaviour.sh: every request
# must reach the backend `certroute routes match` names.
#
#   differential.sh PATH-TO-certroute TESTS-DIR
#   CERTROUTE_SEED=N CERTROUTE_CONFIGS=M differential.sh ...   explore other seeds
set -u
bin=$1
dir=$(realpath "$2")
command -v python3 >/dev/null 2>&1 || {
  echo "SKIP: the differential test needs python3"
  exit 77
}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/certroute-nginx-differential.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT HUP TERM
python3 "$dir/random_configs.py" "$TMP" "${CERTROUTE_SEED:-7}" "${CERTROUTE_CONFIGS:-6}" || exit 1
sh "$dir/behaviour.sh" "$bin" "$dir" "$TMP"
