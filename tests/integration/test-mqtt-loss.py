#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Broker trouble must never hold up the rest of the daemon. The broker is
stopped and started again on its port: the daemon reconnects by itself and
publishes again. While the broker is down, and while it is black-holed (a
listener that accepts and never answers, plain and TLS), telegrams keep being
decoded and Modbus reads and HTTP requests answer as fast as in a baseline taken with a healthy
broker (bound: 10 x the baseline's p99 or 200 ms, whichever is larger, far
below ConnectTimeout), and the connect timeout cuts the silent attempts."""

import base64
import http.client
import re
import signal
import socket
import struct
import threading
import time

import harness
import mqttlib
from harness import TELEGRAM_RX, Daemon, Pty, Tap, Workdir
from mqttlib import BASE, CONNECTED_RX, FAILED_RX, BlackHole, Broker, Sub

POWER = BASE + "/data/power_instant"
HTTP_PASSWORD = "Loss-5e1f0c"
READS = 300


class Feeder:
    """Writes the telegram into the pty twice a second, like a meter."""

    def __init__(self, pty, raw):
        self.pty, self.raw = pty, raw
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(0.5):
            self.pty.write(self.raw)

    def close(self):
        self.stop.set()
        self.thread.join()


def modbus_latencies(port, n=READS):
    """n FC 0x04 reads of 2 registers on one connection: seconds per read."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    try:
        for tid in range(n):
            req = struct.pack(">HHHBBHH", tid, 0, 6, 1, 4, 0x8016, 2)
            t0 = time.perf_counter()
            s.sendall(req)
            buf = b""
            while len(buf) < 9:
                chunk = s.recv(260)
                if not chunk:
                    raise OSError("closed")
                buf += chunk
            out.append(time.perf_counter() - t0)
            time.sleep(0.005)
    finally:
        s.close()
    return sorted(out)


