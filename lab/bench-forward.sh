#!/usr/bin/env bash
# Bridge-only forwarding rate under a flood of 64-byte SYNs (random
# sources), in namespaces this script creates and deletes:
#
#   [gen ns: trafgen] eth0 --veth-- wan0 [middle: PATH] lan0 --veth-- eth0 [sink ns]
#
#   lab/bench-forward.sh [-s SECONDS] [-t THREADS] [-B BATCH] [-b BUILD] PATH...
#     PATH: afpacket | afxdp | afxdp-skb | linux-bridge
#
# Prints per path: frames sent by trafgen, frames delivered to the sink
# (its veth rx counter) and the delivered rate.  trafgen is pinned to CPU 0,
# the bridge's workers to the other CPUs (CPU 0 too if it is the only one);
# both cores are shared with the kernel's softirq work, so compare ratios.
set -euo pipefail

SECONDS_RUN=8
THREADS=1
BUILD=build
BATCH=64
while getopts "s:t:b:B:" o; do
  case $o in
    s) SECONDS_RUN=$OPTARG ;;
    t) THREADS=$OPTARG ;;
    b) BUILD=$OPTARG ;;
    B) BATCH=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || set -- linux-bridge afpacket afxdp afxdp-skb
[ "$(id -u)" -eq 0 ] || { echo "bench-forward: needs root" >&2; exit 1; }
BRIDGE=$(cd "$(dirname "$0")/.." && pwd)/$BUILD/tests/e2e/sg-bridge
[ -x "$BRIDGE" ] || { echo "bench-forward: build first ($BRIDGE missing)" >&2; exit 1; }
command -v trafgen >/dev/null || { echo "bench-forward: trafgen missing (netsniff-ng)" >&2; exit 1; }

NCPU=$(nproc)
if [ "$NCPU" -gt 1 ]; then
  WCPUS=$(seq -s, 1 $((NCPU - 1)))
else
  WCPUS=0
fi

ID="$$"
NG="sgbg$ID"; NM="sgbm$ID"; NK="sgbk$ID"
TMP=$(mktemp -d /tmp/sg-bench-XXXXXX)
BPID=""
cleanup() {
  if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then
    kill -TERM "$BPID"; wait "$BPID" 2>/dev/null || true
  fi
  for n in "$NG" "$NM" "$NK"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup() {
  for n in "$NG" "$NM" "$NK"; do ip netns add "$n"; ip -n "$n" link set lo up; done
  local q="numtxqueues $THREADS numrxqueues $THREADS"
  ip link add "bg$ID" netns "$NG" $q type veth peer name "bw$ID" netns "$NM" $q
  ip link add "bk$ID" netns "$NK" $q type veth peer name "bl$ID" netns "$NM" $q
  ip -n "$NG" link set "bg$ID" name eth0
  ip -n "$NK" link set "bk$ID" name eth0
  ip -n "$NM" link set "bw$ID" name wan0
  ip -n "$NM" link set "bl$ID" name lan0
  for x in "$NG:eth0" "$NK:eth0" "$NM:wan0" "$NM:lan0"; do
    ip netns exec "${x%%:*}" ethtool -K "${x#*:}" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    ip -n "${x%%:*}" link set "${x#*:}" up
  done
}
teardown() {
  for n in "$NG" "$NM" "$NK"; do ip netns del "$n" 2>/dev/null || true; done
}

# utime + stime of a process, in clock ticks (fields 14, 15 of stat).
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rxcount() { ip netns exec "$NK" cat /sys/class/net/eth0/statistics/rx_packets; }
txcount() { ip netns exec "$NG" cat /sys/class/net/eth0/statistics/tx_packets; }

run() {  # path
  local path=$1
  setup
  case $path in
    linux-bridge)
      ip -n "$NM" link add br0 type bridge
      ip -n "$NM" link set wan0 master br0
      ip -n "$NM" link set lan0 master br0
      ip -n "$NM" link set br0 up
      ;;
    afpacket|afxdp|afxdp-skb)
      local io=${path%-skb} extra=()
      [ "$path" = afxdp-skb ] && extra=(--xdp-mode skb)
      ip netns exec "$NM" "$BRIDGE" --lan lan0 --wan wan0 --io "$io" \
        --threads "$THREADS" --cpus "$WCPUS" --batch "$BATCH" --ready-file "$TMP/ready" \
        "${extra[@]}" >"$TMP/bridge.out" 2>"$TMP/bridge.err" &
      BPID=$!
      for _ in $(seq 100); do [ -f "$TMP/ready" ] && break; sleep 0.1; done
      [ -f "$TMP/ready" ] || { cat "$TMP/bridge.err" >&2; exit 1; }
      ;;
    *) echo "bench-forward: unknown path $path" >&2; exit 2 ;;
  esac
  # Addressed to a MAC nobody has: the sink's kernel counts each frame and
  # drops it as PACKET_OTHERHOST at once, instead of spending the CPU it
  # shares with the bridge on route lookups for the random SYNs.
  cat >"$TMP/syn.cfg" <<EOF
{
  eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800),
  ipv4(saddr=drnd(), daddr=10.99.0.2, ttl=64),
  tcp(sp=drnd(), dp=80, seq=drnd(), syn, win=64240),
  fill(0x00, 6)
}
EOF
  local rx0 tx0 rx1 tx1 c0=0 c1=0
  rx0=$(rxcount); tx0=$(txcount)
  [ -n "$BPID" ] && c0=$(cputicks "$BPID")
  ip netns exec "$NG" timeout -s INT "$SECONDS_RUN" taskset -c 0 \
    trafgen --dev eth0 --conf "$TMP/syn.cfg" --cpus 1 -C -Q >/dev/null 2>&1 || true
  sleep 0.5
  rx1=$(rxcount); tx1=$(txcount)
  [ -n "$BPID" ] && c1=$(cputicks "$BPID")
  if [ -n "$BPID" ]; then
    kill -TERM "$BPID"; wait "$BPID" || true; BPID=""
    rm -f "$TMP/ready"
  fi
  local sent=$((tx1 - tx0)) got=$((rx1 - rx0))
  local cpu="-"
  [ "$c1" -gt 0 ] && cpu=$(printf "%.0f%%" "$(echo "100 * ($c1 - $c0) / $(getconf CLK_TCK) / $SECONDS_RUN" | bc -l)")
  printf "%-13s sent %10d  delivered %10d (%5.1f%%)  %7.0f k frames/s delivered  bridge CPU %s\n" \
    "$path" "$sent" "$got" "$(echo "100 * $got / ($sent + 0.0001)" | bc -l)" \
    "$(echo "$got / $SECONDS_RUN / 1000" | bc -l)" "$cpu"
  [ -s "$TMP/bridge.out" ] && sed 's/^/              bridge: /' "$TMP/bridge.out"
  [ -s "$TMP/bridge.err" ] && grep -E 'afxdp|afpacket' "$TMP/bridge.err" | sed 's/^/              /'
  : >"$TMP/bridge.out"; : >"$TMP/bridge.err"
  teardown
}

echo "bench-forward: ${SECONDS_RUN}s per path, 60-byte SYN frames (64 on the wire), $THREADS thread(s), batch $BATCH, $(uname -r), $NCPU CPUs"
for p in "$@"; do run "$p"; done
