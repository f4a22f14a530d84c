#!/bin/bash
# renew.kill: crash safety of `certroute renew` (issue 5, "Safety").
#
#  1. Against a real pebble: start `renew --force` in the background and SIGKILL
#     it after a random delay spread over the time a renewal takes, at least
#     KILLS (default 60) times where the process was really still running. After
#     every kill: `current` points to a complete version (five files, privkey.pem
#     0600, the key matches the certificate, the chain verifies against pebble's
#     root), `certroute versions` lists exactly the complete version directories
#     and nothing a kill left half-written; every 5 kills a normal
#     `renew --force` succeeds, makes its new version current and leaves no
#     temporary (*.tmp*) names anywhere under certs/NAME.
#  2. Full disk (the state directory on a 200k tmpfs in `unshare -m`, filled up
#     to 0..4 free pages so the write fails at each file of a version) and a
#     read-only state directory (read-only bind mounts): renew --force fails with
#     one clear line and a non-zero exit, the old version stays whole and
#     current, nothing is left behind; once there is room again renew succeeds.
#
# Usage: kill.sh PATH-TO-certroute        (KILLS=N, KILL_BUDGET=SECONDS to tune)
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
renew_init "$@"
# Every order validates a challenge (no authorization reuse): renewals take a
# steadier time, so the kill delays spread over all of it.
start_pebble main --authz-reuse 0

KILLS=${KILLS:-60}
KILL_BUDGET=${KILL_BUDGET:-130}  # seconds for the kill loop at most (a quiet machine needs ~70)
NAME=k.example
issue_cert "$NAME"

# ---------------------------------------------------------------- calibration
begin "a normal renew --force works (and how long it takes)"
max_ms=0
DURATIONS=""   # ms of every uninterrupted renew --force, for the tail delays below
for _ in 1 2 3; do
  t0=$(date +%s%N)
  crr renew --force --quiet "$NAME"
  ms=$(elapsed_ms "$t0")
  expect_rc 0
  expect_out_empty
  [ "$ms" -gt "$max_ms" ] && max_ms=$ms
  DURATIONS="$DURATIONS $ms"
