# The Linux kernel's SYN proxy (nftables synproxy) on a bridge with
# br_netfilter, as an operator would set it up: the reference synguard is
# compared with.  A library: lab/bench and lab/demo.sh source it.
#
#   . lab/kernel-synproxy.sh
#   ksp_up NS WAN LAN ADDR/PREFIX GATEWAY PORTS [RPS_MASK]
#   ksp_counters NS     -> "syn_received cookie_invalid cookie_valid"
#   ksp_down NS
#
# ksp_up bridges WAN and LAN in namespace NS (br0), and protects TCP PORTS
# over IPv4 (an nft set, e.g. "80, 5201") with the recipe of the nftables wiki
# (machine.md, "The Linux kernel synproxy as a reference peer"):
# - SYNs to the ports skip conntrack (prerouting, priority -300, notrack);
# - in the forward hook, a SYN or an ACK without a connection
#   (ct state invalid,untracked) goes to the synproxy: it answers SYNs
#   with a cookie SYN-ACK and, on a valid cookie ACK, opens the
#   connection to the server; everything else that conntrack finds invalid
#   is dropped;
# - net.bridge.bridge-nf-call-iptables=1 makes bridged IPv4 traverse those
#   hooks, nf_conntrack_tcp_loose=0 keeps conntrack from picking up
#   connections from a mere ACK.
# The kernel routes its SYN-ACKs (they leave through the IP stack), so the
# bridge gets ADDR and a default route to GATEWAY: for random sources under
# a flood, every SYN-ACK goes to the gateway's MAC.  The options in the
# SYN-ACK (mss 1460 wscale 7 timestamp sack-perm) must match the server's:
# those of a Linux server on a 1500-byte link.
# IPv4 only: the same rules for IPv6 (inet) on a bridge drop the SYNs
# silently on this kernel, even with an IPv6 address and default route on
# the bridge (machine.md: ip6tables' SYNPROXY target works, nft's does
# not); IPv6 crosses the bridge tracked by conntrack but not proxied.
# RPS_MASK, when given, steers the bridge's receive processing (where the
# synproxy runs, in softirq) to those CPUs through RPS on both ports.
# Counters: /proc/net/stat/synproxy in the namespace (one line per CPU,
# hexadecimal), summed.

ksp_up() {  # ns wan lan addr/prefix gateway ports [rps_mask]; non-zero on failure
  local ns=$1 wan=$2 lan=$3 addr=$4 gw=$5 ports=$6 rps=${7:-} d
  # Each step checked: callers run this under `if`, where set -e is off.
  ip -n "$ns" link add br0 type bridge || return 1
  for d in "$wan" "$lan"; do
    ip -n "$ns" link set "$d" master br0 && ip -n "$ns" link set "$d" up || return 1
  done
  ip -n "$ns" link set br0 up || return 1
  ip -n "$ns" addr add "$addr" dev br0 || return 1
  ip -n "$ns" route add default via "$gw" dev br0 || return 1
  ip netns exec "$ns" sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
    net.netfilter.nf_conntrack_tcp_loose=0 || return 1
  # ("synproxy" and "fwd" are nft keywords: not as table or chain names.)
  ip netns exec "$ns" nft -f - <<EOF || return 1
table inet ksp {
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    meta nfproto ipv4 tcp dport { $ports } tcp flags syn notrack
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    meta nfproto ipv4 tcp dport { $ports } ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
    ct state invalid drop
  }
}
EOF
  if [ -n "$rps" ]; then
    for d in "$wan" "$lan"; do
      ip netns exec "$ns" sh -c "echo $rps > /sys/class/net/$d/queues/rx-0/rps_cpus" || return 1
    done
  fi
}

ksp_counters() {  # ns -> syn_received cookie_invalid cookie_valid (sums over CPUs)
  local s=0 i=0 v=0 _e a b c _rest
  while read -r _e a b c _rest; do
    s=$((s + 16#$a)); i=$((i + 16#$b)); v=$((v + 16#$c))
  done < <(ip netns exec "$1" tail -n +2 /proc/net/stat/synproxy)
  echo "$s $i $v"
}

ksp_down() {  # ns
  ip netns exec "$1" nft delete table inet ksp 2>/dev/null || true
  ip -n "$1" link del br0 2>/dev/null || true
}
