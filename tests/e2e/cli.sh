#!/usr/bin/env bash
# The daemon's command line: documented messages and exit codes.
#   cli.sh SYNGUARD SYNGUARDCTL EXAMPLE_CONF
set -uo pipefail
SG=$1 CTL=$2 CONF=$3
TMP=$(mktemp -d /tmp/sg-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
check() {  # name want_rc pattern cmd...
  local name=$1 want=$2 pat=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -qE -- "$pat" <<<"$out"; then
    echo "FAIL: $name: exit $rc (want $want), output:"; sed 's/^/  /' <<<"$out"
    fails=$((fails + 1))
  else
    echo "ok: $name"
  fi
}
check "--version" 0 '^synguard [0-9]+\.[0-9]+' "$SG" --version
check "--help" 0 'usage: synguard --lan IF --wan IF' "$SG" --help
check "two bare names" 2 'ambiguous: say which is which with --lan eth0 --wan eth1' "$SG" eth0 eth1
check "one port missing" 2 'both --lan and --wan are required' "$SG" --lan eth0
check "bad --io" 2 '--io: "dpdk" is not one of auto\|afxdp\|afpacket' "$SG" --lan a --wan b --io dpdk
# Numbers on the command line: digits only, range from the option table.
check "--threads 2x" 2 '--threads: "2x" is not an integer in 1\.\.64' "$SG" --lan a --wan b --threads 2x
check "--threads -1" 2 '--threads: "-1" is not an integer in 1\.\.64' "$SG" --lan a --wan b --threads -1
check "--threads 0" 2 '--threads: 0 is out of range 1\.\.64' "$SG" --lan a --wan b --threads 0
check "--threads 65" 2 '--threads: 65 is out of range 1\.\.64' "$SG" --lan a --wan b --threads 65
check "--cpus 1,x" 2 '--cpus: "1,x" is not a list like 1,3,5-7 of integers in 0\.\.4095' "$SG" --lan a --wan b --cpus 1,x
check "--cpus 4096" 2 '--cpus: entry 1 \(4096\) is out of range 0\.\.4095' "$SG" --lan a --wan b --cpus 4096
printf 'conntrack = { capacity = 16; };\n' >"$TMP/small.conf"
check "--threads over a small table" 1 'conntrack.capacity: 16 entries are too few for 4 threads' \
  "$SG" -c "$TMP/small.conf" --lan a --wan b --threads 4
check "missing interface" 3 'nosuch0: ENODEV: no such network interface' "$SG" --lan nosuch0 --wan nosuch1
# Ports: named, not empty, not the same one twice.
check "--lan empty" 2 '--lan "": an empty interface name' "$SG" --lan "" --wan b
check "--wan empty" 2 '--wan "": an empty interface name' "$SG" --lan a --wan ""
check "same port twice" 2 '--lan and --wan must be different interfaces \(both are eth0\)' \
  "$SG" --lan eth0 --wan eth0
check "port name too long" 2 '--lan "abcdefghijklmnop": longer than an interface name may be' \
  "$SG" --lan abcdefghijklmnop --wan b
check "-c names a missing file" 1 "$TMP/none.conf: cannot read the file: No such file or directory" \
  "$SG" -c "$TMP/none.conf" --lan a --wan b
check "example config is valid" 0 'configuration is valid' "$SG" --check-config "$CONF"
# --check-config refuses what the start would refuse on this machine, with
# the exit status the start would have.
key=$TMP/cookie.key
printf 'threads = 1;\ncookie = {\n  key_file = "%s";\n};\n' "$key" >"$TMP/key.conf"
printf '%064d\n' 0 >"$key"; chmod 644 "$key"
check "check-config: a key file others may read" 1 \
  "$TMP/key.conf:3: cookie.key_file: .*\(mode 0644\).*chmod 600" "$SG" --check-config "$TMP/key.conf"
printf '0011\n' >"$key"; chmod 600 "$key"
check "check-config: a malformed key file" 1 \
  "$TMP/key.conf:3: cookie.key_file: .*exactly 64 hexadecimal digits" "$SG" --check-config "$TMP/key.conf"
chmod 000 "$key"
if [ "$(id -u)" -ne 0 ]; then    # root reads it whatever its mode
  check "check-config: an unreadable key file" 1 \
    "$TMP/key.conf:3: cookie.key_file: .*cannot open key file: Permission denied" "$SG" --check-config "$TMP/key.conf"
fi
rm -f "$key"
check "check-config: a missing key file" 1 \
  "$TMP/key.conf:3: cookie.key_file: .*cannot open key file: No such file" "$SG" --check-config "$TMP/key.conf"
printf '%064d\n' 0 >"$key"; chmod 600 "$key"
check "check-config: a good key file" 0 'configuration is valid' "$SG" --check-config "$TMP/key.conf"
printf 'threads = 1;\ncpus = [0, 4095];\n' >"$TMP/cpus.conf"
check "check-config: a CPU that does not exist" 1 \
  "$TMP/cpus.conf:2: cpus: CPU 4095: no such CPU, or not one synguard may run on \(it may use " \
  "$SG" --check-config "$TMP/cpus.conf"
check "check-config: --cpus over the file" 1 '^synguard: --cpus: CPU 4095: no such CPU' \
  "$SG" --check-config "$CONF" --cpus 4095
check "start: a CPU that does not exist, before the ports" 1 "$TMP/cpus.conf:2: cpus: CPU 4095" \
  "$SG" -c "$TMP/cpus.conf" --lan nosuch0 --wan nosuch1
check "check-config: a port that does not exist" 3 \
  'nosuch0: ENODEV: no such network interface \(check --wan' "$SG" --check-config "$CONF" --lan lo --wan nosuch0
check "check-config: a port that exists" 0 'configuration is valid' "$SG" --check-config "$CONF" --lan lo
check "check-config: no -c beside it" 2 'no -c with it' "$SG" --check-config "$CONF" -c "$CONF"
# What --check-config prints is a configuration that loads back unchanged.
printf 'threads = 2;\nconntrack = { capacity = 4096; timeouts = { established = 600; }; };\n%s\n%s\n' \
  'policy = { rules = ( { dst = "192.0.2.0/24"; ports = "80-443"; action = "bypass"; } ); allow = [ "198.51.100.0/24" ]; };' \
  'learn = { pins = ( { dst = "192.0.2.7"; port = 22; sack = false; } ); }; ratelimit = { enabled = false; };' \
  >"$TMP/some.conf"
"$SG" --check-config "$TMP/some.conf" >"$TMP/printed.conf" 2>/dev/null
"$SG" --check-config "$TMP/printed.conf" >"$TMP/printed2.conf" 2>/dev/null
if [ -s "$TMP/printed.conf" ] && grep -q 'capacity = 4096;' "$TMP/printed.conf" &&
   cmp -s "$TMP/printed.conf" "$TMP/printed2.conf"; then
  echo "ok: the printed configuration loads back unchanged"
else
  echo "FAIL: the printed configuration does not load back unchanged:"
  diff "$TMP/printed.conf" "$TMP/printed2.conf" | sed 's/^/  /'
  fails=$((fails + 1))
fi
printf 'threads = 2;\nconntrack = {\n  capacity = 3;\n};\n' >"$TMP/bad.conf"
check "bad value names file:line and range" 1 "$TMP/bad.conf:3: conntrack.capacity: 3 is out of range 16\.\.134217728" \
  "$SG" --check-config "$TMP/bad.conf"
printf 'threads = 1;\nthread = 2;\n' >"$TMP/typo.conf"
check "unknown option" 1 "$TMP/typo.conf:2: unknown option 'thread'" "$SG" -c "$TMP/typo.conf" --lan a --wan b
check "synguardctl without a daemon" 3 'is synguard running' "$CTL" -s "$TMP/none.sock" stats
check "synguardctl usage" 2 'usage: synguardctl' "$CTL" --frobnicate

# pcap replay has one queue: with --threads 2 the connection table must
# still reuse what it frees (a table worker with no queue of its own never
# reached a quiescent point, so nothing freed came back).  200 SYNs opened
# from the LAN into a 16-entry table: each is tracked, evicting the oldest.
python3 - "$TMP/lan.pcap" <<'PY'
import struct, sys
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(200):
        src, dst = bytes([10, 0, 0, 2]), bytes([192, 0, 2, 1 + i % 200])
        tcp = struct.pack('!HHIIBBHHH', 20000 + i, 80, i * 7919, 0, 5 << 4, 0x02, 64240, 0, 0)
        ph = src + dst + struct.pack('!BBH', 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack('!H', csum(ph + tcp)) + tcp[18:]
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
        fr = bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]) + b'\x08\x00' + ip + tcp
        f.write(struct.pack('<IIII', 1, i, len(fr), len(fr)) + fr)
