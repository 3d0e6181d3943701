#!/usr/bin/env bash
# SYN-ACK rate of synguard (AF_XDP, native mode) with 1 queue and 1 worker
# against 2 queues and 2 workers, on veth, in namespaces this script
# creates and deletes (root; after `make`):
#
#   [gen ns] trafgen x2 (CPU 0, CPU 1)                              [srv ns]
#            eth0 ====veth, N queues==== wan0 [DUT ns] lan0 ==veth, N== eth0
#            10.78.0.1                   synguard --threads N      10.78.0.2:80
#
#   lab/bench-queues.sh [--rounds R] [--seconds S] [--pin] [--out DIR]
#
# Per round, in alternating order (1q 2q, then 2q 1q, ...): every veth end
# gets N RX and N TX queues (ethtool -L), synguard starts with
# --io afxdp --threads N (one AF_XDP socket and one worker per queue; the
# run stops unless synguard says it bound in native mode), and a flood of
# 64-byte SYNs with random sources and ports to 10.78.0.2:80 runs for S seconds (default 5).  Recorded: SYNs offered
# (eth0's tx counter plus its tx drops), SYN-ACKs per second back at the
# generator (eth0's rx counter), SYN-ACKs synguard sent (wan0's tx counter
# plus its tx drops: frames the generator's backlog refused, when its CPUs
# are too busy to take them, never reach its rx counter), and how both
# split per queue: XDP packets
# per RX queue of wan0 (`ethtool -S wan0`, rx_queue_I_xdp_packets) and the
# frames each worker put on wan0's TX ring (synguard's /metrics,
# synguard_io_frames_total{worker="I",port="wan",direction="tx"}), the
# SYN-ACKs its TX rings had no room for (io_events tx_drops), and how
# often trafgen had to be started again (see flood).  Rates are over the
# flood's measured time (column s).  Printed:
# one line per run, then medians over the rounds and the ratio 2q/1q of
# each round's pair (the two runs of a round are back to back, so a ratio
# sees the same machine load, where absolute rates do not).
#
# How frames spread over the queues.  On veth the queue a frame arrives on
# is the queue the peer sent it from (veth_xmit keeps the skb's queue
# mapping; native XDP needs wan0 to have at least as many RX queues as eth0
# has TX queues).  trafgen --cpus 2 forks two senders and pins them itself
# to CPU 0 and CPU 1; each sends through AF_PACKET with the qdisc bypassed,
# which picks the TX queue by XPS, set here to "CPU I sends on queue I"
# (/sys/class/net/eth0/queues/tx-I/xps_cpus).  So with 2 queues sender I
# fills queue I, and veth schedules queue I's NAPI (which runs the XDP
# program that redirects into the AF_XDP socket) on CPU I, as a NIC raises
# queue I's interrupt on the CPU its affinity names.  With 1 queue both
# senders share queue 0.  RSS-like: the flood's flows are spread evenly over
# the queues, each queue is served by its own socket and worker, and each
# queue's receive work runs on its own CPU.  Not RSS: the spreading follows
# the sending CPU, not a hash of the addresses, so a flow's SYN and its ACK
# may arrive on different queues (synguard's cookies do not care: any
# worker checks any cookie), and the split is even only because both
# senders run at the same rate.
#
# --pin: workers pinned, worker I on CPU I (--cpus 0,1); by default they
# are not pinned and the scheduler places them.  The machine has 2 CPUs:
# the two senders, their NAPI work and the workers share them, so a second
# worker competes with the generator; the load average is printed at the
# start and the end.
#
# Writes DIR (default build/lab-queues): runs.csv (every run) and
# table.txt (what is printed at the end).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
SG=$BUILD/src/daemon/synguard
OUT=$BUILD/lab-queues
ROUNDS=5
STEP=5
PIN=0
usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --seconds) STEP=$2; shift 2 ;;
    --pin) PIN=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-queues: unknown argument $1 (--help)" >&2; exit 2 ;;
  esac
