#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The HTTP API with curl: basic auth on every path, the lockout after failed
logins, every endpoint's answer, the raw telegram byte-exact, and no secret in
any response. Also: no password means no API (and a log line), and the
password file in the state directory or at [HTTP] PasswordFile."""

import os
import signal
import time

import harness
import httpapi
from harness import TELEGRAM_RX, Pty, Tap, Workdir, feed_until, stop_and_check
from httpapi import MQTT_PASSWORD, PASSWORD, Api

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
PATHS = ["/api/v1/status", "/api/v1/config", "/api/v1/telegram", "/api/v1/firmware", "/api/v1/reset",
         "/nope"]
METHODS = {"/api/v1/reset": "POST"}
WIFI_PASSWORD = "WiFi-secret-55aa"


def check_auth(tap, api):
    # Each path from its own loopback address: the lockout counts per address.
    for k, path in enumerate(PATHS):
        method = METHODS.get(path, "GET")
        src = ("--interface", "127.0.0.%d" % (10 + k))
        st, hdr, _ = api.call(method, path, auth=None, extra=src)
        tap.ok(st == 401 and hdr.get("www-authenticate", "").startswith('Basic realm='),
               "%s %s without credentials: 401 with WWW-Authenticate (%r %r)"
               % (method, path, st, hdr.get("www-authenticate")))
        st, _, _ = api.call(method, path, auth="user:wrong", extra=src)
        tap.ok(st == 401, "%s %s with a wrong password: 401 (%r)" % (method, path, st))
    # The page is its sign-in form, no data: served without credentials.
    st, hdr, _ = api.call("GET", "/", auth=None, extra=("--interface", "127.0.0.29"))
    tap.ok(st == 200 and hdr.get("content-type", "").startswith("text/html"),
           "GET / without credentials: the page with its sign-in form (%r)" % st)
    st, _, _ = api.call("GET", "/api/v1/status", auth="admin:" + PASSWORD, extra=("--interface", "127.0.0.30"))
    tap.ok(st == 401, "wrong user name, right password: 401 (%r)" % st)


def check_lockout(tap, api):
    src = ("--interface", "127.0.0.40")
    codes = [api.call("GET", "/api/v1/status", auth="user:guess%d" % n, extra=src)[0] for n in range(5)]
    tap.ok(codes == [401] * 5, "five wrong passwords: 401 each (%r)" % codes)
    st, hdr, _ = api.call("GET", "/api/v1/status", extra=src)
    tap.ok(st == 429 and int(hdr.get("retry-after", "0")) >= 1,
           "then even the right password gets 429 with Retry-After (%r %r)" % (st, hdr.get("retry-after")))
    st, _, _ = api.call("GET", "/api/v1/status", extra=("--interface", "127.0.0.41"))
    tap.ok(st == 200, "another address is served meanwhile (%r)" % st)
    time.sleep(1.2)
    st, _, _ = api.call("GET", "/api/v1/status", extra=src)
    tap.ok(st == 200, "after the first lockout second the right password works again (%r)" % st)
    codes = [api.call("GET", "/api/v1/status", auth="user:guess%d" % n, extra=src)[0] for n in range(5)]
    tap.ok(codes == [401] * 5, "a success cleared the count: five more tries get 401 (%r)" % codes)


def check_endpoints(tap, api, d, pty):
    st, hdr, body = api.call("GET", "/")
    csp = hdr.get("content-security-policy", "")
    tap.ok(st == 200 and hdr.get("content-type", "").startswith("text/html") and b"<html" in body,
           "GET /: the page (%r %r)" % (st, hdr.get("content-type")))
    tap.ok(hdr.get("cache-control") == "no-store" and "default-src 'self'" in csp and
           "frame-ancestors 'none'" in csp, "GET /: no-store and a strict CSP (%r)" % csp)

    st, hdr, body = api.call("GET", "/api/v1/telegram")
    tap.ok(st == 503 and hdr.get("content-type") == "application/json",
           "GET /api/v1/telegram before any telegram: 503 JSON (%r)" % st)

    data = harness.testdata(DSMR50)
    i, _ = feed_until(d, pty, data, TELEGRAM_RX)
    tap.ok(i is not None, "a telegram decoded")
    st, hdr, body = api.call("GET", "/api/v1/telegram")
    tap.ok(st == 200 and hdr.get("content-type", "").startswith("text/plain") and body == data,
           "GET /api/v1/telegram: the telegram, byte-exact (%r, %d of %d bytes)" % (st, len(body), len(data)))

    st, s = api.json("GET", "/api/v1/status")
    ok = st == 200 and isinstance(s, dict)
    tap.ok(ok and set(s) == {"system", "meter", "network", "mqtt", "modbus", "passthrough", "modbus_rtu",
                             "capacity"},
           "status: the eight sections")
    if ok:
        tap.ok(s["modbus_rtu"].get("enabled") is False and s["modbus_rtu"].get("device") is None,
               "status.modbus_rtu: off without [ModbusRTU] Device= (%r)" % s["modbus_rtu"])
    if ok:
        tap.ok(set(s["system"]) == {"serial", "version", "uptime", "hostname", "resets", "led"},
               "status.system keys")
        m = s["meter"]
        tap.ok(set(m) == {"state", "status", "device", "source", "protocol", "version", "id", "last_telegram", "stale",
                          "telegrams_pass", "telegrams_fail", "frame_fail", "power_instant"},
               "status.meter keys (%r)" % sorted(m))
        tap.ok(m["state"] == "receiving" and m["protocol"] == "dsmr" and m["telegrams_pass"] >= 1 and
               m["stale"] is False and isinstance(m["last_telegram"], int) and
               isinstance(m["power_instant"], dict) and "P" in m["power_instant"],
               "status.meter: receiving DSMR, a power_instant object (%r)" % m)
        tap.ok(set(s["network"]) == {"interface", "link", "address", "gateway", "gateway_reachable",
                                     "internet_reachable", "manager"} and s["network"]["link"] in ("up", "down", "unknown"),
               "status.network keys (%r)" % s["network"])
        tap.ok(s["mqtt"] == {"enabled": False, "state": "disabled", "last_error": None, "packets_refused": 0},
               "status.mqtt (%r)" % s["mqtt"])
        tap.ok(s["modbus"]["meter_type"] == "PhoenixContact-EMPro" and s["modbus"]["port"] > 0 and
               s["modbus"]["clients"] == 0, "status.modbus (%r)" % s["modbus"])

    mark = d.count()
    st, r = api.json("POST", "/api/v1/reset", body="")
    tap.ok(st == 202 and r.get("status") == "resetting", "POST /api/v1/reset: 202 (%r %r)" % (st, r))
    i, _ = d.wait_for(r"Soft reset", mark)
    tap.ok(i is not None, "soft reset logged")
    i, _ = feed_until(d, pty, data, TELEGRAM_RX, d.count())
    tap.ok(i is not None, "telegrams decoded again after the reset")
    st, _ = api.json("GET", "/api/v1/status")
    tap.ok(st == 200, "still serving after the reset")

    st, f = api.json("GET", "/api/v1/firmware")
    tap.ok(st == 200 and f.get("package") == "smartconnectd" and f.get("version") and
           f.get("installed") == f.get("version") and f.get("state") in ("idle", "failed"),
           "GET /api/v1/firmware (%r)" % f)
    st, f = api.json("POST", "/api/v1/firmware", body="[1]")
    tap.ok(st == 400 and "action" in f.get("error", ""), "POST /api/v1/firmware with a bad body: 400 (%r)" % f)

    for method, path, allow in (("DELETE", "/api/v1/config", "GET, HEAD, PATCH"), ("PUT", "/", "GET, HEAD"),
                                ("GET", "/api/v1/reset", "POST"), ("PATCH", "/api/v1/status", "GET, HEAD")):
        st, hdr, _ = api.call(method, path)
        tap.ok(st == 405 and hdr.get("allow") == allow, "%s %s: 405, Allow: %s (%r %r)"
               % (method, path, allow, st, hdr.get("allow")))
    st, r = api.json("GET", "/api/v1/nothing")
    tap.ok(st == 404 and "error" in r, "unknown path: 404 JSON (%r)" % st)
    st, hdr, _ = api.call("HEAD", "/api/v1/status")
    tap.ok(st == 200, "HEAD /api/v1/status: 200 (%r)" % st)
    st, r = api.json("POST", "/api/v1/reset", body="", headers=["Origin: http://evil.example"])
    tap.ok(st == 403, "POST from another origin: 403 (%r)" % st)

    # Secrets: set some, then read everything.
    st, _ = api.json("PATCH", "/api/v1/config", {"MQTT": {"Password": MQTT_PASSWORD}})
    tap.ok(st == 200, "PATCH secrets (%r)" % st)
    # With [Network] Manage=no (the default) network keys are refused, secrets included.
    st, _ = api.json("PATCH", "/api/v1/config", {"WiFi": {"ConnectionData": {"WiFiPassword": WIFI_PASSWORD}}})
    tap.ok(st == 409, "PATCH of a network secret without network management: 409 (%r)" % st)
    for path in ("/api/v1/config", "/api/v1/status", "/", "/api/v1/firmware"):
        api.call("GET", path)
    api.call("PATCH", "/api/v1/config", {"MQTT": {"Password": 5}})
    api.call("PATCH", "/api/v1/config", {"MQTT": {"Password": "x\u0001" + MQTT_PASSWORD}})
    leaks = [b for b in api.bodies if any(s.encode() in b for s in (PASSWORD, MQTT_PASSWORD, WIFI_PASSWORD))]
    tap.ok(len(api.bodies) > 20 and not leaks, "no password in any of %d bodies" % len(api.bodies))
    st, c = api.json("GET", "/api/v1/config")
    tap.ok(c["HTTP"]["Password"] == "<hidden>" and c["MQTT"]["Password"] == "<hidden>" and
           c["WiFi"]["ConnectionData"]["WiFiPassword"] == "", "secrets read <hidden>, unset ones \"\"")
    with d.cond:
        log = "\n".join(d.lines)
    tap.ok(MQTT_PASSWORD not in log and WIFI_PASSWORD not in log and PASSWORD not in log, "no password in the log")


def main():
    binary = harness.daemon_path()
    tap = Tap()

    with Workdir() as w:
        link = w.join("meter")
        pty = w.add(Pty(link))
        d, port = httpapi.start(tap, binary, w, httpapi.http_config(link))
        if port:
            api = Api(port)
            check_endpoints(tap, api, d, pty)
            check_auth(tap, api)
            check_lockout(tap, api)
        stop_and_check(tap, d, "password in the file")

    # No password anywhere: the rest of the daemon runs, the API does not.
    with Workdir() as w:
        link = w.join("meter")
        pty = w.add(Pty(link))
        d = w.add(harness.Daemon(binary, w.path, httpapi.http_config(link, password=None)))
        tap.on_failure = [lambda: d.dump(tap)]
        i, _ = d.wait_for(r"No HTTP password set .*the HTTP API is not served")
        tap.ok(i is not None, "no password: the error is logged")
        i, _ = d.wait_for(r"Modbus TCP server on port \d+")
        tap.ok(i is not None, "no password: Modbus still starts")
        i, _ = feed_until(d, pty, harness.testdata(DSMR50), TELEGRAM_RX)
        tap.ok(i is not None, "no password: the meter is still read")
        tap.ok(d.wait_for(httpapi.HTTP_RX, 0, 0.5)[0] is None, "no password: no HTTP listener")
        # A password arrives with a reload: the API comes up.
        d.write_config(httpapi.http_config(link))
        d.signal(signal.SIGHUP)
        i, m = d.wait_for(httpapi.HTTP_RX)
        st = Api(int(m.group(1))).call("GET", "/api/v1/status")[0] if m else None
        tap.ok(st == 200, "no password, then SIGHUP with one: the API is served (%r)" % st)
        stop_and_check(tap, d, "no password")

    # The password file in the state directory (written by the package).
    with Workdir() as w:
        os.makedirs(w.join("state"))
        with open(w.join("state", "http-password"), "w") as f:
            f.write("from-state-file\n")
        d, port = httpapi.start(tap, binary, w, httpapi.http_config(w.join("meter"), password=None),
                                name="state password file")
        if port:
            st, _, _ = Api(port, password="from-state-file").call("GET", "/api/v1/status")
            tap.ok(st == 200, "<state-dir>/http-password is the password (%r)" % st)
            st, _, _ = Api(port, password="from-state-file\n").call("GET", "/api/v1/status")
            tap.ok(st == 401, "its line end is not part of it (%r)" % st)
        stop_and_check(tap, d, "state password file")

    # [HTTP] PasswordFile= elsewhere.
    with Workdir() as w:
        with open(w.join("pw"), "w") as f:
            f.write("from-own-file")
        text = httpapi.http_config(w.join("meter"), password=None).replace(
            "[HTTP]\n", "[HTTP]\nPasswordFile=%s\n" % w.join("pw"))
        d, port = httpapi.start(tap, binary, w, text, name="PasswordFile")
        if port:
            st, _, _ = Api(port, password="from-own-file").call("GET", "/api/v1/status")
            tap.ok(st == 200, "[HTTP] PasswordFile= is read (%r)" % st)
        stop_and_check(tap, d, "PasswordFile")

    # Socket activation: the listener named "http" comes from systemd, and
    # survives server restarts caused by PATCH.
    with Workdir() as w:
        listener = harness.loopback_listener()
        port = listener.getsockname()[1]
        d = w.add(httpapi.activated_daemon(binary, w.path, httpapi.http_config(w.join("meter")), listener))
        listener.close()
        tap.on_failure = [lambda: d.dump(tap)]
        i, m = d.wait_for(httpapi.HTTP_RX + r" \(socket activation\)")
        tap.ok(i is not None and int(m.group(1)) == port, "activated: serves on the socket from systemd")
        api = Api(port)
        st, _ = api.json("PATCH", "/api/v1/config", {"HTTP": {"Timeout": 11, "Listen": "127.0.0.1:1"}})
        tap.ok(st == 200, "activated: PATCH of HTTP Timeout and Listen (%r)" % st)
        i, _ = d.wait_for(r"socket comes from systemd")
        tap.ok(i is not None, "activated: a new Listen is logged as not applicable")
        for k in range(3):
            st, _ = api.json("PATCH", "/api/v1/config", {"HTTP": {"Timeout": 12 + k}})
        st, c = api.json("GET", "/api/v1/config")
        tap.ok(st == 200 and c["HTTP"]["Timeout"] == 14, "activated: still serving on the same socket after "
               "four server restarts (%r)" % st)
        stop_and_check(tap, d, "socket activation")

    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
