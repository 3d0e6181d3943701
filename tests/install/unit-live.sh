#!/usr/bin/env bash
# synguard.service as installed, run by systemd.  systemd is not PID 1 on
# every test machine, so this boots the machine's own OS in a container
# (systemd-nspawn: /usr and /etc read-only, the installed tree bound over
# the prefix) inside a network namespace with synguard's two ports:
#
#   [client ns] eth0 --veth-- wan0 [container: systemd, synguard] lan0 --veth-- eth0 [server ns]
#     10.79.0.1                                                                 10.79.0.2
#
# For each backend: `systemctl start` (with every hardening directive in
# force, and no warning from synguard), traffic through the proxy,
# synguardctl on the default socket, `systemctl reload` (SIGHUP, same
# process), SIGKILL (restarted, the ports restored from what the killed one
# left), `systemctl stop` (ports as they were).  nspawn's own syscall filter refuses bpf() to containers, so
# the container is given bpf(); the unit's hardening is then what is tested.
. "$(dirname "$0")/lib.sh"
for t in systemd-nspawn nsenter ip ethtool ping python3; do
  command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/deps.sh test)"; exit 1; }
done
case $SG_PREFIX in
  /usr|/) echo "SKIP: prefix $SG_PREFIX: the installed tree cannot be bound over the host's"; exit 77 ;;
esac
[ -L /bin ] || { echo "FAIL: nspawn --volatile needs a merged /usr (/bin -> usr/bin)"; exit 1; }

ID=$$
NC=sguc$ID NM=sgum$ID NS=sgus$ID
NSPAWN=""
cleanup_live() {
  local rc=$?
  if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
    kill -TERM "$NSPAWN" 2>/dev/null || true          # the container shuts down
    for _ in $(seq 100); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$NSPAWN" 2>/dev/null || true
  fi
  for n in "$NC" "$NM" "$NS"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$DEST"
  exit "$rc"
}
trap cleanup_live EXIT
trap 'exit 130' INT TERM
step() { echo "--- $*"; }
die() { echo "FAIL: $*"; [ -n "${P1:-}" ] && inc journalctl -u synguard --no-pager -n 30 | sed 's/^/  journal: /'; exit 1; }

step "namespaces $NC / $NM / $NS"
ip netns add "$NC"; ip netns add "$NM"; ip netns add "$NS"
ip link add "vw$ID" netns "$NM" type veth peer name "vc$ID" netns "$NC"
ip link add "vl$ID" netns "$NM" type veth peer name "vs$ID" netns "$NS"
ip -n "$NM" link set "vw$ID" name wan0; ip -n "$NM" link set "vl$ID" name lan0
ip -n "$NC" link set "vc$ID" name eth0; ip -n "$NS" link set "vs$ID" name eth0
for n in "$NC" "$NS"; do
  # Endpoints without offloads: no GSO super-frames, no partial checksums.
  ip netns exec "$n" ethtool -K eth0 tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  ip -n "$n" link set lo up; ip -n "$n" link set eth0 up
done
ip -n "$NC" addr add 10.79.0.1/24 dev eth0; ip -n "$NS" addr add 10.79.0.2/24 dev eth0
ip -n "$NM" link set wan0 up; ip -n "$NM" link set lan0 up

# The unit is Type=notify with a watchdog: a synguard that never says
# READY=1 fails `systemctl start`, one that stops pinging is restarted.
grep -q '^Type=notify$' "$DEST$SG_UNITDIR/synguard.service" || die "the installed unit is not Type=notify"

step "boot a container on the host's OS"
KEEP=(--keep-unit)
[ -d /run/systemd/system ] && KEEP=()   # systemd is PID 1: nspawn makes its own scope
systemd-nspawn -q -D / --volatile=yes --bind-ro=/etc --register=no "${KEEP[@]}" \
  --capability=all --system-call-filter=bpf --console=passive \
  --network-namespace-path="/run/netns/$NM" \
  --bind-ro="$DEST$SG_PREFIX:$SG_PREFIX" \
  -b systemd.firstboot=off systemd.unit=basic.target >"$DEST/boot.log" 2>&1 &
NSPAWN=$!
P1=""
for _ in $(seq 120); do
  kill -0 "$NSPAWN" 2>/dev/null || { cat "$DEST/boot.log"; die "nspawn exited"; }
  P1=$(pgrep -P "$NSPAWN" -x systemd || true)
  if [ -n "$P1" ]; then
    state=$(nsenter -t "$P1" -a systemctl is-system-running 2>/dev/null || true)
    [[ $state == running || $state == degraded ]] && break
  fi
  sleep 0.5