done
expect_complete "$NAME" 4
expect_no_leftovers "$STATE/certs/$NAME"
# Kill delays: uniform over [10 ms, 1.15 x the slowest of those renewals]
# (at least 150 ms): a few land after the run finished, which costs little.
hi_ms=$((max_ms * 115 / 100))
[ "$hi_ms" -lt 150 ] && hi_ms=150
[ "$hi_ms" -gt 5000 ] && hi_ms=5000
lo_ms=10
echo "renew --force takes up to ${max_ms} ms here; killing after ${lo_ms}..${hi_ms} ms"
# Most of a renewal is the order (network); the writes come in its last few
# milliseconds. So one attempt in three aims there instead: within +-8 ms of
# BOUNDARY, an estimate of when the writing starts, moved 3 ms later after each
# such kill that landed before anything was written and 3 ms earlier after one
# that came too late (run finished, or current already switched).
median_ms() { tr ' ' '\n' <<<"$DURATIONS" | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
BOUNDARY=$(( $(median_ms) * 90 / 100 ))

# ---------------------------------------------------------------- the kill loop

# The full check of a version (openssl: key matches, chain verifies) runs once
# per version and again whenever its files change; otherwise a checksum of its
# files and privkey.pem's mode is compared (cheap enough for every kill).
declare -A VERIFIED=()   # version number -> fingerprint when last found complete
declare -A REPORTED=()   # version number -> 1 once reported incomplete
fingerprint() {
  local d=$STATE/certs/$NAME/versions/$1
  { stat -c %a "$d/privkey.pem" && cd "$d" && sha256sum cert.pem chain.pem fullchain.pem privkey.pem meta.json; } 2>&1 | sha256sum | cut -c1-32
}
# check_version V: set PROBLEM to what is wrong with version V ("" when it is
# complete). Not in a $(subshell): it updates VERIFIED.
check_version() {
  local fp
  PROBLEM=""
  fp=$(fingerprint "$1")
  [ "${VERIFIED[$1]:-}" = "$fp" ] && return 0
  PROBLEM=$(version_problem "$STATE/certs/$NAME/versions/$1")
  [ -n "$PROBLEM" ] || VERIFIED[$1]=$fp
}

# numbered_dirs: the version directories on disk with a number as name, sorted.
numbered_dirs() {
  # shellcheck disable=SC2010 # version directories have plain names
  ls -A "$STATE/certs/$NAME/versions" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tr '\n' ' ' | sed 's/ $//'
}
max_version() { numbered_dirs | tr ' ' '\n' | tail -1; }

# check_after_kill WHEN: the invariants that must hold whatever moment a kill hit.
check_after_kill() {
  local when=$1 cur p listed v
  cur=$(current_of "$NAME")
  case $cur in
    ''|\?*) fail "$when: current should point to versions/<n>" "versions/<n>" "${cur:-(no link)}"; return 0 ;;
  esac
  check_version "$cur"
  [ -z "$PROBLEM" ] || fail "$when: current (version $cur) should be complete" "complete" "$PROBLEM"
  listed=$(version_list "$NAME")
  if [ "$listed" = ERROR ]; then
    fail "$when: certroute versions $NAME should succeed" "a JSON list" "$(head -c 300 "$TMP/versions.err")"
    return 0
  fi
  case " $listed " in *" $cur "*) ;; *) fail "$when: versions should list the current version $cur" "$cur in list" "$listed" ;; esac
  for v in $listed; do
    # (older versions: checked once here, and for changes at the end)
    [ "$v" != "$cur" ] && [ -n "${VERIFIED[$v]:-}" ] && continue
    check_version "$v"
    if [ -n "$PROBLEM" ] && [ -z "${REPORTED[$v]:-}" ]; then
      REPORTED[$v]=1   # (said once per version)
      fail "$when: versions lists version $v, which is incomplete" "only complete versions" "$PROBLEM"
    fi
  done
  # Every numbered directory is a complete version (half-written ones only
  # ever exist under temporary names), and versions lists each of them.
  expect_eq "$when: versions lists exactly the numbered version directories" "$(numbered_dirs)" "$listed"
}