def http_latencies(port, n=READS // 3):
    """n GET /api/v1/status on one keep-alive connection: seconds per answer."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    auth = {"Authorization": "Basic " + base64.b64encode(b"user:" + HTTP_PASSWORD.encode()).decode()}
    out = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            c.request("GET", "/api/v1/status", headers=auth)
            r = c.getresponse()
            r.read()
            if r.status != 200:
                raise OSError("status %d" % r.status)
            out.append(time.perf_counter() - t0)
            time.sleep(0.005)
    finally:
        c.close()
    return sorted(out)


def p99(xs):
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))]


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        broker = w.add(Broker(w, "broker"))
        hole = w.add(BlackHole())
        link = w.join("tty")
        pty = w.add(Pty(link))
        sub = w.add(Sub(broker.port))
        url = "mqtt://127.0.0.1:%d" % broker.port
        extra = "ConnectTimeout=3\nKeepAlive=5\n"
        conf = mqttlib.mqtt_config(link, url, extra) + "[Modbus]\n"
        # StalePolicy keep: every read gets registers, whatever the meter does.
        conf = conf.replace("[Modbus]\nListen=127.0.0.1:0\n", "[Modbus]\nListen=127.0.0.1:0\nStalePolicy=keep\n", 1)
        conf = conf[:-len("[Modbus]\n")]
        conf = conf.replace("[HTTP]\n", "[HTTP]\nPassword=%s\n" % HTTP_PASSWORD, 1)
        d = w.add(Daemon(binary, w.path, conf))
        tap.on_failure = [lambda: d.dump(tap)]
        i, m = d.wait_for(r"Modbus TCP server on port (\d+)")
        mb_port = int(m.group(1))
        i, m = d.wait_for(r"HTTP API on port (\d+)")
        http_port = int(m.group(1)) if m else 0
        tap.ok(m is not None, "HTTP API listening")
        tap.ok(d.wait_for(CONNECTED_RX)[0] is not None, "connected")
        harness.feed_until(d, pty, harness.testdata(mqttlib.DSMR50), TELEGRAM_RX)
        feeder = w.add(Feeder(pty, harness.testdata(mqttlib.DSMR50)))

        base = modbus_latencies(mb_port)
        bound = max(10 * p99(base), 0.2)
        tap.diag("Modbus baseline: p50 %.3f ms, p99 %.3f ms; bound %.1f ms" %
                 (base[len(base) // 2] * 1e3, p99(base) * 1e3, bound * 1e3))
        hbase = http_latencies(http_port)
        hbound = max(10 * p99(hbase), 0.2)
        tap.diag("HTTP baseline: p50 %.3f ms, p99 %.3f ms; bound %.1f ms" %
                 (hbase[len(hbase) // 2] * 1e3, p99(hbase) * 1e3, hbound * 1e3))

        # 1. Broker down.
        broker.stop()
        i, m = d.wait_for(FAILED_RX)
        tap.ok(i is not None, "broker loss noticed: %r" % (m and m.group(1)))
        mark = d.count()
        lat = modbus_latencies(mb_port)
        tap.ok(lat[-1] < bound, "broker down: Modbus max %.3f ms < %.1f ms (p99 %.3f ms)" %
               (lat[-1] * 1e3, bound * 1e3, p99(lat) * 1e3))
        hlat = http_latencies(http_port)
        tap.ok(hlat[-1] < hbound, "broker down: HTTP max %.3f ms < %.1f ms (p99 %.3f ms)" %
               (hlat[-1] * 1e3, hbound * 1e3, p99(hlat) * 1e3))
        tap.ok(d.wait_for(TELEGRAM_RX, mark)[0] is not None, "broker down: telegrams still decoded")
        j, _ = d.wait_for(FAILED_RX, mark)
        tap.ok(j is not None, "broker down: retrying")

        # 2. Broker back on its port: reconnects by itself.
        mark, smark = d.count(), sub.count()
        broker.start()
        sub.close()
        sub = w.add(Sub(broker.port))
        i, _ = d.wait_for(CONNECTED_RX, mark, timeout=90)
        tap.ok(i is not None, "reconnected by itself after the broker came back")
        k = sub.wait_for(POWER)
        tap.ok(k is not None, "power_instant flows again")
        # The broker forgot the topic alias with the old connection: the new
        # one binds it again, so the messages after the first go on too.
        k2 = sub.wait_for(POWER, start=(k or 0) + 1) if k is not None else None
        k3 = sub.wait_for(POWER, start=(k2 or 0) + 1) if k2 is not None else None
        tap.ok(k3 is not None and d.wait_for(FAILED_RX, i, timeout=0)[0] is None,
               "power_instant goes on after the reconnect, on the same connection")

        # 3. Black hole, plain and TLS: accepted, never answered.
        for scheme in ("mqtt", "mqtts"):
            mark = d.count()
            text = conf.replace(url, "%s://localhost:%d" % (scheme, hole.port))
            d.write_config(text)
            d.signal(signal.SIGHUP)
            tap.ok(d.wait_for(r"Configuration reloaded", mark)[0] is not None, "%s black hole: reloaded" % scheme)
            t0 = time.monotonic()
            lat = modbus_latencies(mb_port)
            tap.ok(lat[-1] < bound, "%s black hole: Modbus max %.3f ms < %.1f ms (p99 %.3f ms)" %
                   (scheme, lat[-1] * 1e3, bound * 1e3, p99(lat) * 1e3))
            hlat = http_latencies(http_port)
            tap.ok(hlat[-1] < hbound, "%s black hole: HTTP max %.3f ms < %.1f ms (p99 %.3f ms)" %
                   (scheme, hlat[-1] * 1e3, hbound * 1e3, p99(hlat) * 1e3))
            i, m = d.wait_for(FAILED_RX, mark)
            tap.ok(i is not None and re.search(r"no answer within 3s", m.group(1)),
                   "%s black hole: attempt cut by ConnectTimeout: %r" % (scheme, m and m.group(1)))
            tap.ok(time.monotonic() - t0 < 10, "%s black hole: cut in time" % scheme)
            tap.ok(d.wait_for(TELEGRAM_RX, mark)[0] is not None, "%s black hole: telegrams still decoded" % scheme)

        feeder.close()
        harness.stop_and_check(tap, d, "loss")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
