#!/usr/bin/env bash
# A bump in the wire has no address of its own: while synguard runs its
# ports carry no IPv6 address (not even link-local) and take no router
# advertisement, so the kernel neither answers nor sends anything on them
# (neighbour discovery, MLD, router solicitations).  A clean stop gives
# them back.  In a namespace this test creates and always deletes:
#
#   ports-ipv6.sh BACKEND SYNGUARD
set -euo pipefail
BACKEND=${1:?backend} SG=${2:?synguard}
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: needs root (network namespaces)" >&2
  exit 1
fi
NM="sg6$$$RANDOM"
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
linklocal() { inm ip -6 addr show dev "$1" scope link | grep -c 'inet6 fe80' || true; }
disabled() { inm cat "/proc/sys/net/ipv6/conf/$1/disable_ipv6"; }

ip netns add "$NM"
inm ip link add lan0 type veth peer name wan0
inm ip link set lan0 up
inm ip link set wan0 up
for _ in $(seq 30); do
  [ "$(linklocal lan0)" -ge 1 ] && [ "$(linklocal wan0)" -ge 1 ] && break
  sleep 0.1
done
for ifc in lan0 wan0; do
  [ "$(linklocal $ifc)" -ge 1 ] || fail "$ifc has no link-local address to begin with: the test proves nothing"
  [ "$(disabled $ifc)" = 0 ] || fail "$ifc: IPv6 disabled to begin with"
done

echo "--- synguard --io $BACKEND running"
printf 'control = { socket = "%s/ctl.sock"; };\n' "$TMP" >"$TMP/sg.conf"
ip netns exec "$NM" "$SG" -c "$TMP/sg.conf" --lan lan0 --wan wan0 --io "$BACKEND" 2>"$TMP/sg.err" &
PID=$!
for _ in $(seq 100); do
  grep -q 'notice: running' "$TMP/sg.err" && break
  kill -0 "$PID" 2>/dev/null || fail "synguard exited at start"
  sleep 0.1
done
grep -q 'notice: running' "$TMP/sg.err" || fail "synguard not running after 10 s"
for ifc in lan0 wan0; do
  [ "$(linklocal $ifc)" = 0 ] || fail "$ifc has a link-local address while synguard runs"
  [ "$(disabled $ifc)" = 1 ] || fail "$ifc: disable_ipv6 is $(disabled $ifc) while synguard runs"
  echo "  $ifc: no IPv6 address, disable_ipv6 = 1"
done

echo "--- stop"
kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?
PID=""
[ "$rc" -eq 0 ] || fail "synguard exited $rc on SIGTERM"
for ifc in lan0 wan0; do
  [ "$(disabled $ifc)" = 0 ] || fail "$ifc: disable_ipv6 not restored"
  for _ in $(seq 30); do [ "$(linklocal $ifc)" -ge 1 ] && break; sleep 0.1; done
  [ "$(linklocal $ifc)" -ge 1 ] || fail "$ifc: no link-local address after the stop"
  echo "  $ifc: disable_ipv6 = 0, link-local address back"
done
echo "PASS: ports without IPv6 of their own ($BACKEND)"
