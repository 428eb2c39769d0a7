#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PATCH /api/v1/config end to end: every class of refusal changes nothing (on
disk and in GET), merges keep what was not sent, the overrides survive a
restart, SIGHUP re-reads both files all or nothing, a broken overrides file
stops the start with exit 2, and a new MeterType changes the Modbus registers
at once."""

import json
import os
import re
import signal
import subprocess
import time

import harness
import httpapi
from harness import Notify, Tap, Workdir, stop_and_check
from httpapi import Api

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
MB_RX = r"Modbus TCP server on port (\d+)"


def modbus_read(port, addr, count):
    exe = os.environ.get("MODBUS_CLIENT", "")
    p = subprocess.run([exe, str(port), "1", "read", "3", str(addr), str(count)], capture_output=True,
                       text=True, timeout=60)
    return p.returncode, p.stdout.strip()


def check_refusals(tap, api, w):
    bad = [
        ("unknown key", {"MQTT": {"Brokr": "mqtt://x"}}, "MQTT.Brokr"),
        ("unknown section", {"Foo": {"Bar": 1}}, "Foo"),
        ("wrong type: string for a boolean", {"MQTT": {"Enabled": "yes"}}, "MQTT.Enabled"),
        ("wrong type: string for a number", {"Modbus": {"MaxClients": "4"}}, "Modbus.MaxClients"),
        ("wrong type: number for a string", {"MeterType": 3}, "MeterType"),
        ("wrong type: value for an object", {"Ethernet": "Static"}, "Ethernet"),
        ("bad value: enum", {"MeterType": "Nonsense-1"}, "MeterType"),
        ("bad value: range", {"Modbus": {"MaxClients": 0}}, "Modbus.MaxClients"),
        ("bad value: IPv4", {"Ethernet": {"StaticIPv4": {"IpAddress": "300.1.1.1"}}},
         "Ethernet.StaticIPv4.IpAddress"),
        ("cross-key: Static without an address", {"Ethernet": {"IpMode": "Static"}},
         "Ethernet.StaticIPv4.IpAddress"),
        ("cross-key: MQTT enabled without a broker", {"MQTT": {"Enabled": True}}, "MQTT.Enabled"),
        ("too deep for the shape", {"MQTT": {"Broker": {"x": 1}}}, "MQTT.Broker"),
        ("one good field and one bad", {"MQTT": {"Site": "fine", "Broker": "ftp://x"}}, "MQTT.Broker"),
    ]
    raw = [
        ("not an object", "[1,2,3]"),
        ("invalid JSON", "{\"MQTT\": {"),
        ("empty body", ""),
        ("duplicate key", "{\"MeterType\":\"SunSpec\",\"MeterType\":\"SunSpec\"}"),
        ("deep JSON (30,000 arrays, inside the body limit)", "[" * 30000 + "]" * 30000),
    ]
    disk0 = httpapi.read_overrides(w)
    st, get0 = api.json("GET", "/api/v1/config")
    for what, body, field in bad:
        st, r = api.json("PATCH", "/api/v1/config", body)
        tap.ok(st == 400 and isinstance(r, dict) and r.get("field") == field and field in r.get("error", ""),
               "%s: 400 naming %s (%r %r)" % (what, field, st, r))
        _, get1 = api.json("GET", "/api/v1/config")
        tap.ok(get1 == get0 and httpapi.read_overrides(w) == disk0, "%s: nothing changed (GET and disk)" % what)
    for what, body in raw:
        st, r = api.json("PATCH", "/api/v1/config", body)
        tap.ok(st == 400 and isinstance(r, dict) and r.get("error"), "%s: 400 (%r %r)"
               % (what, st, r and r.get("error", "")[:80]))
        _, get1 = api.json("GET", "/api/v1/config")
        tap.ok(get1 == get0 and httpapi.read_overrides(w) == disk0, "%s: nothing changed (GET and disk)" % what)


def check_merge(tap, api, w):
    st, _ = api.json("PATCH", "/api/v1/config", {"MQTT": {"Broker": "mqtt://broker.example:1883", "Site": "s1"}})
    tap.ok(st == 200, "PATCH MQTT Broker and Site (%r)" % st)
    st, c = api.json("PATCH", "/api/v1/config", {"MQTT": {"Username": "u1", "Password": "Xem3x123"},
                                                 "Modbus": {"IdleTimeout": 90}})
    tap.ok(st == 200 and c["MQTT"]["Broker"] == "mqtt://broker.example:1883" and c["MQTT"]["Site"] == "s1" and
           c["MQTT"]["Username"] == "u1" and c["Modbus"]["IdleTimeout"] == 90,
           "second PATCH merges with the first (%r)" % c.get("MQTT"))
    ov = json.loads(httpapi.read_overrides(w))
    tap.ok(ov["MQTT"]["Password"] == "Xem3x123" and "<hidden>" not in json.dumps(ov),
           "overrides.json holds the real secret, no placeholder")
    tap.ok(oct(os.stat(httpapi.overrides_path(w)).st_mode & 0o777) == "0o600", "overrides.json is mode 0600")
    return c


def check_meter_type(tap, api, mbport, d, pty):
    i, _ = harness.feed_until(d, pty, harness.testdata(DSMR50), harness.TELEGRAM_RX)
    tap.ok(i is not None, "a telegram decoded")
    rc, out = modbus_read(mbport, 40000, 2)
    tap.ok(rc == 3 and out == "exception 2", "EMPro template: no SunSpec block at 40000 (%r %r)" % (rc, out))
    st, _ = api.json("PATCH", "/api/v1/config", {"MeterType": "SunSpec"})
    tap.ok(st == 200, "PATCH MeterType SunSpec (%r)" % st)
    rc, out = modbus_read(mbport, 40000, 2)
    tap.ok(rc == 0 and out.split() == ["21365", "28243"], "Modbus now serves 'SunS' at 40000 (%r %r)" % (rc, out))


def main():
    binary = harness.daemon_path()
    tap = Tap()
    if not tap.ok(os.access(os.environ.get("MODBUS_CLIENT", ""), os.X_OK), "MODBUS_CLIENT is executable"):
        return tap.done()

    with Workdir() as w:
        link = w.join("meter")
        text = httpapi.http_config(link)
        notify = w.add(Notify(w.join("notify")))
        pty = w.add(harness.Pty(link))
        d, port = httpapi.start(tap, binary, w, text, notify=notify)
        i, m = d.wait_for(MB_RX)
        if not port or not m:
            return tap.done()
        api = Api(port)
        check_refusals(tap, api, w)
        check_meter_type(tap, api, int(m.group(1)), d, pty)
        cfg = check_merge(tap, api, w)

        # SIGHUP with good files: the config file's change and the overrides both count.
        mark = d.count()
        d.write_config(text.replace("[Modbus]\n", "[Modbus]\nMaxClients=7\n"))
        d.signal(signal.SIGHUP)
        i, _ = d.wait_for(r"Reloading the configuration", mark)
        i, _ = d.wait_for(r"Configuration reloaded", i or mark)
        st, c = api.json("GET", "/api/v1/config")
        if not isinstance(c, dict):
            d.dump(tap)
            return tap.done()
        tap.ok(i is not None and c["Modbus"]["MaxClients"] == 7 and c["MeterType"] == "SunSpec" and
               c["MQTT"]["Site"] == "s1", "SIGHUP: file change in force, overrides kept (%r)" % c.get("Modbus"))

        # SIGHUP with a broken overrides file: all or nothing.
        good = httpapi.read_overrides(w)
        with open(httpapi.overrides_path(w), "w") as f:
            f.write('{"MQTT": {"Site": "bad site"}, "MeterType": "Eastron-SDM630"}')
        mark = d.count()
        d.write_config(text.replace("[Modbus]\n", "[Modbus]\nMaxClients=9\n"))
        d.signal(signal.SIGHUP)
        mark, _ = d.wait_for(r"Reloading the configuration", mark)
        i, _ = d.wait_for(r"overrides\.json.*MQTT\.Site", mark or 0)
        tap.ok(i is not None, "broken overrides.json: error names file and field")
        i, _ = d.wait_for(r"Reload failed, keeping the running configuration", mark or 0)
        st, c = api.json("GET", "/api/v1/config")
        if not isinstance(c, dict):
            d.dump(tap)
            return tap.done()
        tap.ok(i is not None and c["Modbus"]["MaxClients"] == 7 and c["MeterType"] == "SunSpec",
               "broken overrides.json: nothing of the reload applied (%r %r)" % (c["Modbus"]["MaxClients"],
                                                                               c["MeterType"]))
        with open(httpapi.overrides_path(w), "wb") as f:
            f.write(good)
        d.write_config(text)

        # The whole GET object sent back: nothing changes, secrets stay.
        st, c = api.json("GET", "/api/v1/config")
        st, c2 = api.json("PATCH", "/api/v1/config", c)
        tap.ok(st == 200 and c2 == c, "GET -> PATCH of the whole object round-trips, secrets kept")
        ov = json.loads(httpapi.read_overrides(w))
        tap.ok(ov["MQTT"]["Password"] == "Xem3x123", "the MQTT password survived it")
        cfg = c2
        rc = d.stop()
        tap.ok(rc == 0, "stopped (%r)" % rc)

        # Restart: the overrides are in force again.
        d2, port2 = httpapi.start(tap, binary, w, text, name="restart")
        if port2:
            st, c2 = Api(port2).json("GET", "/api/v1/config")
            cfg["Modbus"]["Listen"] = c2["Modbus"]["Listen"]
            cfg["HTTP"]["Listen"] = c2["HTTP"]["Listen"]
            tap.ok(st == 200 and c2 == cfg, "after a restart GET shows the same configuration")

        # HTTP settings changed by the request itself: the answer still
        # arrives, the new password is in force at once, the old one is not.
        api2 = Api(port2)
        st, c = api2.json("PATCH", "/api/v1/config", {"HTTP": {"Password": "new-pw-0042", "Timeout": 20}})
        tap.ok(st == 200 and c["HTTP"]["Timeout"] == 20, "PATCH of HTTP Password and Timeout answered (%r)" % st)
        st, _, _ = Api(port2, password="new-pw-0042").call("GET", "/api/v1/status")
        tap.ok(st == 200, "the new password works (%r)" % st)
        st, _, _ = api2.call("GET", "/api/v1/status", extra=("--interface", "127.0.0.5"))
        tap.ok(st == 401, "the old password does not (%r)" % st)
        for k in range(20):
            api3 = Api(port2, password="new-pw-0042")
            api3.call("PATCH", "/api/v1/config", {"HTTP": {"Timeout": 21 + k}})
        st, c = Api(port2, password="new-pw-0042").json("GET", "/api/v1/config")
        tap.ok(st == 200 and c["HTTP"]["Timeout"] == 40, "20 server restarts in a row, still serving (%r)" % st)

        # One spelling: a dotted name is refused, so a later nested change is
        # the one a reload keeps.
        api4 = Api(port2, password="new-pw-0042")
        st, err = api4.json("PATCH", "/api/v1/config", {"HTTP.Password": "dotted-pw-1"})
        tap.ok(st == 400 and err.get("field") == "HTTP.Password",
               "PATCH with the dotted name HTTP.Password: 400 naming it (%r %r)" % (st, err))
        st, _ = api4.json("PATCH", "/api/v1/config", {"HTTP": {"Password": "nested-pw-2"}})
        tap.ok(st == 200, "PATCH with the nested name (%r)" % st)
        n = d2.count()
        d2.signal(signal.SIGHUP)
        i, _ = d2.wait_for(r"[Rr]eload", n)
        time.sleep(0.3)
        st, _, _ = Api(port2, password="nested-pw-2").call("GET", "/api/v1/status")
        tap.ok(i is not None and st == 200, "after SIGHUP the password of the last PATCH is in force (%r)" % st)
        st, _, _ = Api(port2, password="dotted-pw-1").call("GET", "/api/v1/status")
        tap.ok(st == 401, "the refused dotted one is not (%r)" % st)
        stop_and_check(tap, d2, "restart")

        # A broken overrides file at start: exit 2, naming file and field.
        with open(httpapi.overrides_path(w), "w") as f:
            f.write('{"Modbus": {"MaxClients": "many"}}')
        d3 = w.add(harness.Daemon(binary, w.path, text))
        rc = d3.wait_exit()
        i, _ = d3.wait_for(re.escape(httpapi.overrides_path(w)) + r".*Modbus\.MaxClients")
        tap.ok(rc == 2 and i is not None, "broken overrides.json at start: exit 2 naming file and field (%r)" % rc)
        if rc != 2 or i is None:
            d3.dump(tap)

    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
