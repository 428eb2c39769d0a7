#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""GET /metrics: the page of a real daemon passes `promtool check metrics`,
needs the API's credentials (and not with MetricsAuth=no after SIGHUP), shows
the meter's values as the sidecar has them, and every counter moves when its
event is provoked: a bad CRC, noise bytes, a refused Modbus client, a Modbus
request and an exception, a failed login, a passthrough client, a reopened
device, and a stopped mosquitto (connection errors, failed publishes), then
a reconnect; a meter with a gas meter adds its register in cubic metres."""

import json
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

import harness
import httpapi
import mqttlib
from harness import Pty, Tap, Workdir, feed_until, stop_and_check
from mqttlib import CONNECTED_RX, Broker

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
GAS = "dsmr/nl_dsmr50_iskra-am550_gas_openhab.raw"
SAMPLE_RX = re.compile(r"^(smartconnect_[a-z_]+)(\{[^}]*\})? (\S+)$")


def bad_crc(telegram):
    i = telegram.index(b"1-0:1.8.1(") + len(b"1-0:1.8.1(")
    digit = b"1" if telegram[i:i + 1] != b"1" else b"2"
    return telegram[:i] + digit + telegram[i + 1:]


def parse(text):
    """{(name, labels): value} of every sample."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE_RX.match(line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


class Scrape:
    def __init__(self, api):
        self.api = api

    def get(self, auth=True):
        st, hdr, body = self.api.call("GET", "/metrics", auth=auth)
        return st, hdr, body.decode()

    def values(self):
        return parse(self.get()[2])

    def wait(self, key, pred, timeout=harness.TIMEOUT):
        """The first scrape where pred(value of key) holds; its value (None: never)."""
        deadline = time.monotonic() + timeout
        v = None
        while time.monotonic() < deadline:
            v = self.values().get(key)
            if v is not None and pred(v):
                return v
            time.sleep(0.2)
        return None


def promtool(tap, text):
    if not shutil.which("promtool"):
        tap.ok(False, "promtool is installed (Debian package prometheus)")
        return
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    tap.ok(p.returncode == 0, "promtool check metrics passes")
    for line in (p.stdout + p.stderr).decode().splitlines():
        tap.diag("promtool: " + line)


def modbus_read(port, fc, addr, count):
    """One request on a new connection: the function code of the answer."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    try:
        s.sendall(struct.pack(">HHHBBHH", 1, 0, 6, 1, fc, addr, count))
        s.settimeout(5)
        head = s.recv(9)
        return head[7] if len(head) >= 8 else None
    finally:
        s.close()


def check_values(tap, v):
    """Against the sidecar's summary of the telegram."""
    side = json.loads(harness.testdata(DSMR50.replace(".raw", ".json")))["expected"]["summary"]
    imp = [float(side["energy_import"][t]["value"]) for t in ("tariff_1", "tariff_2")]
    p = (float(side["power_import"]["value"]) - float(side["power_export"]["value"])) * 1000
    tap.ok(abs(v.get(("smartconnect_power_watts", ""), -1) - p) < 1e-6, "power_watts is the sidecar's %g W" % p)
    tap.ok(abs(v.get(("smartconnect_energy_imported_joules_total", ""), -1) - sum(imp) * 3.6e6) < 1,
           "energy_imported_joules_total is the sum of the tariffs in joules")
    for t in (1, 2):
        got = v.get(("smartconnect_tariff_energy_imported_joules_total", '{tariff="%d"}' % t), -1)
        tap.ok(abs(got - imp[t - 1] * 3.6e6) < 1, "tariff %d import in joules (%s)" % (t, got))
    tap.ok(v.get(("smartconnect_phase_voltage_volts", '{phase="1"}')) ==
           float(side["phases"]["L1"]["voltage"]["value"]), "phase_voltage_volts{phase=1} equals the sidecar")
    tap.ok(v.get(("smartconnect_meter_receiving", "")) == 1, "meter_receiving is 1")


