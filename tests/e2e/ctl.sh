#!/usr/bin/env bash
# synguardctl against a running synguard (proxy mode, afpacket, 1 worker)
# between a client and a server in namespaces this test creates and
# always deletes:
#
#   [client ns] eth0 --veth-- wan0 [synguard ns] lan0 --veth-- eth0 [server ns]
#     10.78.0.1                                                 10.78.0.2
#
#   ctl.sh SYNGUARD SYNGUARDCTL
#
# Checks: every command's JSON parses, with the field names synguardctl(8)
# documents; a pin added over the socket changes the MSS the next client
# is offered, and removing it changes it back; a policy rule added over the
# socket drops a port's new connections, and removing it lets them through;
# a reload (SIGHUP) goes back to the file, as the replies say; top's frames,
# CSV and JSON; usage errors exit 2, an unreachable daemon 3.
set -euo pipefail

SG=${1:?synguard}
CTL=${2:?synguardctl}
[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root (network namespaces, AF_PACKET)" >&2; exit 1; }
for t in ip ethtool ping python3 timeout tcpdump; do
  command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/deps.sh test)" >&2; exit 1; }
done

ID="$$$RANDOM"
NC="ctloc$ID"; NM="ctlom$ID"; NS="ctlos$ID"
TMP=$(mktemp -d /tmp/sg-ctl-XXXXXX)
SGPID=""; SRVPID=""

