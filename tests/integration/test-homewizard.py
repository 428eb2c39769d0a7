#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The HomeWizard-compatible local API, opt-in: off by default (nothing
listens); [HomeWizard] Enabled=yes serves GET /api, /api/v1/data and
/api/v1/telegram without credentials on its own port, with the public v1
field names and the values of the telegram; other methods get 405; AllowFrom
without the client's network closes its connections unanswered (after
SIGHUP), and with it serves again; Enabled=no on SIGHUP stops it; the main API
keeps asking for its password throughout."""

import json
import re
import signal
import subprocess

import harness
import httpapi
from harness import Pty, Tap, Workdir, feed_until, stop_and_check

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_gas_openhab.raw"
HW_RX = r"HomeWizard-compatible API on port (\d+)"


def get(port, path, method="GET"):
    """(status, content type, body); status 0 when the connection gave nothing."""
    p = subprocess.run(["curl", "-sS", "--max-time", "10", "-X", method, "-o", "-", "-D", "-",
                        "http://127.0.0.1:%d%s" % (port, path)], capture_output=True, timeout=30)
    st, hdr, body = httpapi.parse_response(p.stdout)
    return st, hdr.get("content-type", ""), body


def conf(link, extra):
    return httpapi.http_config(link) + "\n[HomeWizard]\n" + extra


def scenario(tap, binary):
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        d, port = httpapi.start(tap, binary, w, httpapi.http_config(link))
        good = harness.testdata(DSMR50)
        i, _ = feed_until(d, pty, good, r"Receiving DSMR 5\.0 telegrams")
        tap.ok(i is not None, "the meter is found")
        tap.ok(not any(re.search(HW_RX, line) for line in d.lines), "off by default: nothing listens")

        text = conf(link, "Enabled=yes\nListen=127.0.0.1:0\nAllowFrom=127.0.0.0/8\n")
        mark = d.count()
        d.write_config(text)
        d.signal(signal.SIGHUP)
        _, m = d.wait_for(HW_RX, mark)
        tap.ok(m is not None, "Enabled=yes on SIGHUP: it listens")
        hw = int(m.group(1)) if m else 0

        st, ct, body = get(hw, "/api")
        basic = json.loads(body or b"{}")
        tap.ok(st == 200 and ct.startswith("application/json") and basic.get("product_type") == "HWE-P1"
               and basic.get("api_version") == "v1" and isinstance(basic.get("serial"), str),
               "GET /api without credentials: %d %s" % (st, basic))
        st, ct, body = get(hw, "/api/v1/data")
        data = json.loads(body or b"{}")
        tap.ok(st == 200 and data.get("smr_version") == 50 and data.get("total_power_import_t1_kwh") == 156.167
               and data.get("active_power_w") == 519 and data.get("total_gas_m3") == 212.529
               and data.get("external", [{}])[0].get("type") == "gas_meter",
               "GET /api/v1/data: the telegram's values under the v1 names")
        st, ct, body = get(hw, "/api/v1/telegram")
        tap.ok(st == 200 and ct.startswith("text/plain") and body == good,
               "GET /api/v1/telegram: the raw telegram, byte for byte")
        st, _, _ = get(hw, "/api/v1/data", method="PUT")
        tap.ok(st == 405, "read-only: PUT gets 405 (%d)" % st)
        st, _, _ = get(hw, "/api/v2/data")
        tap.ok(st == 404, "unknown path: 404 (%d)" % st)
        st, _, _ = httpapi.Api(port).call("GET", "/api/v1/status", auth=False)
        tap.ok(st == 401, "the main API still asks for its password (%d)" % st)

        # AllowFrom without loopback: the connection is closed, unanswered.
        mark = d.count()
        d.write_config(text.replace("AllowFrom=127.0.0.0/8", "AllowFrom=192.0.2.0/24 2001:db8::/32"))
        d.signal(signal.SIGHUP)
        d.wait_for(r"changed: ", mark)
        st, _, _ = get(hw, "/api")
        tap.ok(st == 0, "AllowFrom=192.0.2.0/24: loopback gets no answer (%d)" % st)
        mark = d.count()
        d.write_config(text)
        d.signal(signal.SIGHUP)
        d.wait_for(r"changed: ", mark)
        st, _, _ = get(hw, "/api")
        tap.ok(st == 200, "AllowFrom=127.0.0.0/8 again: served (%d)" % st)

        mark = d.count()
        d.write_config(httpapi.http_config(link))
        d.signal(signal.SIGHUP)
        i, _ = d.wait_for(r"HomeWizard-compatible API off", mark)
        st, _, _ = get(hw, "/api")
        tap.ok(i is not None and st == 0, "Enabled=no on SIGHUP: off (%d)" % st)
        stop_and_check(tap, d, "homewizard")


def main():
    binary = harness.daemon_path()
    tap = Tap()
    scenario(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
