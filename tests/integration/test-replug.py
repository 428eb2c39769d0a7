#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The meter comes back at once: 50 times the serial adapter is unplugged,
left out for a random time (which a 1-2-4 s reopen back-off would round up
to its next attempt), and plugged back; the meter behind it sends a telegram
0.2 s after the device node reappears and then one a second. Every round the
first of those telegrams must be the one that reaches Modbus, i.e. data are
back within one meter period. The delays from the node's reappearance to the
new value on Modbus are printed as percentiles (figures, not a gate)."""

import importlib.util
import os
import random
import re
import struct
import time

import harness
from harness import Pty, Tap, Workdir, stop_and_check

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

ROUNDS = 50
PERIOD = 1.0
FIRST_AFTER = 0.2  # the meter's first telegram after the node reappears
RAW = "dsmr/nl_dsmr50_iskra-mt382_dsmrparser.raw"


def power(r):
    """EMpro total active power (0x8016, float, low word first), or None."""
    got = r.read(4, 0x8016, 2)
    if isinstance(got, tuple):
        return None
    return round(struct.unpack(">f", struct.pack(">HH", got[1], got[0]))[0])


def telegram(raw, watts):
    return mb.edit_telegram(raw, {"1-0:1.7.0": "%06.3f" % (watts / 1000.0)})


def one_round(d, link, r, raw, k, rng):
    """Unplug, wait, replug, feed: (which telegram reached Modbus first, delay) or (None, None)."""
    q = re.escape(link)
    mark = d.count()
    pty = d.pty
    pty.unplug()
    if d.wait_for(r"'%s' vanished" % q, mark)[0] is None:
        return None, None
    time.sleep(rng.uniform(0.05, 2.5))
    pty = d.pty = Pty(link)
    t0 = time.monotonic()
    values = [1000 + 10 * k + j for j in range(4)]
    sent = 0
    deadline = t0 + FIRST_AFTER + len(values) * PERIOD
    while time.monotonic() < deadline:
        due = t0 + FIRST_AFTER + sent * PERIOD
        if sent < len(values) and time.monotonic() >= due:
            pty.write(telegram(raw, values[sent]))
            sent += 1
        p = power(r)
        if p in values:
            return values.index(p), time.monotonic() - t0
        time.sleep(0.005)
    return None, None


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    tap = Tap()
    binary = harness.daemon_path()
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    tap.diag("seed %d" % seed)
    raw = harness.testdata(RAW)
    with Workdir() as w:
        d, pty, port = mb.start(tap, binary, w)
        if port is None:
            return tap.done()
        d.pty = pty
        link = w.join("ttyMETER")
        i, _ = mb.feed(d, pty, telegram(raw, 999))
        tap.ok(i is not None, "the meter is read before the first unplug")
        r = mb.Raw(port)
        first, delays, lost = 0, [], 0
        for k in range(ROUNDS):
            which, delay = one_round(d, link, r, raw, k, rng)
            if which is None:
                lost += 1
                continue
            first += which == 0
            delays.append(delay)
        r.close()
        d.pty.unplug()
        tap.ok(lost == 0, "%d replugs: fresh data on Modbus every time (%d rounds without)" % (ROUNDS, lost))
        tap.ok(first == ROUNDS,
               "%d of %d rounds: the meter's first telegram after the replug reached Modbus "
               "(data back within one meter period)" % (first, ROUNDS))
        if delays:
            tap.diag("node reappears -> new value on Modbus, %d replugs: p50 %.3f s, p99 %.3f s, max %.3f s "
                     "(the meter's first telegram comes %.1f s after the node)"
                     % (len(delays), percentile(delays, 0.5), percentile(delays, 0.99), max(delays),
                        FIRST_AFTER))
        stop_and_check(tap, d, "replug")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