PY
printf 'conntrack = { capacity = 16; };\n' >"$TMP/tiny.conf"
out=$("$SG" -c "$TMP/tiny.conf" --lan l --wan w --pcap-in-lan "$TMP/lan.pcap" --threads 2 2>&1)
counter() { awk -v n="$1" '$1 == n {print $2}' <<<"$out"; }
reclaimed=$(counter conntrack_reclaimed)
if [ "$(counter uplink_tracked)" = 200 ] && [ "$(counter drop_table_full)" = 0 ] &&
   [ "${reclaimed:-0}" -gt 0 ]; then
  echo "ok: pcap replay with --threads 2 reuses freed table entries"
else
  echo "FAIL: pcap replay with --threads 2: tracked $(counter uplink_tracked)/200," \
       "table full $(counter drop_table_full), reclaimed $(counter conntrack_reclaimed)"
  grep -E 'notice|warning|error' <<<"$out" | sed 's/^/  /'
  fails=$((fails + 1))
fi

# sd_notify: READY=1 once the workers run, STOPPING=1 at the end, on the
# socket a service manager names in NOTIFY_SOCKET.
notes=$(python3 - "$TMP/notify.sock" "$SG" -c "$TMP/tiny.conf" --lan l --wan w \
          --pcap-in-lan "$TMP/lan.pcap" <<'PY'
import os, socket, subprocess, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
rc = subprocess.run(sys.argv[2:], env=dict(os.environ, NOTIFY_SOCKET=path),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60).returncode
s.settimeout(0.5)
fields = []
try:
    while True:
        fields += s.recv(4096).decode().split('\n')
except socket.timeout:
    pass
print('exit=%d' % rc, ' '.join(f for f in fields if not f.startswith('MONOTONIC_USEC')))
PY
)
if [[ $notes =~ ^exit=0\ .*READY=1\ STATUS=running:\ 1\ worker,\ proxying.*STOPPING=1 ]] &&
   ! [[ $notes =~ STOPPING=1.*READY=1 ]]; then
  echo "ok: sd_notify: READY=1, then STOPPING=1"