declare -A WHERE=()   # where the kills landed -> count
attempts=0 kills=0 finished=0 clean_runs=0 TAIL=0 failing=0
loop_start=$SECONDS
declare -A DELAYS=()  # distinct delays (ms) of real kills
batch_first=1
begin "SIGKILL renew --force at random moments: kills 1-5"
while [ "$kills" -lt "$KILLS" ] && [ $((SECONDS - loop_start)) -lt "$KILL_BUDGET" ] && [ "$attempts" -lt $((KILLS * 4)) ]; do
  attempts=$((attempts + 1))
  aimed=0
  if [ $((RANDOM % 3)) -eq 0 ]; then
    aimed=1
    delay=$((BOUNDARY - 8 + RANDOM % 17))
    [ "$delay" -lt "$lo_ms" ] && delay=$lo_ms
    TAIL=$((TAIL + 1))
  else
    delay=$((lo_ms + (RANDOM * 32768 + RANDOM) % (hi_ms - lo_ms + 1)))
  fi
  before_cur=$(current_of "$NAME")
  before_max=$(max_version)
  before_left=$(leftovers "$STATE/certs/$NAME")
  "$CR" renew --force --no-random-sleep --quiet --state-dir "$STATE" "$NAME" </dev/null >"$TMP/kill.out" 2>"$TMP/kill.err" &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null   # (no "Killed" message from bash)
  rc=$?
  # failures below show this run's output
  LAST_CMD="renew --force $NAME (SIGKILL after $delay ms)"
  cp "$TMP/kill.out" "$OUT"; cp "$TMP/kill.err" "$ERR"; RC=$rc; DUMPED=0
  _sanitizer_check
  if [ "$rc" -eq 137 ]; then
    kills=$((kills + 1))
    DELAYS[$delay]=1
    cur=$(current_of "$NAME")
    now_max=$(max_version)
    # temporary names this run left (a run killed early leaves the previous run's)
    new_left=" "
    for f in $(leftovers "$STATE/certs/$NAME"); do
      case " $before_left " in *" $f "*) ;; *) new_left="$new_left$f " ;; esac
    done
    case $new_left in
      *"/versions/.tmp-"*) where="while writing a version's files (temporary directory left)" ;;
      *"/.current.tmp-"*) where="while switching current (temporary symlink left)" ;;
      " ")
        if [ "$now_max" != "$before_max" ] && [ "$cur" = "$before_cur" ]; then
          where="after the version was renamed into place, before current was switched"
        elif [ "$cur" != "$before_cur" ]; then
          where="after current was switched"
        else
          where="before anything was written (key, order, challenge)"
        fi ;;
      *) where="while writing another file (temporary file left)" ;;
    esac
    WHERE[$where]=$(( ${WHERE[$where]:-0} + 1 ))
    if [ "$aimed" = 1 ]; then
      case $where in
        before*) BOUNDARY=$((BOUNDARY + 3)) ;;
        "after current was switched") BOUNDARY=$((BOUNDARY - 3)) ;;
      esac
    fi
    LAST_CMD="renew --force $NAME, SIGKILL after $delay ms (kill $kills, $where)"
  elif [ "$rc" -eq 0 ]; then
    finished=$((finished + 1))
    [ "$aimed" = 1 ] && BOUNDARY=$((BOUNDARY - 3))
    LAST_CMD="renew --force $NAME, finished before the SIGKILL at $delay ms"
  else
    fail "renew --force exited $rc before it was killed" "0 or killed (137)" "$rc"
  fi
  check_after_kill "after attempt $attempts (kill $kills, delay $delay ms)"
  if [ "$CASE_FAILED" = 1 ]; then
    failing=$((failing + 1))
    if [ "$failing" -ge 5 ]; then
      echo "kill: stopping the kill loop 5 attempts after the first failure"
      break
    fi
  fi

  # Every 5 kills: a normal run clears what the kills left and succeeds.
  if [ "$rc" -eq 137 ] && [ $((kills % 5)) -eq 0 ]; then
    t0=$(date +%s%N)
    crr renew --force --quiet "$NAME"
    DURATIONS="$DURATIONS $(elapsed_ms "$t0")"
    expect_rc 0
    expect_err_empty
    clean_runs=$((clean_runs + 1))
    m=$(max_version)
    expect_eq "the normal renew after kill $kills makes its new version current" "$m" "$(current_of "$NAME")"
    expect_complete "$NAME"
    expect_no_leftovers "$STATE/certs/$NAME"
    check_after_kill "after the normal renew following kill $kills"
    batch_first=$((kills + 1))
    [ "$kills" -lt "$KILLS" ] && begin "SIGKILL renew --force at random moments: kills $batch_first-$((batch_first + 4))"
  fi
done

begin "at least $KILLS kills landed while renew was running"
[ "$kills" -ge "$KILLS" ] || fail "kills while the process was running (of $attempts attempts in $((SECONDS - loop_start)) s; budget ${KILL_BUDGET} s)" ">= $KILLS" "$kills"
[ "${#DELAYS[@]}" -ge $((KILLS / 2)) ] || fail "distinct kill delays" ">= $((KILLS / 2))" "${#DELAYS[@]}"
# A final normal run, whatever the last kill left.
crr renew --force --quiet "$NAME"
expect_rc 0
expect_complete "$NAME"
expect_no_leftovers "$STATE/certs/$NAME"
check_after_kill "at the end"
# No kill or run changed a version once it was complete.
for v in $(numbered_dirs); do
  fp=$(fingerprint "$v")
  [ "${VERIFIED[$v]:-}" = "$fp" ] || fail "version $v changed after it was complete (or was never checked)"
done

echo "kill loop: $attempts attempts ($TAIL aimed at the writes, ending near $BOUNDARY ms; median renewal $(median_ms) ms) in $((SECONDS - loop_start)) s: $kills kills while running (${#DELAYS[@]} distinct delays), $finished finished before the kill, $clean_runs clean renews; versions now: $(max_version)"
for w in "${!WHERE[@]}"; do printf '  %3d kills %s\n' "${WHERE[$w]}" "$w"; done | sort -rn

# ---------------------------------------------------------------- full disk, read-only
if ! can_unshare; then
  echo "kill: SKIP the full-disk and read-only cases: 'unshare -m' (mount namespace) is not available here"
  finish
