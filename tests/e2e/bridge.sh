#!/usr/bin/env bash
# Bridge-only forwarding through real interfaces, in namespaces this test
# creates and always deletes:
#
#   [client ns] eth0 --veth-- wan0 [middle ns: BRIDGE] lan0 --veth-- eth0 [server ns]
#     10.77.0.1, fd77::1                                       10.77.0.2, fd77::2
#
#   bridge.sh [--endpoint-offloads SYNGUARDCTL] BACKEND THREADS CMD...
#   e.g. bridge.sh afxdp 1 build/tests/e2e/sg-bridge
#
# CMD is the bridge program; it is run in the middle namespace as
#   CMD --lan lan0 --wan wan0 --io BACKEND --threads THREADS [--ready-file F]
# sg-bridge (tests/e2e/sg-bridge.c) gets --ready-file and must report its
# counters; any other CMD (synguard) is ready once the client's ping
# passes, and must log the io description (sg_io_describe: "afxdp ..." /
# "afpacket ...") on stderr; in proxy mode its final counters must show
# the two proxied connections.
# BACKEND afxdp-skb runs afxdp with --xdp-mode skb (generic XDP, the path
# for drivers without native XDP).
# With --proxy in CMD (sg-bridge running the core), TCP from the client is
# proxied (cookie, splice) and the counters must say so.
# Checks: nothing passes before the bridge runs; ping v4 and v6 both ways;
# 5 MB over TCP each way, byte-exact; the bridge counted what it forwarded;
# after it exits the interfaces are as it found them (no XDP program, no
# promiscuity, offloads back on).
#
# --endpoint-offloads: the client and server keep their veth defaults (TX
# checksum offload, TSO, GSO), as containers and VMs do, so the bridge
# gets partial checksums and, unless the kernel turns the peers' TSO off,
# GSO super-frames.  CMD must be synguard in proxy mode; its counters are
# read through SYNGUARDCTL on a control socket of the test's own, and no
# checksum may count as bad.
set -euo pipefail

OFFLOADS=0
CTL=""
if [ "${1:-}" = --endpoint-offloads ]; then
  OFFLOADS=1
  CTL=${2:?synguardctl}
  shift 2
fi
BACKEND=${1:?backend}
THREADS=${2:?threads}
shift 2
[ $# -ge 1 ] || { echo "usage: $0 BACKEND THREADS CMD..." >&2; exit 2; }
CMD=("$@")
# sg-bridge bridges unless --proxy; synguard proxies unless --bridge-only.
if [ "$(basename "${CMD[0]}")" = sg-bridge ]; then MODE=bridge-only; else MODE=proxy; fi
for a in "${CMD[@]}"; do
  [ "$a" = --proxy ] && MODE=proxy
  [ "$a" = --bridge-only ] && MODE=bridge-only
done

if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: needs root (network namespaces, AF_XDP, AF_PACKET)" >&2
  exit 1
fi
for t in ip ethtool ping python3 timeout; do
  command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/deps.sh test)" >&2; exit 1; }
done

ID="$$$RANDOM"
NC="sgc$ID"; NM="sgm$ID"; NS="sgs$ID"
TMP=$(mktemp -d /tmp/sg-e2e-XXXXXX)
BPID=""

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
  if [ -n "$CTL" ] && [ -S "$TMP/ctl.sock" ]; then
    "$CTL" -s "$TMP/ctl.sock" stats 2>/dev/null |
      awk '$1 ~ /^(drop_bad_checksum|csum_completed|syn_received|synack_sent|cookie_ok|proxied_established)$/ {print "  synguard: " $1 "=" $2}' >&2 || true
  fi
  for f in bridge.out bridge.err; do
    [ -f "$TMP/$f" ] && sed 's/^/  bridge: /' "$TMP/$f" >&2
  done
  exit 1
}

