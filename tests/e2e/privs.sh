#!/usr/bin/env bash
# Once its sockets are open synguard parses hostile frames: from then on no
# thread has an effective capability, the workers have none at all, the
# daemon keeps (permitted, bounding) only what undoing the set-up at the
# stop needs, and nothing it runs can gain privileges (no_new_privs).  The
# stop still puts the ports back.  In a namespace this test creates and
# always deletes:
#
#   privs.sh BACKEND SYNGUARD
set -euo pipefail
BACKEND=${1:?backend} SG=${2:?synguard}
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: needs root (network namespaces)" >&2
  exit 1
fi
NM="sgp$$$RANDOM"
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
fail() { echo "FAIL: $*" >&2; [ -f "$TMP/sg.err" ] && sed 's/^/  synguard: /' "$TMP/sg.err" >&2; exit 1; }
inm() { ip netns exec "$NM" "$@"; }
field() { awk -v f="$1:" '$1 == f {print $2}' "$2"; }   # FIELD STATUSFILE

# What the stop needs: ethtool and sysctls (CAP_NET_ADMIN, 12), and with
# AF_XDP libxdp taking its program off (CAP_SYS_ADMIN, 21).  Nothing else.
ALLOWED=$(( 1 << 12 ))
[ "$BACKEND" = afxdp ] && ALLOWED=$(( ALLOWED | (1 << 21) ))

ip netns add "$NM"
inm ip link add lan0 type veth peer name wan0
inm ip link set lan0 up
inm ip link set wan0 up
offloads() { inm ethtool -k "$1" | grep -v '^Features for'; }
offloads lan0 >"$TMP/before"

printf 'control = { socket = "%s/ctl.sock"; };\n' "$TMP" >"$TMP/sg.conf"
ip netns exec "$NM" "$SG" -c "$TMP/sg.conf" --lan lan0 --wan wan0 --io "$BACKEND" --threads 2 \
  2>"$TMP/sg.err" &
PID=$!
for _ in $(seq 100); do
  grep -q 'notice: running' "$TMP/sg.err" && break
  kill -0 "$PID" 2>/dev/null || fail "synguard exited at start"
  sleep 0.1
done
grep -q 'notice: running' "$TMP/sg.err" || fail "synguard not running after 10 s"

echo "--- synguard --io $BACKEND running: its threads' privileges"
[ "$(field NoNewPrivs /proc/$PID/status)" = 1 ] || fail "no_new_privs is not set"
workers=0
for t in /proc/$PID/task/*; do
  name=$(cat "$t/comm")
  eff=$((16#$(field CapEff "$t/status"))); prm=$((16#$(field CapPrm "$t/status")))
  bnd=$((16#$(field CapBnd "$t/status"))); inh=$((16#$(field CapInh "$t/status")))
  amb=$((16#$(field CapAmb "$t/status")))
  printf '  %-16s eff %x prm %x bnd %x\n' "$name" "$eff" "$prm" "$bnd"
  [ "$eff" -eq 0 ] || fail "thread $name has effective capabilities ($eff)"
  [ "$inh" -eq 0 ] && [ "$amb" -eq 0 ] || fail "thread $name passes capabilities on"
  [ $((prm & ~ALLOWED)) -eq 0 ] || fail "thread $name keeps more than the stop needs ($prm)"
  [ $((bnd & ~ALLOWED)) -eq 0 ] || fail "thread $name's bounding set is not reduced ($bnd)"
  case "$name" in
    sg-worker-*) workers=$((workers + 1)); [ "$prm" -eq 0 ] || fail "worker $name keeps capabilities ($prm)" ;;
  esac
done
[ "$workers" -eq 2 ] || fail "$workers worker threads, expected 2"

echo "--- stop: the ports are put back with what was kept"
kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?
PID=""
[ "$rc" -eq 0 ] || fail "synguard exited $rc on SIGTERM"
grep -E 'warning|error' "$TMP/sg.err" && fail "warnings at the stop"
offloads lan0 >"$TMP/after"
diff -u "$TMP/before" "$TMP/after" || fail "lan0's offloads not restored"
inm ip -d link show lan0 | grep -q 'prog/xdp' && fail "an XDP program is left on lan0"
echo "PASS: privileges dropped, ports restored ($BACKEND)"
