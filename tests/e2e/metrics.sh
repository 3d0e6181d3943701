#!/usr/bin/env bash
# /metrics end to end, in namespaces this test creates and always deletes:
#
#   [client ns] eth0 --veth-- wan0 [middle ns: synguard] lan0 --veth-- eth0 [server ns]
#     10.78.0.1                                                    10.78.0.2
#
#   metrics.sh SYNGUARD VERSION
#
# synguard proxies with metrics.listen on the middle namespace's loopback;
# the client makes one proxied connection to the server; a scrape with
# curl is parsed by the Prometheus client library's parser
# (metrics_check.py): the handshake histogram counted it, drops have
# reasons, each worker its labels, build info the version.  Also: another
# path is a 404, and a port in use stops a second start with a clear error.
set -euo pipefail

SG=${1:?synguard}
VERSION=${2:?version}
HERE=$(cd "$(dirname "$0")" && pwd)
THREADS=2

if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: needs root (network namespaces, AF_PACKET)" >&2
  exit 1
fi
for t in ip ethtool curl python3 timeout; do
  command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/deps.sh test)" >&2; exit 1; }
done
# Debian's python3-prometheus-client is the system interpreter's, whatever
# python3 comes first in PATH.
PY=/usr/bin/python3
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
  { echo "FAIL: python3-prometheus-client missing (scripts/deps.sh test)" >&2; exit 1; }

ID="$$$RANDOM"
NC="metc$ID"; NM="metm$ID"; NS="mets$ID"
TMP=$(mktemp -d /tmp/met-e2e-XXXXXX)
SPID=""; HOLD=""

cleanup() {
  local rc=$?
  for p in $SPID $HOLD; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
  for n in "$NC" "$NM" "$NS"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/lib.sh"

step "namespaces $NC / $NM / $NS"
ip netns add "$NC"; ip netns add "$NM"; ip netns add "$NS"
Q="numtxqueues 4 numrxqueues 4"
ip link add "mc$ID" netns "$NC" $Q type veth peer name "mw$ID" netns "$NM" $Q
ip link add "ms$ID" netns "$NS" $Q type veth peer name "ml$ID" netns "$NM" $Q
inc ip link set "mc$ID" name eth0
ins ip link set "ms$ID" name eth0
inm ip link set "mw$ID" name wan0
inm ip link set "ml$ID" name lan0
for ns in "$NC" "$NM" "$NS"; do ip netns exec "$ns" ip link set lo up; done
inc ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
ins ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
inc ip addr add 10.78.0.1/24 dev eth0
ins ip addr add 10.78.0.2/24 dev eth0
inc ip link set eth0 up; ins ip link set eth0 up
inm ip link set wan0 up; inm ip link set lan0 up

# A free port of the middle namespace's loopback.
PORT=$(inm python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
cat >"$TMP/sg.conf" <<CONF
control = { socket = "$TMP/ctl.sock"; };
metrics = { listen = "127.0.0.1:$PORT"; };
CONF

step "start synguard with metrics.listen = 127.0.0.1:$PORT"
# Not through inm: $! must be synguard itself, for its exit status.
ip netns exec "$NM" "$SG" --lan lan0 --wan wan0 --io afpacket --threads "$THREADS" -c "$TMP/sg.conf" \
  >"$TMP/sg.out" 2>"$TMP/sg.err" &
SPID=$!
for _ in $(seq 100); do
  inm curl -sf -o /dev/null "$URL/metrics" && break
  kill -0 "$SPID" 2>/dev/null || fail "synguard exited at start"
  sleep 0.1
done
inm curl -sf -o /dev/null "$URL/metrics" || fail "no /metrics after 10 s"

step "a path other than /metrics is a 404"
code=$(inm curl -s -o /dev/null -w '%{http_code}' "$URL/")
[ "$code" = 404 ] || fail "GET / answered $code, not 404"
code=$(inm curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/metrics")
[ "$code" = 404 ] || fail "POST /metrics answered $code, not 404"

step "one proxied connection, client -> server"
ins timeout 20 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.0.2", 8080)); s.listen(1)
c, _ = s.accept(); c.sendall(c.recv(100).upper()); c.close()' &
SRV=$!
sleep 0.3
reply=$(inc timeout 15 python3 -c '
import socket, time
for _ in range(50):
    try:
        s = socket.create_connection(("10.78.0.2", 8080), timeout=5); break
    except OSError:
        time.sleep(0.1)
s.sendall(b"ping"); print(s.recv(100).decode())') || fail "the proxied connection failed"
wait "$SRV" || true
[ "$reply" = PING ] || fail "the server answered '$reply', not PING"

step "scrape and parse (prometheus_client)"
sleep 1.5   # the control thread publishes once a second
inm curl -sf -D "$TMP/headers" "$URL/metrics" >"$TMP/metrics" || fail "scrape failed"
grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/headers" || fail "content type: $(grep -i content-type "$TMP/headers")"
grep -E '^synguard_(handshake_duration_seconds_count|build_info|drops_total\{worker="0",reason="bad_checksum"\})' \
  "$TMP/metrics" | sed 's/^/  /'
"$PY" "$HERE/metrics_check.py" "$VERSION" "$THREADS" <"$TMP/metrics" || fail "the scrape lacks what it must show"

step "a second synguard on the same port: a clear start error"
cat >"$TMP/sg2.conf" <<CONF
control = { socket = "$TMP/ctl2.sock"; };
metrics = { listen = "127.0.0.1:$PORT"; };
CONF
rc=0
inm timeout 20 "$SG" --lan lan0 --wan wan0 --io afpacket -c "$TMP/sg2.conf" \
  >/dev/null 2>"$TMP/sg2.err" || rc=$?
[ "$rc" = 4 ] || fail "second start: exit $rc, not 4"
grep -q "metrics.listen: 127.0.0.1:$PORT: cannot listen: Address already in use" "$TMP/sg2.err" ||
  fail "second start: $(cat "$TMP/sg2.err")"
sed 's/^/  /' "$TMP/sg2.err"
inm curl -sf -o /dev/null "$URL/metrics" || fail "the first synguard stopped serving"

step "stop"
kill -TERM "$SPID"
for _ in $(seq 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SPID" 2>/dev/null && fail "synguard did not stop on SIGTERM"
wait "$SPID" || fail "synguard exited with $?"
SPID=""
echo "PASS"
