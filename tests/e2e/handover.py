#!/usr/bin/env python3
"""Traffic for tests/e2e/handover.sh (Python 3 standard library only).

  handover.py probe-send ADDR PORT
      one UDP datagram a millisecond to ADDR:PORT until killed
  handover.py probe-recv ADDR PORT --ready F
      receives them until SIGTERM, then prints how many arrived, the
      longest time between two arrivals (the forwarding gap) and when it
      began (CLOCK_MONOTONIC), in ms
  handover.py cookie-syn IFACE DSTMAC SRC SPORT DST DPORT OUT
      sends a bare SYN through AF_PACKET, waits for the SYN-ACK and writes
      "ISN COOKIE" to OUT
  handover.py cookie-ack IFACE DSTMAC SRC SPORT DST DPORT IN
      sends the ACK of that SYN-ACK (SEQ = ISN + 1, ACK = COOKIE + 1)
"""
import argparse
import os
import random
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults import tcp_frame  # noqa: E402

SYN, ACK = 0x02, 0x10


def cmd_probe_send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.monotonic()
    n = 0
    while True:
        n += 1
        s.sendto(struct.pack('!Q', n), (a.addr, a.port))
        nxt = t0 + n * 0.001
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)


def cmd_probe_recv(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.addr, a.port))
    s.settimeout(0.5)
    if a.ready:
        open(a.ready, 'w').close()
    last = None
    gap = 0.0
    gap_from = 0.0
    n = 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            try:
                s.recv(64)
            except socket.timeout:
                continue
            now = time.monotonic()
            if last is not None and now - last > gap:
                gap, gap_from = now - last, last
            last = now
            n += 1
    finally:
        # time.monotonic() is CLOCK_MONOTONIC, synguard's phase clock.
        print('probes %d gap_ms %.1f from_ms %.3f' % (n, gap * 1000, gap_from * 1000),
              flush=True)


def mac(text):
    return bytes(int(x, 16) for x in text.split(':'))


def frame_args(a):
    src, dst = socket.inet_aton(a.src), socket.inet_aton(a.dst)
    with open('/sys/class/net/%s/address' % a.iface) as f:
        smac = mac(f.read().strip())
    return src, dst, smac


def cmd_cookie_syn(a):
    src, dst, smac = frame_args(a)
    r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    r.bind((a.iface, 3))
    r.settimeout(1)
    isn = random.getrandbits(32)
    syn = tcp_frame(mac(a.dstmac), smac, src, dst, a.sport, a.dport, isn, 0, SYN, True)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        r.send(syn)
        stop = time.monotonic() + 1
        while time.monotonic() < stop:
            try:
                f = r.recv(2048)
            except socket.timeout:
                break
            if (len(f) < 54 or f[12:14] != b'\x08\x00' or f[23] != 6 or
                    f[26:30] != dst or f[30:34] != src):
                continue
            ihl = (f[14] & 15) * 4
            sp, dp, seq, ack, _, flags = struct.unpack('!HHIIBB', f[14 + ihl:14 + ihl + 14])
            if (sp, dp) == (a.dport, a.sport) and flags & (SYN | ACK) == SYN | ACK:
                if ack != (isn + 1) & 0xffffffff:
                    sys.exit('cookie-syn: SYN-ACK acknowledges %d, not ISN + 1' % ack)
                with open(a.file, 'w') as out:
                    out.write('%d %d\n' % (isn, seq))
                return
    sys.exit('cookie-syn: no SYN-ACK in 10 s')


def cmd_cookie_ack(a):
    src, dst, smac = frame_args(a)
    with open(a.file) as f:
        isn, cookie = (int(x) for x in f.read().split())
    r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    r.bind((a.iface, 3))
    r.send(tcp_frame(mac(a.dstmac), smac, src, dst, a.sport, a.dport, (isn + 1) & 0xffffffff,
                     (cookie + 1) & 0xffffffff, ACK, True))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    for name in ('probe-send', 'probe-recv'):
        p = sub.add_parser(name)
        p.add_argument('addr')
        p.add_argument('port', type=int)
        p.add_argument('--ready')
    for name in ('cookie-syn', 'cookie-ack'):
        p = sub.add_parser(name)
        for f in ('iface', 'dstmac', 'src'):
            p.add_argument(f)
        p.add_argument('sport', type=int)
        p.add_argument('dst')
        p.add_argument('dport', type=int)
        p.add_argument('file')
    a = ap.parse_args()
    {'probe-send': cmd_probe_send, 'probe-recv': cmd_probe_recv,
     'cookie-syn': cmd_cookie_syn, 'cookie-ack': cmd_cookie_ack}[a.cmd](a)


if __name__ == '__main__':
    main()