step "namespaces $NC / $NM / $NS"
ip netns add "$NC"; ip netns add "$NM"; ip netns add "$NS"
Q="numtxqueues 4 numrxqueues 4"
ip link add "vc$ID" netns "$NC" $Q type veth peer name "vw$ID" netns "$NM" $Q
ip link add "vs$ID" netns "$NS" $Q type veth peer name "vl$ID" netns "$NM" $Q
inc ip link set "vc$ID" name eth0
ins ip link set "vs$ID" name eth0
inm ip link set "vw$ID" name wan0
inm ip link set "vl$ID" name lan0
for ns in "$NC" "$NM" "$NS"; do ip netns exec "$ns" ip link set lo up; done
# Endpoints: no offloads, or they hand the bridge GSO super-frames and
# partial checksums (shared/machine.md), unless that is what is tested.
# The middle ports are the bridge's to prepare.
if [ "$OFFLOADS" = 0 ]; then
  inc ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  ins ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
fi
inc ip addr add 10.77.0.1/24 dev eth0
ins ip addr add 10.77.0.2/24 dev eth0
inc ip addr add fd77::1/64 dev eth0 nodad
ins ip addr add fd77::2/64 dev eth0 nodad
# Endpoints use THREADS queues; the middle ports start with one, so the
# bridge has to raise their queue count (ETHTOOL_SCHANNELS) and put it back.
inc ethtool -L eth0 rx "$THREADS" tx "$THREADS"
ins ethtool -L eth0 rx "$THREADS" tx "$THREADS"
inm ethtool -L wan0 rx 1 tx 1
inm ethtool -L lan0 rx 1 tx 1
inc ip link set eth0 up; ins ip link set eth0 up
inm ip link set wan0 up; inm ip link set lan0 up

feat() {  # ns feature: on | off
  ip netns exec "$1" ethtool -k eth0 | awk -v f="$2:" '$1 == f {print $2}'
}
if [ "$OFFLOADS" = 1 ]; then
  for ns in "$NC" "$NS"; do
    for f in tx-checksumming tcp-segmentation-offload generic-segmentation-offload; do
      [ "$(feat "$ns" $f)" = on ] || fail "endpoint $ns: $f is not on by default: the test proves nothing"
    done
  done
fi
offloads() { inm ethtool -k "$1" | grep -E '^(generic-receive-offload|tx-checksumming|rx-checksumming|tcp-segmentation-offload|generic-segmentation-offload|rx-vlan-offload|tx-vlan-offload):' | tr -d ' ' | sort | tr '\n' ' '; }
BEFORE_WAN=$(offloads wan0); BEFORE_LAN=$(offloads lan0)

step "no path before the bridge runs"
if inc ping -c 1 -W 1 10.77.0.2 >/dev/null 2>&1; then
  fail "client reaches server without the bridge: the test proves nothing"
fi

step "start: ${CMD[*]} --io $BACKEND --threads $THREADS"
IO=(--io "$BACKEND")
[ "$BACKEND" = afxdp-skb ] && IO=(--io afxdp --xdp-mode skb)
READY=()
SGB=0
[ "$(basename "${CMD[0]}")" = sg-bridge ] && SGB=1 && READY=(--ready-file "$TMP/ready")
if [ "$OFFLOADS" = 1 ] && { [ "$SGB" = 1 ] || [ "$MODE" != proxy ]; }; then
  fail "--endpoint-offloads needs synguard in proxy mode"
fi
if [ "$SGB" = 0 ]; then
  # A control socket of the test's own: another synguard (an operator's,
  # another test's) holds the default one.
  printf 'control = {\n  socket = "%s";\n};\n' "$TMP/ctl.sock" >"$TMP/sg.conf"
  READY=(-c "$TMP/sg.conf")
fi
ip netns exec "$NM" "${CMD[@]}" --lan lan0 --wan wan0 "${IO[@]}" --threads "$THREADS" "${READY[@]}" \
  >"$TMP/bridge.out" 2>"$TMP/bridge.err" &