done
[[ ${state:-} == running || ${state:-} == degraded ]] || { tail -20 "$DEST/boot.log"; die "the container did not boot (state '${state:-}')"; }
inc() { nsenter -t "$P1" -a "$@"; }
# grep -q would stop reading early, and pipefail would report the writer's
# SIGPIPE as a failure: search the captured output instead.
journal_has() { grep -q -- "$2" <<<"$(inc journalctl _PID="$1" --no-pager)"; }
ok "container up: systemd $(inc systemctl --version | head -1 | cut -d' ' -f2), state $state"

xfer() {  # bytes: client -> server over TCP through synguard, byte-exact
  ip netns exec "$NS" timeout 20 python3 -c '
import socket, sys, hashlib
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.79.0.2", 8079)); s.listen(1); s.settimeout(15)
c, _ = s.accept(); c.settimeout(15); h = hashlib.sha256()
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b)
print(h.hexdigest())' >"$DEST/got" &
  local srv=$!
  sleep 0.3
  local sent
  sent=$(ip netns exec "$NC" timeout 20 python3 -c '
import socket, sys, hashlib, os
d = os.urandom(int(sys.argv[1])); s = socket.create_connection(("10.79.0.2", 8079), timeout=15)
s.sendall(d); s.shutdown(socket.SHUT_WR); s.recv(1); print(hashlib.sha256(d).hexdigest())' "$1") || true
  wait "$srv" || true
  [ -n "$sent" ] && [ "$sent" = "$(cat "$DEST/got")" ]
}
offloads() { ip netns exec "$NM" ethtool -k "$1" | grep -E '^(generic-receive-offload|tcp-segmentation-offload|tx-checksumming|rx-vlan-offload):' | tr -d ' ' | sort | tr '\n' ' '; }
CAPS=0000008000207000   # CAP_NET_ADMIN NET_RAW IPC_LOCK SYS_ADMIN BPF
RELOADED='SIGHUP: configuration .* \(re-read\|applied\)'   # the daemon's log line

