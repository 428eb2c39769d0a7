#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The history and the capacity tariff in a real daemon.

Capacity: a replayed e-MUCS stream (the Fluvius sample, its time stamps,
registers, power and demand objects edited, CRCs recomputed) from 23:15 on
30 November to 00:20 on 1 December, Belgian time, one telegram every 10 s of
meter time: at every telegram the daemon's computed demand, month peak and
peak time equal the meter's own 1-0:1.4.0 and 1-0:1.6.0, across the
quarter-hour boundaries and the month change.

History: GET /api/v1/history answers JSON by default and CSV with
Accept: text/csv, the current minute as a partial record; bad and unbounded
arguments get 400 with an error; a minute in which the test paused the meter
is a gap; the history survives a restart (saved at SIGTERM), and a torn or
foreign save file is refused with a log line and an empty history."""

import datetime
import json
import os
import re
import time
import zoneinfo

import harness
import httpapi
from harness import Pty, Tap, Workdir, feed_until, stop_and_check

EMUCS = "dsmr/be_emucs_fluvius_capacity-history_dsmrparser.raw"
BRUSSELS = zoneinfo.ZoneInfo("Europe/Brussels")
PLACEHOLDER = "632525252525W"


def crc16_arc(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def edit(raw, lines):
    """raw with the value part of each OBIS line replaced, CRC recomputed."""
    body = raw[raw.index(b"/"):raw.index(b"!") + 1]
    for obis, values in lines.items():
        rx = re.compile(rb"(?m)^" + re.escape(obis.encode()) + rb"\([^\r\n]*")
        body, n = rx.subn(lambda m: obis.encode() + values.encode(), body, count=1)
        if n != 1:
            raise ValueError("no %s in the telegram" % obis)
    return body + b"%04X\r\n" % crc16_arc(body)


def tst(utc):
    """DSMR time stamp of a UTC instant in Belgian legal time."""
    local = datetime.datetime.fromtimestamp(utc, BRUSSELS)
    return local.strftime("%y%m%d%H%M%S") + ("S" if local.dst() else "W")


def kw(w):
    return "%06.3f*kW" % (w / 1000)


class Meter:
    """The e-MUCS meter's side: its registers and demand objects, as the
    capacity tariff defines them (the running quarter's energy so far * 4,
    the month's highest closed quarter with its end)."""

    def __init__(self, raw, start, e_wh):
        self.raw = raw
        self.ws = e_wh * 3600
        self.q_start_wh = None
        self.q = None
        self.month = None
        self.peak = None  # (end utc, W)

    def telegram(self, t, p):
        wh = self.ws // 3600
        q = t - t % 900
        month = datetime.datetime.fromtimestamp(q, BRUSSELS).strftime("%Y%m")
        if q != self.q:
            if self.q is not None and self.q_start_wh is not None:
                w = (wh - self.q_start_wh) * 4
                if self.peak is None or w > self.peak[1]:
                    self.peak = (q, w)
            if month != self.month:
                self.month, self.peak = month, None
            self.q, self.q_start_wh = q, wh
        demand = (wh - self.q_start_wh) * 4
        peak = "(%s)(%s)" % (tst(self.peak[0]), kw(self.peak[1])) if self.peak else "(%s)(00.000*kW)" % PLACEHOLDER
        out = edit(self.raw, {"0-0:1.0.0": "(%s)" % tst(t), "1-0:1.8.1": "(%010.3f*kWh)" % (wh / 1000),
                              "1-0:1.7.0": "(%s)" % kw(p), "1-0:1.4.0": "(%s)" % kw(demand), "1-0:1.6.0": peak})
        self.ws += p * 10
        return out


def figures(c):
    return (c.get("demand_kw"), c.get("month_peak_kw"), c.get("month_peak_time"))


def capacity_scenario(tap, binary):
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        d, port = httpapi.start(tap, binary, w, httpapi.http_config(link), name="capacity")
        api = httpapi.Api(port)
        raw = harness.testdata(EMUCS)
        i, _ = feed_until(d, pty, raw, r"Receiving e-MUCS")
        tap.ok(i is not None, "the e-MUCS meter is found")
        st, j = api.json("GET", "/api/v1/status")
        c = (j or {}).get("capacity", {})
        tap.ok(st == 200 and c.get("source") == "measured" and c.get("demand_kw") == 0.052 and
               c.get("month_peak_kw") == 3.064, "status: the sample's own 1.4.0 and 1.6.0, measured: %s" % c)
        tap.ok([m["month"] for m in c.get("months", [])] == ["2023-07", "2023-08", "2023-09", "2023-10"] and
               c["months"][3]["peak_kw"] == 4.927, "status: the meter's 13-month history (98.1.0)")

        start = int(datetime.datetime(2023, 11, 30, 23, 15, tzinfo=BRUSSELS).timestamp())
        end = int(datetime.datetime(2023, 12, 1, 0, 20, tzinfo=BRUSSELS).timestamp())
        powers = [2000, 4800, 3200, 1600, 2400]  # W, one per quarter
        meter = Meter(raw, start, 301548)
        bad, checked, seen = [], 0, {}
        for t in range(start, end, 10):
            mark = d.count()
            pty.write(meter.telegram(t, powers[(t - start) // 900]))
            if d.wait_for(r'telegram: \{"ts":%d,' % t, mark)[0] is None:
                bad.append((t, "not decoded"))
                break
            st, j = api.json("GET", "/api/v1/status")
            c = (j or {}).get("capacity") or {}
            checked += 1
            if c.get("source") != "measured" or figures(c) != figures(c.get("computed") or {}):
                bad.append((tst(t), c))
            seen[t] = c
        tap.ok(checked == (end - start) // 10 and not bad,
               "%d telegrams: computed demand, month peak and its time equal the meter's at each: %s"
               % (checked, bad[:3]))
        before = seen.get(start + 3 * 900 - 10, {})
        tap.ok(figures(before)[1:] == (4.8, start + 2 * 900),
               "23:59:50 on 30 November: November's peak 4.8 kW, ending 23:45: %s" % (figures(before),))
        first = seen.get(start + 3 * 900, {})
        tap.ok(figures(first) == (0.0, None, None), "00:00 on 1 December: a new month without a peak: %s"
               % (figures(first),))
        last = seen.get(end - 10, {})
        tap.ok(figures(last)[1:] == (1.6, start + 4 * 900), "00:19:50: December's peak is its first quarter: %s"
               % (figures(last),))
        tap.ok(last.get("projection_kw") is not None and abs(last["projection_kw"] -
               (last["demand_kw"] + 2.4 * (last["quarter_end"] - end + 10) / 900)) < 0.002 and
               abs(last["projection_over_peak_kw"] - (last["projection_kw"] - 1.6)) < 0.002,
               "projection: demand so far + P * time left, against the peak: %s" % last)
        stop_and_check(tap, d, "capacity")


# ---- GET /api/v1/history --------------------------------------------------------------------------

BAD = [
    ("?from=200&to=100", "from is after to"),
    ("?from=0&to=1700000000", "range too large"),
    ("?from=1000000000&to=1700000000&step=900", "range too large"),
    ("?step=30", "step"),
    ("?step=", "step"),
    ("?step=60s", "step"),
    ("?from=yesterday", "from"),
    ("?to=-1", "to"),
    ("?to=1e9", "to"),
    ("?from=%00", "from"),
    ("?from=99999999999999999999", "from"),
    ("?to=" + "9" * 5000, "to"),
]


def history(api, query, headers=()):
    st, hdr, body = api.call("GET", "/api/v1/history" + query, headers=headers)
    return st, hdr, body


def bounds(tap, api):
    for query, word in BAD:
        st, hdr, body = history(api, query)
        try:
            err = json.loads(body).get("error", "")
        except ValueError:
            err = ""
        tap.ok(st == 400 and word in err and hdr.get("content-type") == "application/json",
               "%s: 400 naming the problem (%d %s)" % (query[:40], st, err))
    st, _, _ = api.call("POST", "/api/v1/history")
    tap.ok(st == 405, "POST: 405")
    st, _, _ = api.call("GET", "/api/v1/history", auth=False)
    tap.ok(st == 401, "without credentials: 401")


def records(api, query):
    st, hdr, body = history(api, query)
    j = json.loads(body) if st == 200 else {}
    return st, j, {r["time"]: r for r in j.get("records", [])}


def feed_for(d, pty, raw, seconds):
    """Telegrams every 0.5 s for this long."""
    end = time.time() + seconds
    while time.time() < end:
        pty.write(raw)
        time.sleep(0.5)


def history_scenario(tap, binary):
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        text = httpapi.http_config(link) + "\n[History]\nSaveInterval=0\n"
        d, port = httpapi.start(tap, binary, w, text, name="history")
        api = httpapi.Api(port)
        raw = harness.testdata(EMUCS)
        i, _ = feed_until(d, pty, raw, r"Receiving e-MUCS")
        tap.ok(i is not None, "the meter is found")

        # Minute a: telegrams; minute a + 1: none (the meter paused); minute a + 2: telegrams.
        feed_for(d, pty, raw, 2)
        a = int(time.time()) // 60 * 60
        tap.diag("pausing the meter for %.0f s" % (a + 121 - time.time()))
        bounds(tap, api)  # while the meter is paused
        time.sleep(max(0.0, a + 121 - time.time()))
        feed_for(d, pty, raw, 2)
        now = int(time.time())
        st, j, rec = records(api, "?from=%d&to=%d" % (a - 60, now))
        tap.ok(st == 200 and j.get("step") == 60 and j.get("from") == a - 60, "JSON answer: %d %s" %
               (st, {k: j.get(k) for k in ("from", "to", "step", "now")}))
        ra, rc = rec.get(a), rec.get(a + 120)
        tap.ok(ra is not None and ra["samples"] >= 1 and ra["partial"] is False and
               ra["p_mean_w"] == 338 and ra["e_import_kwh"] == 571.562 and ra["u1_v"] == 232.9 and
               ra["i2_a"] == 0.88, "minute with telegrams: the sample's values: %s" % ra)
        tap.ok(a + 60 not in rec, "the paused minute is a gap, no record")
        tap.ok(rc is not None and (rc["partial"] is True or now // 60 * 60 != a + 120),
               "the current minute, partial: %s" % rc)
        tap.ok("capacity" in j and j["capacity"].get("source") == "measured", "capacity in the answer")

        st, hdr, body = history(api, "?from=%d&to=%d" % (a, a + 120), headers=["Accept: text/csv"])
        lines = body.decode().split("\r\n")
        tap.ok(st == 200 and hdr.get("content-type", "").startswith("text/csv") and
               lines[0].startswith("time,samples,partial,p_mean_w") and lines[1].startswith("%d," % a) and
               lines[2].startswith("%d," % (a + 120)), "CSV: header, minute a, then a + 2: %s" % lines[:3])
        st, j, quarters = records(api, "?step=900")
        tap.ok(st == 200 and j.get("records") and j["records"][-1]["samples"] >= 4,
               "step 900: the quarter being built")
        minutes = records(api, "")[2]
        st, j, _ = records(api, "")
        tap.ok(st == 200 and j.get("to", 0) - j.get("from", 0) == 86400, "default: the last 24 h")

        # Restart: saved at SIGTERM, restored at start; the downtime is a gap.
        stop_and_check(tap, d, "history")
        path = w.join("state", "history")
        # Saved by blocks: an hour of minutes (16 + 60 * 24 bytes), half a day of quarters (16 + 48 * 11).
        hours, days = {t // 3600 for t in minutes}, {t // 43200 for t in quarters}
        size = 40 + 1456 * len(hours) + 544 * len(days)
        tap.ok(os.path.getsize(path) == size, "saved: header + %d hour blocks + %d day blocks (%d bytes)"
               % (len(hours), len(days), os.path.getsize(path)))
        d, port = httpapi.start(tap, binary, w, text, name="restarted")
        i, _ = d.wait_for(r"History restored from '.*history' \(%d bytes\)" % size)
        tap.ok(i is not None, "restored at start")
        st, j, rec = records(httpapi.Api(port), "?from=%d&to=%d" % (a - 60, now))
        tap.ok(st == 200 and rec.get(a, {}).get("samples") == ra["samples"] and a + 60 not in rec,
               "the same records after the restart, the gap still a gap")
        stop_and_check(tap, d, "restarted")

        for what, content in (("torn", open(path, "rb").read()[:-7]), ("foreign", b"\x7fELF" + b"\0" * 300),
                              ("empty", b"")):
            with open(path, "wb") as f:
                f.write(content)
            d, port = httpapi.start(tap, binary, w, text, name=what)
            i, m = d.wait_for(r"History file '.*history' refused \((.*)\), starting with an empty history")
            tap.ok(i is not None, "%s file refused: %s" % (what, m.group(1) if m else None))
            st, j, rec = records(httpapi.Api(port), "?from=%d&to=%d" % (a - 60, now))
            tap.ok(st == 200 and not rec, "%s file: an empty history" % what)
            stop_and_check(tap, d, what)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    # Independent daemons: the replay keeps the CPU busy while the history's
    # scenario mostly waits for its paused minute to pass.
    def capacity(t):
        capacity_scenario(t, binary)

    def hist(t):
        history_scenario(t, binary)

    harness.concurrently(tap, capacity, hist)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
