#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Signs and kinds through the daemon, with the real mosquitto broker: a
Belgian single-phase e-MUCS meter feeding in (no per-phase power objects)
with a dead gas channel left by a swapped meter and the live one on another
channel. The HTTP status, MQTT power_instant and the Modbus EMpro registers
agree that P and I1 are negative; the API and MQTT carry the same gas object
(the live channel, its own time and id). Then the same meter drawing: I1
turns positive everywhere. A negative import register: E_IMPORT null and
counted in the status. Then a TIC historique meter: P is null and S (VA)
carries PAPP in the JSON, while the Modbus power register keeps PAPP."""

import importlib.util
import json
import os
import struct
import subprocess
import time

import harness
import httpapi
import mqttlib
from harness import TELEGRAM_RX, Pty, Tap, Workdir
from mqttlib import BASE, CONNECTED_RX, Broker, Sub

POWER = BASE + "/data/power_instant"
PORT_RX = r"Modbus TCP server on port (\d+)"

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

HEAD = ("/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n0-0:96.1.1(3153414733313030373231333236)\r\n"
        "0-0:1.0.0(231102121548W)\r\n1-0:1.8.1(000301.548*kWh)\r\n1-0:2.8.1(000100.005*kWh)\r\n")
GAS = ("0-1:24.1.0(003)\r\n0-1:96.1.1(1234567890123456789012345678)\r\n0-1:24.2.3(632525252525W)(00000.000)\r\n"
       "0-2:24.1.0(003)\r\n0-2:96.1.1(37464C4F32313233303838303237)\r\n0-2:24.2.3(231102121002W)(00092.287*m3)\r\n")
WANT_GAS = {"value": 92.287, "unit": "m3", "timestamp": 1698923402, "channel": 2, "id": "7FLO2123088027"}


def emucs(p_imp, p_exp):
    body = HEAD + ("1-0:1.7.0(%s*kW)\r\n1-0:2.7.0(%s*kW)\r\n1-0:32.7.0(232.9*V)\r\n1-0:31.7.0(002.00*A)\r\n"
                   % (p_imp, p_exp)) + GAS + "!"
    return mb.with_crc(body.encode())


def modbus_floats(port, addr, n):
    """n EMpro float32 (CD AB) from addr, with the libmodbus client (its answer
    timeout is short: a loaded machine gets three tries)."""
    for _ in range(3):
        p = subprocess.run([os.environ.get("MODBUS_CLIENT", ""), str(port), "1", "read", "4", str(addr),
                            str(2 * n)], capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            break
    if p.returncode != 0:
        return None
    w = [int(x) for x in p.stdout.split()]
    return [struct.unpack(">f", struct.pack(">HH", w[2 * k + 1], w[2 * k]))[0] for k in range(n)]


def wait_api(api, pred):
    deadline = time.monotonic() + harness.TIMEOUT
    pi = None
    while time.monotonic() < deadline:
        st, s = api.json("GET", "/api/v1/status")
        pi = s.get("meter", {}).get("power_instant") if st == 200 else None
        if pi and pred(pi):
            break
        time.sleep(0.1)
    return pi


def one_meter(tap, d, pty, sub, api, port, raw, name, p_want, i_want):
    mark = sub.count()
    i, _ = harness.feed_until(d, pty, raw, TELEGRAM_RX, d.count())
    tap.ok(i is not None, "%s: telegram decoded" % name)
    j = sub.wait_for(POWER, lambda p: json.loads(p).get("P") == p_want, start=mark)
    mq = json.loads(sub.msgs[j][3]) if j is not None else {}
    pi = wait_api(api, lambda p: p.get("P") == p_want) or {}
    regs = modbus_floats(port, 0x800E, 5) or [None] * 5  # I1, I2, I3, (unused), P
    tap.ok(mq.get("P") == p_want and mq.get("l1", {}).get("I") == i_want,
           "%s: MQTT P %r W, I1 %r A (%r)" % (name, p_want, i_want, mq))
    tap.ok(pi.get("P") == p_want and pi.get("l1", {}).get("I") == i_want,
           "%s: API P %r W, I1 %r A (%r)" % (name, p_want, i_want, pi))
    tap.ok(regs[4] == p_want and regs[0] == i_want, "%s: Modbus EMpro P %r, I1 %r (%r)" % (name, p_want, i_want, regs))
    tap.ok(mq.get("gas") == WANT_GAS and pi.get("gas") == WANT_GAS,
           "%s: API and MQTT: the same gas, from the live channel 2 (%r, %r)" % (name, mq.get("gas"), pi.get("gas")))
    tap.ok("water" not in mq and "heat" not in mq, "%s: no water, no heat: no keys for them" % name)
    return mq


def check_negative(tap, d, pty, api):
    st, s = api.json("GET", "/api/v1/status")
    tap.ok(st == 200 and "negative" not in s["meter"]["status"], "no negative register counted yet (%r)"
           % s["meter"]["status"])
    raw = emucs("00.611", "00.000").replace(b"1-0:1.8.1(000301.548", b"1-0:1.8.1(-00301.548")
    raw = mb.with_crc(raw[:raw.index(b"!") + 1])
    i, _ = harness.feed_until(d, pty, raw, TELEGRAM_RX, d.count())
    tap.ok(i is not None, "negative register: the telegram is accepted")
    pi = wait_api(api, lambda p: p.get("E_IMPORT") is None) or {}
    st, s = api.json("GET", "/api/v1/status")
    tap.ok(pi.get("E_IMPORT", 0) is None and pi.get("E_EXPORT") == 100.005,
           "negative register: E_IMPORT null, E_EXPORT kept (%r)" % pi)
    tap.ok("with a negative energy register (left null)" in s["meter"]["status"],
           "negative register: counted in the status (%r)" % s["meter"]["status"])


def check_tic(tap, d, pty, sub, api, port):
    raw = harness.testdata("tic/fr_tic-historique_tempo-bbr_single-phase_pyteleinfo.raw")
    side = json.loads(harness.testdata("tic/fr_tic-historique_tempo-bbr_single-phase_pyteleinfo.json"))
    papp = float(side["expected"]["summary"]["powers"]["PAPP"]["value"])
    mark = sub.count()
    st, _ = api.json("PATCH", "/api/v1/config", {"Meter": {"Protocol": "tic-historique"}})
    tap.ok(st == 200, "TIC: Protocol=tic-historique by PATCH (%r)" % st)
    i, _ = harness.feed_until(d, pty, raw, TELEGRAM_RX, d.count())
    tap.ok(i is not None, "TIC: frame decoded")
    j = sub.wait_for(POWER, lambda p: json.loads(p).get("S") is not None, start=mark)
    mq = json.loads(sub.msgs[j][3]) if j is not None else {}
    pi = wait_api(api, lambda p: p.get("S") is not None) or {}
    regs = modbus_floats(port, 0x8016, 1) or [None]
    tap.ok(mq.get("P") is None and mq.get("S") == papp and mq.get("l1", {}).get("S") == papp,
           "TIC: MQTT P null, S = PAPP %r VA (%r)" % (papp, mq))
    tap.ok(pi.get("P") is None and pi.get("S") == papp, "TIC: API the same (%r)" % pi)
    tap.ok(regs[0] == papp, "TIC: Modbus active power register keeps PAPP (%r)" % regs)
    tap.ok("gas" not in mq, "TIC: no gas key")
    # Home Assistant follows the meter: the power entity becomes apparent power in VA.
    cfg = "homeassistant/sensor/smartconnect_%s/%%s/config" % mqttlib.SERIAL
    k = sub.wait_for(cfg % "power", lambda p: p and json.loads(p).get("unit_of_measurement") == "VA", start=mark)
    power = json.loads(sub.msgs[k][3]) if k is not None else {}
    tap.ok(power.get("device_class") == "apparent_power" and "S" in power.get("value_template", ""),
           "TIC: discovery config of 'power' is apparent_power in VA, reading S (%r)" % power)


def check_gas_discovery(tap, sub):
    cfg = "homeassistant/sensor/smartconnect_%s/gas/config" % mqttlib.SERIAL
    k = sub.wait_for(cfg, lambda p: p != "")
    gas = json.loads(sub.msgs[k][3]) if k is not None else {}
    tap.ok(gas.get("device_class") == "gas" and gas.get("unit_of_measurement") == "m³",
           "e-MUCS with gas: a gas discovery config appears once the meter shows it (%r)" % gas)
    return k or 0


def check_gas_removed(tap, sub, start):
    cfg = "homeassistant/sensor/smartconnect_%s/gas/config" % mqttlib.SERIAL
    k = sub.wait_for(cfg, lambda p: p == "", start=start + 1)
    tap.ok(k is not None, "a meter without gas: the gas entity is removed with an empty config")


def main():
    tap = Tap()
    binary = harness.daemon_path()
    with Workdir() as w:
        broker = w.add(Broker(w, "broker"))
        sub = w.add(Sub(broker.port))
        link = w.join("tty")
        pty = w.add(Pty(link))
        text = mqttlib.mqtt_config(link, "mqtt://127.0.0.1:%d" % broker.port, extra="HomeAssistant=yes\n")
        text = text.replace("Protocol=auto", "Protocol=dsmr").replace(
            "[HTTP]\n", "[HTTP]\nPassword=%s\n" % httpapi.PASSWORD)
        d, http_port = httpapi.start(tap, binary, w, text)
        i, m = d.wait_for(PORT_RX)
        if http_port is None or i is None:
            return tap.done()
        api = httpapi.Api(http_port)
        port = int(m.group(1))
        tap.ok(d.wait_for(CONNECTED_RX)[0] is not None, "MQTT connected")
        # The subscriber is subscribed once it holds the retained availability:
        # on a loaded machine mosquitto_sub may come later than the first telegram.
        tap.ok(sub.wait_for(BASE + "/status") is not None, "the subscriber is subscribed")
        one_meter(tap, d, pty, sub, api, port, emucs("00.000", "00.611"), "feeding in", -611, -2)
        one_meter(tap, d, pty, sub, api, port, emucs("00.611", "00.000"), "drawing", 611, 2)
        gas_at = check_gas_discovery(tap, sub)
        check_negative(tap, d, pty, api)
        check_tic(tap, d, pty, sub, api, port)
        check_gas_removed(tap, sub, gas_at)
        harness.stop_and_check(tap, d, "kinds")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
