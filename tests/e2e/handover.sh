#!/usr/bin/env bash
# A restart and an upgrade keep the connections (synguard(8), RESTART AND
# UPGRADE), in namespaces this test creates and always deletes:
#
#   [client ns] eth0 --veth-- wan0 [middle ns: synguard] lan0 --veth-- eth0 [server ns]
#   10.83.1.1                                                       10.83.2.2
#
#   handover.sh BACKEND SYNGUARD [NEXT_SYNGUARD [SYNGUARDCTL]]
#     NEXT_SYNGUARD  the binary of the upgrade (default: a copy of SYNGUARD)
#     SYNGUARDCTL    when given, restart 2 is asked for with
#                    `synguardctl handover`, not SIGTERM
#
# While a 20 MB upload paced at 1 MB/s runs through synguard (and UDP
# probes cross it every millisecond):
#  1. synguard gets SIGTERM and the same binary starts again;
#  2. synguard gets SIGTERM (or synguardctl handover) and NEXT_SYNGUARD
#     starts.
# The upload must arrive byte-exact (sha256), each successor must say it
# continued the connections, and the longest gap in the probes (the
# forwarding gap) is printed and must be <= 1 s.  Before restart 1 a
# client sends a bare SYN and keeps synguard's cookie SYN-ACK; after it,
# its ACK must open a connection to the server: the cookie key survived.
set -euo pipefail

BACKEND=${1:?backend}
SG=${2:?synguard}
NEXT=${3:-}
CTL=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
PY="$HERE/handover.py"
FPY="$HERE/faults.py"
NAME="handover/$BACKEND"
case $BACKEND in afpacket|afxdp) ;; *) echo "FAIL: unknown backend $BACKEND" >&2; exit 2 ;; esac
if [ "$(id -u)" -ne 0 ]; then
  echo "FAIL: $NAME: needs root (network namespaces, AF_PACKET)" >&2
  exit 1
fi
for t in ip ss ethtool ping python3 timeout nft sha256sum; do
  command -v "$t" >/dev/null || { echo "FAIL: $NAME: $t missing (scripts/deps.sh test)" >&2; exit 1; }
done

ID="$$$RANDOM"
NC="hoc$ID"; NM="hom$ID"; NS="hos$ID"
TMP=$(mktemp -d /tmp/sg-handover-XXXXXX)
SGPID=""
BG=()

