#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Slow HTTP clients cannot lock out the API: 40 connections from 40 loopback
addresses (more than MaxConnections=32, one per address so the per-address
limit does not help) each send one header line every 2 s and never finish,
and reconnect when closed, as an attacker would. Meanwhile a normal curl must
be answered in bounded time, and no slow connection lives longer than the
request deadline (10 s) plus a margin, however steadily it trickles."""

import select
import socket
import subprocess
import threading
import time

import harness
import httpapi
from harness import Tap, Workdir, stop_and_check
from httpapi import PASSWORD

N = 40
ROUNDS = 12        # header lines per connection at most: the loop is bounded in count
PERIOD = 2.0       # seconds between lines
DEADLINE = 10.0    # HTTPD_REQUEST_SEC
MARGIN = 3.0


class Loris:
    def __init__(self, port, src):
        self.port, self.src = port, src
        self.sock, self.born, self.lives = None, 0.0, []

    def connect(self):
        s = socket.socket()
        s.setblocking(False)
        s.bind((self.src, 0))
        s.connect_ex(("127.0.0.1", self.port))
        self.sock, self.born = s, time.monotonic()
        try:
            s.send(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        except OSError:
            pass  # still connecting: the next round sends

    def closed(self):
        r, _, _ = select.select([self.sock], [], [], 0)
        if not r:
            return False
        try:
            return self.sock.recv(4096) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def trickle(self, k):
        if self.closed():
            self.lives.append(time.monotonic() - self.born)
            self.sock.close()
            self.connect()
            return
        try:
            self.sock.send(b"X-Slow-%d: %d\r\n" % (k, k))
        except OSError:
            pass

    def close(self):
        self.sock.close()


def curl(port, results):
    t0 = time.monotonic()
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                        "--interface", "127.0.0.2", "-u", "user:" + PASSWORD,
                        "http://127.0.0.1:%d/api/v1/status" % port], capture_output=True, text=True, timeout=30)
    results.append((p.stdout.strip(), time.monotonic() - t0))


def attack(tap, port):
    lorises = [Loris(port, "127.0.0.%d" % (10 + i)) for i in range(N)]
    for lo in lorises:
        lo.connect()
    results, threads = [], []
    t_start = time.monotonic()
    for k in range(ROUNDS):
        if k in (2, 7):  # a normal client, twice during the attack
            th = threading.Thread(target=curl, args=(port, results))
            th.start()
            threads.append(th)
        time.sleep(PERIOD)
        for lo in lorises:
            lo.trickle(k)
        if time.monotonic() - t_start > ROUNDS * PERIOD + 10:
            break
    for th in threads:
        th.join(40)
    alive = [time.monotonic() - lo.born for lo in lorises if not lo.closed()]
    lives = [x for lo in lorises for x in lo.lives]
    for lo in lorises:
        lo.close()
    tap.diag("slow connections closed: %d, longest life %.1fs; normal requests: %r"
             % (len(lives), max(lives or [0]), results))
    tap.ok(len(results) == 2 and all(code == "200" and dt < 5 for code, dt in results),
           "during the attack a normal request is answered, twice (%r)" % results)
    longest = max(lives + alive or [0])
    tap.ok(lives and longest < DEADLINE + MARGIN,
           "no slow connection lived past the request deadline (%d closed, longest %.1fs)"
           % (len(lives), longest))


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        d, port = httpapi.start(tap, binary, w, httpapi.http_config(w.join("meter")))
        if port:
            attack(tap, port)
            st, _ = httpapi.Api(port).json("GET", "/api/v1/status")
            tap.ok(st == 200, "after the attack: served (%r)" % st)
        stop_and_check(tap, d, "slow clients")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
