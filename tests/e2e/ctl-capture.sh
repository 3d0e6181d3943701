#!/usr/bin/env bash
# synguardctl conns and capture against a live synguard, in namespaces
# this test creates and always deletes (names cap*):
#
#   [client ns] eth0 --veth-- wan0 [middle ns: synguard] lan0 --veth-- eth0 [server ns]
#     10.78.0.1                                                 10.78.0.2
#
#   ctl-capture.sh SYNGUARD SYNGUARDCTL
#
# Checks: usage errors exit 2 and say what was wrong (an unknown reason
# lists the valid ones); capture --reason unknown_connection -c 3 writes
# the first 3 of 5 data segments the client sends for no connection, and
# tcpdump reads them back with their addresses; a capture that catches
# nothing exits 1 after its timeout; conns -j during a transfer lists it
# (JSON validated, fields asserted) and filters that exclude it list
# nothing.
set -euo pipefail

SG=${1:?synguard}
CTL=${2:?synguardctl}
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: needs root (network namespaces, AF_PACKET)" >&2
  exit 1
fi
for t in ip ethtool ping python3 tcpdump nc timeout; do
  command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/deps.sh test)" >&2; exit 1; }
done

# Debian's python3: a pyenv shim first in PATH takes seconds to start.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

ID="$$$RANDOM"
NC="capc$ID"; NM="capm$ID"; NS="caps$ID"
TMP=$(mktemp -d /tmp/sg-cap-XXXXXX)
SOCK="$TMP/ctl.sock"
PIDS=()

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${SGPID:-}" ] && kill -0 "$SGPID" 2>/dev/null; then
    kill -TERM "$SGPID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SGPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SGPID" 2>/dev/null || true
  fi
  # Whatever still runs in our namespaces (a backgrounded ip-netns-exec's
  # child outlives its shell) would keep the test's output open.
  for n in "$NC" "$NM" "$NS"; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$(dirname "$0")/lib.sh"
ctl() { "$CTL" -s "$SOCK" "$@"; }
# expect RC PATTERN CMD...: CMD exits RC and says PATTERN on stderr.
expect() {
  local want=$1 pat=$2 rc=0
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "$*: exit $rc, not $want: $(cat "$TMP/err")"
  grep -q -- "$pat" "$TMP/err" || fail "$*: stderr lacks '$pat': $(cat "$TMP/err")"
}

step "namespaces $NC / $NM / $NS"
ip netns add "$NC"; ip netns add "$NM"; ip netns add "$NS"
ip link add "vc$ID" netns "$NC" type veth peer name "vw$ID" netns "$NM"
ip link add "vs$ID" netns "$NS" type veth peer name "vl$ID" netns "$NM"
inc ip link set "vc$ID" name eth0
ins ip link set "vs$ID" name eth0
inm ip link set "vw$ID" name wan0
inm ip link set "vl$ID" name lan0
for ns in "$NC" "$NM" "$NS"; do ip netns exec "$ns" ip link set lo up; done
inc ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
ins ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
inc ip addr add 10.78.0.1/24 dev eth0
ins ip addr add 10.78.0.2/24 dev eth0
inc ip link set eth0 up; ins ip link set eth0 up
inm ip link set wan0 up; inm ip link set lan0 up

step "start synguard"
printf 'control = { socket = "%s"; };\n' "$SOCK" >"$TMP/sg.conf"
ip netns exec "$NM" "$SG" --lan lan0 --wan wan0 --io afpacket --threads 1 -c "$TMP/sg.conf" \
  >"$TMP/sg.out" 2>"$TMP/sg.err" &
SGPID=$!
for _ in $(seq 100); do
  inc ping -c 1 -W 0.1 10.78.0.2 >/dev/null 2>&1 && [ -S "$SOCK" ] && break
  kill -0 "$SGPID" 2>/dev/null || fail "synguard exited at start"
  sleep 0.1
done
[ -S "$SOCK" ] || fail "no control socket after 10 s"

step "usage errors exit 2"
expect 2 "--reason is required" ctl capture -w "$TMP/x.pcap"
expect 2 "-w FILE is required" ctl capture --reason all
expect 2 "unknown option" ctl capture --reason all -w "$TMP/x.pcap" --frobnicate
expect 2 "unknown reason 'frobnicate' (one of: all, bad_frame, bad_checksum, cookie_invalid, unknown_connection" \
  ctl capture --reason frobnicate -w "$TMP/x.pcap"
expect 2 "count '0'" ctl capture --reason all -c 0 -w "$TMP/x.pcap"
expect 2 "state 'bogus': unknown (one of: syn_sent" ctl conns state bogus
expect 2 "src '10.0.0.0/33': not an IPv4 or IPv6" ctl conns src 10.0.0.0/33
expect 2 "limit '0'" ctl conns limit 0
expect 2 "'dport' needs a value" ctl conns dport
expect 2 "unknown filter 'colour'" ctl conns colour red