cleanup() {
  local rc=$?
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$SGPID" ] && kill -0 "$SGPID" 2>/dev/null; then
    kill -TERM "$SGPID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SGPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SGPID" 2>/dev/null || true
  fi
  for n in "$NC" "$NM" "$NS"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$(date +%s%N)
step() { echo "--- $NAME [$(( ($(date +%s%N) - T0) / 1000000 )) ms]: $*"; }
fail() {
  echo "FAIL: $NAME: $*" >&2
  for f in "$TMP"/sg.*.err; do
    [ -f "$f" ] && tail -n 15 "$f" | sed "s|^|  $(basename "$f"): |" >&2
  done
  exit 1
}
now_us() { echo "${EPOCHREALTIME/./}"; }
inc() { ip netns exec "$NC" "$@"; }
ins() { ip netns exec "$NS" "$@"; }
inm() { ip netns exec "$NM" "$@"; }

# ---- the lab ----
step "namespaces $NC / $NM / $NS"
for n in "$NC" "$NM" "$NS"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add "hc$ID" netns "$NC" type veth peer name "hw$ID" netns "$NM"
ip link add "hs$ID" netns "$NS" type veth peer name "hl$ID" netns "$NM"
inc ip link set "hc$ID" name eth0
ins ip link set "hs$ID" name eth0
inm ip link set "hw$ID" name wan0
inm ip link set "hl$ID" name lan0
for ns in "$NC" "$NS"; do
  ip netns exec "$ns" ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
done
inc ip addr add 10.83.1.1/16 dev eth0
ins ip addr add 10.83.2.2/16 dev eth0
inc ip link set eth0 up; ins ip link set eth0 up
inm ip link set wan0 up; inm ip link set lan0 up
CMAC=$(inc cat /sys/class/net/eth0/address)
SMAC=$(ins cat /sys/class/net/eth0/address)
inc ip neigh replace 10.83.2.2 lladdr "$SMAC" dev eth0 nud permanent
ins ip neigh replace 10.83.1.1 lladdr "$CMAC" dev eth0 nud permanent
# The scripted cookie client has no socket: its kernel must not reset
# what synguard and the server send it.
inc nft -f - <<'EOF'
table inet ho {
  chain out { type filter hook output priority 0; tcp sport 7000 tcp flags rst drop; }
}
EOF

# The upgrade: another binary file (default: a copy of this build).
if [ -z "$NEXT" ]; then
  NEXT="$TMP/synguard-next"
  cp "$SG" "$NEXT"
fi
echo "  first binary: $SG ($("$SG" --version))"
echo "  upgrade:      $NEXT ($("$NEXT" --version))"
if [ -n "${3:-}" ]; then
  [ "$("$SG" --version)" != "$("$NEXT" --version)" ] && ! cmp -s "$SG" "$NEXT" ||
    fail "the upgrade $NEXT is the same binary as $SG: the test would prove no upgrade"
fi

printf 'control = { socket = "%s"; };\nconntrack = { capacity = %s; };\n' "$TMP/ctl.sock" "${HO_CAPACITY:-1048576}" >"$TMP/sg.conf"
RUN=0
# start BINARY: one more synguard; returns once it forwards (ping).
start() {
  RUN=$((RUN + 1))
  # ip netns exec itself, not a function: $! must be synguard's pid.
  ip netns exec "$NM" "$1" --lan lan0 --wan wan0 --io "$BACKEND" --threads 1 -c "$TMP/sg.conf" -v \
    >"$TMP/sg.$RUN.out" 2>"$TMP/sg.$RUN.err" &
  SGPID=$!
}
wait_up() {
  local end=$(( $(now_us) + 10000000 ))
  until inc ping -c 1 -W 0.2 10.83.2.2 >/dev/null 2>&1 && [ -S "$TMP/ctl.sock" ]; do
    kill -0 "$SGPID" 2>/dev/null || fail "synguard $RUN exited at start"
    [ "$(now_us)" -lt "$end" ] || fail "synguard $RUN: no ping through it after 10 s"
    sleep 0.1
  done
}
# restart BINARY: SIGTERM, wait for the exit, start BINARY at once (as
# systemd's restart does on the old one's SIGCHLD: no polling, no other
# program in between).
restart() {  # BINARY [ctl]: stop by SIGTERM, or by synguardctl handover
  local t0 t1 rc=0 watchdog
  t0=$(now_us)
  if [ "${2:-}" = ctl ]; then
    # Its reply is read after the successor starts: the check is not
    # part of the gap.
    "$CTL" -s "$TMP/ctl.sock" -j handover >"$TMP/ctl-handover.json" ||
      fail "synguardctl handover: exit $?"
  else
    kill -TERM "$SGPID"
  fi
  ( sleep 10; kill -KILL "$SGPID" 2>/dev/null ) &
  watchdog=$!
  wait "$SGPID" || rc=$?
  t1=$(now_us)
  start "$1"
  kill "$watchdog" 2>/dev/null || true
  if [ "${2:-}" = ctl ]; then
    python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); assert j["stopping"] is True and j["file"].endswith("/handover"), j' \
      "$TMP/ctl-handover.json" || fail "synguardctl handover said: $(cat "$TMP/ctl-handover.json")"
  fi
  [ "$rc" = 0 ] || fail "synguard $((RUN - 1)) exited with status $rc (137: did not stop in 10 s)"
  grep -q "handover: .* connections written" "$TMP/sg.$((RUN - 1)).err" ||
    fail "synguard $((RUN - 1)) did not write its table"
  echo "  stop took $(( (t1 - t0) / 1000 )) ms; $(grep -o 'handover: [0-9]* connections written.*' "$TMP/sg.$((RUN - 1)).err")"
}

# The ports as found: every stop, handover or not, must leave them so.
ports_state() {
  for i in wan0 lan0; do
    inm ethtool -k "$i" | grep -v fixed
    echo "$i disable_ipv6 $(inm cat /proc/sys/net/ipv6/conf/$i/disable_ipv6 2>/dev/null || echo -)"
  done
}
ports_state >"$TMP/ports.before"

step "start synguard --io $BACKEND"
start "$SG"
wait_up

step "the server listens; UDP probes every ms; 20 MB upload at 1 MB/s"
# Not through ins: a backgrounded function is a subshell, and $! must be
# the helper itself, or the cleanup leaves it holding stdout for 60 s.
ip netns exec "$NS" timeout 60 python3 "$FPY" accept 10.83.2.2 7001 --ready "$TMP/accept.ready" &
BG+=("$!")
ip netns exec "$NS" timeout 90 python3 "$PY" probe-recv 10.83.2.2 9999 --ready "$TMP/probe.ready" \
  >"$TMP/probe.out" &
PR=$!; BG+=("$PR")
head -c 20000000 /dev/urandom >"$TMP/up.src"
ins timeout 60 python3 "$FPY" listen 10.83.2.2 7002 recv "$TMP/up.dst" --ready "$TMP/xfer.ready" \
  2>"$TMP/xl.err" &
XL=$!; BG+=("$XL")
end=$(( $(now_us) + 20000000 ))
until [ -e "$TMP/probe.ready" ] && [ -e "$TMP/xfer.ready" ] && [ -e "$TMP/accept.ready" ]; do
  [ "$(now_us)" -lt "$end" ] || fail "the listeners did not start in 20 s"
  sleep 0.1
done
ip netns exec "$NC" timeout 90 python3 "$PY" probe-send 10.83.2.2 9999 &
PS=$!; BG+=("$PS")
inc timeout 60 python3 "$FPY" connect 10.83.2.2 7002 send "$TMP/up.src" --rate 1000000 \
  >"$TMP/xc.out" 2>"$TMP/xc.err" &
XC=$!; BG+=("$XC")

