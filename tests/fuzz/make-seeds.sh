#!/usr/bin/env bash
# Regenerates fuzz_proxy's seed corpus, tests/fuzz/seeds/fuzz_proxy/:
#   tests/fuzz/make-seeds.sh [build dir, default build]
#
# scenario-*  the unit tests' scenarios (test_proxy, test_attacks,
#             test_defences), run with
#             SG_TEST_DUMP_DIR (tests/unit/proxy_harness.h) and turned into
#             fuzz_proxy records: whole handshakes, data, closes and
#             timeouts, with cookies the harness's fixed seed accepts, which
#             random mutation alone would take a long time to find.  One
#             flavour per test (IPv4, IPv6, QinQ in turn, so each has a
#             third), the first scenario of each and the last of tests
#             that run several, cut to SEED_MAX bytes.
# frame-*     each of fuzz_parse's seed frames, sent on the WAN port and
#             then on the LAN port.
# flood-*     one SYN repeated on 65 source ports: a monitoring box's
#             source over its quota, a 16-entry table filled from the LAN.
# partial-*   SYNs with the partial checksum of an offloading endpoint.
#
# Deterministic: the same tests give the same files.  Re-run it when the
# scenarios or fuzz_proxy's input format change, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
SEED_MAX=${SEED_MAX:-20480}
out=tests/fuzz/seeds/fuzz_proxy