fi

# A small state directory of its own: one account, one certificate, one version.
STATE=$TMP/small
issue_cert d.example
export PEBBLE_ROOT CR
export -f version_problem current_of snapshot leftovers

# in_ns SCRIPT: run bash SCRIPT in a private mount namespace with $1.. = the
# arguments; the script reports through files in $TMP/ns.
in_ns() {
  rm -rf "$TMP/ns"
  mkdir -p "$TMP/ns"
  # shellcheck disable=SC2086
  $UNSHARE bash -c "$1" ns-script "$TMP/ns" "$STATE" "${@:2}" >"$TMP/ns/log" 2>&1
}

# The script for the full-disk case: mount a 200k tmpfs, copy the state in,
# fill it up leaving K free pages, renew --force, record everything, free the
# space, renew again.
# shellcheck disable=SC2016 # expanded by the bash in the namespace
DISK_SCRIPT='
set -u
ns=$1 src=$2 k=$3
mnt=$ns/mnt
mkdir -p "$mnt"
mount -t tmpfs -o size=200k,mode=0700 tmpfs "$mnt" || { echo "mount failed" >"$ns/setup-error"; exit 0; }
cp -a "$src/." "$mnt/" || { echo "copy failed" >"$ns/setup-error"; exit 0; }
i=0
while head -c 4096 /dev/zero >"$mnt/fill.$i" 2>/dev/null; do i=$((i + 1)); done
rm -f "$mnt/fill.$i"
j=0
while [ "$j" -lt "$k" ]; do rm -f "$mnt/fill.$((i - 1 - j))"; j=$((j + 1)); done
df -B1 --output=avail "$mnt" | tail -1 | tr -d " " >"$ns/avail"
readlink "$mnt/certs/d.example/current" >"$ns/cur-before"
snapshot "$mnt/certs/d.example" | grep -v "^\./last-renew\.json " >"$ns/snap-before"
"$CR" renew --force --no-random-sleep --state-dir "$mnt" d.example </dev/null >"$ns/out" 2>"$ns/err"
echo $? >"$ns/rc"
readlink "$mnt/certs/d.example/current" >"$ns/cur-after"
snapshot "$mnt/certs/d.example" | grep -v "^\./last-renew\.json " >"$ns/snap-after"
version_problem "$mnt/certs/d.example/versions/$(current_of d.example "$mnt")" >"$ns/problem"
"$CR" versions d.example --state-dir "$mnt" >"$ns/versions" 2>&1
leftovers "$mnt/certs/d.example" >"$ns/leftovers"
# Room again: the next run succeeds.
rm -f "$mnt"/fill.*
"$CR" renew --force --no-random-sleep --state-dir "$mnt" d.example </dev/null >"$ns/out2" 2>"$ns/err2"
echo $? >"$ns/rc2"
readlink "$mnt/certs/d.example/current" >"$ns/cur2"
version_problem "$mnt/certs/d.example/versions/$(current_of d.example "$mnt")" >"$ns/problem2"
leftovers "$mnt/certs/d.example" >"$ns/leftovers2"
'