done

die() { echo "bench-queues: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (namespaces, AF_XDP)"
[ -x "$SG" ] || die "$SG missing: build first (make)"
for t in ip ethtool trafgen curl taskset ping python3; do
  command -v "$t" >/dev/null || die "$t missing: run scripts/deps.sh bench"
done
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (one sender and one queue per CPU)"
case $ROUNDS in [1-9]|[1-9][0-9]) ;; *) die "--rounds: 1..99" ;; esac
case $STEP in [1-9]|[1-9][0-9]) ;; *) die "--seconds: 1..99" ;; esac

ID=$$
NG="mqg$ID"; ND="mqd$ID"; NS="mqs$ID"
TMP=$(mktemp -d /tmp/sg-labqueues-XXXXXX)
SGPID=""; SRVPID=""
GEN_MAC=02:78:00:00:00:01
METRICS=127.0.0.1:9478

stop_pid() {  # pid: TERM, wait up to 5 s, KILL
  local p=$1
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  [ -n "$SGPID" ] && stop_pid "$SGPID"
  [ -n "$SRVPID" ] && stop_pid "$SRVPID"
  for n in "$NG" "$ND" "$NS"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for n in "$NG" "$ND" "$NS"; do ip netns add "$n"; ip -n "$n" link set lo up; done
Q="numtxqueues 2 numrxqueues 2"
ip link add "mqg$ID" netns "$NG" $Q type veth peer name "mqw$ID" netns "$ND" $Q
ip link add "mql$ID" netns "$ND" $Q type veth peer name "mqs$ID" netns "$NS" $Q
ip -n "$NG" link set "mqg$ID" name eth0
ip -n "$ND" link set "mqw$ID" name wan0
ip -n "$ND" link set "mql$ID" name lan0
ip -n "$NS" link set "mqs$ID" name eth0
ip -n "$NG" link set eth0 address "$GEN_MAC"
# Endpoints without offloads (shared/machine.md); synguard turns its ports'
# off itself.
for x in "$NG" "$NS"; do
  ip netns exec "$x" ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
done
ip -n "$NG" addr add 10.78.0.1/24 dev eth0
ip -n "$NS" addr add 10.78.0.2/24 dev eth0
for x in "$NG:eth0" "$NS:eth0" "$ND:wan0" "$ND:lan0"; do ip -n "${x%%:*}" link set "${x#*:}" up; done
ip netns exec "$NS" python3 -m http.server -b 10.78.0.2 80 >/dev/null 2>&1 &
SRVPID=$!

cat >"$TMP/syn.cfg" <<EOF
{
  eth(da=$(ip netns exec "$NS" cat /sys/class/net/eth0/address), sa=$GEN_MAC, type=0x0800),
  ipv4(saddr=drnd(), daddr=10.78.0.2, ttl=64),
  tcp(sp=drnd(), dp=80, seq=drnd(), syn, win=64240),
  fill(0x00, 6)
}
EOF
cat >"$TMP/sg.conf" <<EOF
control = { socket = "$TMP/ctl.sock"; };
metrics = { listen = "$METRICS"; };
log = { level = "info"; };
EOF

# N queues on every veth end; XPS: CPU I sends on queue I (with one queue,
# both CPUs on queue 0).
set_queues() {
  local n=$1 x
  for x in "$NG:eth0" "$NS:eth0" "$ND:wan0" "$ND:lan0"; do
    ip netns exec "${x%%:*}" ethtool -L "${x#*:}" rx "$n" tx "$n"
  done
  if [ "$n" = 1 ]; then
    ip netns exec "$NG" sh -c 'echo 3 > /sys/class/net/eth0/queues/tx-0/xps_cpus'
  else
    ip netns exec "$NG" sh -c 'echo 1 > /sys/class/net/eth0/queues/tx-0/xps_cpus; echo 2 > /sys/class/net/eth0/queues/tx-1/xps_cpus'
  fi
}

start_sg() {  # N
  local n=$1 cpus=()
  [ "$PIN" = 1 ] && cpus=(--cpus 0,1)
  ip netns exec "$ND" "$SG" --lan lan0 --wan wan0 --io afxdp \
    --threads "$n" "${cpus[@]}" -c "$TMP/sg.conf" >"$TMP/sg.out" 2>"$TMP/sg.err" &
  SGPID=$!
  for _ in $(seq 100); do
    ip netns exec "$NG" ping -c 1 -W 0.2 10.78.0.2 >/dev/null 2>&1 && break
    kill -0 "$SGPID" 2>/dev/null || { cat "$TMP/sg.err" >&2; die "synguard exited at start"; }
    sleep 0.1
  done
  ip netns exec "$NG" ping -c 1 -W 1 10.78.0.2 >/dev/null 2>&1 || { cat "$TMP/sg.err" >&2; die "no ping through synguard"; }
  grep -q "afxdp native mode, .*, $n queue" "$TMP/sg.err" \
    || { cat "$TMP/sg.err" >&2; die "synguard is not on afxdp native with $n queue(s)"; }
}

dev_stat() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }
# "q0 q1": XDP packets received per RX queue of wan0
xdp_rxq() {
  ip netns exec "$ND" ethtool -S wan0 | awk '
    /rx_queue_0_xdp_packets:/ { a = $2 } /rx_queue_1_xdp_packets:/ { b = $2 }
    END { print a + 0, b + 0 }'
}
# "w0 w1 drops": frames each worker put on wan0's TX ring (under the flood:
# its SYN-ACKs) and those its TX rings had no room for, from /metrics
worker_tx() {
  ip netns exec "$ND" curl -s --max-time 2 "http://$METRICS/metrics" | awk '
    /^synguard_io_frames_total\{/ && /port="wan"/ && /direction="tx"/ {
      w = $0; sub(/.*worker="/, "", w); sub(/".*/, "", w); n[w] = $NF }
    /^synguard_io_events_total\{/ && /port="wan"/ && /event="tx_drops"/ { d += $NF }
    END { print n["0"] + 0, n["1"] + 0, d + 0 }'
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# trafgen pins its forks itself, fork I to CPU I, in its ring mode only
# (with a gap, -t, its per-packet path, it runs one sender).  Its ring mode
# gives up ("Flushing TX_RING failed", EAGAIN) once the frames in veth's
# XDP ring hold the socket's memory, and wmem_max cannot be raised inside a
# namespace: it is started again until the deadline, and the restarts are
# counted.  It is stopped with KILL (timeout signals its process group, so
# the senders too): on INT a sender flushes its ring first.  A killed
# sender may still take seconds to leave the kernel, so the counters are
# read at the deadline (see run), not when trafgen is gone.
flood() {  # deadline (epoch seconds); run in the background
  local end=$1 restarts=-1 left p
  while :; do
    left=$(awk -v e="$end" -v t="$(date +%s.%N)" 'BEGIN { printf "%.3f", e - t }')
    awk -v l="$left" 'BEGIN { exit !(l > 0.2) }' || break
    restarts=$((restarts + 1))
    ip netns exec "$NG" timeout -s KILL "$left" trafgen --dev eth0 --conf "$TMP/syn.cfg" \
      --cpus 2 -C -Q >"$TMP/trafgen.out" 2>&1 || true
    # A sender whose sibling gave up goes on without its parent: the
    # next start must not add to it.
    for p in $(ip netns pids "$NG"); do
      [ "$(cat "/proc/$p/comm" 2>/dev/null)" = trafgen ] && kill -KILL "$p" 2>/dev/null
    done
  done
  echo "$restarts" >"$TMP/restarts"
}
# The CPUs trafgen's senders may run on, one list per sender: "0 1 "
sender_cpus() {
  local p out=""
  for p in $(ip netns pids "$NG"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = trafgen ] || continue
    # the parent trafgen keeps the generator's whole mask; senders one CPU
    case $(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$p/status" 2>/dev/null) in
      0) out="${out}0 " ;; 1) out="${out}1 " ;;
    esac
  done
  echo "$out" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/^ *//'
}

# One run: round N -> a line of runs.csv in $TMP/line (not through $(...):
# the subshell would own synguard's pid)
run() {
  local round=$1 n=$2
  set_queues "$n"
  start_sg "$n"
  ip netns exec "$NG" ping -c 1 -W 1 10.78.0.2 >/dev/null 2>&1 || true
  local tx0 rx0 s0 q0 q1 a0 a1 w0 w1 wd t0 t1 tx1 rx1 s1 la
  tx0=$(( $(dev_stat "$NG" eth0 tx_packets) + $(dev_stat "$NG" eth0 tx_dropped) ))
  rx0=$(dev_stat "$NG" eth0 rx_packets)
  s0=$(( $(dev_stat "$ND" wan0 tx_packets) + $(dev_stat "$ND" wan0 tx_dropped) ))
  read -r q0 q1 <<<"$(xdp_rxq)"
  t0=$(date +%s.%N)
  local end cpus=""
  end=$(awk -v s="$STEP" -v t="$t0" 'BEGIN { printf "%.3f", t + s }')
  flood "$end" 2>/dev/null &
  local fpid=$!
  local check_end
  check_end=$(awk -v t="$t0" 'BEGIN { printf "%.3f", t + 2 }')
  while awk -v e="$check_end" -v t="$(date +%s.%N)" 'BEGIN { exit !(t < e) }'; do
    sleep 0.1
    cpus=$(sender_cpus)
    [ "$cpus" = "0 1 " ] && break
  done
  [ "$cpus" = "0 1 " ] || echo "bench-queues: trafgen's senders on CPUs '${cpus% }', not '0 1' (${n}q)" >&2
  sleep "$(awk -v e="$end" -v t="$(date +%s.%N)" 'BEGIN { l = e - t; printf "%.3f", (l > 0 ? l : 0) }')"
  t1=$(date +%s.%N)
  tx1=$(( $(dev_stat "$NG" eth0 tx_packets) + $(dev_stat "$NG" eth0 tx_dropped) ))
  rx1=$(dev_stat "$NG" eth0 rx_packets)
  s1=$(( $(dev_stat "$ND" wan0 tx_packets) + $(dev_stat "$ND" wan0 tx_dropped) ))
  read -r a0 a1 <<<"$(xdp_rxq)"
  wait "$fpid" || true
  sleep 1.2   # /metrics is the control thread's snapshot of the last second
  read -r w0 w1 wd <<<"$(worker_tx)"
  la=$(loadavg)
  stop_pid "$SGPID"; SGPID=""
  rm -f "$TMP/handover"   # each run starts with an empty table
  awk -v round="$round" -v n="$n" -v dt="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
      -v tx=$((tx1 - tx0)) -v rx=$((rx1 - rx0)) -v sent=$((s1 - s0)) -v x0=$((a0 - q0)) -v x1=$((a1 - q1)) \
      -v w0="$w0" -v w1="$w1" -v wd="$wd" -v rs="$(cat "$TMP/restarts")" -v la="${la// /_}" 'BEGIN {
    printf "%d,%dq,%.0f,%.0f,%.0f,%d,%d,%d,%d,%.0f,%d,%.1f,%s\n", round, n, tx / dt, sent / dt, rx / dt, x0, x1, w0, w1, wd / dt, rs, dt, la }' >"$TMP/line"
}

mkdir -p "$OUT"
echo "round,config,offered_per_s,synack_sent_per_s,synack_per_s,wan0_rxq0_xdp,wan0_rxq1_xdp,worker0_wan_tx,worker1_wan_tx,tx_ring_drops_per_s,trafgen_restarts,seconds,loadavg" >"$OUT/runs.csv"
# The first run after the topology is made warms it up (neighbours,
# page cache, trafgen's first start): it is not recorded.
run 0 2
LA0=$(loadavg)
echo "bench-queues: $ROUNDS round(s) x 2 runs of ${STEP}s, $(uname -r), $(nproc) CPUs, workers $([ "$PIN" = 1 ] && echo "pinned 0,1" || echo "not pinned"); load average $LA0"
printf "%-5s %-6s %10s %10s %10s %12s %12s %11s %11s %10s %8s %5s  %s\n" round config offered/s sent/s SYN-ACK/s "wan0 rxq0" "wan0 rxq1" "worker0 tx" "worker1 tx" "ringdrop/s" restarts s "load avg"
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="1 2"; else order="2 1"; fi
  for n in $order; do
    run "$r" "$n"
    line=$(cat "$TMP/line")
    echo "$line" >>"$OUT/runs.csv"
    IFS=, read -r a b c j d e f g h l k m i <<<"$line"
    printf "%-5s %-6s %10s %10s %10s %12s %12s %11s %11s %10s %8s %5s  %s\n" "$a" "$b" "$c" "$j" "$d" "$e" "$f" "$g" "$h" "$l" "$k" "$m" "${i//_/ }"
  done
done
LA1=$(loadavg)

# Medians over the rounds, and the median of the rounds' 2q/1q ratios.
python3 - "$OUT/runs.csv" "$ROUNDS" "$STEP" "$LA0" "$LA1" "$PIN" >"$OUT/table.txt" <<'PY'
import csv, statistics, sys
path, rounds, step, la0, la1, pin = sys.argv[1:]
rows = list(csv.DictReader(open(path)))
med = lambda xs: statistics.median(xs) if xs else float("nan")
by = {c: [r for r in rows if r["config"] == c] for c in ("1q", "2q")}
print("AF_XDP native on veth, SYN flood (trafgen --cpus 2, XPS CPU I -> queue I), %s s per run, "
      "medians of %s alternating round(s); workers %s; load average %s -> %s"
      % (step, rounds, "pinned 0,1" if pin == "1" else "not pinned", la0, la1))
print("%-7s %10s %10s %10s %14s %16s" % ("config", "offered/s", "sent/s", "SYN-ACK/s", "wan0 q0/q1 %", "worker0/1 tx %"))
for c, rs in by.items():
    off = med([float(r["offered_per_s"]) for r in rs])
    snt = med([float(r["synack_sent_per_s"]) for r in rs])
    sa = med([float(r["synack_per_s"]) for r in rs])
    def split(a, b):
        t = sum(int(r[a]) + int(r[b]) for r in rs)
        return "%.0f/%.0f" % (100 * sum(int(r[a]) for r in rs) / t, 100 * sum(int(r[b]) for r in rs) / t) if t else "-"
    print("%-7s %10.0f %10.0f %10.0f %14s %16s" % (c, off, snt, sa, split("wan0_rxq0_xdp", "wan0_rxq1_xdp"),
                                          split("worker0_wan_tx", "worker1_wan_tx")))
for col, what in (("synack_per_s", "SYN-ACK/s at the generator"), ("synack_sent_per_s", "sent/s")):
    ratios = []
    for r in sorted({r["round"] for r in rows}, key=int):
        pair = {x["config"]: float(x[col]) for x in rows if x["round"] == r}
        if pair.get("1q") and "2q" in pair:
            ratios.append(pair["2q"] / pair["1q"])
    if ratios:
        print("%s, 2q/1q: median %.2f over %d rounds (range %.2f-%.2f)"
              % (what, med(ratios), len(ratios), min(ratios), max(ratios)))
print("trafgen restarts: %d (1q), %d (2q)" % tuple(sum(int(r["trafgen_restarts"]) for r in by[c]) for c in ("1q", "2q")))
PY
echo
cat "$OUT/table.txt"