[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" tests/unit/test_proxy tests/unit/test_attacks tests/unit/test_defences >/dev/null
dump=$(mktemp -d)
trap 'rm -rf "$dump"' EXIT
for t in test_proxy test_attacks test_defences; do
  log=$(SG_TEST_DUMP_DIR=$dump "$BUILD/tests/unit/$t" 2>&1) || { echo "$log"; exit 1; }
done

rm -f "$out"/scenario-* "$out"/frame-* "$out"/flood-* "$out"/partial-*
mkdir -p "$out"
python3 - "$dump" "$out" "$SEED_MAX" tests/fuzz/seeds/fuzz_parse <<'PY'
import os, re, struct, sys

dump, out, seed_max, parse_seeds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
MS = 1000000

# fuzz_proxy.c's encoding: a record's dt byte is (units << 6) | count,
# count <= 63; a tick record with op bit 5 sleeps in the long units.
DT_UNITS = [1, 10, 250, 1000]                    # ms
SLEEP_UNITS = [60000, 300000, 900000, 3600000]   # ms
FRAME, TICK, SLEEP = 0x00, 0x02, 0x22

def split_ms(ms):
    """The dt bytes that advance ms exactly: (op, dt) of the records to
    send before the event, and the dt byte of the event itself."""
    pre = []
    for i in reversed(range(4)):
        while ms >= SLEEP_UNITS[0] and ms >= SLEEP_UNITS[i]:
            n = min(63, ms // SLEEP_UNITS[i])
            pre.append((SLEEP, (i << 6) | n))
            ms -= n * SLEEP_UNITS[i]
    parts = []
    for i in reversed(range(4)):
        while ms >= DT_UNITS[i]:
            n = min(63, ms // DT_UNITS[i])
            parts.append((i << 6) | n)
            ms -= n * DT_UNITS[i]
    if not parts:
        parts = [0]
    pre += [(TICK, dt) for dt in parts[:-1]]
    return pre, parts[-1]

def csum(data, s=0):
    if len(data) % 2:
        data += b'\0'
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s

def checksums_valid(f):
    """False when the frame's IPv4 header or TCP checksum is wrong: a test
    made it so on purpose, and fuzz_proxy must take it as it is."""
    off, et = 12, None
    while off + 2 <= len(f):
        et = struct.unpack('>H', f[off:off + 2])[0]
        if et not in (0x8100, 0x88a8, 0x9100):
            break
        off += 4
    off += 2
    if et == 0x0800 and off + 20 <= len(f):
        ihl = (f[off] & 15) * 4
        ip = f[off:off + ihl]
        if len(ip) < 20 or csum(ip) != 0xffff:
            return False
        tot = struct.unpack('>H', ip[2:4])[0]
        if ip[9] != 6 or struct.unpack('>H', ip[6:8])[0] & 0x3fff:
            return True
        seg = f[off + ihl:off + tot]
        ph = ip[12:20] + struct.pack('>HH', 6, len(seg))
    elif et == 0x86dd and off + 40 <= len(f):
        ip = f[off:off + 40]
        if ip[6] != 6:
            return True                     # extension headers: leave it
        plen = struct.unpack('>H', ip[4:6])[0]
        seg = f[off + 40:off + 40 + plen]
        ph = ip[8:40] + struct.pack('>IxxxB', len(seg), 6)
    else:
        return True
    return len(seg) < 20 or csum(ph + seg) == 0xffff

def convert(path):
    lines = [l.split() for l in open(path)]
    cfg = lines[0]
    assert cfg[0] == 'config'
    capacity, unknown, bad, clamp, shared, monitor, signed_drop, share, syn_rate, rl = \
        (int(x) for x in cfg[1:11])
    # fuzz_proxy.c's configuration bytes; the nearest capacity, the SYN
    # cache off or as shipped, rate limits off or as shipped, no policy.
    cap = 1 if capacity <= 16 else 0 if capacity <= 64 else 2 if capacity <= 256 else 3
    conf0 = (2 if unknown else 0) | (4 if bad else 0) | (8 if clamp else 0) | (cap << 4)
    conf1 = (2 if monitor else 0) | (4 if signed_drop else 0) | (8 if share >= 100 else 0) | \
            (16 if shared else 0)
    conf2 = (1 if syn_rate else 0) | (4 if rl else 0)
    events = lines[1:]
    # A run of ticks that emitted nothing collapses into its last one:
    # they only moved the clock, and h_advance ticks every 10 ms.
    kept = []
    for i, e in enumerate(events):
        nxt = events[i + 1] if i + 1 < len(events) else None
        if e[0] == 'tick' and e[2] == '0' and nxt and nxt[0] == 'tick':
            continue
        kept.append(e)
    recs, now = [], None
    for e in kept:
        t = int(e[2] if e[0] == 'frame' else e[1])
        if now is None:
            now = 1000 * 1000 * MS          # fuzz_proxy's clock at start
        pre, dt = split_ms(max(0, t - now) // MS)
        now += (max(0, t - now) // MS) * MS
        rec = b''.join(bytes([op, d]) for op, d in pre)
        if e[0] == 'frame':
            frame = bytes.fromhex(e[3])
            as_is = 0 if checksums_valid(frame) else 0x8000
            rec += bytes([FRAME | (int(e[1]) << 2), dt]) + struct.pack('>H', len(frame) | as_is) + frame
        else:
            rec += bytes([TICK, dt])
        recs.append(rec)
    seed = bytes([conf0, conf1, conf2])
    for r in recs:
        if len(seed) + len(r) > seed_max:
            break
        seed += r
    return seed

scen = {}
for name in os.listdir(dump):
    m = re.fullmatch(r'(.+)\.(ipv4|ipv6|ipv4\+qinq)\.(\d+)', name)
    test, fl, n = m.group(1), m.group(2), int(m.group(3))
    scen.setdefault(test, {}).setdefault(fl, []).append(n)

order = ['ipv4', 'ipv6', 'ipv4+qinq']
for i, test in enumerate(sorted(scen)):
    fls = scen[test]
    fl = next(f for f in order[i % 3:] + order[:i % 3] if f in fls)
    ns = sorted(fls[fl])
    for n in sorted({ns[0], ns[-1]}):
        seed = convert(os.path.join(dump, '%s.%s.%d' % (test, fl, n)))
        if len(seed) > 3:
            open(os.path.join(out, 'scenario-%s.%s.%d' % (test, fl, n)), 'wb').write(seed)

# Floods of one SYN (bit 14 of the length): a monitoring box's source over
# its quota, and LAN-opened connections filling a 16-entry table.
syn = open(os.path.join(parse_seeds, 'v4_syn'), 'rb').read()
for name, conf, port in (('flood-wan-monitor-quota', [0x30, 0x02, 0x04], 1),
                         ('flood-lan-full-table', [0x10, 0x00, 0x04], 0)):
    seed = bytes(conf + [FRAME | (port << 2), 0]) + struct.pack('>H', len(syn) | 0x4000) + syn
    open(os.path.join(out, name), 'wb').write(seed)

# Frames as an endpoint with checksum offload sends them (mode 3): the
# TCP checksum field holds the pseudo-header sum, for the core to finish.
for name in ('v4_syn', 'v6_syn'):
    frame = open(os.path.join(parse_seeds, name), 'rb').read()
    seed = bytes([0, 0, 4])
    for port in (1, 0):
        seed += bytes([FRAME | (port << 2), 0]) + struct.pack('>H', len(frame) | 0xc000) + frame
    open(os.path.join(out, 'partial-' + name), 'wb').write(seed)

for name in sorted(os.listdir(parse_seeds)):
    frame = open(os.path.join(parse_seeds, name), 'rb').read()
    seed = bytes([0, 0, 4])
    for port in (1, 0):
        as_is = 0 if checksums_valid(frame) else 0x8000
        seed += bytes([FRAME | (port << 2), 0]) + struct.pack('>H', len(frame) | as_is) + frame
    open(os.path.join(out, 'frame-' + name), 'wb').write(seed)
PY
echo "$out: $(ls "$out" | wc -l) files, $(du -sk "$out" | cut -f1) KiB"
