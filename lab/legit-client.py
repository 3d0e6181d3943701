#!/usr/bin/env python3
"""A legitimate client for the lab: HTTP/1.0 GETs, one at a time, paced.

    lab/legit-client.py ADDR PORT SECONDS [--interval S] [--timeout S]

For SECONDS, starts a request every --interval seconds (default 0.1; the
next one at once when the previous one took longer) and gives each one
--timeout seconds (default 2: room for one SYN retransmission, which Linux
sends after 1 s).  A request succeeds when the answer starts with an HTTP
200 status line.  Prints one line of key=value pairs:

    attempts=N ok=N connect_ms_median=X connect_ms_p95=X total_ms_median=X

connect_ms is the time connect() took (through a SYN proxy: until the
proxy's SYN-ACK), total_ms until the whole answer was read (through the
proxy's connection to the server).  Failures count in attempts only.
Used by lab/bench; no third-party modules.
"""
import argparse
import socket
import statistics
import time


def one(addr, port, timeout):
    t0 = time.monotonic()
    deadline = t0 + timeout
    s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect((addr, port))
        tc = time.monotonic()
        s.sendall(b'GET / HTTP/1.0\r\nHost: lab\r\n\r\n')
        got = b''
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            b = s.recv(65536)
            if not b:
                break
            got += b
        if not got.startswith((b'HTTP/1.0 200', b'HTTP/1.1 200')):
            return None
        return (tc - t0) * 1e3, (time.monotonic() - t0) * 1e3
    except OSError:
        return None
    finally:
        s.close()


def pct(xs, p):
    if not xs:
        return float('nan')
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('addr')
    ap.add_argument('port', type=int)
    ap.add_argument('seconds', type=float)
    ap.add_argument('--interval', type=float, default=0.1)
    ap.add_argument('--timeout', type=float, default=2.0)
    a = ap.parse_args()

    end = time.monotonic() + a.seconds
    attempts = 0
    conn, total = [], []
    nxt = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now < nxt:
            time.sleep(nxt - now)
        nxt = time.monotonic() + a.interval
        attempts += 1
        r = one(a.addr, a.port, a.timeout)
        if r:
            conn.append(r[0])
            total.append(r[1])
    print('attempts=%d ok=%d connect_ms_median=%.2f connect_ms_p95=%.2f total_ms_median=%.2f'
          % (attempts, len(conn), pct(conn, 50), pct(conn, 95), pct(total, 50)))


if __name__ == '__main__':
    main()
