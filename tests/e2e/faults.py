#!/usr/bin/env python3
"""Traffic for tests/e2e/faults.sh (Python 3 standard library only).

  faults.py listen ADDR PORT send|recv FILE [--rate B/s] [--ready F]
      accept one connection; send FILE to it, or write what arrives to FILE
  faults.py connect ADDR PORT send|recv FILE [--rate B/s] [--sport P]
      the same from the connecting side
      Both ends: after the data, shut down writing and wait for the peer's
      end of stream, so a transfer ends only when both FINs got through.
  faults.py storm IFACE DSTMAC SRC SPORT DST DPORT --rst N --fin N --bad N --near N
      a spoofed RST/FIN storm on the connection SRC:SPORT -> DST:DPORT
      through AF_PACKET on IFACE (see cmd_storm())
  faults.py fin-ahead IFACE DSTMAC SRC SPORT DST DPORT
      one spoofed FIN inside the server's window on that connection
  faults.py synflood IFACE DSTMAC DST DPORT N --rate R
      N SYNs from random sources, R a second at most (see cmd_synflood())
  faults.py hold SRC DST PORT N [--ready F]
      open N connections from SRC and keep them open until killed
  faults.py accept ADDR PORT [--ready F]
      accept connections and keep them open until killed
"""
import argparse
import os
import random
import socket
import struct
import sys
import time

TIMEOUT = 30


