#!/usr/bin/env bash
# SYN-ACK rate of a SYN proxy under a flood of 64-byte SYNs with random
# sources, in namespaces this script creates and deletes:
#
#   [gen ns: trafgen] eth0 --veth-- wan0 [middle: CMD] lan0 --veth-- eth0 [server ns]
#                                                                     10.99.0.2:80
#
#   lab/bench-synack.sh [-s SECONDS] [-t THREADS] [-i IO] CMD...
#     e.g. lab/bench-synack.sh -i afxdp build/src/daemon/synguard
#
# CMD runs in the middle namespace as CMD --lan lan0 --wan wan0 --io IO
# --threads THREADS --cpus LIST (the CPUs other than trafgen's CPU 0).  Printed: SYNs sent, frames back to the generator
# (the proxy's SYN-ACKs) and their rate, and frames that reached the server
# (for a SYN proxy under a flood: ~0).  trafgen is pinned to CPU 0.
set -euo pipefail

SECONDS_RUN=8
THREADS=1
IO=afxdp
while getopts "s:t:i:" o; do
  case $o in
    s) SECONDS_RUN=$OPTARG ;;
    t) THREADS=$OPTARG ;;
    i) IO=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-s S] [-t N] [-i IO] CMD..." >&2; exit 2; }
CMD=("$@")
[ "$(id -u)" -eq 0 ] || { echo "bench-synack: needs root" >&2; exit 1; }
command -v trafgen >/dev/null || { echo "bench-synack: trafgen missing (netsniff-ng)" >&2; exit 1; }

ID="$$"
NG="sgsg$ID"; NM="sgsm$ID"; NK="sgsk$ID"
TMP=$(mktemp -d /tmp/sg-bench-XXXXXX)
BPID=""
SRV=""
cleanup() {
  [ -n "$SRV" ] && kill "$SRV" 2>/dev/null || true
  if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then
    kill -TERM "$BPID"; wait "$BPID" 2>/dev/null || true
  fi
  for n in "$NG" "$NM" "$NK"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for n in "$NG" "$NM" "$NK"; do ip netns add "$n"; ip -n "$n" link set lo up; done
Q="numtxqueues $THREADS numrxqueues $THREADS"
ip link add "sg$ID" netns "$NG" $Q type veth peer name "sw$ID" netns "$NM" $Q
ip link add "sk$ID" netns "$NK" $Q type veth peer name "sl$ID" netns "$NM" $Q
ip -n "$NG" link set "sg$ID" name eth0
ip -n "$NK" link set "sk$ID" name eth0
ip -n "$NM" link set "sw$ID" name wan0
ip -n "$NM" link set "sl$ID" name lan0
for x in "$NG:eth0" "$NK:eth0"; do
  ip netns exec "${x%%:*}" ethtool -K "${x#*:}" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
done
for x in "$NG:eth0" "$NK:eth0" "$NM:wan0" "$NM:lan0"; do ip -n "${x%%:*}" link set "${x#*:}" up; done
ip -n "$NK" addr add 10.99.0.2/24 dev eth0
ip -n "$NG" addr add 10.99.0.1/24 dev eth0
ip netns exec "$NK" python3 -m http.server -b 10.99.0.2 80 >/dev/null 2>&1 &
SRV=$!

NCPU=$(nproc)
WCPUS=0
[ "$NCPU" -gt 1 ] && WCPUS=$(seq -s, 1 $((NCPU - 1)))
ip netns exec "$NM" "${CMD[@]}" --lan lan0 --wan wan0 --io "$IO" --threads "$THREADS" --cpus "$WCPUS" \
  >"$TMP/bridge.out" 2>"$TMP/bridge.err" &
BPID=$!
for _ in $(seq 100); do
  ip netns exec "$NG" ping -c 1 -W 0.1 10.99.0.2 >/dev/null 2>&1 && break
  kill -0 "$BPID" 2>/dev/null || { cat "$TMP/bridge.err" >&2; exit 1; }
  sleep 0.1
done

SRV_MAC=$(ip netns exec "$NK" cat /sys/class/net/eth0/address)
cat >"$TMP/syn.cfg" <<EOF
{
  eth(da=$SRV_MAC, sa=02:00:00:00:00:01, type=0x0800),
  ipv4(saddr=drnd(), daddr=10.99.0.2, ttl=64),
  tcp(sp=drnd(), dp=80, seq=drnd(), syn, win=64240),
  fill(0x00, 6)
}
EOF
cnt() { ip netns exec "$1" cat "/sys/class/net/eth0/statistics/$2"; }
g_tx0=$(cnt "$NG" tx_packets); g_rx0=$(cnt "$NG" rx_packets); k_rx0=$(cnt "$NK" rx_packets)
ip netns exec "$NG" timeout -s INT "$SECONDS_RUN" taskset -c 0 \
  trafgen --dev eth0 --conf "$TMP/syn.cfg" --cpus 1 -C -Q >/dev/null 2>&1 || true
sleep 0.5
g_tx1=$(cnt "$NG" tx_packets); g_rx1=$(cnt "$NG" rx_packets); k_rx1=$(cnt "$NK" rx_packets)
kill -TERM "$BPID"; wait "$BPID" || true; BPID=""
kill "$SRV" 2>/dev/null || true

sent=$((g_tx1 - g_tx0)); back=$((g_rx1 - g_rx0)); srv=$((k_rx1 - k_rx0))
echo "bench-synack: $IO, $THREADS thread(s), ${SECONDS_RUN}s, $(uname -r), $(nproc) CPUs: ${CMD[*]}"
printf "SYNs sent %d (%.0f k/s); frames back to the generator %d (%.0f k/s); frames that reached the server %d\n" \
  "$sent" "$(echo "$sent / $SECONDS_RUN / 1000" | bc -l)" "$back" \
  "$(echo "$back / $SECONDS_RUN / 1000" | bc -l)" "$srv"
sed 's/^/  bridge: /' "$TMP/bridge.out"
grep -E "afxdp|afpacket|^(syn_received|synack_sent|consumed|dropped|drop_[a-z_]*|tx_drops|rx_wan_frames) +[1-9]" "$TMP/bridge.err" | sed "s/^/  /" || true
