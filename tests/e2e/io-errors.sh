#!/usr/bin/env bash
# What an operator sees when the I/O layer cannot have what it wants, in a
# namespace this test creates and always deletes.
#
#   io-errors.sh CMD...     e.g. io-errors.sh build/tests/e2e/sg-bridge
#
# - another XDP program on the lan port: --io afxdp fails naming the
#   interface, EBUSY and the command that frees it; --io auto falls back to
#   afpacket, says why, and leaves the other program attached;
# - a missing interface: ENODEV with the interface's name;
# - more receive queues than threads (AF_XDP serves queue i with thread i,
#   the rest would go to the host stack unseen): --io afxdp refuses,
#   naming the interface, both counts and both fixes; --io auto falls
#   back to afpacket; with the NIC prepared (queue count set to the
#   thread count) afxdp starts.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CMD..." >&2; exit 2; }
CMD=("$@")
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: needs root (network namespaces, XDP)" >&2
  exit 1
fi
XDP_OBJ=""
for d in /usr/lib/x86_64-linux-gnu/bpf /usr/lib/bpf /usr/lib64/bpf; do
  [ -f "$d/xdpfilt_alw_all.o" ] && XDP_OBJ="$d/xdpfilt_alw_all.o" && break
done
[ -n "$XDP_OBJ" ] || { echo "FAIL: xdpfilt_alw_all.o (libxdp-dev's programs) not found" >&2; exit 1; }

NM="sge$$$RANDOM"
TMP=$(mktemp -d /tmp/sg-e2e-XXXXXX)
cleanup() { local rc=$?; ip netns del "$NM" 2>/dev/null || true; rm -rf "$TMP"; exit $rc; }
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*" >&2; sed 's/^/  out: /' "$TMP/err" >&2 2>/dev/null || true; exit 1; }
inm() { ip netns exec "$NM" "$@"; }

ip netns add "$NM"
inm ip link add name lan0 type veth peer name wan0
inm ip link set lan0 up
inm ip link set wan0 up
inm ip link set dev lan0 xdpdrv obj "$XDP_OBJ" sec xdp
inm ip -d link show lan0 | grep -q 'prog/xdp.*xdpfilt_alw_all' || fail "could not attach the foreign XDP program"

echo "--- --io afxdp with another XDP program on lan0"
rc=0
inm timeout 30 "${CMD[@]}" --lan lan0 --wan wan0 --io afxdp --seconds 1 >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" -ne 0 ] || fail "afxdp started although lan0 carries another XDP program"
grep -q 'lan0: .*EBUSY.*ip link set dev lan0 xdp off' "$TMP/err" || fail "no 'lan0 ... EBUSY ... ip link set dev lan0 xdp off' in the message"
sed 's/^/  /' "$TMP/err"

echo "--- --io auto falls back to afpacket and says why"
inm timeout 30 "${CMD[@]}" --lan lan0 --wan wan0 --io auto --seconds 1 \
  --ready-file "$TMP/ready" >/dev/null 2>"$TMP/err" || fail "auto did not start"
[ "$(cat "$TMP/ready")" = afpacket ] || fail "auto chose $(cat "$TMP/ready")"
grep -q 'AF_XDP unavailable.*lan0.*EBUSY.*falling back to AF_PACKET' "$TMP/err" || fail "fallback reason not logged"
sed 's/^/  /' "$TMP/err"
inm ip -d link show lan0 | grep -q 'prog/xdp.*xdpfilt_alw_all' || fail "the foreign XDP program was removed"
inm ip -d link show wan0 | grep -q 'prog/xdp' && fail "an XDP program was left on wan0"

echo "--- --io afxdp on 2-queue interfaces with 1 thread"
inm ip link add name lan1 numtxqueues 2 numrxqueues 2 type veth peer name wan1 numtxqueues 2 numrxqueues 2
inm ip link set lan1 up
inm ip link set wan1 up
rc=0
inm timeout 30 "${CMD[@]}" --lan lan1 --wan wan1 --io afxdp --threads 1 --no-nic --seconds 1 \
  >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" -ne 0 ] || fail "afxdp started with 1 thread on 2 queues: queue 1's frames bypass it"
grep -q 'lan1: .*2 receive queues.*1 thread.*ethtool -L lan1 combined 1.*--threads 2' "$TMP/err" \
  || fail "no 'lan1 ... 2 receive queues ... 1 thread ... ethtool -L lan1 combined 1 ... --threads 2' in the message"
sed 's/^/  /' "$TMP/err"
inm ip -d link show lan1 | grep -q 'prog/xdp' && fail "an XDP program was left on lan1"

echo "--- --io auto on them falls back to afpacket"
inm timeout 30 "${CMD[@]}" --lan lan1 --wan wan1 --io auto --threads 1 --no-nic --seconds 1 \
  --ready-file "$TMP/ready" >/dev/null 2>"$TMP/err" || fail "auto did not start"
[ "$(cat "$TMP/ready")" = afpacket ] || fail "auto chose $(cat "$TMP/ready") with 2 queues and 1 thread"
sed 's/^/  /' "$TMP/err"

echo "--- with the NIC prepared, the queue count follows the thread count"
inm timeout 30 "${CMD[@]}" --lan lan1 --wan wan1 --io afxdp --threads 1 --seconds 1 \
  --ready-file "$TMP/ready" >/dev/null 2>"$TMP/err" || fail "afxdp did not start with the NIC prepared"
[ "$(cat "$TMP/ready")" = afxdp ] || fail "ran $(cat "$TMP/ready")"
sed 's/^/  /' "$TMP/err"

echo "--- a missing interface"
rc=0
inm timeout 30 "${CMD[@]}" --lan nosuch0 --wan wan0 --io afpacket --seconds 1 >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" -ne 0 ] || fail "started on a missing interface"
grep -q 'nosuch0.*ENODEV' "$TMP/err" || fail "no 'nosuch0 ... ENODEV' in the message"
sed 's/^/  /' "$TMP/err"
echo "PASS: io errors"
