#!/usr/bin/env python3
"""Traffic for tests/e2e/faults.sh (Python 3 standard library only).

  faults.py listen ADDR PORT send|recv FILE [--rate B/s] [--ready F]
      accept one connection; send FILE to it, or write what arrives to FILE
  faults.py connect ADDR PORT send|recv FILE [--rate B/s] [--sport P]
      the same from the connecting side
      Both ends: after the data, shut down writing and wait for the peer's
      end of stream, so a transfer ends only when both FINs got through.
"""
import argparse
import os
import socket
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
    a = ap.parse_args()
    cmds = {
        'listen': cmd_listen,
        'connect': cmd_connect,
    }
    cmds[a.cmd](a)


if __name__ == '__main__':
    main()