def family(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def pump(sock, mode, path, rate):
    """Move FILE over sock, then close the stream cleanly both ways."""
    if mode == 'send':
        with open(path, 'rb') as f:
            data = f.read()
        chunk = 16384
        t0 = time.monotonic()
        for off in range(0, len(data), chunk):
            sock.sendall(data[off:off + chunk])
            if rate:
                ahead = (off + chunk) / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        sock.shutdown(socket.SHUT_WR)
        if sock.recv(1) != b'':
            sys.exit('peer sent data where its end of stream was expected')
    else:
        with open(path, 'wb') as f:
            while True:
                b = sock.recv(65536)
                if not b:
                    break
                f.write(b)
        sock.shutdown(socket.SHUT_WR)
    sock.close()


def cmd_listen(a):
    s = socket.socket(family(a.addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port))
    s.listen(1)
    s.settimeout(TIMEOUT)
    if a.ready:
        open(a.ready, 'w').close()
    c, _ = s.accept()
    c.settimeout(TIMEOUT)
    pump(c, a.mode, a.file, a.rate)


def cmd_connect(a):
    s = socket.socket(family(a.addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.sport:
        s.bind(('', a.sport))
    s.settimeout(TIMEOUT)
    t0 = time.monotonic()
    s.connect((a.addr, a.port))
    pump(s, a.mode, a.file, a.rate)
    print('connect: %s %d bytes in %d ms from connect() to the end of both streams'
          % (a.mode, os.path.getsize(a.file), (time.monotonic() - t0) * 1000), flush=True)


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def tcp_frame(dmac, smac, src, dst, sport, dport, seq, ack, flags, good):
    """An IPv4 TCP frame without options or payload; its TCP checksum is
    right, or wrong by one when not good."""
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, 502, 0, 0)
    pseudo = src + dst + struct.pack('!BBH', 0, 6, len(tcp))
    c = csum(pseudo + tcp)
    if not good:
        c = (c + 1) & 0xffff or 1
    tcp = tcp[:16] + struct.pack('!H', c) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0x4000,
                     64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return dmac + smac + b'\x08\x00' + ip + tcp


def sniff_seq(iface, src, dst, sport, dport, timeout=10):
    """The client's current SEQ and ACK on the connection, from a segment it
    sends (what an attacker on the client's segment would see)."""
    # ETH_P_ALL: a socket bound to one protocol sees no outgoing frames.
    r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    r.bind((iface, 3))
    r.settimeout(timeout)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        f = r.recv(2048)
        if len(f) < 54 or f[12:14] != b'\x08\x00' or f[23] != 6 or f[26:30] != src or f[30:34] != dst:
            continue
        ihl = (f[14] & 15) * 4
        sp, dp, seq, ack = struct.unpack('!HHII', f[14 + ihl:14 + ihl + 12])
        if (sp, dp) == (sport, dport):
            r.close()
            return seq, ack
    sys.exit('storm: no segment of the connection seen in %d s' % timeout)


def cmd_storm(a):
    """Spoofed segments as from the client, towards the server:
    --rst RSTs and --fin FIN+ACKs at uniformly random sequence numbers,
    --bad RSTs and FINs with random numbers and a wrong checksum, and
    --near RSTs in the window behind the client's live sequence number
    (where a genuine but late RST could be), never within 64 KiB of it:
    synguard must drop them all and answer the --near ones with a
    challenge ACK.  Random FINs avoid the 16 MiB ahead of the live number:
    a FIN there is in the server's window, which a blind attacker hits
    once in 256 tries at most; faults.sh checks that case on its own."""
    dmac = bytes.fromhex(a.dstmac.replace(':', ''))
    with open('/sys/class/net/%s/address' % a.iface) as f:
        smac = bytes.fromhex(f.read().strip().replace(':', ''))
    src, dst = socket.inet_aton(a.src), socket.inet_aton(a.dst)
    live, ack = sniff_seq(a.iface, src, dst, a.sport, a.dport)

    def far():
        while True:
            s = random.getrandbits(32)
            if (s - live) % 2**32 >= 1 << 24:
                return s

    frames = []
    frames += [(far(), ack, 0x04, True) for _ in range(a.rst)]               # RST
    frames += [(far(), ack, 0x11, True) for _ in range(a.fin)]               # FIN ACK
    frames += [(far(), ack, random.choice((0x04, 0x11)), False) for _ in range(a.bad)]
    frames += [((live - random.randrange(1 << 16, 1 << 22)) % 2**32, ack, 0x04, True)
               for _ in range(a.near)]
    random.shuffle(frames)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    for i, (seq, ak, flags, good) in enumerate(frames):
        s.send(tcp_frame(dmac, smac, src, dst, a.sport, a.dport, seq, ak, flags, good))
        if i % 64 == 63:
            time.sleep(0.002)     # no burst larger than a receive ring
    print('storm: %d frames, client SEQ %d ACK %d' % (len(frames), live, ack))


def cmd_fin_ahead(a):
    """One spoofed FIN+ACK a little ahead of the client's live sequence
    number: inside the server's receive window, but not where the client's
    own FIN will be."""
    dmac = bytes.fromhex(a.dstmac.replace(':', ''))
    with open('/sys/class/net/%s/address' % a.iface) as f:
        smac = bytes.fromhex(f.read().strip().replace(':', ''))
    src, dst = socket.inet_aton(a.src), socket.inet_aton(a.dst)
    live, ack = sniff_seq(a.iface, src, dst, a.sport, a.dport)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    s.send(tcp_frame(dmac, smac, src, dst, a.sport, a.dport, (live + 1000) % 2**32, ack,
                     0x11, True))
    print('fin-ahead: FIN at client SEQ %d + 1000' % live)


def cmd_synflood(a):
    """SYNs from random sources and ports, paced to at most --rate a second
    in bursts of a hundredth of it.  Paced below a SYN cache's rate limit,
    they fill the cache until it steps aside for its fill level."""
    dmac = bytes.fromhex(a.dstmac.replace(':', ''))
    smac = bytes.fromhex('020000006666')      # nobody's: answers go nowhere
    dst = socket.inet_aton(a.dst)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    burst = max(1, a.rate // 100)
    t0 = time.monotonic()
    for i in range(a.n):
        src = struct.pack('!I', random.randrange(0x01000000, 0xdf000000))
        s.send(tcp_frame(dmac, smac, src, dst, random.randrange(1024, 65536), a.dport,
                         random.getrandbits(32), 0, 0x02, True))
        if i % burst == burst - 1:
            ahead = (i + 1) / a.rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    print('synflood: %d SYNs in %.1f s' % (a.n, time.monotonic() - t0))


def cmd_hold(a):
    socks, fails = [], 0
    for _ in range(a.n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((a.src, 0))
        s.settimeout(5)
        try:
            s.connect((a.dst, a.port))
            socks.append(s)
        except OSError:
            fails += 1
            s.close()
    print('hold: %d connections open from %s, %d failed' % (len(socks), a.src, fails), flush=True)
    if a.ready:
        open(a.ready, 'w').close()
    while True:
        time.sleep(3600)


def cmd_accept(a):
    s = socket.socket(family(a.addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port))
    s.listen(4096)
    if a.ready:
        open(a.ready, 'w').close()
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    for name in ('listen', 'connect'):
        p = sub.add_parser(name)
        p.add_argument('addr')
        p.add_argument('port', type=int)
        p.add_argument('mode', choices=('send', 'recv'))
        p.add_argument('file')
        p.add_argument('--rate', type=float, default=0)
        p.add_argument('--ready')
        p.add_argument('--sport', type=int, default=0)
    for name in ('storm', 'fin-ahead'):
        p = sub.add_parser(name)
        for f in ('iface', 'dstmac', 'src'):
            p.add_argument(f)
        p.add_argument('sport', type=int)
        p.add_argument('dst')
        p.add_argument('dport', type=int)
        for f in ('rst', 'fin', 'bad', 'near'):
            p.add_argument('--' + f, type=int, default=0)
    p = sub.add_parser('synflood')
    for f in ('iface', 'dstmac', 'dst'):
        p.add_argument(f)
    p.add_argument('dport', type=int)
    p.add_argument('n', type=int)
    p.add_argument('--rate', type=int, default=4000)
    p = sub.add_parser('hold')
    p.add_argument('src')
    p.add_argument('dst')
    p.add_argument('port', type=int)
    p.add_argument('n', type=int)
    p.add_argument('--ready')
    p = sub.add_parser('accept')
    p.add_argument('addr')
    p.add_argument('port', type=int)
    p.add_argument('--ready')
    a = ap.parse_args()
    cmds = {
        'listen': cmd_listen,
        'connect': cmd_connect,
        'storm': cmd_storm,
        'fin-ahead': cmd_fin_ahead,
        'synflood': cmd_synflood,
        'hold': cmd_hold,
        'accept': cmd_accept,
    }
    cmds[a.cmd](a)


if __name__ == '__main__':
    main()
