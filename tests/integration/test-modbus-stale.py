#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Stale data on Modbus, StaleAfter=2s: StalePolicy=error answers exception
0x0B, zero reads 0 for the measurements, keep the old values; the next
telegram brings fresh values back. IdleTimeout=1 closes a silent connection
and leaves a busy one open."""

import importlib.util
import os
import time

import harness
from harness import Tap, Workdir

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

STALE_RX = r"meter data stale \(no telegram for 2s\)"


def poll(r, pred, timeout):
    """Read EMpro 0x8000.. until pred(answer) holds: (answer, seconds) or (last answer, None)."""
    t0 = time.monotonic()
    got = None
    while time.monotonic() - t0 < timeout:
        got = r.read(4, 0x8000, 0x36)
        if pred(got):
            return got, time.monotonic() - t0
        time.sleep(0.05)
    return got, None


def run_policy(tap, binary, policy):
    name = "StalePolicy=" + policy
    with Workdir() as w:
        d, pty, port = mb.start(tap, binary, w, stale_after="2s",
                                extra_modbus="StalePolicy=%s\nIdleTimeout=0\n" % policy, name=name)
        tap.on_failure = [lambda: d.dump(tap)]
        if port is None:
            return
        i, _ = d.wait_for(r"stale policy %s" % policy, 0, 1)
        tap.ok(i is not None, "%s: StaleAfter=2s accepted, policy in the start line" % name)
        i, v = mb.feed(d, pty, harness.testdata(mb.METER_RAW))
        t_tel = time.monotonic()
        if not tap.ok(i is not None, "%s: telegram decoded" % name):
            return
        fresh = mb.words(mb.image("PhoenixContact-EMPro", v, "")[0], 0x8000, 0x36)
        zero = mb.words(mb.image("PhoenixContact-EMPro", None, "")[0], 0x8000, 0x36)
        r = mb.Raw(port)
        tap.ok(r.read(4, 0x8000, 0x36) == fresh, "%s: fresh values before StaleAfter" % name)

        if policy == "error":
            got, t = poll(r, lambda g: g == ("exception", 11), 15)
            tap.ok(t is not None, "%s: exception 0x0B once stale (%r)" % (name, got if t is None else "ok"))
            tap.ok(time.monotonic() - t_tel >= 1.5, "%s: not before StaleAfter (%.1f s after the telegram)"
                   % (name, time.monotonic() - t_tel))
            tap.ok(r.read(3, 0x8100, 8) == ("exception", 11), "%s: FC 3 too" % name)
            tap.ok(r.read(3, 0x0000, 1) == ("exception", 2), "%s: an address outside still gets exception 2" % name)
        elif policy == "zero":
            got, t = poll(r, lambda g: g == zero, 15)
            tap.ok(t is not None, "%s: measurements read 0 once stale (%r)" % (name, got if t is None else "ok"))
            tap.ok(time.monotonic() - t_tel >= 1.5, "%s: not before StaleAfter (%.1f s after the telegram)"
                   % (name, time.monotonic() - t_tel))
            tap.ok(r.read(3, 0x8100, 8) == [0] * 8, "%s: energies read 0 too" % name)
        else:
            j, _ = d.wait_for(STALE_RX, i, 15)
            tap.ok(j is not None, "%s: the daemon found the data stale" % name)
            tap.ok(r.read(4, 0x8000, 0x36) == fresh, "%s: the old values are still read" % name)

        # A new telegram: fresh values again.
        n = d.count()
        i, v2 = mb.feed(d, pty, harness.testdata(mb.METER_RAW), n)
        tap.ok(i is not None, "%s: a new telegram decoded" % name)
        got, t = poll(r, lambda g: g == fresh, 5)
        tap.ok(t is not None, "%s: fresh values again after the new telegram (%r)"
               % (name, got if t is None else "ok"))
        r.close()
        harness.stop_and_check(tap, d, name)


def run_idle(tap, binary):
    name = "IdleTimeout=1"
    with Workdir() as w:
        d, pty, port = mb.start(tap, binary, w, extra_modbus="IdleTimeout=1\nStalePolicy=keep\n", name=name)
        tap.on_failure = [lambda: d.dump(tap)]
        if port is None:
            return
        mb.feed(d, pty, harness.testdata(mb.METER_RAW))
        silent = mb.Raw(port)
        busy = mb.Raw(port)
        t0 = time.monotonic()
        busy_ok = True
        # The busy client reads every 0.3 s for 3 s while the silent one says nothing.
        while time.monotonic() - t0 < 3:
            busy_ok = busy_ok and isinstance(busy.read(4, 0x8006, 2), list)
            time.sleep(0.3)
        tap.ok(busy_ok, "%s: a client that reads every 0.3 s stays connected for 3 s" % name)
        closed = mb.is_closed(silent.sock, 10)
        tap.ok(closed, "%s: the silent connection was closed" % name)
        j, _ = d.wait_for(r"Modbus client .*: idle timeout, closing", 0, 5)
        tap.ok(j is not None, "%s: 'idle timeout' logged" % name)
        silent.close()
        s2 = mb.Raw(port)
        t1 = time.monotonic()
        closed = mb.is_closed(s2.sock, 10)
        dt = time.monotonic() - t1
        tap.ok(closed and 0.8 <= dt <= 5, "%s: a new silent connection is closed after %.2f s" % (name, dt))
        s2.close()
        busy.close()
        harness.stop_and_check(tap, d, name)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    for policy in ("error", "zero", "keep"):
        run_policy(tap, binary, policy)
    run_idle(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