BPID=$!
for _ in $(seq 100); do
  if [ "$SGB" = 1 ]; then
    [ -f "$TMP/ready" ] && break
  else
    inc ping -c 1 -W 0.1 10.77.0.2 >/dev/null 2>&1 && break
  fi
  kill -0 "$BPID" 2>/dev/null || fail "bridge exited at start"
  sleep 0.1
done
sed 's/^/  /' "$TMP/bridge.err"
if [ "$SGB" = 1 ]; then
  [ -f "$TMP/ready" ] || fail "bridge not ready after 10 s"
  [ "$(cat "$TMP/ready")" = "${BACKEND%-skb}" ] || fail "bridge runs $(cat "$TMP/ready"), not $BACKEND"
else
  grep -q "${BACKEND%-skb} " "$TMP/bridge.err" || fail "the bridge did not log that it runs ${BACKEND%-skb}"
fi
if [ "$BACKEND" = afxdp-skb ]; then
  grep -q 'afxdp skb mode' "$TMP/bridge.err" || fail "not in skb mode"
fi
# Offloads that would hand the bridge non-wire frames are off while it runs.
for ifc in wan0 lan0; do
  for feat in generic-receive-offload tcp-segmentation-offload \
              generic-segmentation-offload rx-checksumming tx-checksumming \
              rx-vlan-offload tx-vlan-offload; do
    inm ethtool -k "$ifc" | grep -q "^$feat: off" || fail "$ifc: $feat is not off while the bridge runs"
  done
done
if [ "$OFFLOADS" = 1 ]; then
  # Attaching XDP to a veth turns its peer's TSO off (veth_fix_features);
  # TX checksum offload stays.  Say what the endpoints run with now.
  for ns in "$NC" "$NS"; do
    echo "  endpoint $ns while the bridge runs: tx-checksumming $(feat "$ns" tx-checksumming)," \
         "tso $(feat "$ns" tcp-segmentation-offload), gso $(feat "$ns" generic-segmentation-offload)"
  done
  [ "$(feat "$NC" tx-checksumming)" = on ] || fail "client: tx-checksumming went off: the test proves nothing"
fi
rxq() { inm ethtool -l "$1" | awk '/^Current/ {c=1} c && /^RX:/ {print $2}'; }
for ifc in wan0 lan0; do
  [ "$(rxq $ifc)" = "$THREADS" ] || fail "$ifc has $(rxq $ifc) queues while the bridge runs, not $THREADS"
done

# Neighbour discovery and ARP go through the bridge like everything else.
step "ping v4 and v6, both ways"
inc timeout 15 ping -c 3 -i 0.2 -W 2 10.77.0.2 >/dev/null || fail "ping client -> server v4"
ins timeout 15 ping -c 3 -i 0.2 -W 2 10.77.0.1 >/dev/null || fail "ping server -> client v4"
inc timeout 15 ping -6 -c 3 -i 0.2 -W 2 fd77::2 >/dev/null || fail "ping client -> server v6"
ins timeout 15 ping -6 -c 3 -i 0.2 -W 2 fd77::1 >/dev/null || fail "ping server -> client v6"

step "VLAN-tagged frames (802.1Q, QinQ) keep their tags, both ways"
VLAN_PY="$(dirname "$0")/vlan.py"
vlan() {  # label srcns dstns
  local label=$1 src=$2 dst=$3 smac dmac
  smac=$(ip netns exec "$src" cat /sys/class/net/eth0/address)
  dmac=$(ip netns exec "$dst" cat /sys/class/net/eth0/address)
  ip netns exec "$dst" timeout 10 python3 "$VLAN_PY" recv eth0 "$smac" 5 >"$TMP/vlan.out" &
  local rpid=$!
  sleep 0.5
  ip netns exec "$src" python3 "$VLAN_PY" send eth0 "$dmac" || fail "VLAN $label: send"
  wait "$rpid" || true
  [ "$(cat "$TMP/vlan.out")" = ok ] || fail "VLAN $label: $(cat "$TMP/vlan.out")"
  echo "  VLAN $label: 802.1Q and QinQ frames arrived with their tags"
}
vlan "client->server" "$NC" "$NS"
vlan "server->client" "$NS" "$NC"

