#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""GET /api/v1/live, server-sent events, with curl -N as the client: a status
event first, then one power_instant event per telegram, equal to the
power_instant the daemon logs for it and to the sidecar's values; no
credentials, 401; MaxLiveClients+1, 503. A client that stops reading while
600 telegrams arrive (the meter's minute, replayed fast): the daemon's memory
stays flat, Modbus answers as fast as before, and when the client reads again
it gets whole events only, the oldest lost. A quiet stream gets a keep-alive
comment every 15 s. The streams end cleanly (curl exit 0) on a reload that
replaces the server and on SIGTERM."""

import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import harness
import httpapi
from harness import TELEGRAM_RX, Pty, Tap, Workdir, feed_until, stop_and_check

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
MAX_LIVE = 2
FLOOD = 600


class Stream:
    """curl -N on the live URL; events parsed as they come."""

    def __init__(self, port, auth=True):
        cmd = ["curl", "-sS", "-N", "-D", "-", "--max-time", "300"]
        if auth:
            cmd += ["-u", "user:%s" % httpapi.PASSWORD]
        self.proc = subprocess.Popen(cmd + ["http://127.0.0.1:%d/api/v1/live" % port],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.cond = threading.Condition()
        self.events, self.status_line, self.raw = [], None, b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        buf = b""
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            with self.cond:
                self.raw += chunk
                buf += chunk
                if self.status_line is None and b"\r\n" in buf:
                    self.status_line = buf.split(b"\r\n", 1)[0].decode()
                if b"\r\n\r\n" in buf and not self.events and buf.startswith(b"HTTP/"):
                    buf = buf.split(b"\r\n\r\n", 1)[1]
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    self.events.append(block.decode())
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def named(self, name):
        with self.cond:
            return [json.loads(e.split("\ndata: ", 1)[1]) for e in self.events
                    if e.startswith("event: %s\n" % name)]

    def wait(self, pred, timeout=harness.TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.thread.is_alive()):
                    return pred()
                self.cond.wait(min(left, 0.2))
            return True

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def sidecar_p():
    side = json.loads(harness.testdata(DSMR50.replace(".raw", ".json")))["expected"]["summary"]
    return round((float(side["power_import"]["value"]) - float(side["power_export"]["value"])) * 1000, 6)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def modbus_p99(port, n=200):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    for tid in range(n):
        t0 = time.perf_counter()
        s.sendall(struct.pack(">HHHBBHH", tid, 0, 6, 1, 4, 0x8016, 2))
        buf = b""
        while len(buf) < 9:
            buf += s.recv(260)
        out.append(time.perf_counter() - t0)
    s.close()
    out.sort()
    return out[int(len(out) * 0.99) - 1]


def one_per_telegram(tap, d, pty, port, good):
    st = Stream(port)
    tap.ok(st.wait(lambda: st.named("status")), "a status event first")
    first = st.named("status")[0] if st.named("status") else {}
    tap.ok("meter" in first and "mqtt" in first, "the status event is the status object")
    # GET /api/v1/status is written as text, the event from the tree: one object.
    code, body = httpapi.Api(port).json("GET", "/api/v1/status")
    same = lambda o: dict(o, system=dict(o.get("system", {}), uptime=0))  # noqa: E731
    ok = code == 200 and body is not None and same(body) == same(first)
    tap.ok(ok, "GET /api/v1/status equals the stream's status object (uptime aside)%s"
           % ("" if ok else ": %r %r" % (body, first)))
    mark = d.count()
    for _ in range(5):
        pty.write(good)
        time.sleep(0.3)
    tap.ok(st.wait(lambda: len(st.named("power_instant")) >= 5), "five telegrams, five events")
    time.sleep(0.5)
    got = st.named("power_instant")
    logged = [harness.telegram_json(m) for m in
              [re.search(TELEGRAM_RX, line) for line in d.lines[mark:]] if m]
    tap.ok(len(got) == 5, "exactly one event per telegram (%d)" % len(got))
    tap.ok(got == logged[:len(got)], "each event is the power_instant of its telegram")
    tap.ok(all(e["P"] == sidecar_p() for e in got), "P is the sidecar's")
    return st


def too_many(tap, port, first):
    others = [Stream(port) for _ in range(MAX_LIVE - 1)]
    for o in others:
        o.wait(lambda: o.named("status"))
    st, _, body = httpapi.Api(port).call("GET", "/api/v1/live")
    tap.ok(st == 503, "MaxLiveClients=%d: one more gets 503 (%d)" % (MAX_LIVE, st))
    st, _, _ = httpapi.Api(port).call("GET", "/api/v1/live", auth=False)
    tap.ok(st == 401, "without credentials: 401 (%d)" % st)
    for o in others:
        o.close()


def metric(port, name):
    st, _, body = httpapi.Api(port).call("GET", "/metrics")
    m = re.search(r"^smartconnect_%s (\S+)$" % name, body.decode(), re.M)
    return float(m.group(1)) if m else None


def wait_metric(port, name, pred, pty=None, good=None):
    """A suspended stream notices its client's end at the next event: send some."""
    deadline = time.monotonic() + harness.TIMEOUT
    while time.monotonic() < deadline:
        if pty:
            pty.write(good)
        v = metric(port, name)
        if v is not None and pred(v):
            return v
        time.sleep(0.2)
    return None


def slow_reader(tap, d, pty, port, mb_port, good):
    v = wait_metric(port, "http_live_clients", lambda v: v == 0, pty, good)
    tap.ok(v == 0, "closed streams are gone (%r)" % v)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    auth = __import__("base64").b64encode(("user:%s" % httpapi.PASSWORD).encode()).decode()
    s.sendall(("GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic %s\r\n\r\n" % auth).encode())
    time.sleep(0.5)
    base = modbus_p99(mb_port)
    rss0 = rss_kib(d.proc.pid)
    lat = []
    for i in range(FLOOD):
        pty.write(good)
        time.sleep(0.005)
        if i % 100 == 99:
            lat.append(modbus_p99(mb_port, 50))
        if i == FLOOD // 2 - 1:
            rss_half = rss_kib(d.proc.pid)  # the queue is full and the allocator warm by now
    time.sleep(1)
    rss1 = rss_kib(d.proc.pid)
    tap.diag("RSS %d -> %d -> %d KiB; Modbus p99 %.2f ms before, %s ms during" % (
        rss0, rss_half, rss1, base * 1000, " ".join("%.2f" % (x * 1000) for x in lat)))
    tap.ok(rss1 - rss_half < 512, "memory flat while the client does not read (+%d KiB over the second %d "
           "telegrams, +%d KiB in all)" % (rss1 - rss_half, FLOOD // 2, rss1 - rss0))
    tap.ok(max(lat) < max(10 * base, 0.05), "Modbus p99 unchanged (%.2f ms)" % (max(lat) * 1000))
    s.settimeout(2)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    s.close()
    tap.ok(data.startswith(b"HTTP/1.1 200"), "the slow client's stream was served")
    body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    # Undo the chunked encoding, then cut into events.
    text, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        n = int(size_line, 16) if size_line else 0
        if n == 0:
            break
        text, rest = text + rest[:n], rest[n + 2:]
    blocks = [b for b in text.decode().split("\n\n") if b]
    pis = [b for b in blocks if b.startswith("event: power_instant\n")]
    whole = all(json.loads(b.split("\ndata: ", 1)[1]) for b in pis)
    tap.ok(whole and all(b.startswith(("event: ", ":")) for b in blocks),
           "after the stall: whole events only (%d of %d telegrams)" % (len(pis), FLOOD))
    tap.ok(0 < len(pis) < FLOOD, "the oldest events were lost, not memory spent (%d)" % len(pis))
    tap.ok((metric(port, "http_live_dropped_events_total") or 0) > 0, "lost events are counted")


def scenario(tap, binary):
    # Under ASan freed memory waits in a quarantine: without it the RSS check means the same.
    os.environ["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=0"]))
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        text = httpapi.http_config(link).replace("[HTTP]\n", "[HTTP]\nMaxLiveClients=%d\n" % MAX_LIVE)
        d, port = httpapi.start(tap, binary, w, text)
        _, m = d.wait_for(r"Modbus TCP server on port (\d+)")
        mb_port = int(m.group(1))
        good = harness.testdata(DSMR50)
        i, _ = feed_until(d, pty, good, r"Receiving DSMR 5\.0 telegrams")
        tap.ok(i is not None, "the meter is found")

        st = w.add(one_per_telegram(tap, d, pty, port, good))
        too_many(tap, port, st)
        st.close()
        slow_reader(tap, d, pty, port, mb_port, good)

        # A reload that replaces the server ends the stream with the body's end.
        st = w.add(Stream(port))
        st.wait(lambda: st.named("status"))
        # A quiet meter: a comment every 15 s keeps the stream (and proxies) alive.
        t0 = time.monotonic()
        alive = st.wait(lambda: sum(e == ": keep-alive" for e in st.events) >= 2, 40)
        tap.ok(alive, "two keep-alive comments in %.1f s" % (time.monotonic() - t0))
        d.write_config(text.replace("[HTTP]\n", "[HTTP]\nTimeout=31\n"))
        d.signal(signal.SIGHUP)
        try:
            rc = st.proc.wait(harness.TIMEOUT)
        except subprocess.TimeoutExpired:
            rc = None
        tap.ok(rc == 0, "reload: the stream ends cleanly (curl exit %r)" % rc)

        st = w.add(Stream(port))
        st.wait(lambda: st.named("status"))
        rc_d = d.stop()
        try:
            rc = st.proc.wait(harness.TIMEOUT)
        except subprocess.TimeoutExpired:
            rc = None
        tap.ok(rc == 0, "SIGTERM: the stream ends cleanly (curl exit %r)" % rc)
        tap.ok(rc_d == 0, "exit status 0 after SIGTERM")
        tap.on_failure = []
        if tap.failed:
            d.dump(tap)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    scenario(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
