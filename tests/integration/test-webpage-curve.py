#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The web page's power curve, energy and capacity-tariff box in headless
Chromium against the real daemon fed by a pty (e-MUCS telegrams, which carry
the meter's own demand and month peak):

- minute a: telegrams; minute a + 1: none (the test pauses the meter);
  minute a + 2: telegrams again;
- "24 h" draws one point per minute record of GET /api/v1/history (step 60)
  with import and export as two paths, and the paused minute is a gap: the
  paths start anew (a second "M") after it, no line across;
- "7 days" draws the quarter-hour records (step 900); "Last hour" the
  minutes plus the live values after them;
- the capacity box shows the status's demand and month peak, and the
  projection sentence when the daemon gives one.

Chromium, chromedriver and selenium are required, as for test-webpage.py,
whose Browser and sign-in this test borrows. Screenshots of the page at
1280 and 360 px with the curve drawn go to meson-logs."""

import importlib.util
import os
import re
import sys
import time

import harness
import httpapi
from harness import Pty, Workdir, feed_until

EMUCS = "dsmr/be_emucs_fluvius_capacity-history_dsmrparser.raw"


def webpage_module():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-webpage.py")
    spec = importlib.util.spec_from_file_location("test_webpage", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def feed_for(pty, raw, seconds):
    end = time.time() + seconds
    while time.time() < end:
        pty.write(raw)
        time.sleep(0.5)


def path_shape(drv, pid):
    """(points, subpaths) of the path: its L and M commands."""
    d = drv.execute_script("return document.getElementById(arguments[0]).getAttribute('d') || ''", pid)
    return len(re.findall(r"[ML]", d)), d.count("M")


def show_range(web, drv, se, r):
    drv.execute_script("document.getElementById('curve').removeAttribute('data-n')")
    drv.find_element(se.By.CSS_SELECTOR, "#range button[data-r='%d']" % r).click()
    return web.until(lambda: drv.execute_script(
        "const c = document.getElementById('curve'); return c.dataset.n !== undefined && +c.dataset.n"), 10)


def records(api, query):
    st, j = api.json("GET", "/api/v1/history" + query)
    return [r for r in (j or {}).get("records", []) if r.get("p_mean_w") is not None] if st == 200 else None


def run(tap, binary, se, paths):
    web = webpage_module()
    logdir = os.environ.get("MESON_LOGDIR") or os.path.join(os.getcwd(), "meson-logs")
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        text = httpapi.http_config(link) + "\n[History]\nSaveInterval=0\n"
        d, port = httpapi.start(tap, binary, w, text, name="curve")
        if port is None:
            return
        api = httpapi.Api(port)
        raw = harness.testdata(EMUCS)
        i, _ = feed_until(d, pty, raw, r"Receiving e-MUCS")
        tap.ok(i is not None, "the meter is found")
        # Minute a: telegrams; a + 1: none; a + 2: telegrams.
        feed_for(pty, raw, 2)
        a = int(time.time()) // 60 * 60
        tap.diag("pausing the meter for %.0f s" % (a + 121 - time.time()))
        # Chromium starts and signs in while the meter is paused: the ranges
        # below fetch the history again when their button is clicked.
        b, drv = web.open_signed_in(tap, w, se, paths, port, httpapi.PASSWORD)
        time.sleep(max(0.0, a + 121 - time.time()))
        feed_for(pty, raw, 2)

        n = show_range(web, drv, se, 86400)
        now = int(time.time())
        recs = records(api, "?step=60&from=%d&to=%d" % (now - 86400, now))
        times = [r["time"] for r in recs or []]
        tap.ok(a in times and a + 60 not in times and a + 120 in times,
               "history: minute a, no a + 1 (paused), a + 2: %s" % times)
        pi, mi = path_shape(drv, "c-imp")
        pe, me = path_shape(drv, "c-exp")
        tap.ok(n == len(times) and pi == n and pe == n,
               "24 h: %s points drawn, import %d, export %d, for %d minute records" % (n, pi, pe, len(times)))
        gaps = sum(1 for x, y in zip(times, times[1:]) if y - x > 60)
        tap.ok(gaps >= 1 and mi == gaps + 1 and me == gaps + 1,
               "the paused minute is a gap: %d subpaths for %d gap(s), no line across" % (mi, gaps))

        n7 = show_range(web, drv, se, 604800)
        q = records(api, "?step=900&from=%d&to=%d" % (now - 604800, now + 60))
        tap.ok(n7 and q is not None and n7 == len(q), "7 days: %s points for %d quarter-hour records"
               % (n7, len(q or [])))
        nh = show_range(web, drv, se, 3600)
        tap.ok(nh and nh >= len([t for t in times if t >= now - 3600]),
               "last hour: %s points (the minutes, then the live values)" % nh)

        st, s = api.json("GET", "/api/v1/status")
        cap = (s or {}).get("capacity", {})
        box = web.until(lambda: web.text_of(drv, "c-cap"), 10) or ""
        want = "%s kW" % cap.get("month_peak_kw")
        tap.ok(cap.get("month_peak_kw") is not None and want in box,
               "the capacity box shows the month peak %r (%r)" % (want, box))
        x = cap.get("projection_kw")
        proj = web.text_of(drv, "cap-x") or ""
        tap.ok((x is None and proj == "") or ("%s kW" % x in proj and proj.startswith("At this rate")),
               "the projection: %r (projection_kw %r)" % (proj, x))
        day = web.text_of(drv, "e-di") or ""
        tap.ok(day.endswith(" kWh") or day == web.DASH, "today's import energy shown: %r" % day)

        for width in (1280, 360):
            web.shot(tap, drv, width, os.path.join(logdir, "webpage-curve-%d.png" % width))
        errs = [e for e in drv.get_log("browser") if e.get("source") != "network" and e.get("level") != "INFO"]
        tap.ok(not errs, "no script error in the browser console %s" % (errs or ""))
        b.close()
        harness.stop_and_check(tap, d, "curve")


def main():
    return webpage_module().browser_main(run)


if __name__ == "__main__":
    sys.exit(main())