cleanup() {
  local rc=$?
  if [ -n "$SGPID" ] && kill -0 "$SGPID" 2>/dev/null; then
    kill -TERM "$SGPID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SGPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SGPID" 2>/dev/null || true
  fi
  [ -n "$SRVPID" ] && kill "$SRVPID" 2>/dev/null || true
  for n in "$NC" "$NM" "$NS"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASS=0
. "$(dirname "$0")/lib.sh"
ok() { PASS=$((PASS + 1)); echo "  ok: $*"; }
ctl() { "$CTL" -s "$TMP/ctl.sock" "$@"; }

# json FILE PYTHON-EXPR: the expression, on the parsed document j, must hold.
json() {
  python3 - "$1" "$2" <<'PY' || fail "$(basename "$1"): $2 does not hold: $(head -c 600 "$1")"
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}
# expect_rc RC WORDS MESSAGE-PART CMD...: exit status and a word of stderr.
expect_rc() {
  local want=$1 part=$2 rc=0; shift 2
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  [ "$rc" = "$want" ] || fail "$*: exit $rc, want $want ($(cat "$TMP/err"))"
  grep -q -- "$part" "$TMP/err" || fail "$*: stderr lacks '$part': $(cat "$TMP/err")"
  ok "$* -> exit $want"
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

# A server that accepts on 8080 and 8081 and closes.
cat >"$TMP/srv.py" <<'PY'
import selectors, socket
sel = selectors.DefaultSelector()
for port in (8080, 8081):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('10.78.0.2', port)); s.listen(64); sel.register(s, selectors.EVENT_READ)
while True:
    for k, _ in sel.select():
        c, _ = k.fileobj.accept(); c.close()
PY
# A connection from the client: "ok", or "timeout".
cat >"$TMP/cli.py" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(float(sys.argv[2]))
try:
    s.connect(('10.78.0.2', int(sys.argv[1])))
except OSError:
    print('timeout'); sys.exit(0)
print('ok')
PY
connect() { inc python3 "$TMP/cli.py" "$@"; }
# The MSS option of the SYN-ACK a new client connection to PORT gets (the
# client's socket would not say: Linux bounds its MSS to half the largest
# window seen, and synguard's SYN-ACK opens with a small one).
synack_mss() {
  inc timeout 10 tcpdump -i eth0 -nn -l -c 1 -v "tcp src port $1 and tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)" \
    >"$TMP/dump.txt" 2>/dev/null &
  local dpid=$!
  sleep 0.5    # tcpdump listening
  [ "$(connect "$1" 5)" = ok ] || fail "a client connection to port $1 failed"
  wait "$dpid" || true
  grep -o 'mss [0-9]*' "$TMP/dump.txt" | head -1 | cut -d' ' -f2
}
ip netns exec "$NS" python3 "$TMP/srv.py" &
SRVPID=$!

step "start synguard"
printf 'control = {\n  socket = "%s";\n};\n' "$TMP/ctl.sock" >"$TMP/sg.conf"
ip netns exec "$NM" "$SG" --lan lan0 --wan wan0 --io afpacket --threads 1 -c "$TMP/sg.conf" \
  >"$TMP/sg.out" 2>"$TMP/sg.err" &
SGPID=$!
for _ in $(seq 100); do
  inc ping -c 1 -W 0.1 10.78.0.2 >/dev/null 2>&1 && break
  kill -0 "$SGPID" 2>/dev/null || fail "synguard exited at start"
  sleep 0.1
done
[ -S "$TMP/ctl.sock" ] || fail "no control socket"
MSS0=$(synack_mss 8080)
[ -n "$MSS0" ] && [ "$MSS0" -gt 1000 ] || fail "first connection: SYN-ACK MSS '$MSS0', want > 1000"
ok "a client connects through synguard; its SYN-ACK offers MSS $MSS0"

step "status"
ctl -j status >"$TMP/status.json" || fail "status -j"
json "$TMP/status.json" "set(j) == {'pid', 'version', 'uptime_s', 'mode', 'workers', 'ports', 'table', 'syn_cache', 'learn'}"
json "$TMP/status.json" "j['pid'] == $SGPID and j['mode'] == 'proxy' and j['workers'] == 1"
json "$TMP/status.json" "[p['port'] for p in j['ports']] == ['lan', 'wan'] and [p['ifname'] for p in j['ports']] == ['lan0', 'wan0']"
json "$TMP/status.json" "all(set(p) == {'port', 'ifname', 'backend', 'queues', 'mode'} and p['backend'] == 'afpacket' and p['queues'] == 1 for p in j['ports'])"
json "$TMP/status.json" "set(j['table']) == {'entries', 'capacity', 'states'} and j['table']['capacity'] > 0"
json "$TMP/status.json" "set(j['table']['states']) == {'syn_sent', 'up_syn_sent', 'up_syn_recv', 'established', 'fin_wait', 'closing', 'time_wait', 'closed'}"
# The connection above is in the table still (closing or time_wait).
json "$TMP/status.json" "sum(j['table']['states'].values()) == j['table']['entries'] >= 1"
json "$TMP/status.json" "set(j['syn_cache']) == {'entries', 'cookies_only_workers'} and set(j['learn']) == {'entries', 'pins'}"
json "$TMP/status.json" "j['learn']['entries'] >= 1"
ctl status | grep -q "^pid *$SGPID$" || fail "status text: no pid line"
ok "status: JSON fields and values, text"

step "stats"
ctl -j stats >"$TMP/stats.json" || fail "stats -j"
json "$TMP/stats.json" "all(k in j['counters'] for k in ('syn_received', 'cookie_ok', 'halfopen_entries', 'halfopen_added', 'halfopen_taken', 'halfopen_to_cookies', 'learn_entries', 'conntrack_entries'))"
json "$TMP/stats.json" "j['counters']['syn_received']['value'] >= 1 and set(j['counters']['syn_received']) == {'value', 'rate'}"
ok "stats: the SYN cache's and learn table's counters"

step "pins: add changes what the next client is offered"
ctl -j pins >"$TMP/pins.json" || fail "pins -j"
json "$TMP/pins.json" "j == {'pins': []}"
ctl -j pins add 10.78.0.2/32 port 8080 mss 1000 sack off >"$TMP/pinadd.json" || fail "pins add"
json "$TMP/pinadd.json" "j['saved'] is False and j['pinned'] == {'dst': '10.78.0.2/32', 'port': 8080, 'mss': 1000, 'wscale': None, 'sack': False, 'timestamps': None}"
ctl pins add 10.78.0.0/24 wscale 3 | grep -q "not saved to the configuration file" || fail "pins add: the reply does not say it is not saved"
ctl pins >"$TMP/pins.txt"
printf '10.78.0.2/32 port 8080 mss 1000 sack off\n10.78.0.0/24 wscale 3\n' | cmp -s - "$TMP/pins.txt" \
  || fail "pins lists: $(cat "$TMP/pins.txt")"
MSS1=$(synack_mss 8080)
[ "$MSS1" = 1000 ] || fail "with mss 1000 pinned the SYN-ACK offers MSS '$MSS1'"
ok "pinned mss 1000: the SYN-ACK offers MSS $MSS1 (was $MSS0)"
ctl -j status >"$TMP/status2.json"
json "$TMP/status2.json" "j['learn']['pins'] == 2"
ctl -j pins del 10.78.0.2/32 port 8080 >"$TMP/pindel.json" || fail "pins del"
json "$TMP/pindel.json" "j['removed']['mss'] == 1000 and j['saved'] is False"
MSS2=$(synack_mss 8080)
[ "$MSS2" = "$MSS0" ] || fail "after pins del the SYN-ACK offers MSS '$MSS2', want $MSS0"
ok "pin removed: MSS $MSS2 again"
expect_rc 2 "mss 100 is out of range" ctl pins add 10.78.0.2/32 mss 100
expect_rc 2 "not a prefix" ctl pins add 10.78.0.2/33 mss 1200
expect_rc 2 "pins nothing" ctl pins add 10.78.0.2/32 port 80
expect_rc 2 "unknown field 'color'" ctl pins add 10.78.0.2/32 color red
expect_rc 2 "has no value" ctl pins add 10.78.0.2/32 mss
expect_rc 1 "no pin for" ctl pins del 10.78.0.9/32

step "policy: a rule added drops a port's new connections"
ctl -j policy >"$TMP/policy.json" || fail "policy -j"
json "$TMP/policy.json" "j == {'default': 'proxy', 'monitor': False, 'deny': [], 'allow': [], 'rules': []}"
ctl -j policy add 10.78.0.2/32 ports 8081 action drop >"$TMP/poladd.json" || fail "policy add"
json "$TMP/poladd.json" "j == {'added': {'index': 1, 'dst': '10.78.0.2/32', 'port_lo': 8081, 'port_hi': 8081, 'action': 'drop'}, 'saved': False}"
ctl policy add at 1 10.78.0.0/24 ports 9000-9100 action bypass | grep -q "not saved" || fail "policy add at: reply"
ctl -j policy >"$TMP/policy2.json"
json "$TMP/policy2.json" "[(r['index'], r['dst'], r['action']) for r in j['rules']] == [(1, '10.78.0.0/24', 'bypass'), (2, '10.78.0.2/32', 'drop')]"
[ "$(connect 8081 2)" = timeout ] || fail "port 8081 connects despite the drop rule"
[ "$(connect 8080 5)" != timeout ] || fail "port 8080 no longer connects"
ok "8081 dropped, 8080 still proxied"
ctl -j policy del 2 >"$TMP/poldel.json" || fail "policy del"
json "$TMP/poldel.json" "j['removed']['port_lo'] == 8081"
[ "$(connect 8081 5)" != timeout ] || fail "port 8081 still dropped after policy del"
ok "rule removed: 8081 connects"
ctl -j policy monitor on >"$TMP/mon.json" || fail "policy monitor on"
json "$TMP/mon.json" "j == {'monitor': True, 'saved': False}"
ctl -j status >"$TMP/status3.json"
json "$TMP/status3.json" "j['mode'] == 'monitor'"
ctl policy monitor off >/dev/null
ctl -j policy default track >"$TMP/def.json"
json "$TMP/def.json" "j == {'default': 'track', 'saved': False}"
expect_rc 2 "is not in 1..1" ctl policy del 5
expect_rc 2 "must be one of" ctl policy add 10.78.0.2/32 action frob
expect_rc 2 "'frob' is not proxy" ctl policy default frob
expect_rc 2 "usage: policy" ctl policy frob

step "a reload goes back to the file"
kill -HUP "$SGPID"
for _ in $(seq 50); do
  [ "$(ctl -j pins)" = '{"pins": []}' ] && break
  sleep 0.1
done
ctl -j pins >"$TMP/pins3.json"; json "$TMP/pins3.json" "j == {'pins': []}"
ctl -j policy >"$TMP/policy3.json"; json "$TMP/policy3.json" "j['rules'] == [] and j['default'] == 'proxy'"
ok "SIGHUP: pins and policy are the file's again"

step "top"
connect 8080 5 >/dev/null
ctl top --once >"$TMP/top.txt" || fail "top --once"
grep -q "^SYNs received" "$TMP/top.txt" && grep -q "^connection table" "$TMP/top.txt" \
  || fail "top: $(cat "$TMP/top.txt")"
! grep -q $'\033' "$TMP/top.txt" || fail "top wrote escape codes to a file"
[ "$(grep -c '^synguard top' "$TMP/top.txt")" = 1 ] || fail "top --once: not one frame"
ctl top -n 2 >"$TMP/top2.txt"
[ "$(grep -c '^synguard top' "$TMP/top2.txt")" = 2 ] || fail "top -n 2: not two frames"
ctl top -n 2 -j >"$TMP/top.jsonl"
[ "$(wc -l <"$TMP/top.jsonl")" = 2 ] || fail "top -n 2 -j: not two lines"
python3 - "$TMP/top.jsonl" <<'PY' || fail "top -j: $(cat "$TMP/top.jsonl")"
import json, sys
for line in open(sys.argv[1]):
    j = json.loads(line)
    assert set(j) == {'time', 'rates', 'drops', 'table', 'syn_cache_entries'}, j
    assert set(j['rates']) == {'syn', 'synack', 'cookie_valid', 'cookie_invalid',
                               'syncache_opened', 'opened', 'dropped'}, j
    assert 'cookie_invalid' in j['drops'] and set(j['table']) == {'entries', 'capacity'}, j
PY
ctl top -n 2 --csv >"$TMP/top.csv"
[ "$(head -1 "$TMP/top.csv")" = "time_s,syn,synack,cookie_valid,cookie_invalid,syncache_opened,opened,dropped,table_entries" ] \
  || fail "top --csv header: $(head -1 "$TMP/top.csv")"
[ "$(wc -l <"$TMP/top.csv")" = 3 ] || fail "top --csv -n 2: not three lines"
ok "top: frames, JSON lines, CSV"
expect_rc 2 "not a whole number" ctl top -n 0
expect_rc 2 "unknown option" ctl top --frob
expect_rc 2 "choose one" ctl top -j --csv

step "help, usage, unreachable"
ctl -j help >"$TMP/help.json" || fail "help -j"
json "$TMP/help.json" "{'help', 'stats', 'status', 'pins', 'policy'} <= {c['name'] for c in j['commands']}"
expect_rc 2 "unknown command 'frobnicate'" ctl frobnicate
expect_rc 2 "status takes no arguments" ctl status now
expect_rc 2 "usage: synguardctl" "$CTL"
expect_rc 3 "is synguard running" "$CTL" -s "$TMP/none.sock" status
kill -0 "$SGPID" || fail "synguard died"
echo "PASS: ctl ($PASS checks)"
