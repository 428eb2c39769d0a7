#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""GET /api/v1/modbus against a Modbus client, on the real daemon fed a real
DSMR 5 telegram through a pty. For every MeterType (switched with PATCH
/api/v1/config, no restart): every register the API lists is read with
pymodbus (FC 4, FC 3 for a holding-only one) and its words equal the API's;
the words decoded here by the type the API names (float32 in both word
orders, int32, uint32, int16, SunSpec int16 with its group's scale factor,
strings) give the API's value; and the measured ones are the telegram's
value within what the type keeps. Before the first telegram SunSpec's
values are null (0x8000). Bad input: another method 405 with Allow, a query
parameter 400, no credentials 401."""

import decimal
import importlib.util
import json
import os
import struct

import harness
import httpapi
from harness import Tap, Workdir

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)


def measured(tmpl):
    """address -> (source, exp) of the points that carry a measurement."""
    if tmpl == "PhoenixContact-EMPro":
        return {a: (s, 0) for a, s in mb.EMPRO_F}
    if tmpl == "Eastron-SDM630":
        return {a: (s, 0) for a, s in mb.SDM_F}
    if tmpl in ("CarloGavazzi-EM24", "CarloGavazzi-EM340"):
        return {a: (s, e) for a, s, e in mb.EM24_I}
    if tmpl == "Chint-DTSU666":
        return {a: (s, e) for a, s, e in mb.DTSU_F}
    m = {mb.M203 + off: (s, "SF:" + g) for off, s, g in mb.SS_PTS}
    m.update({mb.M203 + 36: ("E_EXPORT", 3), mb.M203 + 44: ("E_IMPORT", 3)})
    return m


def u32(w, low_first):
    return (w[1] << 16 | w[0]) if low_first else (w[0] << 16 | w[1])


def s16(x):
    return x - 0x10000 if x & 0x8000 else x


def decode(r, exp, regs_by_addr):
    """The value of the API's register r from its words, by its type: (value, step) with the
    step what the type keeps (0 for text and exact integers)."""
    t, w = r["type"], r["words"]
    if t.startswith("float32"):
        x = struct.unpack(">f", struct.pack(">I", u32(w, t.endswith("CDAB"))))[0] / 10 ** exp
        return x, abs(x) * 1e-6
    if t == "int32 CDAB":
        v = u32(w, True)
        return (v - (1 << 32) if v & 0x80000000 else v) / 10 ** exp, 0
    if t == "uint32 ABCD":
        return u32(w, False) / 10 ** exp, 0
    if t in ("uint16", "int16", "sunssf"):
        return (s16(w[0]) if t != "uint16" else w[0]) / 10 ** exp, 0
    if t == "int16 (SF)":
        sf = regs_by_addr[mb.M203 + mb.SS_SF[exp[3:]]]["words"][0]
        if w[0] == 0x8000 or sf == 0x8000:
            return None, 0
        return s16(w[0]) * 10.0 ** s16(sf), 0
    if t == "string":
        b = b"".join(struct.pack(">H", x) for x in w)
        return b.split(b"\0", 1)[0].decode("ascii"), 0
    raise ValueError("unknown type %r" % t)


def read_words(c, r):
    fc3 = r["functions"] == [3]
    n = len(r["words"])
    rr = (c.read_holding_registers if fc3 else c.read_input_registers)(r["address"], n, slave=1)
    return None if rr.isError() else list(rr.registers)


def check_registers(tap, c, tmpl, j, v):
    regs = j.get("registers") or []
    by_addr = {r["address"]: r for r in regs if r["functions"] != [3]}
    meas = measured(tmpl)
    bad_words, bad_value, bad_meas, named = [], [], [], 0
    for r in regs:
        named += bool(r["name"])
        got = read_words(c, r)
        if got != r["words"]:
            bad_words.append("%d: client %s, API %s" % (r["address"], got, r["words"]))
        src, exp = meas.get(r["address"], (None, 0)) if r["functions"] != [3] else (None, 0)
        want, step = decode(r, exp, by_addr)
        val = r["value"]
        if isinstance(want, str) or want is None or val is None:
            ok = val == want
        else:
            ok = abs(val - want) <= step + 1e-9
        if not ok:
            bad_value.append("%d %s: API %r, decoded %r" % (r["address"], r["type"], val, want))
        if src is not None:
            x = mb.derived(v, src)
            if x is None:
                ok = val is None if r["type"] == "int16 (SF)" else val == 0
            else:
                x = float(x)
                if r["type"].startswith("float"):
                    tol = abs(x) * 1e-6
                elif isinstance(exp, int):
                    tol = 0.5 * 10.0 ** -exp
                else:  # half the step of the group's scale factor
                    tol = 0.5 * 10.0 ** s16(by_addr[mb.M203 + mb.SS_SF[exp[3:]]]["words"][0])
                ok = val is not None and abs(val - x) <= tol + 1e-9
            if not ok:
                bad_meas.append("%d (%s): API %r, telegram %r" % (r["address"], src, val, x))
    tap.ok(regs and named == len(regs), "%s: %d registers listed, every one named" % (tmpl, len(regs)))
    tap.ok(not bad_words, "%s: pymodbus reads the API's words at every address %s" % (tmpl, bad_words[:3]))
    tap.ok(not bad_value, "%s: every value is its words decoded by type %s" % (tmpl, bad_value[:3]))
    tap.ok(not bad_meas and len([a for a in meas if a in by_addr]) == len(meas),
           "%s: the %d measured registers carry the telegram's values %s" % (tmpl, len(meas), bad_meas[:3]))


def bad_input(tap, api):
    st, hdr, body = api.call("POST", "/api/v1/modbus", body={})
    tap.ok(st == 405 and hdr.get("allow") == "GET, HEAD" and b"method not allowed" in body,
           "POST /api/v1/modbus: 405, Allow: GET, HEAD (%r %r)" % (st, hdr.get("allow")))
    st, hdr, body = api.call("DELETE", "/api/v1/modbus")
    tap.ok(st == 405, "DELETE: 405 (%r)" % st)
    st, j = api.json("GET", "/api/v1/modbus?address=40000")
    tap.ok(st == 400 and "no query parameters" in (j or {}).get("error", ""),
           "a query parameter: 400 %r" % (j,))
    st, j = api.json("GET", "/api/v1/modbus?%ff%fe=%00&" + "a" * 3000)
    tap.ok(st == 400 and "no query parameters" in (j or {}).get("error", ""),
           "hostile parameters (not UTF-8, NUL, 3000 bytes): the same 400, nothing echoed (%r)" % st)
    st, j = api.json("GET", "/api/v1/modbus/")
    tap.ok(st == 404, "/api/v1/modbus/: 404 (%r)" % st)
    st, j = api.json("GET", "/api/v1/modbus?")
    tap.ok(st == 200, "an empty query is no parameter: %r" % st)
    st, _, _ = api.call("GET", "/api/v1/modbus", auth=False)
    tap.ok(st == 401, "without credentials: 401 (%r)" % st)
    st, hdr, _ = api.call("HEAD", "/api/v1/modbus")
    tap.ok(st == 200 and hdr.get("content-type") == "application/json",
           "HEAD: 200 (%r %r)" % (st, hdr.get("content-type")))


def main():
    binary = harness.daemon_path()
    tap = Tap()
    client_cls = mb.import_pymodbus()
    if not tap.ok(client_cls is not None, "pymodbus is installed (python3-pymodbus)"):
        return tap.done()
    with Workdir() as w:
        link = w.join("ttyMETER")
        pty = w.add(harness.Pty(link))
        text = mb.modbus_config(link, "SunSpec", stale_after="1h")
        text = text.replace("[HTTP]\n", "[HTTP]\nPassword=%s\n" % httpapi.PASSWORD)
        d = w.add(harness.Daemon(binary, w.path, text))
        tap.on_failure = [lambda: d.dump(tap)]
        i, m = d.wait_for(mb.PORT_RX)
        j_, hm = d.wait_for(httpapi.HTTP_RX)
        if not tap.ok(i is not None and j_ is not None, "Modbus TCP and HTTP API listening"):
            return tap.done()
        port = int(m.group(1))
        api = httpapi.Api(int(hm.group(1)))

        st, j = api.json("GET", "/api/v1/modbus")
        vals = [r["value"] for r in (j or {}).get("registers", []) if r["type"] == "int16 (SF)"]
        tap.ok(st == 200 and j["meter_type"] == "SunSpec" and j["port"] == port and len(vals) == 14
               and all(x is None for x in vals),
               "before any telegram: SunSpec's 14 int16 values are 0x8000, null in the API")
        tap.ok(st == 200 and j["stale"] is True and j["answered"] is False and j["stale_policy"] == "error",
               "before any telegram: stale, reads refused (StalePolicy=error): %r"
               % ({k: (j or {}).get(k) for k in ("stale", "answered", "stale_policy")}))
        bad_input(tap, api)

        i, v = mb.feed(d, pty, harness.testdata(mb.METER_RAW))
        if not tap.ok(i is not None, "telegram decoded"):
            return tap.done()
        c = client_cls("127.0.0.1", port=port, timeout=harness.TIMEOUT)
        tap.ok(c.connect(), "pymodbus connects")
        for tmpl in ("SunSpec", "PhoenixContact-EMPro", "Eastron-SDM630", "CarloGavazzi-EM24", "Chint-DTSU666",
                     "CarloGavazzi-EM340"):
            st, _ = api.json("PATCH", "/api/v1/config", {"MeterType": tmpl})
            st2, j = api.json("GET", "/api/v1/modbus")
            if not tap.ok(st == 200 and st2 == 200 and j["meter_type"] == tmpl and j["stale"] is False
                          and j["answered"] is True, "%s: switched, GET /api/v1/modbus answers" % tmpl):
                continue
            check_registers(tap, c, tmpl, j, v)
            size = len(json.dumps(j))
            tap.ok(size < 16384, "%s: the answer is %d bytes" % (tmpl, size))
        c.close()
        harness.stop_and_check(tap, d, "modbus-api")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
