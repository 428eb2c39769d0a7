#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An encrypted meter (DLMS general-glo-ciphering, as Luxembourg Smarty and
Austrian meters send) on a pty, frames sealed by dlms-seal (OpenSSL) around
the public Sagemcom T210-D-r telegram with the public sample's keys.

Without a key the status says "encrypted meter, no DecryptionKey set" and
nothing is published; the keys set by PATCH /api/v1/config apply without a
restart; then the API's and MQTT's power_instant and the Modbus registers
(EMpro, read with the libmodbus client) equal the plaintext sidecar's values; a repeated
frame counter is rejected and counted in the status; the keys never appear in
an API answer, the status or the log. The passthrough sends the frames as
received, and with [Passthrough] Decrypted=yes the plaintext telegram
instead, byte for byte the public sample."""

import json
import os
import subprocess
import time

import harness
import httpapi
import mqttlib
import ptlib
from harness import Tap, Workdir

import importlib.util

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

PLAIN = "dsmr/at_dsmr50_sagemcom-t210-d-r_dsmrparser"
KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
AUTH = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
SECRETS = (KEY, AUTH, KEY.lower(), AUTH.lower())


class Meter:
    """Sealed frames with a rising frame counter."""

    def __init__(self):
        self.plain = harness.testdata(PLAIN + ".raw")
        self.counter = 0x100

    def frame(self, counter=None):
        if counter is None:
            self.counter += 1
            counter = self.counter
        p = subprocess.run([os.environ["DLMS_SEAL"], KEY, AUTH, str(counter)], input=self.plain,
                           capture_output=True, timeout=30)
        return p.stdout


def expected_values():
    """power_instant as the plaintext sidecar states it (W, kWh)."""
    s = json.loads(harness.testdata(PLAIN + ".json"))["expected"]["summary"]
    return {"P": int(s["power_import"]["value"]) - int(s["power_export"]["value"]),
            "E_IMPORT": int(s["energy_import"]["total"]["value"]) / 1000,
            "E_EXPORT": int(s["energy_export"]["total"]["value"]) / 1000}


def meter_status(api):
    st, j = api.json("GET", "/api/v1/status")
    return (j or {}).get("meter") or {}


def wait_status(api, pred, timeout=harness.TIMEOUT, feed=None):
    deadline = time.monotonic() + timeout
    m = {}
    while time.monotonic() < deadline:
        if feed:
            feed()
        m = meter_status(api)
        if pred(m):
            return m
        time.sleep(0.3)
    return m


def check_modbus(tap, port, values):
    v = {k: None for k in ("U12", "U31", "U32", "U1", "U2", "U3", "I1", "I2", "I3", "P1", "P2", "P3")}
    v.update({k: mb.decimal.Decimal(str(x)) for k, x in values.items()})
    img, _ = mb.image("PhoenixContact-EMPro", v, "5.0")
    bad = []
    for start, n in mb.TEMPLATES["PhoenixContact-EMPro"]:
        for a in range(start, start + n, 125):
            k = min(125, start + n - a)
            p = subprocess.run([os.environ["MODBUS_CLIENT"], str(port), "1", "read", "4", str(a), str(k)],
                               capture_output=True, text=True, timeout=60)
            got = [int(x) for x in p.stdout.split()] if p.returncode == 0 else []
            if got != mb.words(img, a, k):
                bad.append("0x%04X+%d: rc %d %s" % (a, k, p.returncode, p.stderr.strip()))
    tap.ok(not bad, "Modbus (EMpro, libmodbus client): every register as the plaintext telegram's")
    for b in bad[:5]:
        tap.diag(b)


def check_passthrough(tap, d, pty, api, meter, pport):
    """As received by default; the plaintext telegram with Decrypted=yes."""
    r = ptlib.Reader(pport)
    time.sleep(0.3)  # the client is in before the frame
    frame = meter.frame()
    pty.write(frame)
    tap.ok(r.wait_len(len(frame)) and frame in r.get(),
           "passthrough: the encrypted frame goes out as received (%d bytes)" % len(frame))
    r.close()
    st, _ = api.json("PATCH", "/api/v1/config", {"Passthrough": {"Decrypted": True}})
    tap.ok(st == 200, "PATCH Passthrough.Decrypted=true (%r)" % st)
    r = ptlib.Reader(pport)
    time.sleep(0.3)
    frame = meter.frame()
    pty.write(frame)
    plain = meter.plain[meter.plain.index(b"/"):]
    got = r.get() if r.wait_len(len(plain)) else r.get()
    tap.ok(plain in got and frame not in got and ptlib.dsmr_valid(plain),
           "Decrypted=yes: the plaintext telegram, CRC included, instead of the frame (%d bytes)" % len(got))
    r.close()


def run(tap, binary, w):
    meter = Meter()
    pty = w.add(harness.Pty(w.join("ttyMETER")))
    text = httpapi.http_config(pty.link, extra="\n[Device]\nSerial=%s\n" % mb.SERIAL)
    broker = w.add(mqttlib.Broker(w, "broker"))
    sub = w.add(mqttlib.Sub(broker.port))
    text = text.replace("Protocol=auto", "Protocol=dsmr") + "\n[Passthrough]\nListen=127.0.0.1:0\n"
    text += ("\n[MQTT]\nEnabled=yes\nBroker=mqtt://127.0.0.1:%d\nSite=%s\nPingGateway=127.0.0.2\n"
             "PingHost=127.0.0.3\n" % (broker.port, mqttlib.SITE))
    d, port = httpapi.start(tap, binary, w, text)
    if port is None:
        return
    api = httpapi.Api(port)
    i, m = d.wait_for(mb.PORT_RX)
    mport = int(m.group(1)) if m else None
    i, m = d.wait_for(ptlib.PORT_RX)
    pport = int(m.group(1)) if m else None

    m = wait_status(api, lambda s: s.get("status") == "encrypted meter, no DecryptionKey set",
                    feed=lambda: pty.write(meter.frame()))
    tap.ok(m.get("status") == "encrypted meter, no DecryptionKey set" and m.get("power_instant") is None,
           "no key: the status says so and nothing is published (%r)" % m.get("status"))

    st, _ = api.json("PATCH", "/api/v1/config", {"Meter": {"DecryptionKey": KEY, "AuthenticationKey": AUTH}})
    tap.ok(st == 200, "PATCH sets DecryptionKey and AuthenticationKey (%r)" % st)
    st, cfg = api.json("GET", "/api/v1/config")
    mcfg = (cfg or {}).get("Meter", {})
    tap.ok(mcfg.get("DecryptionKey") == "<hidden>" and mcfg.get("AuthenticationKey") == "<hidden>",
           "GET /api/v1/config shows both keys as <hidden>")

    want = expected_values()
    m = wait_status(api, lambda s: (s.get("power_instant") or {}).get("P") == want["P"],
                    feed=lambda: pty.write(meter.frame()))
    pi = m.get("power_instant") or {}
    tap.ok(all(pi.get(k) == x for k, x in want.items()),
           "without a restart: the API's power_instant equals the plaintext sidecar (%r)" % pi)
    tap.ok("encrypted" in (m.get("status") or ""), "the status says encrypted (%r)" % m.get("status"))
    if mport:
        check_modbus(tap, mport, want)
    k = sub.wait_for(mqttlib.BASE + "/data/power_instant", lambda p: json.loads(p).get("P") == want["P"])
    mq = json.loads(sub.msgs[k][3]) if k is not None else {}
    tap.ok(all(mq.get(x) == v for x, v in want.items()),
           "MQTT power_instant equals the plaintext sidecar too (%r)" % {x: mq.get(x) for x in want})

    if pport:
        check_passthrough(tap, d, pty, api, meter, pport)

    # The same frame counter twice: the second is rejected and counted.
    again = meter.frame()
    pty.write(again)
    pty.write(again)
    m = wait_status(api, lambda s: "frame counter not increasing" in (s.get("status") or ""))
    tap.ok("1 frame counter not increasing" in (m.get("status") or ""),
           "a repeated frame counter is rejected and counted (%r)" % m.get("status"))

    log = "\n".join(d.lines)
    bodies = b"".join(api.bodies).decode("utf-8", "replace")
    for s in SECRETS:
        tap.ok(s not in log, "the log never shows a key (%s...)" % s[:4])
        tap.ok(s not in bodies, "no API answer shows a key (%s...)" % s[:4])
    harness.stop_and_check(tap, d, "encrypted")


def main():
    binary = harness.daemon_path()
    tap = Tap()
    tap.ok(os.access(os.environ.get("DLMS_SEAL", ""), os.X_OK), "DLMS_SEAL (the frame sealer) is executable")
    with Workdir() as w:
        run(tap, binary, w)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
