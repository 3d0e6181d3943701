#!/usr/bin/env bash
# A port's transmit survives a link flap that filled its TX ring, in
# namespaces this test creates and always deletes:
#
#   [client ns] eth0 --veth-- wan0 [middle ns: CMD] lan0 --veth-- eth0 [server ns]
#     10.78.0.1                                                 10.78.0.2
#
#   tx-flap.sh BACKEND CMD...   e.g. tx-flap.sh afpacket build/tests/e2e/sg-bridge
#
# CMD (sg-bridge) runs with a 64-frame TX ring.  The server's end goes
# down, so the driver refuses what the bridge sends on lan0; the client
# then sends far more frames than the ring holds; the server's end comes
# back up.  Forwarding to the server must resume (ping passes), and the
# counters must show that the flood reached lan0 while it was down, or
# the test proved nothing.
set -euo pipefail

BACKEND=${1:?backend}
shift
[ $# -ge 1 ] || { echo "usage: $0 BACKEND CMD..." >&2; exit 2; }
CMD=("$@")
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: needs root (network namespaces, AF_PACKET)" >&2
  exit 1
fi
for t in ip ethtool ping python3 timeout; do
  command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/deps.sh test)" >&2; exit 1; }
done

ID="$$$RANDOM"
NC="sgfc$ID"; NM="sgfm$ID"; NS="sgfs$ID"
TMP=$(mktemp -d /tmp/sg-e2e-XXXXXX)
BPID=""
FLOOD=800          # frames sent while the server's end is down
RING=64

cleanup() {
  local rc=$?
  if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then
    kill -TERM "$BPID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$BPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$BPID" 2>/dev/null || true
  fi
  for n in "$NC" "$NM" "$NS"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/lib.sh"
fail() {
  echo "FAIL: $*" >&2
  for f in bridge.out bridge.err; do
    [ -f "$TMP/$f" ] && sed 's/^/  bridge: /' "$TMP/$f" >&2
  done
  exit 1
}

step "namespaces $NC / $NM / $NS"
ip netns add "$NC"; ip netns add "$NM"; ip netns add "$NS"
ip link add "vc$ID" netns "$NC" type veth peer name "vw$ID" netns "$NM"
ip link add "vs$ID" netns "$NS" type veth peer name "vl$ID" netns "$NM"
inc ip link set "vc$ID" name eth0
ins ip link set "vs$ID" name eth0
inm ip link set "vw$ID" name wan0
inm ip link set "vl$ID" name lan0
for ns in "$NC" "$NS"; do
  ip netns exec "$ns" ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
done
inc ip addr add 10.78.0.1/24 dev eth0
ins ip addr add 10.78.0.2/24 dev eth0
inc ip link set eth0 up; ins ip link set eth0 up
inm ip link set wan0 up; inm ip link set lan0 up

step "start: ${CMD[*]} --io $BACKEND --tx-ring $RING"
ip netns exec "$NM" "${CMD[@]}" --lan lan0 --wan wan0 --io "$BACKEND" --threads 1 --tx-ring "$RING" \
  --ready-file "$TMP/ready" >"$TMP/bridge.out" 2>"$TMP/bridge.err" &
BPID=$!
for _ in $(seq 100); do
  [ -f "$TMP/ready" ] && break
  kill -0 "$BPID" 2>/dev/null || fail "bridge exited at start"
  sleep 0.1
done
[ -f "$TMP/ready" ] || fail "bridge not ready after 10 s"
[ "$(cat "$TMP/ready")" = "$BACKEND" ] || fail "bridge runs $(cat "$TMP/ready"), not $BACKEND"
inc timeout 15 ping -c 2 -i 0.2 -W 2 10.78.0.2 >/dev/null || fail "no forwarding before the flap"

step "server's end down, $FLOOD frames towards it, server's end up"
SMAC=$(ins cat /sys/class/net/eth0/address)
ins ip link set eth0 down
cat >"$TMP/flood.py" <<'PY'
import socket, sys
ifname, dst, n = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), int(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
src = bytes.fromhex(open('/sys/class/net/%s/address' % ifname).read().strip().replace(':', ''))
frame = dst + src + b'\x88\xb5' + b'sg-tx-flap' + bytes(50)   # local experimental type
for _ in range(n):
    s.send(frame)
PY
inc python3 "$TMP/flood.py" eth0 "$SMAC" "$FLOOD"
sleep 0.5
ins ip link set eth0 up

step "forwarding to the server resumes"
ok=0
for _ in $(seq 20); do
  if inc ping -c 1 -W 1 10.78.0.2 >/dev/null 2>&1; then ok=1; break; fi
done
[ "$ok" = 1 ] || fail "no ping through the bridge in 20 s after the link came back"
inc timeout 15 ping -c 3 -i 0.2 -W 2 10.78.0.2 >/dev/null || fail "ping after the flap"

step "stop the bridge"
kill -TERM "$BPID"
for _ in $(seq 100); do kill -0 "$BPID" 2>/dev/null || break; sleep 0.1; done
BRC=0; wait "$BPID" || BRC=$?
BPID=""
[ "$BRC" -eq 0 ] || fail "bridge exited with status $BRC"
cat "$TMP/bridge.out"
# The flood must have reached lan0's TX while the link was down: afpacket
# keeps refused frames in its ring, so it fills and drops; AF_XDP's kernel
# takes and drops them itself, so the bridge only counts them sent.
DROPS=$(sed -n 's/.* io_tx_drops=\([0-9]*\).*/\1/p' "$TMP/bridge.out")
TXLAN=$(sed -n 's/.* tx_lan_frames=\([0-9]*\).*/\1/p' "$TMP/bridge.out")
if [ "$BACKEND" = afpacket ]; then
  [ -n "$DROPS" ] && [ "$DROPS" -gt 0 ] || fail "no TX drops counted: the ring never filled, the test proves nothing"
else
  [ -n "$TXLAN" ] && [ "$TXLAN" -ge "$FLOOD" ] || fail "only ${TXLAN:-?} frames sent on lan0: the flood did not reach it"
fi
echo "PASS: $BACKEND transmits again after a link flap that filled its TX ring"
