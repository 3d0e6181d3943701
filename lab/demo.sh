#!/usr/bin/env bash
# The synguard demo: a protected web server, a legitimate client and an
# attacker, all in network namespaces this script creates and deletes.
#
#   [client ns] --+
#                 +-- br0 [wan ns] -- wan0 [synguard ns] lan0 -- [server ns]
#   [attack ns] --+                                         10.88.0.2, fd88::2
#   10.88.0.1, fd88::1 (client)                              HTTP on port 80
#
# While the attacker floods port 80 with SYNs from random sources
# (trafgen, bounded in time and rate), the client fetches a page over IPv4
# and IPv6 through synguard.  Every second: synguard's counters.  At the
# end: SYNs absorbed, SYN-ACKs sent, legitimate requests ok / total, and
# attacker SYNs that reached the server (counted by nftables there).  A
# long-lived connection runs throughout, and synguard is sent SIGHUP
# (config reload) mid-flood.  Exits 0 only if every legitimate request
# succeeded, no attacker SYN reached the server, and the long-lived
# connection survived the reload.
#
# Then the same flood (--kernel-seconds, default 3) against the Linux
# kernel's SYN proxy in synguard's place: the nftables synproxy on a bridge
# in the same namespace (lab/kernel-synproxy.sh; it protects IPv4 only,
# IPv6 crosses it unproxied), the same requests every second, and both
# summaries side by side.  That part is for comparison: it does not decide
# PASS or FAIL.
#
#   lab/demo.sh [--io auto|afxdp|afpacket] [--seconds N] [--threads N] [--rate PPS]
#               [--kernel-seconds N]    (0: no kernel synproxy run)
#               [--plot FILE.png]       (synguard's rates during the run,
#                                        recorded with synguardctl top --csv,
#                                        drawn by lab/plot-rates.sh)
# The flood is bounded in time and, by default, in rate (trafgen's slow
# mode, about 20 k SYNs/s here), so the demo measures synguard rather than
# two shared cores; --rate 0 lets trafgen send as fast as it can, and then
# the kernel may drop legitimate frames too before synguard sees them.
set -euo pipefail

IO=auto
SECS=10
THREADS=1
RATE=20000
KSECS=3
PLOT=""
while [ $# -gt 0 ]; do
  case $1 in
    --io) IO=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --kernel-seconds) KSECS=$2; shift 2 ;;
    --plot) PLOT=$2; shift 2 ;;
    -h|--help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1" >&2; exit 2 ;;
  esac
done

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
SG=$BUILD/src/daemon/synguard
CTL=$BUILD/tools/synguardctl
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (namespaces, AF_XDP/AF_PACKET)" >&2; exit 1; }
[ -x "$SG" ] && [ -x "$CTL" ] || { echo "demo: build first (make)" >&2; exit 1; }
for t in ip ethtool curl trafgen nft python3 ping; do
  command -v "$t" >/dev/null || { echo "demo: $t missing: run scripts/deps.sh demo" >&2; exit 1; }
done

ID="$$"
NC="sgdc$ID"; NA="sgda$ID"; NW="sgdw$ID"; NM="sgdm$ID"; NS="sgds$ID"
TMP=$(mktemp -d /tmp/sg-demo-XXXXXX)
SGPID=""; SRVPID=""