for k in 0 1 2 3 4; do
  if [ "$k" = 0 ]; then begin "full disk (200k tmpfs, no space at all): renew --force fails clearly, old version intact"
  else begin "full disk (200k tmpfs, $k free page(s): the version write fails part-way): old version intact"; fi
  in_ns "$DISK_SCRIPT" "$k"
  LAST_CMD="renew --force --state-dir <200k tmpfs with $k free 4k pages> d.example (in $UNSHARE)"
  cp "$TMP/ns/out" "$OUT" 2>/dev/null; cp "$TMP/ns/err" "$ERR" 2>/dev/null
  if [ -e "$TMP/ns/setup-error" ] || [ ! -e "$TMP/ns/rc" ]; then
    fail "setting up the tmpfs: $(cat "$TMP/ns/setup-error" 2>/dev/null) $(head -c 500 "$TMP/ns/log")"
    continue
  fi
  RC=$(cat "$TMP/ns/rc")
  expect_rc_in 1 3
  expect_one_error "d.example" "No space left on device"
  expect_eq "current after the failed renew" "$(cat "$TMP/ns/cur-before")" "$(cat "$TMP/ns/cur-after")"
  expect_eq "certs/d.example is unchanged (but for last-renew.json)" "$(cat "$TMP/ns/snap-before")" "$(cat "$TMP/ns/snap-after")"
  expect_eq "the current version is complete" "" "$(cat "$TMP/ns/problem")"
  expect_eq "temporary files left on the full disk" "" "$(cat "$TMP/ns/leftovers")"
  grep -q '^\* 1 ' "$TMP/ns/versions" && [ "$(grep -c '' "$TMP/ns/versions")" = 1 ] ||
    fail "versions should list only version 1, current" "* 1 ..." "$(cat "$TMP/ns/versions")"
  # and with room again
  expect_eq "renew --force once there is room again: exit code" "0" "$(cat "$TMP/ns/rc2")"
  expect_eq "renew --force once there is room again: current" "versions/2" "$(cat "$TMP/ns/cur2")"
  expect_eq "the new version is complete" "" "$(cat "$TMP/ns/problem2")"
  expect_eq "temporary files left after the second run" "" "$(cat "$TMP/ns/leftovers2")"
done

# Read-only: the whole state directory (MODE=all), or only the certificate's
# directory (MODE=cert: the lock can be taken, writing the version fails).
# shellcheck disable=SC2016 # expanded by the bash in the namespace
RO_SCRIPT='
set -u
ns=$1 st=$2 mode=$3
target=$st
[ "$mode" = cert ] && target=$st/certs/d.example
mount --bind "$target" "$target" && mount -o remount,bind,ro "$target" || { echo "bind mount failed" >"$ns/setup-error"; exit 0; }
if touch "$target/.probe" 2>/dev/null; then echo "still writable" >"$ns/setup-error"; exit 0; fi
readlink "$st/certs/d.example/current" >"$ns/cur-before"
snapshot "$st/certs/d.example" >"$ns/snap-before"
"$CR" renew --force --no-random-sleep --state-dir "$st" d.example </dev/null >"$ns/out" 2>"$ns/err"
echo $? >"$ns/rc"
readlink "$st/certs/d.example/current" >"$ns/cur-after"
snapshot "$st/certs/d.example" >"$ns/snap-after"
version_problem "$st/certs/d.example/versions/$(current_of d.example "$st")" >"$ns/problem"
'
for mode in all cert; do
  if [ "$mode" = all ]; then begin "read-only state directory: renew --force fails clearly, old version intact"
  else begin "read-only certs/d.example (lock still possible): renew --force fails clearly, old version intact"; fi
  in_ns "$RO_SCRIPT" "$mode"
  LAST_CMD="renew --force --state-dir STATE d.example with $([ $mode = all ] && echo STATE || echo STATE/certs/d.example) read-only (in $UNSHARE)"
  cp "$TMP/ns/out" "$OUT" 2>/dev/null; cp "$TMP/ns/err" "$ERR" 2>/dev/null
  if [ -e "$TMP/ns/setup-error" ] || [ ! -e "$TMP/ns/rc" ]; then
    fail "setting up the read-only mount: $(cat "$TMP/ns/setup-error" 2>/dev/null) $(head -c 500 "$TMP/ns/log")"
    continue
  fi
  RC=$(cat "$TMP/ns/rc")
  expect_rc_in 1 3
  if [ "$mode" = all ]; then expect_one_error "Read-only file system"
  else expect_one_error "d.example" "Read-only file system"; fi
  expect_eq "current after the failed renew" "$(cat "$TMP/ns/cur-before")" "$(cat "$TMP/ns/cur-after")"
  expect_eq "certs/d.example is unchanged" "$(cat "$TMP/ns/snap-before")" "$(cat "$TMP/ns/snap-after")"
  expect_eq "the current version is complete" "" "$(cat "$TMP/ns/problem")"
done

begin "after the read-only runs (mounts gone): the small state directory still renews"
crr renew --force --quiet d.example
expect_rc 0
expect_complete d.example
expect_no_leftovers "$STATE/certs/d.example"

echo "kill: total $((SECONDS - T0)) s"
finish
