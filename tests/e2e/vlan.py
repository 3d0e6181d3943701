#!/usr/bin/env python3
"""Tagged frames through the bridge (the kernel here has no 802.1Q devices,
so frames are crafted and read with AF_PACKET).

  vlan.py send IFACE DST_MAC      sends one 802.1Q and one QinQ frame
  vlan.py recv IFACE SRC_MAC SECS prints 'ok' once both arrived exactly

Linux strips the outer tag into packet metadata before packet sockets see
a frame; the receiver puts it back from PACKET_AUXDATA, so it compares the
frame as it was on the wire.
"""
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
EXPERIMENTAL = 0x88b5


def mac(s):
    return bytes(int(x, 16) for x in s.split(':'))


def frames(dst, src):
    pay1 = b'sg-vlan-dot1q' + bytes(40)
    pay2 = b'sg-vlan-qinq!' + bytes(40)
    f1 = dst + src + struct.pack('!HHH', 0x8100, 100, EXPERIMENTAL) + pay1
    f2 = (dst + src + struct.pack('!HHHHH', 0x88a8, 300, 0x8100, 200,
                                  EXPERIMENTAL) + pay2)
    return [f1, f2]


def send(ifname, dst):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    src = s.getsockname()[4]
    for f in frames(mac(dst), src):
        s.send(f)


def recv(ifname, src, secs):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((ifname, 0))
    me = s.getsockname()[4]
    want = frames(me, mac(src))
    seen = set()
    end = time.time() + secs
    while time.time() < end and len(seen) < len(want):
        s.settimeout(max(0.05, end - time.time()))
        try:
            data, anc, _, addr = s.recvmsg(4096, socket.CMSG_SPACE(32))
        except socket.timeout:
            break
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        for level, typ, cd in anc:
            if level == SOL_PACKET and typ == PACKET_AUXDATA and len(cd) >= 20:
                status, _, _, _, _, tci, tpid = struct.unpack('=IIIHHHH', cd[:20])
                if status & TP_STATUS_VLAN_VALID:
                    if not (status & TP_STATUS_VLAN_TPID_VALID) or not tpid:
                        tpid = 0x8100
                    data = data[:12] + struct.pack('!HH', tpid, tci) + data[12:]
        for i, w in enumerate(want):
            # Short frames are padded on the way: compare the frame's length.
            if data[:len(w)] == w:
                seen.add(i)
    print('ok' if len(seen) == len(want) else 'missing %s' %
          sorted(set(range(len(want))) - seen))


if __name__ == '__main__':
    if sys.argv[1] == 'send':
        send(sys.argv[2], sys.argv[3])
    else:
        recv(sys.argv[2], sys.argv[3], float(sys.argv[4]))
