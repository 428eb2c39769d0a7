#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The meter read over TCP ([Meter] Device=tcp://HOST:PORT). A test server on
127.0.0.1 plays a real DSMR 5 telegram: the Modbus registers and the HTTP
status equal the sidecar's values, and the status names the source. Then the
server closes the connection, disappears (connection refused) and comes back
on the same port, sends garbage, stalls half-way through a telegram and then
says nothing at all (the daemon gives up the silent connection at StaleAfter
and reconnects): after each, data resume through a new or the same
connection, only the telegrams the server sent whole are ever published,
and Modbus answers throughout. A host name goes through the resolver
(tcp://localhost:PORT), an IPv6 address in brackets works (tcp://[::1]:PORT),
and two daemons chain: the first one's passthrough is the second one's
tcp:// source, and both serve the same registers."""

import importlib.util
import json
import os
import re
import socket
import time

import harness
import httpapi
from harness import Tap, Workdir

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

STALE = 4
TMPL = "PhoenixContact-EMPro"
CONNECTED_RX = r"Meter source tcp://\S+ (connected|is back)"


class Server:
    """The meter's TCP server: one listener (same port when it comes back),
    one connection at a time."""

    def __init__(self, family=socket.AF_INET, host="127.0.0.1"):
        self.family, self.host, self.port = family, host, 0
        self.lsock = self.conn = None
        self.listen()

    def listen(self):
        self.lsock = socket.socket(self.family, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((self.host, self.port))
        self.port = self.lsock.getsockname()[1]
        self.lsock.listen(4)

    def accept(self, timeout=harness.TIMEOUT):
        self.lsock.settimeout(timeout)
        try:
            self.conn, _ = self.lsock.accept()
            return True
        except socket.timeout:
            return False

    def drop(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def vanish(self):
        self.drop()
        self.lsock.close()
        self.lsock = None

    def close(self):
        self.drop()
        if self.lsock:
            self.lsock.close()


def telegram(p_kw):
    """The real telegram with another power (kW text, same width): a value we can recognise."""
    return mb.edit_telegram(harness.testdata(mb.METER_RAW), {"1-0:1.7.0": p_kw})


def send_until(d, srv, data, p, start=0):
    """Send the telegram every second until the daemon logs it: the log index or None."""
    deadline = time.monotonic() + harness.TIMEOUT
    while time.monotonic() < deadline:
        try:
            srv.conn.sendall(data)
        except OSError:
            return None
        i, _ = d.wait_for(harness.telegram_with_p(p), start, 1.0)
        if i is not None:
            return i
    return None


def published(d):
    """Every P the daemon logged a telegram with."""
    out = []
    for line in d.lines:
        m = re.search(r'telegram: \{"ts":-?\d+,"P":(-?\d+),', line)
        if m:
            out.append(int(m.group(1)))
    return out


def modbus_answers(port):
    """A read of the EMpro block: the values, or exception 0x0B while stale."""
    r = mb.Raw(port, timeout=5)
    try:
        return r.read(4, 0x8000, 0x36)
    finally:
        r.close()


def check_values(tap, d, port, http_port, v):
    img, _ = mb.image(TMPL, v, "")
    tap.ok(modbus_answers(port) == mb.words(img, 0x8000, 0x36), "Modbus: the EMpro block equals the telegram's image")
    side = json.loads(harness.testdata(mb.METER_RAW.replace(".raw", ".json")))["expected"]["summary"]
    st, s = httpapi.Api(http_port).json("GET", "/api/v1/status")
    m = (s or {}).get("meter", {})
    pi = m.get("power_instant") or {}
    want_u = [float(side["phases"][x]["voltage"]["value"]) for x in ("L1", "L2", "L3")]
    got_u = [(pi.get("l%d" % k) or {}).get("U") for k in (1, 2, 3)]
    e_imp = sum(float(t["value"]) for t in side["energy_import"].values())
    tap.ok(st == 200 and got_u == want_u and abs(pi.get("E_IMPORT", 0) - e_imp) < 1e-6,
           "HTTP status: voltages %s and import %.3f kWh as in the sidecar (%s, %s)"
           % (want_u, e_imp, got_u, pi.get("E_IMPORT")))
    tap.ok(m.get("source") == "tcp" and m.get("device", "").startswith("tcp://127.0.0.1:"),
           "HTTP status names the source: %s %s" % (m.get("source"), m.get("device")))
    f32 = mb.words(img, 0x8006, 2)
    tap.ok(abs(mb.struct.unpack(">f", mb.struct.pack(">HH", f32[1], f32[0]))[0] - want_u[0]) < 1e-3,
           "Modbus U1 at 0x8006 is the sidecar's %.1f V" % want_u[0])


def ports(d):
    i, m = d.wait_for(mb.PORT_RX)
    j, h = d.wait_for(httpapi.HTTP_RX)
    return (int(m.group(1)) if i is not None else None), (int(h.group(1)) if j is not None else None)


def run_faults(tap, binary):
    with Workdir() as w:
        srv = w.add(Server())
        dev = "tcp://127.0.0.1:%d" % srv.port
        d = w.add(harness.Daemon(binary, w.path, httpapi.http_config(dev, extra="")
                                 .replace("[Meter]\n", "[Meter]\nStaleAfter=%d\n" % STALE)))
        tap.on_failure = [lambda: d.dump(tap)]
        mport, hport = ports(d)
        if not tap.ok(mport and hport and srv.accept(), "the daemon connects to the meter's TCP server"):
            return
        i, m = mb.feed(d, type("P", (), {"write": lambda self, b: srv.conn.sendall(b)})(),
                       harness.testdata(mb.METER_RAW))
        if not tap.ok(i is not None, "the real telegram over TCP is decoded"):
            return
        tap.ok(d.wait_for(r"Receiving DSMR 5\.0 telegrams from tcp://127\.0\.0\.1:%d, meter" % srv.port)[0]
               is not None, "log: receiving DSMR 5.0 telegrams from the tcp:// source, no serial setting")
        check_values(tap, d, mport, hport, m)
        sent = [433]

        # 1. The server closes the connection: a new connection, data again.
        start = d.count()
        srv.drop()
        tap.ok(d.wait_for(r"closed by the peer, retrying in", start)[0] is not None, "close: logged, retrying")
        tap.ok(srv.accept(), "close: the daemon reconnects")
        i = send_until(d, srv, telegram("01.111"), 1111, start)
        tap.ok(i is not None, "close: data resume (P=1111)")
        sent.append(1111)

        # 2. The server disappears (refused) and comes back on the same port.
        start = d.count()
        t0 = time.monotonic()
        srv.vanish()
        j, _ = d.wait_for(r"cannot connect: Connection refused, retrying in", start)
        tap.ok(j is not None, "vanished: connection refused, retrying")
        ans = modbus_answers(mport)
        tap.ok(isinstance(ans, list) or ans == ("exception", 0x0B),
               "vanished: Modbus still answers (%s)" % ("values" if isinstance(ans, list) else repr(ans),))
        d.wait_for(r"Connection refused, retrying in", j + 1 if j is not None else start, 6)
        srv.listen()
        tap.ok(srv.accept(), "back: the daemon reconnects to the same port")
        tap.diag("vanished for %.1f s until the reconnect" % (time.monotonic() - t0))
        i = send_until(d, srv, telegram("02.222"), 2222, start)
        tap.ok(i is not None, "back: data resume (P=2222)")
        sent.append(2222)

        # 3. Garbage, then good telegrams on the same connection. Random bytes
        # hold frame markers (STX, 0xDB) whose frames may run on for up to the
        # frame limit, as on a serial line: the frame gap ends them.
        start = d.count()
        # The telegram at the end has a wrong CRC: its 99999 W must never show.
        fake = telegram("99.999")
        fake = fake[:-6] + (b"0000" if fake[-6:-2] != b"0000" else b"1111") + b"\r\n"
        srv.conn.sendall(os.urandom(8192) + fake)
        time.sleep(2.5)
        i = send_until(d, srv, telegram("03.333"), 3333, start)
        tap.ok(i is not None, "random garbage and a pause: the next telegram is published (P=3333)")
        start = d.count()
        noise = bytes(b for b in os.urandom(8192) if 0x20 <= b < 0x7F and b not in b"/!")
        srv.conn.sendall(noise + b"\r\n1-0:1.7.0(99.999*kW)\r\n")
        i = send_until(d, srv, telegram("03.334"), 3334, start)
        tap.ok(i is not None, "printable noise without a pause: the next telegram is published (P=3334)")
        sent += [3333, 3334]

        # 4. A telegram stops half-way; the next whole one counts, the half never.
        start = d.count()
        half = telegram("04.444")
        srv.conn.sendall(half[:len(half) // 2])
        time.sleep(2.5)  # beyond the frame gap (2 s): the framer gives the half up
        i = send_until(d, srv, telegram("05.555"), 5555, start)
        tap.ok(i is not None, "half a telegram, then a pause: the next whole telegram is published (P=5555)")
        sent.append(5555)

        # 5. The peer stays connected and silent: given up at StaleAfter, reconnected.
        start = d.count()
        srv.conn.sendall(half[:len(half) // 2])
        j, _ = d.wait_for(r"nothing received for %ds, retrying in" % STALE, start, STALE + harness.TIMEOUT)
        tap.ok(j is not None, "silent peer: the connection is given up after StaleAfter=%ds" % STALE)
        ans = modbus_answers(mport)
        tap.ok(ans == ("exception", 0x0B), "silent peer: Modbus answers exception 0x0B (stale) (%s)"
               % (repr(ans) if isinstance(ans, tuple) else "values",))
        tap.ok(srv.accept(), "silent peer: the daemon connects again")
        i = send_until(d, srv, telegram("06.666"), 6666, start)
        tap.ok(i is not None, "silent peer: data resume on the new connection (P=6666)")
        sent.append(6666)
        tap.ok(d.wait_for(r"meter data fresh again", start)[0] is not None, "fresh again after the reconnect")

        got = published(d)
        tap.ok(set(got) <= set(sent), "only whole telegrams were published: %s (sent %s)"
               % (sorted(set(got)), sent))
        harness.stop_and_check(tap, d, "faults")


def run_names(tap, binary):
    """A host name through the resolver, and an IPv6 literal in brackets."""
    for name, family, host, dev in (("localhost", socket.AF_INET, "127.0.0.1", "tcp://localhost:%d"),
                                    ("[::1]", socket.AF_INET6, "::1", "tcp://[::1]:%d")):
        with Workdir() as w:
            try:
                srv = w.add(Server(family, host))
            except OSError as e:
                tap.ok(False, "%s: the test server listens on %s (%r)" % (name, host, e))
                continue
            d = w.add(harness.Daemon(binary, w.path, harness.config(dev % srv.port)))
            tap.on_failure = [lambda: d.dump(tap)]
            if not tap.ok(srv.accept(), "%s: the daemon connects" % name):
                continue
            i = send_until(d, srv, telegram("07.777"), 7777)
            tap.ok(i is not None, "%s: the telegram is decoded" % name)
            harness.stop_and_check(tap, d, name)


def run_chain(tap, binary):
    """Daemon A reads a pty and serves its passthrough; daemon B reads A's passthrough."""
    with Workdir() as w:
        link = w.join("ttyMETER")
        pty = w.add(harness.Pty(link))
        dirs = [w.join(x) for x in ("a", "b")]
        for x in dirs:
            os.makedirs(x)
        a = w.add(harness.Daemon(binary, dirs[0], harness.config(link, extra="\n[Passthrough]\nListen=127.0.0.1:0\n")))
        tap.on_failure = [lambda: a.dump(tap)]
        i, m = a.wait_for(r"Passthrough server on port (\d+)")
        a_mb, _ = ports(a)
        if not tap.ok(i is not None and a_mb, "chain: daemon A serves its passthrough"):
            return
        b = w.add(harness.Daemon(binary, dirs[1], harness.config("tcp://127.0.0.1:%s" % m.group(1))))
        tap.on_failure = [lambda: a.dump(tap), lambda: b.dump(tap)]
        b_mb, _ = ports(b)
        tap.ok(b.wait_for(CONNECTED_RX)[0] is not None, "chain: daemon B connects to A's passthrough")
        deadline = time.monotonic() + harness.TIMEOUT
        data = telegram("08.888")
        j = None
        while j is None and time.monotonic() < deadline:
            pty.write(data)
            j, mm = b.wait_for(harness.telegram_with_p(8888), 0, 1.0)
        tap.ok(j is not None, "chain: daemon B decodes the telegram written to A's pty")
        ia, ma = a.wait_for(harness.telegram_with_p(8888))
        tap.ok(ia is not None and j is not None and mm.group(1) == ma.group(1),
               "chain: both daemons decode the same values")
        tap.ok(j is not None and b_mb and modbus_answers(a_mb) == modbus_answers(b_mb),
               "chain: both serve the same EMpro registers")
        harness.stop_and_check(tap, b, "chain B")
        harness.stop_and_check(tap, a, "chain A")


def main():
    binary = harness.daemon_path()
    tap = Tap()
    # Independent daemons and servers: the faults' back-offs, frame gaps and
    # StaleAfter are waited out while the names and the chain are checked.
    def faults(t):
        run_faults(t, binary)

    def names(t):
        run_names(t, binary)

    def chain(t):
        run_chain(t, binary)

    harness.concurrently(tap, faults, names, chain)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