step "capture --reason unknown_connection -c 3 while the client sends 5 segments for no connection"
ctl -j capture --reason unknown_connection -c 3 -t 20 -w "$TMP/f.pcap" >"$TMP/cap.json" 2>"$TMP/cap.err" &
CAPPID=$!
PIDS+=("$CAPPID")
sleep 1
# ACKs with 10 bytes of data from 10.78.0.1:5550+i to 10.78.0.2:8080,
# which synguard has no connection for (a raw socket: no handshake).
inc "$PY" - <<'PY'
import socket, struct
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst = socket.inet_aton('10.78.0.1'), socket.inet_aton('10.78.0.2')
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for i in range(5):
    data = b'capture-%d!' % i
    hdr = struct.pack('!HHIIBBHHH', 5550 + i, 8080, 1000 + i, 2000, 5 << 4, 0x18, 512, 0, 0)
    c = csum(src + dst + struct.pack('!BBH', 0, 6, len(hdr) + len(data)) + hdr + data)
    hdr = hdr[:16] + struct.pack('!H', c) + hdr[18:]
    s.sendto(hdr + data, ('10.78.0.2', 0))
PY
rc=0; wait "$CAPPID" || rc=$?
[ "$rc" -eq 0 ] || fail "capture exit $rc: $(cat "$TMP/cap.err")"
"$PY" - "$TMP/cap.json" <<'PY' || fail "capture -j: $(cat "$TMP/cap.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["frames"] == 3 and j["reason"] == "unknown_connection" and j["ended"] == "count", j
PY
tcpdump -nn -r "$TMP/f.pcap" >"$TMP/f.txt" 2>"$TMP/tcpdump.err" || fail "tcpdump -r: $(cat "$TMP/tcpdump.err")"
sed 's/^/  /' "$TMP/f.txt"
[ "$(wc -l <"$TMP/f.txt")" -eq 3 ] || fail "tcpdump reads $(wc -l <"$TMP/f.txt") frames, not 3"
for i in 0 1 2; do
  grep -q "IP 10.78.0.1.555$i > 10.78.0.2.8080: Flags \[P.\].*length 10" "$TMP/f.txt" ||
    fail "frame $i (10.78.0.1.555$i > 10.78.0.2.8080) is not in the capture"
done
grep -q "EN10MB" "$TMP/tcpdump.err" || fail "the capture is not linktype Ethernet: $(cat "$TMP/tcpdump.err")"

step "capture of another reason catches nothing and exits 1 after its timeout"
expect 1 "no frame dropped for reason table_full in 1 s" \
  ctl capture --reason table_full -t 1 -w "$TMP/none.pcap"
tcpdump -r "$TMP/none.pcap" >/dev/null 2>&1 || fail "an empty capture is not a readable pcap"

step "conns during a transfer"
ip netns exec "$NS" nc -l 8080 >/dev/null 2>"$TMP/nc-server.err" &
PIDS+=($!)
sleep 0.3
(for _ in $(seq 40); do head -c 2000 /dev/zero; sleep 0.25; done) | ip netns exec "$NC" nc 10.78.0.2 8080 >/dev/null 2>"$TMP/nc-client.err" &
PIDS+=($!)
sleep 1
ctl conns -j >"$TMP/conns.json" || fail "conns -j: exit $?"
"$PY" - "$TMP/conns.json" <<'PY' || fail "conns -j: $(cat "$TMP/conns.json")"
import json, sys
j = json.load(open(sys.argv[1]))
c = [c for c in j["connections"] if c["dport"] == 8080]
assert len(c) == 1, j
c = c[0]
assert c["family"] == 4 and c["src"] == "10.78.0.1" and c["dst"] == "10.78.0.2", c
assert c["state"] == "established" and c["proxied"] is True and c["opened_from"] == "wan", c
assert c["sport"] > 1023 and c["mss"] > 0 and c["expires_in_ms"] > 0, c
for k in ("idle_ms", "worker", "seq_offset", "ts_offset", "client_wscale",
          "server_wscale", "sack", "timestamps", "vlan"):
    assert k in c, k
assert j["shown"] == len(j["connections"]) and j["not_shown"] == 0 and j["limit"] == 1000, j
PY
ctl conns src 10.78.0.1 dport 8080 state established >"$TMP/conns.txt" || fail "conns with a filter"
grep -q "^10.78.0.1 [0-9]* -> 10.78.0.2 8080  established proxied" "$TMP/conns.txt" ||
  fail "conns: $(cat "$TMP/conns.txt")"
for f in "dport 9999" "src 10.99.0.0/16" "dst fd78::/64" "state time_wait" "wan 10.78.0.2/32"; do
  # shellcheck disable=SC2086
  ctl -j conns $f >"$TMP/none.json" || fail "conns $f: exit $?"
  "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["shown"] == 0 and j["connections"] == [], j' \
    "$TMP/none.json" || fail "conns $f lists: $(cat "$TMP/none.json")"
done
ctl conns dport 9999 | grep -q "no connection matches" || fail "conns dport 9999 says: $(ctl conns dport 9999)"
ctl conns limit 1 src 10.78.0.0/24 | grep -q "10.78.0.1" || fail "conns limit 1"
echo "PASS"