else
  echo "FAIL: sd_notify: want READY=1 then STOPPING=1, got: $notes"
  fails=$((fails + 1))
fi

# Bad checksums are named in the log, with the likely cause: three WAN SYNs
# whose checksum is off by one.
python3 - "$TMP/badcsum.pcap" <<'PY'
import struct, sys
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(3):
        src, dst = bytes([198, 51, 100, 2]), bytes([192, 0, 2, 1])
        tcp = struct.pack('!HHIIBBHHH', 30000 + i, 80, i * 7919, 0, 5 << 4, 0x02, 64240, 0x1234, 0)
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src, dst)
        s = sum(struct.unpack('!10H', ip))
        while s >> 16:
            s = (s & 0xffff) + (s >> 16)
        ip = ip[:10] + struct.pack('!H', ~s & 0xffff) + ip[12:]
        fr = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]) + b'\x08\x00' + ip + tcp
        f.write(struct.pack('<IIII', 1, i, len(fr), len(fr)) + fr)
PY
check "bad checksums are explained" 0 \
  '3 TCP segments dropped for a bad checksum \(drop_bad_checksum\).*ethtool -K IF tx off' \
  "$SG" --lan l --wan w --pcap-in-wan "$TMP/badcsum.pcap"
[ "$fails" -eq 0 ] && echo "PASS: cli" || { echo "FAIL: $fails check(s)"; exit 1; }