cleanup() {
  local rc=$?
  if [ -n "$SGPID" ] && kill -0 "$SGPID" 2>/dev/null; then
    kill -TERM "$SGPID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SGPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SGPID" 2>/dev/null || true
  fi
  [ -n "$SRVPID" ] && kill "$SRVPID" 2>/dev/null || true
  jobs -p | xargs -r kill 2>/dev/null || true
  for n in "$NC" "$NA" "$NW" "$NM" "$NS"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT INT TERM
say() { echo "demo: $*"; }

say "building the lab: namespaces, a WAN switch, synguard between WAN and LAN"
for n in "$NC" "$NA" "$NW" "$NM" "$NS"; do ip netns add "$n"; ip -n "$n" link set lo up; done
Q="numtxqueues $THREADS numrxqueues $THREADS"
ip link add "dc$ID" netns "$NC" type veth peer name "pc$ID" netns "$NW"
ip link add "da$ID" netns "$NA" type veth peer name "pa$ID" netns "$NW"
ip link add "dw$ID" netns "$NW" $Q type veth peer name "wan0" netns "$NM" $Q
ip link add "ds$ID" netns "$NS" $Q type veth peer name "lan0" netns "$NM" $Q
ip -n "$NC" link set "dc$ID" name eth0
ip -n "$NA" link set "da$ID" name eth0
ip -n "$NS" link set "ds$ID" name eth0
ip -n "$NW" link add br0 type bridge
for p in "pc$ID" "pa$ID" "dw$ID"; do ip -n "$NW" link set "$p" master br0; done
# Offloads off on every veth end (shared/machine.md): otherwise the
# endpoints hand synguard GSO super-frames that never were on a wire.
for x in "$NC:eth0" "$NA:eth0" "$NS:eth0" "$NW:pc$ID" "$NW:pa$ID" "$NW:dw$ID"; do
  ip netns exec "${x%%:*}" ethtool -K "${x#*:}" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
done
for x in "$NC:eth0" "$NA:eth0" "$NS:eth0" "$NW:pc$ID" "$NW:pa$ID" "$NW:dw$ID" "$NW:br0" "$NM:wan0" "$NM:lan0"; do
  ip -n "${x%%:*}" link set "${x#*:}" up
done
ip -n "$NC" addr add 10.88.0.1/24 dev eth0
ip -n "$NC" addr add fd88::1/64 dev eth0 nodad
ip -n "$NS" addr add 10.88.0.2/24 dev eth0
ip -n "$NS" addr add fd88::2/64 dev eth0 nodad
ip -n "$NA" addr add 10.88.0.66/24 dev eth0

# The server counts SYNs that did not come from the client: attacker SYNs
# that got through.  synguard's own SYNs carry the client's address.
ip netns exec "$NS" nft -f - <<'EOF'
table inet demo {
  chain input {
    type filter hook input priority 0;
    tcp dport 80 tcp flags & (syn|ack) == syn ip saddr != 10.88.0.1 counter name attack4
    tcp dport 80 tcp flags & (syn|ack) == syn ip6 saddr != fd88::1 counter name attack6
  }
  counter attack4 { }
  counter attack6 { }
}
EOF
mkdir -p "$TMP/www"
echo "hello from behind synguard" >"$TMP/www/index.html"
ip netns exec "$NS" python3 -m http.server 80 --bind :: --directory "$TMP/www" >/dev/null 2>&1 &
SRVPID=$!
# The first request must not race the server's start (python takes a
# second or more on a busy machine): wait until it listens.  (Not by
# asking it: a local request would count as an attacker SYN above.)
for _ in $(seq 100); do
  [ -n "$(ip netns exec "$NS" ss -Hltn 'sport = :80')" ] && break
  sleep 0.1
done

cat >"$TMP/synguard.conf" <<EOF
control = { socket = "$TMP/ctl.sock"; };
log = { level = "notice"; };
EOF
# trafgen gets CPU 0; synguard's workers the others when there are any.
PIN=()
[ "$(nproc)" -gt "$THREADS" ] && PIN=(--cpus "1-$THREADS")
say "starting synguard --io $IO --threads $THREADS ${PIN[*]}"
ip netns exec "$NM" "$SG" --lan lan0 --wan wan0 --io "$IO" --threads "$THREADS" "${PIN[@]}" -c "$TMP/synguard.conf" \
  2>"$TMP/synguard.err" &
SGPID=$!
for _ in $(seq 100); do
  ip netns exec "$NC" ping -c 1 -W 0.2 10.88.0.2 >/dev/null 2>&1 && break
  kill -0 "$SGPID" 2>/dev/null || { cat "$TMP/synguard.err" >&2; say "synguard did not start"; exit 1; }
  sleep 0.1
done
sed 's/^/  /' "$TMP/synguard.err"
for _ in $(seq 50); do [ -S "$TMP/ctl.sock" ] && break; sleep 0.1; done
REC=""
if [ -n "$PLOT" ]; then
  command -v gnuplot >/dev/null || { say "--plot: gnuplot missing: scripts/deps.sh demo"; exit 1; }
  "$CTL" -s "$TMP/ctl.sock" top --csv >"$TMP/rates.csv" 2>/dev/null &
  REC=$!
fi

stat() {  # prints the counter values named, from synguardctl --json
  ip netns exec "$NM" "$CTL" -s "$TMP/ctl.sock" stats --json | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
print(" ".join(str(c.get(k, {"value": 0})["value"]) for k in sys.argv[1:]))' "$@"
}

ok=0; total=0
fetch() {  # addr
  total=$((total + 1))
  if ip netns exec "$NC" curl -s -g --max-time 8 "http://$1/" 2>/dev/null | grep -q "hello from behind synguard"; then
    ok=$((ok + 1)); return 0
  fi
  return 1
}
say "before the flood: one request each over IPv4 and IPv6"
fetch 10.88.0.2 || say "  IPv4 request failed"
fetch "[fd88::2]" || say "  IPv6 request failed"

SRV_MAC=$(ip netns exec "$NS" cat /sys/class/net/eth0/address)
cat >"$TMP/syn.cfg" <<EOF
{
  eth(da=$SRV_MAC, sa=02:00:00:00:66:66, type=0x0800),
  ipv4(saddr=drnd(), daddr=10.88.0.2, ttl=64),
  tcp(sp=drnd(), dp=80, seq=drnd(), syn, win=64240),
  fill(0x00, 6)
}
EOF
GAP=()
[ "$RATE" -gt 0 ] && GAP=(-t "$(( 1000000 / RATE > 0 ? 1000000 / RATE : 1 ))us")
# A long-lived connection through the proxy must outlive the flood and a
# SIGHUP reload: it echoes a line every half second until the end.
cat >"$TMP/echo.py" <<'PY'
import socket, sys, time
mode, addr = sys.argv[1], sys.argv[2]
if mode == 'server':
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::', 7)); s.listen(4)
    while True:
        c, _ = s.accept()
        while True:
            b = c.recv(4096)
            if not b:
                break
            c.sendall(b)
        c.close()
else:
    s = socket.create_connection((addr, 7), timeout=10)
    for i in range(int(sys.argv[3])):
        line = ('line %d\n' % i).encode()
        s.sendall(line)
        got = b''
        while len(got) < len(line):
            got += s.recv(4096)
        if got != line:
            sys.exit('echo mismatch at line %d' % i)
        time.sleep(0.5)
    print('ok')
PY
ip netns exec "$NS" python3 "$TMP/echo.py" server :: >/dev/null 2>&1 &
ECHOSRV=$!
# Listening before the client connects: through a SYN proxy the client's
# connect() succeeds on the proxy's cookie, and a server not yet
# listening then resets the connection the test wants to keep.
for _ in $(seq 100); do
  [ -n "$(ip netns exec "$NS" ss -Hltn 'sport = :7')" ] && break
  sleep 0.1
done
ip netns exec "$NC" timeout $((SECS + 20)) python3 "$TMP/echo.py" client 10.88.0.2 $((SECS * 2 + 4)) \
  >"$TMP/echo.out" 2>&1 &
ECHO=$!
say "flood: ${SECS} s of SYNs with random sources from the attacker, curl every second"
ip netns exec "$NA" timeout -s INT "$SECS" taskset -c 0 trafgen --dev eth0 --conf "$TMP/syn.cfg" --cpus 1 \
  "${GAP[@]}" -Q >/dev/null 2>&1 &
TG=$!
printf "demo:   %4s %12s %12s %12s %10s %10s\n" "t/s" "syn_rx" "synack_tx" "proxied" "drops" "legit"
t=0
while kill -0 "$TG" 2>/dev/null; do
  sleep 1; t=$((t + 1))
  r4=fail; r6=fail
  fetch 10.88.0.2 && r4=ok
  fetch "[fd88::2]" && r6=ok
  # After the first second: on a busy machine one round of this loop can
  # outlast a short flood, and a later round might never come.
  if [ "$t" -eq 1 ]; then
    sed -i 's/level = "notice"/level = "info"/' "$TMP/synguard.conf"
    kill -HUP "$SGPID"
    say "  sent SIGHUP (log.level notice -> info): the long-lived connection must go on"
  fi
  read -r syn sa px dr < <(stat syn_received synack_sent proxied_established dropped)
  printf "demo:   %4d %12s %12s %12s %10s %10s\n" "$t" "$syn" "$sa" "$px" "$dr" "v4 $r4, v6 $r6"
done
wait "$TG" 2>/dev/null || true
say "after the flood: one more request each"
fetch 10.88.0.2 || say "  IPv4 request failed"
fetch "[fd88::2]" || say "  IPv6 request failed"
if [ -n "$REC" ]; then
  sleep 1    # the rates of the last second
  kill "$REC" 2>/dev/null || true
  wait "$REC" 2>/dev/null || true
  "$TOP/lab/plot-rates.sh" "$TMP/rates.csv" "$PLOT" "synguard under a trafgen SYN flood capped at ${RATE}/s (lab/demo.sh)" \
    || say "--plot: no plot drawn"
fi

echo_ok=0
wait "$ECHO" && grep -q '^ok$' "$TMP/echo.out" && echo_ok=1
kill "$ECHOSRV" 2>/dev/null || true
reloaded=0
grep -q 'SIGHUP: configuration .* applied' "$TMP/synguard.err" && reloaded=1
read -r syn sa px < <(stat syn_received synack_sent proxied_established)
a4=$(ip netns exec "$NS" nft list counter inet demo attack4 | sed -n 's/.*packets \([0-9]*\).*/\1/p')
a6=$(ip netns exec "$NS" nft list counter inet demo attack6 | sed -n 's/.*packets \([0-9]*\).*/\1/p')
attack=$(( ${a4:-0} + ${a6:-0} ))

# ---- the same flood against the kernel's SYN proxy, in synguard's place ----
k_state="not run (--kernel-seconds 0)"
k_syn=0; k_valid=0; k_attack=0; k_ok=0; k_total=0
kernel_phase() {
  say "the same flood against the Linux kernel's SYN proxy: synguard stops, the nftables"
  say "  synproxy on a bridge takes its place (lab/kernel-synproxy.sh; IPv4 proxied, IPv6 bridged)"
  kill -TERM "$SGPID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$SGPID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SGPID" 2>/dev/null || true
  wait "$SGPID" 2>/dev/null || true
  SGPID=""
  if ! ksp_up "$NM" wan0 lan0 10.88.0.254/24 10.88.0.66 80 2>"$TMP/ksp.err"; then
    k_state="could not be set up: $(tail -2 "$TMP/ksp.err" | tr '\n' ' ')"
    return 0
  fi
  local up=0
  for _ in $(seq 50); do
    ip netns exec "$NC" ping -c 1 -W 0.2 10.88.0.2 >/dev/null 2>&1 && { up=1; break; }
    sleep 0.1
  done
  [ "$up" = 1 ] || { k_state="no ping through the bridge"; return 0; }
  local s0 i0 v0 s1 i1 v1 b4 b6 n4 n6 t=0 r4 r6 syn valid tg
  read -r s0 i0 v0 < <(ksp_counters "$NM")
  b4=$(ip netns exec "$NS" nft list counter inet demo attack4 | sed -n 's/.*packets \([0-9]*\).*/\1/p')
  b6=$(ip netns exec "$NS" nft list counter inet demo attack6 | sed -n 's/.*packets \([0-9]*\).*/\1/p')
  ok=0; total=0
  fetch 10.88.0.2 || say "  IPv4 request failed"
  fetch "[fd88::2]" || say "  IPv6 request failed"
  ip netns exec "$NA" timeout -s INT "$KSECS" taskset -c 0 trafgen --dev eth0 --conf "$TMP/syn.cfg" --cpus 1 \
    "${GAP[@]}" -Q >/dev/null 2>&1 &
  tg=$!
  printf "demo:   %4s %12s %12s %10s\n" "t/s" "syn_received" "cookie_valid" "legit"
  while kill -0 "$tg" 2>/dev/null; do
    sleep 1; t=$((t + 1))
    r4=fail; r6=fail
    fetch 10.88.0.2 && r4=ok
    fetch "[fd88::2]" && r6=ok
    read -r syn _ valid < <(ksp_counters "$NM")
    printf "demo:   %4d %12s %12s %10s\n" "$t" "$((syn - s0))" "$((valid - v0))" "v4 $r4, v6 $r6"
  done
  wait "$tg" 2>/dev/null || true
  fetch 10.88.0.2 || say "  IPv4 request failed"
  fetch "[fd88::2]" || say "  IPv6 request failed"
  read -r s1 i1 v1 < <(ksp_counters "$NM")
  n4=$(ip netns exec "$NS" nft list counter inet demo attack4 | sed -n 's/.*packets \([0-9]*\).*/\1/p')
  n6=$(ip netns exec "$NS" nft list counter inet demo attack6 | sed -n 's/.*packets \([0-9]*\).*/\1/p')
  k_syn=$((s1 - s0)); k_valid=$((v1 - v0))
  k_attack=$(( ${n4:-0} - ${b4:-0} + ${n6:-0} - ${b6:-0} ))
  k_ok=$ok; k_total=$total
  k_state=ok
  ksp_down "$NM"
}
sg_ok=$ok; sg_total=$total
if [ "$KSECS" -gt 0 ]; then
  . "$TOP/lab/kernel-synproxy.sh"
  kernel_phase
fi

echo
echo "synguard demo summary ($IO, $THREADS thread(s), ${SECS} s flood)"
echo "  SYNs absorbed by synguard:         $syn"
echo "  SYN-ACKs (cookies) sent:           $sa"
echo "  connections proxied to the server: $px"
echo "  legitimate requests ok / total:    $sg_ok / $sg_total"
echo "  attacker SYNs that reached server: $attack"
echo "  long-lived connection across SIGHUP: $([ $echo_ok = 1 ] && echo ok || echo FAILED: $(cat "$TMP/echo.out"))"
echo "  configuration reloaded on SIGHUP:  $([ $reloaded = 1 ] && echo yes || echo no)"
echo
echo "side by side: the same lab and flood (trafgen, random sources, $([ "$RATE" -gt 0 ] && echo "about $((RATE / 1000)) k SYNs/s" || echo "as fast as it goes"))"
if [ "$k_state" = ok ]; then
  printf "  %-38s %20s %20s\n" "" "synguard ($IO)" "kernel nft synproxy"
  printf "  %-38s %20s %20s\n" "flood seconds" "$SECS" "$KSECS"
  printf "  %-38s %20s %20s\n" "SYNs answered with a cookie" "$sa" "$k_syn"
  printf "  %-38s %20s %20s\n" "  per second" "$((sa / SECS))" "$((k_syn / KSECS))"
  printf "  %-38s %20s %20s\n" "connections opened to the server" "$px" "$k_valid"
  printf "  %-38s %20s %20s\n" "legitimate requests ok / total" "$sg_ok / $sg_total" "$k_ok / $k_total"
  printf "  %-38s %20s %20s\n" "attacker SYNs that reached the server" "$attack" "$k_attack"
  echo "  (the kernel's column: /proc/net/stat/synproxy syn_received and cookie_valid; it proxies"
  echo "  IPv4 only, its IPv6 requests crossed the bridge unproxied; lab/bench measures both at rising rates)"
else
  echo "  kernel nft synproxy: $k_state"
fi
ok=$sg_ok; total=$sg_total
if [ "$ok" -eq "$total" ] && [ "$attack" -eq 0 ] && [ "$syn" -gt 0 ] && [ "$echo_ok" = 1 ] && [ "$reloaded" = 1 ]; then
  echo "PASS"
  exit 0
fi
echo "FAIL"
# synguard's log and, as it exits, its counters: the nonzero ones.
grep -vE '^[a-z0-9_]+ +0 +[0-9.]+/s$' "$TMP/synguard.err" | sed 's/^/  synguard: /' | tail -40
exit 1