head -c 5000000 /dev/urandom >"$TMP/data"
SUM=$(sha256sum <"$TMP/data" | cut -d' ' -f1)

# One TCP transfer: SRCNS sends the file to DSTNS listening on ADDR:PORT.
cat >"$TMP/xfer.py" <<'PY'
import socket, sys, time
mode, addr, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
if mode == 'recv':
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(1); s.settimeout(30)
    c, _ = s.accept(); c.settimeout(30)
    with open(path, 'wb') as f:
        while True:
            b = c.recv(65536)
            if not b:
                break
            f.write(b)
else:
    # The receiver may still be starting on a loaded machine: a refusal is
    # no failure of the bridge, so try again for a while.
    # Through the proxy the refusal comes as a reset after the handshake.
    # The receiver takes one connection, so a retry cannot hide a failure.
    data = open(path, 'rb').read()
    for i in range(50):
        try:
            s = socket.create_connection((addr, port), timeout=30)
            s.sendall(data)
            break
        except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError):
            if i == 49:
                raise
            time.sleep(0.2)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
PY
xfer() {  # label srcns dstns dstaddr port
  local label=$1 src=$2 dst=$3 addr=$4 port=$5
  rm -f "$TMP/recv"
  ip netns exec "$dst" timeout 40 python3 "$TMP/xfer.py" recv "$addr" "$port" "$TMP/recv" &
  local rpid=$!
  sleep 0.3
  ip netns exec "$src" timeout 40 python3 "$TMP/xfer.py" send "$addr" "$port" "$TMP/data" \
    || fail "TCP $label: sender failed"
  wait "$rpid" || fail "TCP $label: receiver failed"
  [ "$(sha256sum <"$TMP/recv" | cut -d' ' -f1)" = "$SUM" ] || fail "TCP $label: data differs"
  echo "  TCP $label: 5000000 bytes byte-exact"
}
rxstat() { inm cat "/sys/class/net/$1/statistics/rx_$2"; }
step "TCP 5 MB each way, v4 and v6"
B0=$(rxstat wan0 bytes); P0=$(rxstat wan0 packets)
xfer "client->server v4" "$NC" "$NS" 10.77.0.2 5001
B1=$(rxstat wan0 bytes); P1=$(rxstat wan0 packets)
xfer "server->client v4" "$NS" "$NC" 10.77.0.1 5002
xfer "client->server v6" "$NC" "$NS" fd77::2 5003
if [ "$OFFLOADS" = 1 ]; then
  xfer "server->client v6" "$NS" "$NC" fd77::1 5004
  # veth counts one packet per skb: a mean above the MTU means GSO
  # super-frames reached the bridge whole.
  MEAN=$(( (B1 - B0) / (P1 - P0) ))
  echo "  wan0 received $((P1 - P0)) frames, $MEAN bytes each on average, during client->server v4"
  if [ "$(feat "$NC" tcp-segmentation-offload)" = on ]; then
    [ "$MEAN" -gt 1514 ] || fail "client TSO is on but no GSO super-frame reached wan0: the test proves nothing"
  fi
  sleep 1.5     # the daemon's counters are a snapshot of the last second
  "$CTL" -s "$TMP/ctl.sock" stats --json >"$TMP/stats.json" || fail "synguardctl stats"
  # A command the daemon does not know is its usage error, named.
  rc=0; "$CTL" -s "$TMP/ctl.sock" frobnicate 2>"$TMP/ctl.err" || rc=$?
  [ "$rc" -eq 2 ] && grep -q "unknown command 'frobnicate'" "$TMP/ctl.err" \
    || fail "synguardctl frobnicate: exit $rc, $(cat "$TMP/ctl.err")"
  python3 - "$TMP/stats.json" <<'PY' || fail "counters"
