#!/usr/bin/env bash
# A port whose interface disappears under a running synguard (its veth
# peer's namespace deleted, as a hot-unplug or an unloaded driver would):
# synguard must say which port and stop with status 3 (an I/O error)
# within a few seconds, not keep polling a socket that can never carry a
# frame again (it spun a CPU and said nothing before).
#
#   port-gone.sh BACKEND SYNGUARD
set -euo pipefail

BACKEND=${1:?backend}
SG=${2:?synguard}
ID="$$$RANDOM"
NM="pgm$ID"; NP="pgp$ID"
TMP=$(mktemp -d /tmp/sg-port-gone-XXXXXX)
SGPID=""

cleanup() {
  local rc=$?
  [ -n "$SGPID" ] && kill -KILL "$SGPID" 2>/dev/null || true
  for n in "$NM" "$NP"; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: port-gone/$BACKEND: $*" >&2; sed 's/^/  synguard: /' "$TMP/sg.err" >&2 2>/dev/null || true; exit 1; }

ip netns add "$NM"; ip netns add "$NP"
ip -n "$NM" link add lan0 type veth peer name p0 netns "$NP"
ip -n "$NM" link add wan0 type veth peer name p1 netns "$NP"
for i in lan0 wan0; do ip -n "$NM" link set "$i" up; done
for i in p0 p1; do ip -n "$NP" link set "$i" up; done
printf 'control = { socket = "%s"; };\nhandover = false;\n' "$TMP/ctl.sock" >"$TMP/sg.conf"
ip netns exec "$NM" "$SG" --lan lan0 --wan wan0 --io "$BACKEND" -c "$TMP/sg.conf" \
  >/dev/null 2>"$TMP/sg.err" &
SGPID=$!
for _ in $(seq 100); do
  grep -q "running:" "$TMP/sg.err" && break
  kill -0 "$SGPID" 2>/dev/null || fail "synguard exited at start"
  sleep 0.1
done
grep -q "running:" "$TMP/sg.err" || fail "synguard did not start in 10 s"

# The peers' namespace goes, and with it both veth pairs.
ip netns del "$NP"
rc=0
for _ in $(seq 50); do
  kill -0 "$SGPID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$SGPID" 2>/dev/null; then
  fail "synguard still runs 5 s after its ports were deleted ($(ps -o %cpu= -p "$SGPID")% CPU)"
fi
wait "$SGPID" || rc=$?
SGPID=""
[ "$rc" -eq 3 ] || fail "exit status $rc, want 3 (an I/O error)"
grep -Eq "(lan|wan) port (lan0|wan0): the interface is gone" "$TMP/sg.err" ||
  fail "no line names the port that is gone"
echo "PASS: port-gone/$BACKEND: $(grep -o '[lw]an port [lw]an0: the interface is gone' "$TMP/sg.err" | head -1), exit 3"