for backend in afpacket afxdp; do
  step "$backend"
  printf 'SYNGUARD_LAN=lan0\nSYNGUARD_WAN=wan0\nSYNGUARD_OPTS="--io %s"\n' "$backend" >"$DEST$DEFAULTS"
  before_wan=$(offloads wan0); before_lan=$(offloads lan0)
  ip netns exec "$NC" ping -c 1 -W 1 10.79.0.2 >/dev/null 2>&1 && die "the client reaches the server before synguard runs"
  inc systemctl reset-failed synguard 2>/dev/null || true
  timeout 60 nsenter -t "$P1" -a systemctl start synguard || die "systemctl start synguard"
  pid=$(inc systemctl show -P MainPID synguard)
  [ "$(inc systemctl is-active synguard)" = active ] && [ "$pid" -gt 0 ] || die "not active after start"
  # Type=notify: start returned after READY=1, so the bridge forwards now.
  ip netns exec "$NC" ping -c 1 -W 1 10.79.0.2 >/dev/null && ok "forwarding when start returns" \
    || fail "not forwarding when start returned (READY=1 too early)"
  [ "$(inc systemctl show -P StatusText synguard)" != "" ] && ok "status: $(inc systemctl show -P StatusText synguard)" \
    || fail "no STATUS= from synguard"
  for _ in $(seq 50); do ip netns exec "$NC" ping -c 1 -W 0.2 10.79.0.2 >/dev/null 2>&1 && break; done
  [ "$(inc systemctl show -P MainPID synguard)" = "$pid" ] && [ "$(inc systemctl is-active synguard)" = active ] \
    || die "synguard did not stay up (main PID $pid, now $(inc systemctl show -P MainPID synguard))"
  journal_has "$pid" "wan port wan0: $backend" \
    && ok "running on $backend" \
    || { fail "the journal does not say wan0 runs $backend:"; inc journalctl _PID="$pid" --no-pager | sed 's/^/  journal: /'; }

  # A directive that denies synguard something it can do without logs a
  # warning (a sysctl it cannot write, bpffs it cannot mount): none allowed.
  warnings=$(inc journalctl _PID="$pid" --no-pager -o cat | grep -E 'warning|error' || true)
  [ -z "$warnings" ] && ok "no warning at start" || fail "warnings at start:"$'\n'"$warnings"
  status=$(inc cat "/proc/$pid/status") || die "no /proc/$pid/status"
  [ "$(awk '/^CapBnd:/ {print $2}' <<<"$status")" = "$CAPS" ] && ok "capabilities: the five of the unit" \
    || fail "capability bounding set $(awk '/^CapBnd:/ {print $2}' <<<"$status"), want $CAPS"
  grep -q '^NoNewPrivs:[[:space:]]*1' <<<"$status" && grep -q '^Seccomp:[[:space:]]*2' <<<"$status" \
    && ok "no new privileges, seccomp filter on" || fail "NoNewPrivs/Seccomp not in force"

  ip netns exec "$NC" ping -c 3 -i 0.2 -W 2 10.79.0.2 >/dev/null && ok "ping through synguard" || fail "ping"
  xfer 2000000 && ok "2 MB over TCP through synguard, byte-exact" || fail "TCP transfer"
  sleep 1.2   # the counters synguardctl reads are a snapshot a second old
  stats=$(inc synguardctl stats) || fail "synguardctl stats on the default socket"
  awk '$1 == "proxied_established" && $2 >= 1 {f=1} END {exit !f}' <<<"$stats" \
    && ok "synguardctl: the connection was proxied" || fail "synguardctl: no proxied_established: $stats"
  [ "$(inc stat -c %a /run/synguard)" = 700 ] && ok "/run/synguard is 0700" || fail "/run/synguard mode"

  sleep 12   # longer than WatchdogSec: a daemon that does not ping is killed
  [ "$(inc systemctl show -P NRestarts synguard)" = 0 ] && [ "$(inc systemctl show -P MainPID synguard)" = "$pid" ] \
    && ok "watchdog kept fed" || fail "restarted by the watchdog"

  timeout 30 nsenter -t "$P1" -a systemctl reload synguard || fail "systemctl reload"
  for _ in $(seq 20); do
    journal_has "$pid" "$RELOADED" && break
    sleep 0.25
  done
  journal_has "$pid" "$RELOADED" \
    && ok "reload: configuration re-read" || fail "reload: no '$RELOADED' from $pid"
  [ "$(inc systemctl show -P MainPID synguard)" = "$pid" ] && ok "reload: same process" \
    || fail "reload: main PID $(inc systemctl show -P MainPID synguard), was $pid"
  xfer 100000 && ok "traffic after reload" || fail "traffic after reload"

  # Killed (a crash): systemd restarts it, and the new process finds the
  # ports' journals the old one left in /run/synguard and restores them
  # before preparing the ports again.
  inc kill -KILL "$pid"
  for _ in $(seq 60); do
    new=$(inc systemctl show -P MainPID synguard)
    [ "$new" != 0 ] && [ "$new" != "$pid" ] && [ "$(inc systemctl is-active synguard)" = active ] && break
    sleep 0.25
  done
  if [ "$new" != 0 ] && [ "$new" != "$pid" ]; then
    ok "restarted after SIGKILL"
    for _ in $(seq 20); do journal_has "$new" 'did not stop cleanly; restoring' && break; sleep 0.25; done
    journal_has "$new" 'did not stop cleanly; restoring' && ok "restored the ports from the journals the killed one left" \
      || fail "no restore from /run/synguard after SIGKILL (RuntimeDirectoryPreserve=?)"
    for _ in $(seq 50); do ip netns exec "$NC" ping -c 1 -W 0.2 10.79.0.2 >/dev/null 2>&1 && break; done
    xfer 100000 && ok "traffic after the restart" || fail "traffic after the restart"
  else
    fail "not restarted after SIGKILL"
  fi

  timeout 60 nsenter -t "$P1" -a systemctl stop synguard || fail "systemctl stop"
  [ "$(inc systemctl show -P Result synguard)" = success ] && ok "stopped cleanly" \
    || fail "stop: result $(inc systemctl show -P Result synguard)"
  if grep -q xdp <<<"$(ip -n "$NM" -d link show wan0)"; then fail "an XDP program is left on wan0"; fi
  [ "$(offloads wan0)" = "$before_wan" ] && [ "$(offloads lan0)" = "$before_lan" ] \
    && ok "offloads restored" || fail "offloads not restored: wan0 $(offloads wan0) (was $before_wan)"
done
finish install-unit-live