import json, sys
c = {k: v["value"] for k, v in json.load(open(sys.argv[1]))["counters"].items()}
for k in ("drop_bad_checksum", "csum_completed", "proxied_established", "rx_bad", "drop_bad_frame"):
    print("  %s=%s" % (k, c.get(k, "absent")))
bad = []
if c.get("drop_bad_checksum", 0) != 0:
    bad.append("drop_bad_checksum is %d, not 0" % c["drop_bad_checksum"])
if c.get("csum_completed", 0) == 0:
    bad.append("no checksum completed: partial checksums never reached the core")
if c.get("proxied_established", 0) < 2:
    bad.append("proxied connections: %d, expected 2" % c.get("proxied_established", 0))
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
fi

step "stop the bridge"
kill -TERM "$BPID"
for _ in $(seq 100); do kill -0 "$BPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$BPID" 2>/dev/null && fail "bridge still running 10 s after SIGTERM"
BRC=0; wait "$BPID" || BRC=$?
[ "$BRC" -eq 0 ] || fail "bridge exited with status $BRC"
BPID=""
cat "$TMP/bridge.out"
if [ "$SGB" = 0 ] && [ "$MODE" = proxy ]; then
  # synguard prints its final counters as "name  value  rate" lines.
  awk '$1 ~ /^(rx_wan_frames|rx_lan_frames|synack_sent|cookie_ok|proxied_established|uplink_tracked)$/ {print "  " $1 "=" $2}' \
    "$TMP/bridge.out" "$TMP/bridge.err"
  PX=$(awk '$1 == "proxied_established" {print $2}' "$TMP/bridge.out" "$TMP/bridge.err" | tail -1)
  [ "${PX:-0}" -ge 2 ] || fail "proxied connections: ${PX:-0}, expected 2"
fi
if [ "$SGB" = 1 ]; then
  # Bridge-only: the workers' "bridged"; proxy: the core's "forwarded".
  if [ "$MODE" = proxy ]; then
    FWD=$(sed -n 's/^proxy:.* forwarded=\([0-9]*\).*/\1/p' "$TMP/bridge.out")
  else
    FWD=$(sed -n 's/^\(.* \)\{0,1\}bridged=\([0-9]*\).*/\2/p' "$TMP/bridge.out")
  fi
  [ -n "$FWD" ] && [ "$FWD" -gt 3000 ] || fail "bridge forwarded ${FWD:-?} frames, expected > 3000"
  if [ "$MODE" = proxy ]; then
    # The two client->server connections (v4, v6) were proxied, through
    # a cookie; the server->client one was tracked as an uplink.
    PX=$(sed -n 's/^proxy:.* proxied_established=\([0-9]*\).*/\1/p' "$TMP/bridge.out")
    [ "${PX:-0}" -ge 2 ] || fail "proxied connections: ${PX:-0}, expected 2"
    grep -q '^proxy:.* cookie_ok=' "$TMP/bridge.out" || fail "no valid cookie seen"
  fi
fi

step "interfaces restored"
for ifc in wan0 lan0; do
  inm ip -d link show "$ifc" | grep -q 'prog/xdp' && fail "$ifc: XDP program left attached"
  inm ip -d link show "$ifc" | grep -q 'promiscuity 0' || fail "$ifc: promiscuity not restored"
done
[ "$(offloads wan0)" = "$BEFORE_WAN" ] || fail "wan0 offloads not restored: $(offloads wan0) vs $BEFORE_WAN"
[ "$(offloads lan0)" = "$BEFORE_LAN" ] || fail "lan0 offloads not restored"
for ifc in wan0 lan0; do
  [ "$(rxq $ifc)" = 1 ] || fail "$ifc queue count not restored: $(rxq $ifc)"
done
if inc ping -c 1 -W 1 10.77.0.2 >/dev/null 2>&1; then
  fail "client still reaches server after the bridge stopped"
fi
echo "PASS: $MODE on $BACKEND, $THREADS thread(s)$([ "$OFFLOADS" = 1 ] && echo ", endpoints with offloads")"
