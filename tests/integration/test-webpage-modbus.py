#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The web page's Modbus panel in headless Chromium against the real daemon
fed a real DSMR 5 telegram through a pty: every row of the panel (address in
decimal and hex, name, type, value) is compared with pymodbus reading that
register from the daemon's Modbus TCP server and decoding it by the row's
type, for PhoenixContact-EMPro and, after a MeterType change through the
API, SunSpec (scale factors, strings, "not implemented" values as a dash);
the panel follows a new telegram without a reload; its headers in French and
Dutch; at 360 px no horizontal scroll (the table wraps inside its card);
contrast and labels as test-webpage.py checks them. Screenshots at 1280 and
360 px go to meson-logs.

Chromium, chromedriver, selenium and pymodbus are required, as for
test-webpage.py, whose Browser, sign-in and checks this test borrows."""

import importlib.util
import os
import sys

import harness
import httpapi
from harness import Pty, Workdir

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


web = load("test_webpage", "test-webpage.py")
mapi = load("test_modbus_api", "test-modbus-api.py")
mb = mapi.mb

ROWS_JS = """
return Array.from(document.querySelectorAll('#mb tbody tr')).map(tr => Array.from(tr.cells).map(c => c.textContent));"""


def rows(drv):
    return drv.execute_script(ROWS_JS)


def client_reads(c, api_regs, shown):
    """For each row: the words pymodbus reads at its address with its function code, as the
    API's register shape {type, words}; the count of words is the template's layout."""
    lengths = {(r["address"], r["functions"] == [3]): len(r["words"]) for r in api_regs}
    out = []
    for addr_text, name, typ, value in shown:
        addr = int(addr_text.split()[0])
        holding = typ.endswith(" FC 3")
        typ = typ[:-len(" FC 3")] if holding else typ
        n = lengths.get((addr, holding), 0)
        rr = (c.read_holding_registers if holding else c.read_input_registers)(addr, n, slave=1) if n else None
        words = None if rr is None or rr.isError() else list(rr.registers)
        out.append({"address": addr, "type": typ, "words": words, "holding": holding, "addr_text": addr_text,
                    "value_text": value})
    return out


def compare(tap, tmpl, shown, reads):
    meas = mapi.measured(tmpl)
    by_addr = {r["address"]: r for r in reads if not r["holding"] and r["words"] is not None}
    bad = []
    for r in reads:
        if r["words"] is None:
            bad.append("%d: the client cannot read it" % r["address"])
            continue
        if r["addr_text"] != "%d 0x%04X" % (r["address"], r["address"]):
            bad.append("address shown as %r" % r["addr_text"])
        _, exp = meas.get(r["address"], (None, 0)) if not r["holding"] else (None, 0)
        want, step = mapi.decode(r, exp, by_addr)
        text = r["value_text"]
        if want is None:
            ok = text == web.DASH
        elif isinstance(want, str):
            ok = text == want
        else:
            try:
                got = float(text.split()[0])
            except (ValueError, IndexError):
                got = None
            ok = got is not None and abs(got - want) <= step + 1e-9
        if not ok:
            bad.append("%d %s: panel %r, client %r" % (r["address"], r["type"], text, want))
    tap.ok(shown and not bad, "%s: all %d rows of the panel equal pymodbus's reads %s" % (tmpl, len(shown), bad[:4]))


def panel_matches(tap, drv, api, c, tmpl):
    st, j = api.json("GET", "/api/v1/modbus")
    regs = (j or {}).get("registers", [])
    shown = web.until(lambda: (web.text_of(drv, "mb-s") or "").startswith(tmpl)
                      and len(rows(drv)) == len(regs) and rows(drv), 15)
    tap.ok(shown and st == 200, "%s: the panel lists the %d registers of the template" % (tmpl, len(regs)))
    names = [r["name"] for r in regs]
    tap.ok(shown and [s[1] for s in shown] == names, "%s: the names are the API's, in its order" % tmpl)
    compare(tap, tmpl, shown or [], client_reads(c, regs, shown or []))
    return shown


def languages(tap, drv, se):
    want = {"fr": ["Registres Modbus", "Adresse", "Nom", "Type", "Valeur"],
            "nl": ["Modbus-registers", "Adres", "Naam", "Type", "Waarde"]}
    for lang, words in want.items():
        ok = web.switch_language(drv, se, lang)
        got = drv.execute_script("return Array.from(document.querySelectorAll('#c-reg h3, #mb th'))"
                                 ".map(e => e.textContent)")
        tap.ok(ok and got == words, "%s: the panel's title and headers %s" % (lang, got))
    web.switch_language(drv, se, "en")


def phone(tap, drv):
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": True})
    m = web.until(lambda: drv.execute_script(
        "const d = document.documentElement, t = document.getElementById('mb').getBoundingClientRect();"
        "return window.innerWidth === 360 && [d.scrollWidth, d.clientWidth, t.right];"), 5)
    tap.ok(m and m[0] <= m[1] and m[2] <= 360,
           "360 px: no horizontal scroll (scrollWidth %s), the table ends at %s px" % (m and m[0], m and m[2]))


def run(tap, binary, se, paths):
    logdir = os.environ.get("MESON_LOGDIR") or os.path.join(os.getcwd(), "meson-logs")
    client_cls = mb.import_pymodbus()
    if not tap.ok(client_cls is not None, "pymodbus is installed (python3-pymodbus)"):
        return
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        text = httpapi.http_config(link, extra="[Device]\nSerial=%s\n" % mb.SERIAL).replace(
            "[Meter]\n", "[Meter]\nStaleAfter=1h\n")
        d, port = httpapi.start(tap, binary, w, text, name="modbus panel")
        i, m = d.wait_for(mb.PORT_RX)
        if port is None or not tap.ok(i is not None, "Modbus TCP server listening"):
            return
        api = httpapi.Api(port)
        raw = harness.testdata(mb.METER_RAW)
        i, _ = harness.feed_until(d, pty, raw, harness.telegram_with_p(433))
        tap.ok(i is not None, "telegram decoded")
        c = client_cls("127.0.0.1", port=int(m.group(1)), timeout=harness.TIMEOUT)
        tap.ok(c.connect(), "pymodbus connects")

        b, drv = web.open_signed_in(tap, w, se, paths, port, httpapi.PASSWORD)
        shown = panel_matches(tap, drv, api, c, "PhoenixContact-EMPro")
        p = [s[3] for s in shown or [] if s[0].startswith("32790 ")]
        tap.ok(p == ["433 W"], "EMpro 0x8016 (active power) shows the telegram's 433 W: %s" % p)

        # A new telegram: the panel follows without a reload.
        n = d.count()
        second = mb.edit_telegram(raw, {"1-0:1.7.0": "01.234"})
        i, _ = harness.feed_until(d, pty, second, harness.telegram_with_p(1234), n)
        p = web.until(lambda: [s[3] for s in rows(drv) if s[0].startswith("32790 ")] == ["1234 W"], 15)
        tap.ok(i is not None and p, "after a telegram with P = 1234 W the panel shows 1234 W, no reload")
        panel_matches(tap, drv, api, c, "PhoenixContact-EMPro")

        st, _ = api.json("PATCH", "/api/v1/config", {"MeterType": "SunSpec"})
        tap.ok(st == 200, "MeterType SunSpec through the API")
        shown = panel_matches(tap, drv, api, c, "SunSpec")
        dash = [s for s in shown or [] if s[3] == web.DASH]
        tap.ok(dash and all(s[2] == "int16 (SF)" for s in dash),
               "SunSpec: the values the meter does not give (0x8000) show as a dash (%d rows)" % len(dash))
        web.accessibility(tap, drv, "Modbus panel")
        languages(tap, drv, se)
        phone(tap, drv)
        drv.execute_script("document.getElementById('c-reg').scrollIntoView()")
        for width in (1280, 360):
            web.shot(tap, drv, width, os.path.join(logdir, "webpage-modbus-%d.png" % width))
        errs = [e for e in drv.get_log("browser") if e.get("source") != "network" and e.get("level") != "INFO"]
        tap.ok(not errs, "no script error in the browser console %s" % (errs or ""))
        c.close()
        b.close()
        harness.stop_and_check(tap, d, "modbus panel")


def main():
    return web.browser_main(run)


if __name__ == "__main__":
    sys.exit(main())
