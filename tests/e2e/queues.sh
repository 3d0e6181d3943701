#!/usr/bin/env bash
# Two queues on veth, AF_XDP in native mode, in namespaces this test
# creates and always deletes:
#
#   [client ns] eth0 ==veth, 2 queues== wan0 [middle ns: synguard] lan0 ==veth, 2== eth0 [server ns]
#     10.79.0.1                                                               10.79.0.2:80
#
#   queues.sh SYNGUARD
#
# 1. synguard --io afxdp --threads 2 binds both queues of both ports in
#    native mode.  On veth a frame arrives on the queue its sender sent it
#    from; the client sends on queue I from CPU I (XPS), and two clients,
#    pinned to CPU 0 and CPU 1, each open 20 real TCP connections through
#    the proxy.  Checked: every request is answered, wan0's XDP counters
#    saw frames on both receive queues, and both workers sent SYN-ACKs
#    (/metrics, per worker).
# 2. With one thread while the peers keep 2 transmit queues, the kernel
#    refuses native XDP on veth (fewer receive queues than the peer's
#    transmit queues): synguard runs in skb mode and says why, with the fix.
#    With the peers at 1 transmit queue, one thread runs native and warns
#    of nothing.
set -euo pipefail

SG=${1:?synguard}
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: needs root (network namespaces, AF_XDP)" >&2
  exit 1
fi
for t in ip ethtool curl python3 timeout taskset; do
  command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/deps.sh test)" >&2; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then
  echo "FAIL: needs 2 CPUs (one sender per queue, each on its own CPU)" >&2
  exit 1
fi

ID="$$$RANDOM"
NC="qc$ID"; NM="qm$ID"; NS="qs$ID"
TMP=$(mktemp -d /tmp/q-e2e-XXXXXX)
SPID=""; HTTPD=""
METRICS=127.0.0.1:9479

