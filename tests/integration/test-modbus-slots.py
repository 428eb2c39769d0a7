#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Modbus slots cannot be starved. With the default limits (MaxClients=16,
MaxClientsPerIP=8), 16 idle connections from one address do not keep a new
client out: it is served. With MaxClientsPerIP=16 the 16 idle ones fill the
server, and a new client replaces the longest idle one (the first), while
the other 15 stay open and served. MaxClientsPerIP=2: a third connection
from 127.0.0.2 replaces the older of its own two, never the client of
127.0.0.3. A burst of 1,000 connect/close cycles from 127.0.0.1 runs while
a client of 127.0.0.2 keeps reading and new clients of 127.0.0.2 keep
connecting: every one of them is served."""

import importlib.util
import os
import socket
import time

import harness
from harness import Tap, Workdir

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

BURST = 1000
BATCH = 20  # more than MaxClients=16


def connect(port, source="127.0.0.1"):
    r = mb.Raw.__new__(mb.Raw)
    r.sock = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT,
                                      source_address=(source, 0))
    r.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    r.tid = 0
    return r


def served(r, want):
    try:
        r.sock.settimeout(5)
        return r.read(4, 0x8006, 6) == want
    except (OSError, mb.ModbusError):
        return False


def start(tap, binary, w, name, extra_modbus=""):
    d, pty, port = mb.start(tap, binary, w, extra_modbus=extra_modbus, stale_after=3600, name=name)
    tap.on_failure = [lambda: d.dump(tap)]
    if port is None:
        return None, None, None
    i, v = mb.feed(d, pty, harness.testdata(mb.METER_RAW))
    if not tap.ok(i is not None, "%s: telegram decoded" % name):
        return d, None, None
    img, _ = mb.image("PhoenixContact-EMPro", v, "")
    return d, port, mb.words(img, 0x8006, 6)


def sixteen_idle(tap, binary, extra, name, replaced_first):
    with Workdir() as w:
        d, port, want = start(tap, binary, w, name, extra)
        if want is None:
            return
        idle = []
        for k in range(16):
            idle.append(w.add(connect(port)))
            d.wait_for(r"Modbus client 127\.0\.0\.1:%d connected" % idle[-1].sock.getsockname()[1], 0, 5)
        new = w.add(connect(port))
        t = time.monotonic()
        tap.ok(served(new, want), "%s: a 17th client is served (%.3f s)" % (name, time.monotonic() - t))
        if replaced_first:
            tap.ok(mb.is_closed(idle[0].sock, 5), "%s: the longest idle connection was closed for it" % name)
            tap.ok(all(served(r, want) for r in idle[1:]), "%s: the other 15 are still served" % name)
            i, _ = d.wait_for(r"Modbus client 127\.0\.0\.1:\d+ replaces 127\.0\.0\.1:%d, idle for [\d.]+s: "
                              r"MaxClients\w* reached" % idle[0].sock.getsockname()[1], 0, 5)
            tap.ok(i is not None, "%s: the replacement is logged, naming both" % name)
        else:
            tap.ok(served(new, want), "%s: and served again" % name)
        harness.stop_and_check(tap, d, name)


def per_ip(tap, binary):
    name = "MaxClientsPerIP=2"
    with Workdir() as w:
        d, port, want = start(tap, binary, w, name, "MaxClientsPerIP=2\n")
        if want is None:
            return
        a1, other, a2 = w.add(connect(port, "127.0.0.2")), w.add(connect(port, "127.0.0.3")), None
        tap.ok(served(a1, want) and served(other, want), "%s: 127.0.0.2 and 127.0.0.3 served" % name)
        a2 = w.add(connect(port, "127.0.0.2"))
        tap.ok(served(a2, want), "%s: a second client of 127.0.0.2 served" % name)
        a3 = w.add(connect(port, "127.0.0.2"))
        tap.ok(served(a3, want), "%s: a third client of 127.0.0.2 served" % name)
        tap.ok(mb.is_closed(a1.sock, 5), "%s: it replaced the longest idle of 127.0.0.2" % name)
        tap.ok(served(a2, want) and served(other, want), "%s: the other client of 127.0.0.2 and the one of "
               "127.0.0.3 still served" % name)
        i, _ = d.wait_for(r"replaces 127\.0\.0\.2:\d+, idle for [\d.]+s: MaxClientsPerIP reached", 0, 5)
        tap.ok(i is not None, "%s: the replacement is logged" % name)
        harness.stop_and_check(tap, d, name)


def burst(tap, binary):
    """BURST connect/close cycles from 127.0.0.1 in rounds of BATCH: the
    connects pile up beyond MaxClients, then all close at once. Inside every
    round a new client of 127.0.0.2 connects while the batch is open and
    another right after it closed (before the daemon can have read those
    closes), and a kept client of 127.0.0.2 reads."""
    name = "connect/close burst"
    with Workdir() as w:
        d, port, want = start(tap, binary, w, name)
        if want is None:
            return
        keeper = w.add(connect(port, "127.0.0.2"))
        tap.ok(served(keeper, want), "%s: the legitimate client is served before" % name)
        cycles = fresh = 0
        bad = []
        t0 = time.monotonic()
        for k in range(BURST // BATCH):
            batch = [socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT) for _ in range(BATCH)]
            cycles += len(batch)
            for when in ("while %d are open" % BATCH, "right after they closed"):
                if when.startswith("right"):
                    for s in batch:
                        s.close()
                try:
                    r = connect(port, "127.0.0.2")
                    fresh += 1
                    if not served(r, want):
                        bad.append("round %d: a new client %s was not served" % (k, when))
                    r.close()
                except OSError as e:
                    bad.append("round %d: a new client %s: %r" % (k, when, e))
            if not served(keeper, want):
                bad.append("round %d: the kept client was not served" % k)
                break
        tap.diag("%s: %d cycles in %.2f s, %d new clients" % (name, cycles, time.monotonic() - t0, fresh))
        for b in bad[:5]:
            tap.diag(b)
        tap.ok(cycles == BURST, "%s: %d cycles ran" % (name, cycles))
        tap.ok(not bad, "%s: the kept client and %d new clients inside it were all served (%d not)"
               % (name, fresh, len(bad)))
        tap.ok(served(keeper, want), "%s: the kept client is served after it" % name)
        harness.stop_and_check(tap, d, name)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    sixteen_idle(tap, binary, "", "16 idle, defaults", False)
    sixteen_idle(tap, binary, "MaxClientsPerIP=16\n", "16 idle, MaxClientsPerIP=16", True)
    per_ip(tap, binary)
    burst(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
