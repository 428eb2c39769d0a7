#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The capacity tariff's computed state across restarts, in a real daemon.

A pty meter sends e-MUCS telegrams without the meter's own capacity objects
(the Fluvius sample, 1-0:1.4.0, 1-0:1.6.0 and 0-0:98.1.0 taken out, its time
and import register edited, CRCs recomputed), one every 30 s of meter time,
from 23:15 on 31 October to 00:37 on 1 November 2023, Belgian time: October's
computed peak closes into the past months, November gets its own.

- The periodic save ([History] SaveInterval=1) writes <state>/capacity with
  the history; after a SIGKILL (a power cut) the restart restores it: the
  month's peak and its time, and October, are back in GET /api/v1/status and
  GET /api/v1/history, source "computed".
- The quarter in progress at the stop stays incomplete after the restart,
  however much the register rose meanwhile: no demand, never the peak.
- Stopped with SIGTERM (the save at shutdown) and started again on
  1 December: November closes into the past months at the first telegram.
- An oversized, a garbage, a foreign (the history's magic), a torn, a
  bit-flipped and an empty capacity file are each refused with one log
  line naming why, the history is still restored, and no restored value
  shows."""

import datetime
import importlib.util
import os
import re
import signal

import harness
import httpapi
from harness import Pty, Tap, Workdir, feed_until, stop_and_check

_spec = importlib.util.spec_from_file_location(
    "history_test", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-history.py"))
ht = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ht)

BRUSSELS = ht.BRUSSELS
STEP = 30
SAVED_RX = r"History saved to '[^']*history' by process \d+"


def local(*args):
    return int(datetime.datetime(*args, tzinfo=BRUSSELS).timestamp())


def computed_only(raw):
    """The sample without the meter's capacity objects (the CRC is made again by ht.edit)."""
    return re.sub(rb"(?m)^(1-0:1\.4\.0|1-0:1\.6\.0|0-0:98\.1\.0)\([^\r\n]*\r\n", b"", raw)


class Meter:
    """Import register rising at the power the test sets, whole Wh as a meter shows it."""

    def __init__(self, raw, wh):
        self.raw = computed_only(raw)
        self.ws = wh * 3600

    def telegram(self, t, p):
        out = ht.edit(self.raw, {"0-0:1.0.0": "(%s)" % ht.tst(t), "1-0:1.8.1": "(%010.3f*kWh)" % (
            self.ws // 3600 / 1000), "1-0:1.7.0": "(%s)" % ht.kw(p)})
        self.ws += p * STEP
        return out


def feed(tap, d, pty, meter, start, end, power):
    """Telegrams over [start, end), each waited for; power(t) in W."""
    for t in range(start, end, STEP):
        mark = d.count()
        pty.write(meter.telegram(t, power(t)))
        if d.wait_for(r'telegram: \{"ts":%d,' % t, mark)[0] is None:
            tap.ok(False, "telegram at %s decoded" % ht.tst(t))
            return False
    return True


def capacity(api):
    st, j = api.json("GET", "/api/v1/status")
    return (j or {}).get("capacity") or {} if st == 200 else {}


def months(c):
    return [(m["month"], m["peak_kw"], m["peak_time"]) for m in c.get("months", [])]


def start(tap, binary, w, link, name, save=1):
    text = httpapi.http_config(link) + "\n[History]\nSaveInterval=%d\n" % save
    d, port = httpapi.start(tap, binary, w, text, name=name)
    return d, httpapi.Api(port)


OCTOBER = ("2023-10", 5.2, local(2023, 10, 31, 23, 45))
NOV_PEAK = (4.4, local(2023, 11, 1, 0, 30))


def first_run(tap, binary, w, link, pty, meter):
    """October's end and November's start; a power cut after a periodic save."""
    d, api = start(tap, binary, w, link, "first")
    t0 = local(2023, 10, 31, 23, 15)
    i, _ = feed_until(d, pty, meter.telegram(t0, 3000), r"Receiving e-MUCS")
    tap.ok(i is not None, "the e-MUCS meter without its capacity objects is found")
    # Quarters from 23:15: 3.0, 5.2, 2.0 kW (October), then 1.6, 4.4, 0.8 (November) until 00:37.
    powers = [3000, 5200, 2000, 1600, 4400, 800]
    stop = local(2023, 11, 1, 0, 37)
    feed(tap, d, pty, meter, t0 + STEP, stop, lambda t: powers[(t - t0) // 900])
    c = capacity(api)
    tap.ok(c.get("source") == "computed" and (c.get("month_peak_kw"), c.get("month_peak_time")) == NOV_PEAK,
           "before the stop: November's computed peak 4.4 kW ending 00:30: %s" %
           {k: c.get(k) for k in ("source", "month_peak_kw", "month_peak_time")})
    tap.ok(months(c) == [OCTOBER], "October closed while the daemon ran: %s" % months(c))
    mark = d.count()
    i, _ = d.wait_for(SAVED_RX, mark)
    i, _ = d.wait_for(SAVED_RX, i + 1) if i is not None else (None, None)  # one begun after the mark
    path = w.join("state", "capacity")
    tap.ok(i is not None and os.path.getsize(path) == 72 + 24, "the periodic save wrote '%s' (%s bytes: "
           "header, running month, one past month)" % (path, os.path.getsize(path) if os.path.exists(path) else None))
    d.signal(signal.SIGKILL)
    d.wait_exit()
    tap.on_failure = []
    return stop


def second_run(tap, binary, w, link, pty, meter, stopped):
    """Same month, the quarter of the stop: incomplete; the peak survives."""
    d, api = start(tap, binary, w, link, "after the power cut")
    i, _ = d.wait_for(r"Capacity restored from '[^']*capacity' \(96 bytes\)")
    tap.ok(i is not None, "the capacity state restored at start")
    c = capacity(api)
    tap.ok(c.get("month_peak_kw") is None and months(c) == [OCTOBER],
           "before the first telegram: the past months, the peak not yet (its month unconfirmed): %s %s"
           % (c.get("month_peak_kw"), months(c)))
    # Down four minutes at 9 kW, back at 00:41 inside the quarter of the stop, 9 kW to 00:45, then 2 kW.
    meter.ws += 9000 * (local(2023, 11, 1, 0, 41) - stopped)
    back, q_end = local(2023, 11, 1, 0, 41), local(2023, 11, 1, 0, 45)
    feed(tap, d, pty, meter, back, q_end, lambda t: 9000)
    c = capacity(api)
    tap.ok(c.get("source") == "computed" and (c.get("month_peak_kw"), c.get("month_peak_time")) == NOV_PEAK and
           c.get("demand_kw") is None and c.get("projection_kw") is None,
           "00:44:30: November's peak and time survived; the quarter of the stop has no demand: %s" %
           {k: c.get(k) for k in ("source", "month_peak_kw", "month_peak_time", "demand_kw")})
    feed(tap, d, pty, meter, q_end, local(2023, 11, 1, 1, 0, 30), lambda t: 2000)
    c = capacity(api)
    tap.ok((c.get("month_peak_kw"), c.get("month_peak_time")) == NOV_PEAK and months(c) == [OCTOBER] and
           c.get("demand_kw") == 0.0, "01:00:30: the 9 kW quarter across the stop never became the peak: %s %s"
           % ((c.get("month_peak_kw"), c.get("month_peak_time")), months(c)))
    st, j = api.json("GET", "/api/v1/history?step=900")
    h = (j or {}).get("capacity") or {}
    tap.ok(st == 200 and (h.get("month_peak_kw"), h.get("month_peak_time")) == NOV_PEAK and
           months(h) == [OCTOBER], "GET /api/v1/history: the same capacity")
    stop_and_check(tap, d, "after the power cut")


def third_run(tap, binary, w, link, pty, meter):
    """Started again in December: November closes into the past months."""
    d, api = start(tap, binary, w, link, "december", save=0)
    tap.ok(d.wait_for(r"Capacity restored from '[^']*capacity' \(96 bytes\)")[0] is not None,
           "restored from the save at SIGTERM")
    t = local(2023, 12, 1, 0, 5)
    feed(tap, d, pty, meter, t, t + STEP, lambda t: 500)
    c = capacity(api)
    tap.ok(months(c) == [OCTOBER, ("2023-11",) + NOV_PEAK] and c.get("month_peak_kw") is None,
           "1 December: November closed into the past months with its peak and time, no peak yet: %s %s"
           % (months(c), c.get("month_peak_kw")))
    stop_and_check(tap, d, "december")
    return t + STEP


def broken_files(tap, binary, w, link, pty, meter, t):
    path = w.join("state", "capacity")
    with open(path, "rb") as f:
        good = f.read()
    tap.ok(len(good) == 72 + 2 * 24, "saved with two past months: %d bytes" % len(good))
    for what, content, why in (("oversized", good + b"\0" * 400, "too large"),
                               ("garbage", bytes((i * 37 + 11) % 256 for i in range(len(good))),
                                "not a capacity file of this daemon"),
                               ("foreign", b"SCHIST\r\n" + b"\0" * 88, "not a capacity file of this daemon"),
                               ("torn", good[:-7], "torn or corrupted \\(length or checksum\\)"),
                               ("flipped", good[:80] + bytes([good[80] ^ 1]) + good[81:],
                                "torn or corrupted \\(length or checksum\\)"),
                               ("empty", b"", "shorter than its header \\(empty or torn\\)")):
        with open(path, "wb") as f:
            f.write(content)
        d, api = start(tap, binary, w, link, what, save=0)
        i, _ = d.wait_for(r"Capacity file '[^']*capacity' refused \(%s\), the computed month peak starts anew" % why)
        h, _ = d.wait_for(r"History restored from")
        again = d.wait_for(r"Capacity file", i + 1, timeout=0)[0] if i is not None else None
        tap.ok(i is not None and again is None and h is not None, "%s capacity file: refused with one log "
               "line, the history restored all the same" % what)
        feed(tap, d, pty, meter, t, t + STEP, lambda t: 500)
        t += STEP
        c = capacity(api)
        tap.ok(months(c) == [] and c.get("month_peak_kw") is None and c.get("source") == "computed",
               "%s: no restored value shows: %s" % (what, months(c)))
        stop_and_check(tap, d, what)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        meter = Meter(harness.testdata(ht.EMUCS), 301548)
        stopped = first_run(tap, binary, w, link, pty, meter)
        second_run(tap, binary, w, link, pty, meter, stopped)
        t = third_run(tap, binary, w, link, pty, meter)
        broken_files(tap, binary, w, link, pty, meter, t)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
