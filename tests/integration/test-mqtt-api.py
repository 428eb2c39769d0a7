#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""MQTT driven through the HTTP API, against a real mosquitto on loopback:
PATCH /api/v1/config turns MQTT on and the daemon connects and publishes
without a restart; /api/v1/status reports the connection; POST
/api/v1/reset reconnects (one more connect, publishing goes on); a PATCH to
a broker that is not there moves the client off the old broker, and the
status names the failure; MQTT off again through the API ends the session
with the retained 'offline'."""

import json
import re
import time

import harness
import httpapi
import mqttlib
from harness import TELEGRAM_RX, Pty, Tap, Workdir, stop_and_check
from mqttlib import BASE, CONNECTED_RX, FAILED_RX, SERIAL, SITE, Broker, Sub

POWER = BASE + "/data/power_instant"
AVAIL = BASE + "/status"


def mqtt_status(api):
    st, s = api.json("GET", "/api/v1/status")
    return s.get("mqtt", {}) if st == 200 and isinstance(s, dict) else {}


def wait_status(api, pred, timeout=harness.TIMEOUT):
    deadline = time.monotonic() + timeout
    last = {}
    while time.monotonic() < deadline:
        last = mqtt_status(api)
        if pred(last):
            return True, last
        time.sleep(0.1)
    return False, last


def connects(d):
    with d.cond:
        return sum(1 for line in d.lines if re.search(CONNECTED_RX, line))


def main():
    tap = Tap()
    binary = harness.daemon_path()
    with Workdir() as w:
        broker = w.add(Broker(w, "broker"))
        sub = w.add(Sub(broker.port))
        link = w.join("tty")
        pty = w.add(Pty(link))
        extra = ("[MQTT]\nEnabled=no\nPingGateway=127.0.0.2\nPingHost=127.0.0.3\n"
                 "\n[Device]\nSerial=%s\n" % SERIAL)
        d, port = httpapi.start(tap, binary, w, httpapi.http_config(link, extra=extra))
        if port is None:
            return tap.done()
        api = httpapi.Api(port)
        raw = harness.testdata(mqttlib.DSMR50)
        harness.feed_until(d, pty, raw, TELEGRAM_RX)

        ok, s = wait_status(api, lambda m: m.get("state") == "disabled")
        tap.ok(ok and s.get("enabled") is False, "status: MQTT disabled at start (%r)" % s)

        # On through the API: connects and publishes, no restart.
        mark = d.count()
        st, r = api.json("PATCH", "/api/v1/config", {"MQTT": {
            "Enabled": True, "Broker": "mqtt://127.0.0.1:%d" % broker.port, "Site": SITE}})
        tap.ok(st == 200, "PATCH MQTT Enabled, Broker, Site: 200 (%r %r)" % (st, r))
        tap.ok(d.wait_for(CONNECTED_RX, mark)[0] is not None, "the daemon connects without a restart")
        ok, s = wait_status(api, lambda m: m.get("state") == "connected")
        tap.ok(ok and s.get("enabled") is True and s.get("last_error") is None,
               "status: MQTT connected (%r)" % s)
        c0 = sub.count()
        pty.write(raw)
        i = sub.wait_for(POWER, start=c0)
        tap.ok(i is not None, "power_instant published after the PATCH")
        if i is not None:
            tap.ok(json.loads(sub.msgs[i][3]).get("E_IMPORT") is not None, "with the telegram's values")

        # Soft reset: one more connection, and publishing goes on.
        before = connects(d)
        mark = d.count()
        st, r = api.json("POST", "/api/v1/reset")
        tap.ok(st in (200, 202), "POST /api/v1/reset (%r %r)" % (st, r))
        tap.ok(d.wait_for(CONNECTED_RX, mark)[0] is not None, "reset: MQTT connects again")
        time.sleep(0.5)
        tap.ok(connects(d) == before + 1, "reset: exactly one new connection (%d, %d)" % (before, connects(d)))
        c1 = sub.count()
        harness.feed_until(d, pty, raw, TELEGRAM_RX, start=d.count())
        tap.ok(sub.wait_for(POWER, start=c1) is not None, "reset: power_instant published again")

        # A broker that is not there: the client leaves the old one and says why.
        dead = mqttlib.free_port()
        mark = d.count()
        st, r = api.json("PATCH", "/api/v1/config", {"MQTT": {"Broker": "mqtt://127.0.0.1:%d" % dead}})
        tap.ok(st == 200, "PATCH Broker to a closed port: 200 (%r)" % st)
        tap.ok(d.wait_for(FAILED_RX, mark)[0] is not None, "the connection attempt fails, logged")
        ok, s = wait_status(api, lambda m: m.get("state") in ("connecting", "disconnected")
                            and m.get("last_error"))
        tap.ok(ok, "status: not connected, with the last error (%r)" % s)
        c2 = sub.count()
        pty.write(raw)
        time.sleep(1.0)
        tap.ok(not sub.on(POWER, c2), "nothing reaches the old broker any more")

        # Off through the API: disabled, and the old session's will says offline.
        st, r = api.json("PATCH", "/api/v1/config", {"MQTT": {"Enabled": False}})
        tap.ok(st == 200, "PATCH MQTT Enabled=false: 200 (%r)" % st)
        ok, s = wait_status(api, lambda m: m.get("state") == "disabled")
        tap.ok(ok, "status: MQTT disabled again (%r)" % s)
        offline = [m for m in sub.on(AVAIL) if m[3] == "offline"]
        tap.ok(offline, "availability went 'offline' when the first broker was left")

        stop_and_check(tap, d, "daemon")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