# Under load the Python clients take seconds to start: a restart before
# the upload flows would carry nothing and measure no gap.
end=$(( $(now_us) + 30000000 ))
until [ "$(stat -c %s "$TMP/up.dst" 2>/dev/null || echo 0)" -ge 65536 ]; do
  kill -0 "$XC" 2>/dev/null || fail "the upload ended before it began: $(tail -n 1 "$TMP/xc.err")"
  [ "$(now_us)" -lt "$end" ] || fail "the upload did not begin in 30 s"
  sleep 0.1
done

step "a cookie SYN-ACK before the restart"
inc timeout 30 python3 "$PY" cookie-syn eth0 "$SMAC" 10.83.1.1 7000 10.83.2.2 7001 "$TMP/cookie" ||
  fail "no cookie SYN-ACK"
kill -0 "$XC" 2>/dev/null || fail "the upload ended before the first restart: the test proves nothing"

step "restart 1: SIGTERM, the same binary"
restart "$SG"
wait_up
step "the cookie's ACK after the restart"
inc timeout 30 python3 "$PY" cookie-ack eth0 "$SMAC" 10.83.1.1 7000 10.83.2.2 7001 "$TMP/cookie" ||
  fail "cookie-ack"
end=$(( $(now_us) + 5000000 ))
until ins ss -Htn state established "( sport = :7001 )" | grep -q "10.83.1.1:7000"; do
  [ "$(now_us)" -lt "$end" ] ||
    fail "the cookie handed out before the restart opened no connection to the server"
  sleep 0.1
done
echo "  the server accepted 10.83.1.1:7000: the pre-restart cookie was valid after it"
sleep 2
kill -0 "$XC" 2>/dev/null || fail "the upload ended before the upgrade: the test proves nothing"

if [ -n "$CTL" ]; then
  step "restart 2: synguardctl handover, the upgraded binary"
  restart "$NEXT" ctl
else
  step "restart 2: SIGTERM, the upgraded binary"
  restart "$NEXT"
fi
wait_up

step "the upload continues to its end"
rc=0; wait "$XC" || rc=$?
[ "$rc" = 0 ] || fail "the client failed (status $rc): $(tail -n 1 "$TMP/xc.err")"
rc=0; wait "$XL" || rc=$?
[ "$rc" = 0 ] || fail "the server failed (status $rc): $(tail -n 1 "$TMP/xl.err")"
a=$(sha256sum <"$TMP/up.src" | cut -d' ' -f1)
b=$(sha256sum <"$TMP/up.dst" | cut -d' ' -f1)
[ "$a" = "$b" ] || fail "data differs ($(stat -c %s "$TMP/up.dst") of 20000000 bytes arrived)"
echo "  20000000 bytes byte-exact across both restarts (sha256 ${a:0:16}...), $(sed -n 's/.* in \([0-9]*\) ms .*/\1/p' "$TMP/xc.out") ms"
for r in 2 3; do
  grep -q "handover: continuing [1-9][0-9]* connections" "$TMP/sg.$r.err" ||
    fail "synguard $r did not continue the connections: $(grep handover "$TMP/sg.$r.err" || true)"
  echo "  synguard $r: $(grep -o 'handover: continuing.*' "$TMP/sg.$r.err")"
done
if grep -q "drop_unknown_connection *[1-9]" "$TMP"/sg.*.err; then
  grep "drop_unknown_connection" "$TMP"/sg.*.err | sed 's/^/  /'
  fail "a successor dropped segments of connections it did not know"
fi

step "the last stop puts the ports back as found"
kill -TERM "$SGPID"
rc=0; wait "$SGPID" || rc=$?
[ "$rc" = 0 ] || fail "synguard $RUN exited with status $rc"
SGPID=""
ports_state >"$TMP/ports.after"
diff "$TMP/ports.before" "$TMP/ports.after" >&2 ||
  fail "the ports differ from before the first start (offloads or IPv6 above)"
echo "  offloads and IPv6 of wan0 and lan0 as before the first start"

kill "$PS" "$PR"
wait "$PR" || true     # timeout answers SIGTERM with its own status
[ -s "$TMP/probe.out" ] || fail "the probe receiver reported nothing"
read -r _ n _ gap _ from <"$TMP/probe.out"
echo "  forwarding gap: ${gap} ms (longest time between two of $n UDP probes sent 1 ms apart, two restarts)"
# Where it went: each daemon's steps (synguard -v), in ms from the gap's start.
for r in 1 2 3; do
  sed -n 's/.*debug: phase \(.*\) at \([0-9.]*\) ms$/\2 \1/p' "$TMP/sg.$r.err" |
    awk -v r="$r" -v f="$from" -v g="$gap" \
      '$1 >= f - 50 && $1 <= f + g + 50 { $1 = sprintf("%+8.1f", $1 - f); print "    synguard " r ": " $0 }'
done
awk -v g="$gap" 'BEGIN { exit !(g > 0 && g <= 1000) }' || fail "forwarding gap ${gap} ms exceeds 1 s"
echo "PASS: $NAME"
