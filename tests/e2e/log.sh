#!/usr/bin/env bash
# What synguard logs, as an operator reads it, in a namespace this test
# creates and always deletes:
#   - -v (debug) shows none of libbpf's or libxdp's loader lines; -vv does;
#   - a port whose link goes down and up is said once each way, by the
#     control thread within a couple of seconds;
#   - with JOURNAL_STREAM naming its stderr, each line carries the
#     journal's <N> priority; the stop line says why and for how long.
#
#   log.sh BACKEND SYNGUARD
set -euo pipefail
BACKEND=${1:?backend} SG=${2:?synguard}
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: needs root (network namespaces)" >&2
  exit 1
fi
NM="logs$$$RANDOM"
TMP=$(mktemp -d /tmp/sg-e2e-XXXXXX)
PID=""
cleanup() {
  local rc=$?
  if [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
  fi
  ip netns del "$NM" 2>/dev/null || true
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*" >&2; [ -f "$TMP/sg.err" ] && grep -v 'trace:' "$TMP/sg.err" | sed 's/^/  synguard: /' >&2; exit 1; }
inm() { ip netns exec "$NM" "$@"; }

ip netns add "$NM"
inm ip link add lan0 type veth peer name wan0
inm ip link set lan0 up
inm ip link set wan0 up
printf 'control = { socket = "%s/ctl.sock"; };\n' "$TMP" >"$TMP/sg.conf"

# start [ENV...] -- ARGS...: synguard in the background, stderr to sg.err,
# until it says it runs.
start() {
  local env=()
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  : >"$TMP/sg.err"
  # Not through inm: $! must be synguard itself, not a subshell.
  ip netns exec "$NM" env "${env[@]}" "$SG" -c "$TMP/sg.conf" --lan lan0 --wan wan0 --io "$BACKEND" "$@" \
    2>"$TMP/sg.err" &
  PID=$!
  for _ in $(seq 100); do
    grep -q 'notice: running' "$TMP/sg.err" && return 0
    kill -0 "$PID" 2>/dev/null || fail "synguard exited at start"
    sleep 0.1
  done
  fail "synguard not running after 10 s"
}
stop() {
  kill -TERM "$PID"
  local rc=0; wait "$PID" || rc=$?
  PID=""
  [ "$rc" -eq 0 ] || fail "synguard exited $rc on SIGTERM"
}
# The loader's own words (libbpf opening an object, libxdp loading one).
LOADER='libbpf: loading object|libxdp: Loading XDP program|libbpf: prog .*: found'

echo "--- -v: debug, no loader output"
start -- -v
stop
# afxdp says at debug what it tried (modes, the memlock limit): -v took.
[ "$BACKEND" != afxdp ] || grep -q 'debug:' "$TMP/sg.err" || fail "-v logged no debug line"
grep -q 'trace:' "$TMP/sg.err" && fail "-v logged trace lines"
n=$(grep -cE "$LOADER" "$TMP/sg.err" || true)
[ "$n" -eq 0 ] || fail "-v logged $n loader lines"
echo "  $(wc -l <"$TMP/sg.err") lines"

echo "--- -vv: the loader's lines too"
start -- -vv
stop
if [ "$BACKEND" = afxdp ]; then
  n=$(grep -cE "trace: ($LOADER)" "$TMP/sg.err" || true)
  [ "$n" -gt 0 ] || fail "-vv logged no loader line"
  echo "  $n loader lines at trace"
fi

echo "--- link down and up: one line each way per port"
start -- -v
inm ip link set lan0 down
for _ in $(seq 50); do
  [ "$(grep -c 'link down' "$TMP/sg.err")" -ge 2 ] && break
  sleep 0.1
done
grep -q 'warning: lan port lan0: link down (operstate down)' "$TMP/sg.err" ||
  fail "lan0 down not logged"
grep -q 'warning: wan port wan0: link down (operstate lowerlayerdown)' "$TMP/sg.err" ||
  fail "wan0 (peer down) not logged"
inm ip link set lan0 up
for _ in $(seq 50); do
  [ "$(grep -c 'link up' "$TMP/sg.err")" -ge 2 ] && break
  sleep 0.1
done
sleep 1.5     # a second look must not repeat them
stop
for p in 'lan port lan0' 'wan port wan0'; do
  [ "$(grep -c "$p: link down" "$TMP/sg.err")" -eq 1 ] || fail "$p: link down not said once"
  [ "$(grep -c "notice: $p: link up" "$TMP/sg.err")" -eq 1 ] || fail "$p: link up not said once"
done

echo "--- journal: <N> priorities when JOURNAL_STREAM names stderr"
: >"$TMP/sg.err"
JS=$(stat -c '%d:%i' "$TMP/sg.err")
start JOURNAL_STREAM="$JS" --
stop
grep -q '^<5>notice: running: 1 worker, proxying' "$TMP/sg.err" || fail "no <5> start line"
grep -qE '^<5>notice: stopped \(SIGTERM\) after [0-9]+ s: [0-9]+ frames? received' "$TMP/sg.err" ||
  fail "no <5> stop line"
grep -qE '^<6>proxied_established +0 ' "$TMP/sg.err" || fail "final counters without <6>"
bad=$(grep -vE '^<[0-7]>' "$TMP/sg.err" || true)
[ -z "$bad" ] || fail "lines without a priority: $bad"
echo "PASS: log levels, link events and journal priorities ($BACKEND)"