stop() {  # pid: TERM, wait up to 5 s, KILL
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  for p in $SPID $HTTPD; do stop "$p"; done
  for n in "$NC" "$NM" "$NS"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/lib.sh"

step "namespaces $NC / $NM / $NS, veth with 2 queues"
for n in "$NC" "$NM" "$NS"; do ip netns add "$n"; ip -n "$n" link set lo up; done
Q="numtxqueues 2 numrxqueues 2"
ip link add "qc$ID" netns "$NC" $Q type veth peer name "qw$ID" netns "$NM" $Q
ip link add "qs$ID" netns "$NS" $Q type veth peer name "ql$ID" netns "$NM" $Q
inc ip link set "qc$ID" name eth0
ins ip link set "qs$ID" name eth0
inm ip link set "qw$ID" name wan0
inm ip link set "ql$ID" name lan0
inc ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
ins ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
inc ip addr add 10.79.0.1/24 dev eth0
ins ip addr add 10.79.0.2/24 dev eth0
inc ip link set eth0 up; ins ip link set eth0 up
inm ip link set wan0 up; inm ip link set lan0 up
# The client sends on queue I from CPU I.
inc sh -c 'echo 1 > /sys/class/net/eth0/queues/tx-0/xps_cpus && echo 2 > /sys/class/net/eth0/queues/tx-1/xps_cpus' \
  || fail "cannot set the client's XPS map"
mkdir -p "$TMP/www"
echo "hello through two queues" >"$TMP/www/index.html"
# Not through ins: $! of a backgrounded function is its subshell's pid.
ip netns exec "$NS" python3 -m http.server 80 --bind 10.79.0.2 --directory "$TMP/www" >/dev/null 2>&1 &
HTTPD=$!
printf 'control = { socket = "%s"; };\nmetrics = { listen = "%s"; };\nlog = { level = "info"; };\n' \
  "$TMP/ctl.sock" "$METRICS" >"$TMP/sg.conf"

start() {  # threads
  : >"$TMP/sg.err"
  ip netns exec "$NM" "$SG" --lan lan0 --wan wan0 --io afxdp --threads "$1" -c "$TMP/sg.conf" \
    >"$TMP/sg.out" 2>"$TMP/sg.err" &
  SPID=$!
  for _ in $(seq 100); do
    inc ping -c 1 -W 0.2 10.79.0.2 >/dev/null 2>&1 && return 0
    kill -0 "$SPID" 2>/dev/null || fail "synguard --threads $1 exited at start"
    sleep 0.1
  done
  fail "no ping through synguard --threads $1 after 10 s"
}
stop_sg() {
  stop "$SPID"
  wait "$SPID" 2>/dev/null || true
  SPID=""
}
xdp_rx() {  # queue: XDP packets wan0 received on it
  inm ethtool -S wan0 | awk -v k="rx_queue_$1_xdp_packets:" '$1 == k { print $2 }'
}
synacks() {  # worker: SYN-ACKs it sent, from /metrics
  inm curl -s --max-time 2 "http://$METRICS/metrics" |
    awk -v w="worker=\"$1\"" '/^synguard_proxy_events_total\{/ && index($0, w) && /event="synack_sent"/ { print $NF }'
}

cat >"$TMP/get.py" <<'PY'
import socket, sys
ok = 0
for i in range(int(sys.argv[2])):
    try:
        s = socket.create_connection((sys.argv[1], 80), timeout=5)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        r = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            r += b
        s.close()
        ok += r.startswith(b"HTTP/1.0 200") and b"two queues" in r
    except OSError as e:
        print("error:", e, file=sys.stderr)
print(ok)
PY

step "synguard --threads 2: native mode on both queues of both ports"
start 2
grep -q 'lan port lan0: afxdp native mode, .*, 2 queues' "$TMP/sg.err" || fail "lan0 not in native mode with 2 queues"
grep -q 'wan port wan0: afxdp native mode, .*, 2 queues' "$TMP/sg.err" || fail "wan0 not in native mode with 2 queues"
grep -q 'falls back' "$TMP/sg.err" && fail "a fallback with 2 queues"

step "two clients, on CPU 0 and CPU 1, 20 connections each"
X0=$(xdp_rx 0); X1=$(xdp_rx 1)
inc taskset -c 0 python3 "$TMP/get.py" 10.79.0.2 20 >"$TMP/c0" 2>"$TMP/c0.err" &
C0=$!
inc taskset -c 1 python3 "$TMP/get.py" 10.79.0.2 20 >"$TMP/c1" 2>"$TMP/c1.err" &
C1=$!
wait "$C0" || true; wait "$C1" || true
echo "  answered: $(cat "$TMP/c0")/20 from CPU 0, $(cat "$TMP/c1")/20 from CPU 1"
[ "$(cat "$TMP/c0")" = 20 ] && [ "$(cat "$TMP/c1")" = 20 ] || fail "requests lost: $(cat "$TMP/c0.err" "$TMP/c1.err")"
D0=$(( $(xdp_rx 0) - X0 )); D1=$(( $(xdp_rx 1) - X1 ))
echo "  wan0 XDP packets: queue 0 $D0, queue 1 $D1"
[ "$D0" -ge 20 ] && [ "$D1" -ge 20 ] || fail "wan0's queues did not both carry the clients' frames ($D0, $D1)"
# /metrics is the control thread's snapshot of the last second.
W0=0; W1=0
for _ in $(seq 30); do
  W0=$(synacks 0); W1=$(synacks 1)
  [ "${W0:-0}" -ge 20 ] && [ "${W1:-0}" -ge 20 ] && break
  sleep 0.2
done
echo "  SYN-ACKs sent: worker 0 ${W0:-none}, worker 1 ${W1:-none}"
[ "${W0:-0}" -ge 20 ] && [ "${W1:-0}" -ge 20 ] || fail "both workers did not answer SYNs (${W0:-none}, ${W1:-none})"
stop_sg

step "synguard --threads 1, the peers with 2 transmit queues: skb mode, and why"
start 1
grep -q 'afxdp skb mode, copy, 1 queue' "$TMP/sg.err" || fail "not in skb mode: the kernel took native XDP after all?"
grep -q 'warning: AF_XDP falls back to skb, copy mode: .*(native, copy).*ENOSPC.*as its peer has transmit queues (ethtool -L PEER tx N' "$TMP/sg.err" \
  || fail "no warning that names the refusal of native mode and its fix"
inc ping -c 2 -i 0.2 -W 1 10.79.0.2 >/dev/null || fail "no ping through skb mode"
stop_sg

step "synguard --threads 1, the peers with 1 transmit queue: native, no warning"
inc ethtool -L eth0 rx 1 tx 1
ins ethtool -L eth0 rx 1 tx 1
start 1
grep -q 'wan port wan0: afxdp native mode, .*, 1 queue,' "$TMP/sg.err" || fail "one queue, not native"
grep -q 'falls back' "$TMP/sg.err" && fail "a fallback warning with matching queue counts"
stop_sg

echo "PASS: AF_XDP native on 2 veth queues, both workers answered SYNs; the veth queue rule is named"