def scenario(tap, binary):
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        broker = w.add(Broker(w, "broker"))
        text = mqttlib.mqtt_config(link, "mqtt://127.0.0.1:%d" % broker.port)
        text = text.replace("[HTTP]\n", "[HTTP]\nPassword=%s\n" % httpapi.PASSWORD)
        text = text.replace("[Modbus]\n", "[Modbus]\nMaxClients=1\n")
        text += "\n[Passthrough]\nListen=127.0.0.1:0\n"
        d, port = httpapi.start(tap, binary, w, text)
        _, m = d.wait_for(r"Modbus TCP server on port (\d+)")
        mb_port = int(m.group(1))
        _, m = d.wait_for(r"Passthrough server on port (\d+)")
        pt_port = int(m.group(1))
        good = harness.testdata(DSMR50)
        i, _ = feed_until(d, pty, good, r"Receiving DSMR 5\.0 telegrams")
        tap.ok(i is not None, "the meter is found")
        tap.ok(d.wait_for(CONNECTED_RX)[0] is not None, "MQTT connected")
        sc = Scrape(httpapi.Api(port))

        st, hdr, body = sc.get(auth=False)
        tap.ok(st == 401, "without credentials: 401 (%d)" % st)
        st, hdr, body = sc.get()
        tap.ok(st == 200 and hdr.get("content-type", "").startswith("text/plain; version=0.0.4"),
               "with credentials: 200, text format 0.0.4 (%d, %s)" % (st, hdr.get("content-type")))
        promtool(tap, body)
        v = parse(body)
        check_values(tap, v)

        # Each event, then the counter it moves.
        def moves(key, provoke, what, by=1):
            before = sc.values().get(key, 0)
            provoke()
            after = sc.wait(key, lambda x: x >= before + by)
            tap.ok(after is not None, "%s moves %s%s (%s -> %s)" % (what, key[0], key[1], before, after))

        moves(("smartconnect_telegrams_rejected_total", '{reason="crc"}'), lambda: pty.write(bad_crc(good)),
              "a bad CRC")
        moves(("smartconnect_meter_noise_bytes_total", ""), lambda: pty.write(b"noise-noise\r\n"), "noise",
              by=10)
        moves(("smartconnect_telegrams_accepted_total", ""), lambda: pty.write(good), "a good telegram")
        moves(("smartconnect_http_auth_failures_total", ""),
              lambda: sc.api.call("GET", "/api/v1/status", auth="user:wrong"), "a failed login")
        tap.ok(sc.values().get(("smartconnect_http_responses_total", '{code="401"}'), 0) >= 2,
               "401 responses are counted by code")
        moves(("smartconnect_modbus_requests_total", '{function="4"}'), lambda: modbus_read(mb_port, 4, 0, 2),
              "an FC 4 read")
        moves(("smartconnect_modbus_requests_total", '{function="3"}'), lambda: modbus_read(mb_port, 3, 0, 2),
              "an FC 3 read")
        moves(("smartconnect_modbus_requests_total", '{function="6"}'), lambda: modbus_read(mb_port, 6, 0, 1),
              "an FC 6 write")
        moves(("smartconnect_modbus_requests_total", '{function="other"}'), lambda: modbus_read(mb_port, 1, 0, 1),
              "an FC 1 read of coils")
        moves(("smartconnect_modbus_exceptions_total", '{code="1"}'), lambda: modbus_read(mb_port, 6, 0, 1),
              "a refused Modbus write (illegal function)")
        moves(("smartconnect_modbus_exceptions_total", '{code="2"}'), lambda: modbus_read(mb_port, 4, 60000, 2),
              "a read outside the map (illegal data address)")
        moves(("smartconnect_modbus_exceptions_total", '{code="3"}'), lambda: modbus_read(mb_port, 4, 0, 200),
              "a read of too many registers (illegal data value)")
        v = sc.values()
        per_fc = sum(x for (n, l), x in v.items() if n == "smartconnect_modbus_requests_total")
        tap.ok(per_fc >= 7 and ("smartconnect_modbus_exceptions_total", '{code="11"}') in v,
               "requests by function sum to %d; exception code 11 has a sample before any" % per_fc)

        def replaced():
            # With MaxClients reached a new client replaces the longest idle one.
            keep = socket.create_connection(("127.0.0.1", mb_port), 5)
            d.wait_for(r"Modbus client .* connected \(1 open\)")
            s = socket.create_connection(("127.0.0.1", mb_port), 5)
            keep.settimeout(5)
            keep.recv(1)
            s.close()
            keep.close()
        moves(("smartconnect_modbus_clients_replaced_total", ""), replaced, "a replaced Modbus client")

        pt = socket.create_connection(("127.0.0.1", pt_port), 5)
        d.wait_for(r"Passthrough client .* connected")
        moves(("smartconnect_passthrough_telegrams_sent_total", ""), lambda: pty.write(good),
              "a telegram with a passthrough client")
        tap.ok(sc.values().get(("smartconnect_passthrough_sent_bytes_total", ""), 0) >= len(good),
               "passthrough bytes sent are counted")
        pt.close()

        meter = {"pty": pty}

        def reopen():
            pty.unplug()
            d.wait_for(r"vanished")
            meter["pty"] = w.add(Pty(link))
            feed_until(d, meter["pty"], good, r"is back")
        moves(("smartconnect_meter_device_opens_total", ""), reopen, "a replugged device")

        def broker_down():
            broker.stop()
            d.wait_for(r"MQTT connection .* lost|MQTT connection to \S+ failed")
        moves(("smartconnect_mqtt_connection_errors_total", ""), broker_down, "a stopped broker")
        tap.ok(sc.values().get(("smartconnect_mqtt_connected", "")) == 0, "mqtt_connected is 0")
        moves(("smartconnect_mqtt_publish_failures_total", ""), lambda: meter["pty"].write(good),
              "a telegram while the broker is down")
        moves(("smartconnect_mqtt_connects_total", ""), broker.start, "the broker back")
        moves(("smartconnect_mqtt_publishes_total", ""), lambda: meter["pty"].write(good),
              "a telegram with the broker back")

        # A meter with an M-Bus gas meter: its register in cubic metres.
        meter["pty"].write(harness.testdata(GAS))
        gas = sc.wait(("smartconnect_gas_cubic_meters_total", '{channel="1"}'), lambda x: True)
        tap.ok(gas == 212.529, "gas_cubic_meters_total{channel=1} is the telegram's 212.529 m3 (%r)" % gas)

        # The same page once more through promtool, every counter now non-zero.
        promtool(tap, sc.get()[2])

        # MetricsAuth=no: a scrape without credentials; the rest of the API still asks.
        d.write_config(text.replace("[HTTP]\n", "[HTTP]\nMetricsAuth=no\n"))
        mark = d.count()
        d.signal(signal.SIGHUP)
        d.wait_for(r"changed: .*http", mark)
        st, _, _ = sc.get(auth=False)
        tap.ok(st == 200, "MetricsAuth=no: 200 without credentials (%d)" % st)
        st, _, _ = sc.api.call("GET", "/api/v1/status", auth=False)
        tap.ok(st == 401, "MetricsAuth=no: the status still needs them (%d)" % st)
        stop_and_check(tap, d, "metrics")


def main():
    binary = harness.daemon_path()
    tap = Tap()
    scenario(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
