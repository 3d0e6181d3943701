#!/usr/bin/env bash
# A synguard killed with SIGKILL leaves its ports changed (offloads off,
# more queues, libxdp's AF_XDP program, IPv6 off).  The next start must put back
# what the dead one changed before it prepares them again, so that a clean
# stop leaves the ports as they were before the first start.  In a
# namespace this test creates and always deletes:
#
#   nic-crash.sh BACKEND SYNGUARD       e.g. nic-crash.sh afxdp build/src/daemon/synguard
#
# Checks: a second synguard on the same ports, or on other ports with the
# same control socket, is refused (EBUSY) and touches nothing; after
# kill -9 the ports are still changed (what the test is about); the next
# start says it restores; after its clean stop offloads, queue counts, XDP
# and IPv6 are as before the first start and no journal is left in
# /run/synguard.
set -euo pipefail
BACKEND=${1:?backend} SG=${2:?synguard}
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: needs root (network namespaces)" >&2
  exit 1
fi
NM="sgk$$$RANDOM"
TMP=$(mktemp -d /tmp/sg-e2e-XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  # TERM first: a synguard stopped cleanly leaves no journal behind.
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  ip netns del "$NM" 2>/dev/null || true
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*" >&2; for f in "$TMP"/*.err; do [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" >&2; done; exit 1; }
inm() { ip netns exec "$NM" "$@"; }

ip netns add "$NM"
inm ip link add lan0 numtxqueues 4 numrxqueues 4 type veth peer name wan0 numtxqueues 4 numrxqueues 4
inm ethtool -L lan0 rx 1 tx 1
inm ethtool -L wan0 rx 1 tx 1
inm ip link set lan0 up
inm ip link set wan0 up
inm ip link add lan1 type veth peer name wan1
state() {  # IF: every feature, the queue counts, any XDP program, IPv6 on or off
  inm ethtool -k "$1" | grep -v '^Features for'
  inm ethtool -l "$1" | sed -n '/^Current/,$p'
  inm ip -d link show "$1" | grep -o 'prog/xdp.*' || echo "no xdp"
  echo "disable_ipv6 $(inm cat /proc/sys/net/ipv6/conf/$1/disable_ipv6)"
}
offloads_off() {  # IF: the ones synguard turns off are off
  for feat in tcp-segmentation-offload generic-segmentation-offload rx-checksumming tx-checksumming; do
    inm ethtool -k "$1" | grep -q "^$feat: off" || return 1
  done
}
for ifc in lan0 wan0; do state $ifc >"$TMP/$ifc.before"; done
printf 'control = { socket = "%s/ctl.sock"; };\n' "$TMP" >"$TMP/sg.conf"
printf 'control = { socket = "%s/ctl2.sock"; };\n' "$TMP" >"$TMP/sg2.conf"
start() {  # NAME: runs synguard in the background, waits until it runs
  ip netns exec "$NM" "$SG" -c "$TMP/sg.conf" --lan lan0 --wan wan0 --io "$BACKEND" --threads 2 \
    >"$TMP/$1.out" 2>"$TMP/$1.err" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 100); do
    grep -q 'notice: running' "$TMP/$1.err" && return 0
    kill -0 "$PID" 2>/dev/null || fail "$1: synguard exited at start"
    sleep 0.1
  done
  fail "$1: synguard not running after 10 s"
}

echo "--- first start, then a second synguard on the same ports"
start first
FIRST=$PID
offloads_off lan0 && offloads_off wan0 || fail "offloads are not off while synguard runs"
rc=0
inm timeout 20 "$SG" -c "$TMP/sg2.conf" --lan lan0 --wan wan0 --io "$BACKEND" >/dev/null 2>"$TMP/second.err" || rc=$?
[ "$rc" -eq 3 ] || fail "a second synguard on the same ports exited $rc, not 3"
grep -q 'lan0: EBUSY: another synguard is using this interface' "$TMP/second.err" ||
  fail "the second synguard did not say that another one holds lan0"
sed 's/^/  /' "$TMP/second.err"
echo "--- a second synguard on other ports but the same control socket"
rc=0
inm timeout 20 "$SG" -c "$TMP/sg.conf" --lan lan1 --wan wan1 --io "$BACKEND" >/dev/null 2>"$TMP/second.err" || rc=$?
[ "$rc" -eq 4 ] || fail "a second synguard on the same control socket exited $rc, not 4"
grep -q "control socket $TMP/ctl.sock: EBUSY: another synguard is running" "$TMP/second.err" ||
  fail "the second synguard did not say that another one holds the control socket"
[ -S "$TMP/ctl.sock" ] || fail "the running synguard's control socket is gone"
sed 's/^/  /' "$TMP/second.err"
inm ip -d link show lan1 | grep -q 'promiscuity 0' || fail "lan1 was touched by the refused synguard"
rm -f "$TMP/second.err"

echo "--- kill -9"
kill -KILL "$FIRST"
wait "$FIRST" 2>/dev/null || true
offloads_off lan0 || fail "offloads came back by themselves after kill -9: the test proves nothing"
ls /run/synguard/nic-*-lan0 >/dev/null 2>&1 || fail "no journal left in /run/synguard after kill -9"

echo "--- start again, then stop cleanly"
start again
grep -q 'lan0: a previous synguard did not stop cleanly; restoring' "$TMP/again.err" ||
  fail "the second start did not say it restores lan0"
grep 'did not stop cleanly\|previous synguard' "$TMP/again.err" | sed 's/^/  /'
kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?
[ "$rc" -eq 0 ] || fail "synguard exited $rc on SIGTERM"

echo "--- the ports are as before the first start"
for ifc in lan0 wan0; do
  state $ifc >"$TMP/$ifc.after"
  diff -u "$TMP/$ifc.before" "$TMP/$ifc.after" >"$TMP/$ifc.diff" ||
    { sed 's/^/  /' "$TMP/$ifc.diff"; fail "$ifc differs from before the first start"; }
done
for ifc in lan0 wan0; do
  for j in /run/synguard/nic-*-$ifc; do
    [ -e "$j" ] || continue
    # Journals of other namespaces may exist; ours names our interface index.
    idx=$(inm cat /sys/class/net/$ifc/ifindex)
    mac=$(inm cat /sys/class/net/$ifc/address)
    head -1 "$j" | grep -q " $ifc $idx $mac\$" && fail "journal $j left after a clean stop"
  done
done
echo "PASS: nic state survives a crash ($BACKEND)"
