#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Home Assistant discovery that current Home Assistant accepts, with the real
mosquitto broker. Every config the daemon publishes is checked against the
rules of Home Assistant's MQTT sensor discovery (Core 2025.10 and later,
encoded below from homeassistant/components/sensor/const.py and
mqtt/schemas.py): the node id matches [a-zA-Z0-9_-]+ even for a serial with
a dot; default_entity_id, never object_id; the device class / unit / state
class combinations; an availability list on the daemon's status and, for the
meter's sensors, the meter's freshness. Then: the meter goes stale and the
meter topic says so; a serial changed by PATCH, and another changed in the
file across a restart, leave no retained config of the old device; the
site changes the state topics in place; HomeAssistant=no clears the rest."""

import json
import re
import subprocess
import time

import harness
import httpapi
import mqttlib
from harness import Pty, Tap, Workdir
from mqttlib import CONNECTED_RX, Broker, Sub

GAS_METER = "dsmr/lu_smarty_three-phase_gas_meterlogger.raw"
SERIAL_DOT = "SC.0042"

# DEVICE_CLASS_UNITS and DEVICE_CLASS_STATE_CLASSES for the classes a meter gateway uses.
UNITS = {
    "power": {"W", "kW", "MW", "GW", "TW"},
    "apparent_power": {"VA"},
    "energy": {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"},
    "voltage": {"V", "mV", "µV", "kV", "MV"},
    "current": {"A", "mA"},
    "gas": {"m³", "ft³", "CCF"},
    "water": {"m³", "ft³", "CCF", "gal", "L"},
    "duration": {"d", "h", "min", "s", "ms"},
    "data_size": {"bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"},
}
STATE_CLASSES = {
    "power": {"measurement"}, "apparent_power": {"measurement"}, "voltage": {"measurement"},
    "current": {"measurement"}, "energy": {"total", "total_increasing"},
    "gas": {"total", "total_increasing"}, "water": {"total", "total_increasing"},
    "duration": {"measurement", "total", "total_increasing"},
    "data_size": {"measurement", "total", "total_increasing"},
}
SENSOR_KEYS = {"name", "unique_id", "default_entity_id", "state_topic", "value_template", "state_class",
               "availability", "availability_mode", "device", "device_class", "unit_of_measurement",
               "entity_category", "expire_after"}
DEVICE_KEYS = {"identifiers", "connections", "manufacturer", "model", "name", "hw_version", "serial_number",
               "sw_version", "via_device", "suggested_area", "configuration_url"}
NODE_RX = re.compile(r"^[a-zA-Z0-9_-]+$")
ENTITY_RX = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")  # valid_entity_id()
TOPIC_RX = re.compile(r"^homeassistant/sensor/([^/]+)/([a-zA-Z0-9_-]+)/config$")


def problems(topic, cfg, base):
    """What Home Assistant would refuse or mis-handle in one config: a list of words."""
    bad = []
    m = TOPIC_RX.match(topic)
    if not m or not NODE_RX.match(m.group(1)):
        bad.append("discovery topic %s" % topic)
    bad += ["unknown key %s" % k for k in cfg if k not in SENSOR_KEYS]
    bad += ["unknown device key %s" % k for k in cfg.get("device", {}) if k not in DEVICE_KEYS]
    if not cfg.get("device", {}).get("identifiers"):
        bad.append("device without identifiers")
    eid = cfg.get("default_entity_id", "")
    if not eid.startswith("sensor.") or not ENTITY_RX.match(eid):
        bad.append("default_entity_id %r" % eid)
    dc, unit, sc = cfg.get("device_class"), cfg.get("unit_of_measurement"), cfg.get("state_class")
    if sc not in (None, "measurement", "total", "total_increasing"):
        bad.append("state_class %r" % sc)
    if dc is not None and (dc not in UNITS or unit not in UNITS[dc] or (sc and sc not in STATE_CLASSES[dc])):
        bad.append("device_class %r with unit %r and state_class %r" % (dc, unit, sc))
    avail = cfg.get("availability")
    diag = cfg.get("entity_category") == "diagnostic"
    want = [{"topic": base + "/status", "payload_available": "online", "payload_not_available": "offline"}]
    if not diag:
        want.append({"topic": base + "/meter", "payload_available": "fresh", "payload_not_available": "stale"})
    if avail != want or cfg.get("availability_mode") != "all":
        bad.append("availability %r" % avail)
    if not cfg.get("state_topic", "").startswith(base + "/data/"):
        bad.append("state_topic %r" % cfg.get("state_topic"))
    return bad


def retained(port, prefix="homeassistant/#"):
    """The retained messages on the broker now: {topic: payload}."""
    p = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", prefix, "-v",
                        "--retained-only", "-W", "2", "-F", "%t\t%p"], capture_output=True, timeout=30)
    out = {}
    for line in p.stdout.decode().splitlines():
        t, _, payload = line.partition("\t")
        out[t] = payload
    return out


def wait_retained(port, pred, timeout=harness.TIMEOUT):
    deadline = time.monotonic() + timeout
    got = {}
    while time.monotonic() < deadline:
        got = retained(port)
        if pred(got):
            return True, got
    return False, got


def nodes(configs):
    return {TOPIC_RX.match(t).group(1) for t in configs if TOPIC_RX.match(t)}


def check_all(tap, configs, base, what):
    bad = {t: problems(t, json.loads(p), base) for t, p in configs.items()}
    bad = {t: b for t, b in bad.items() if b}
    tap.ok(configs and not bad, "%s: %d configs, all as Home Assistant wants them %s" %
           (what, len(configs), json.dumps(bad)[:600]))


def config_text(link, port, serial, site=mqttlib.SITE):
    text = mqttlib.mqtt_config(link, "mqtt://127.0.0.1:%d" % port, extra="HomeAssistant=yes\n",
                               stale_after=2)
    text = text.replace("Serial=%s" % mqttlib.SERIAL, "Serial=%s" % serial)
    text = text.replace("Site=%s" % mqttlib.SITE, "Site=%s" % site)
    return text.replace("[HTTP]\n", "[HTTP]\nPassword=%s\n" % httpapi.PASSWORD)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        broker = w.add(Broker(w, "broker"))
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        raw = harness.testdata(GAS_METER)
        d, port = httpapi.start(tap, binary, w, config_text(link, broker.port, SERIAL_DOT))
        api = httpapi.Api(port)
        base = "devices/%s/smart-connect/%s" % (mqttlib.SITE, SERIAL_DOT)
        sub = w.add(Sub(broker.port, topics=(base + "/meter",)))
        tap.ok(d.wait_for(CONNECTED_RX)[0] is not None, "connected")
        harness.feed_until(d, pty, raw, harness.TELEGRAM_RX)

        ok, cfgs = wait_retained(broker.port, lambda c: any(t.endswith("/gas/config") for t in c))
        check_all(tap, cfgs, base, "serial with a dot")
        node = nodes(cfgs)
        tap.ok(len(node) == 1 and next(iter(node)).startswith("smartconnect_SC_0042_"),
               "one node id, the dot mapped: %s" % node)
        tap.ok(not any("SC.0042" in t for t in cfgs), "no discovery topic carries the dot")
        gas = json.loads(cfgs.get("homeassistant/sensor/%s/gas/config" % next(iter(node), ""), "{}"))
        tap.ok(gas.get("device_class") == "gas" and gas.get("unit_of_measurement") == "m³",
               "a meter with gas: a gas entity in m³ (%r)" % gas)
        tap.ok(not any(t.endswith(("/water/config", "/heat/config", "/cold/config")) for t in cfgs),
               "no water, heat or cooling entity for a meter without them")
        fresh = sub.wait_for(base + "/meter", lambda p: p == "fresh")
        tap.ok(fresh is not None, "meter topic: fresh")

        # No telegram for the stale limit: the meter's sensors go unavailable.
        # Look after the fresh message: the daemon says stale once at connect,
        # before the first telegram, and writing then would find it still fresh.
        stale = sub.wait_for(base + "/meter", lambda p: p == "stale", start=(fresh or 0) + 1, timeout=15)
        tap.ok(stale is not None, "meter stale: the meter topic says stale")
        n = sub.count()  # before the write: the answer may come before the next line runs
        pty.write(raw)
        tap.ok(sub.wait_for(base + "/meter", lambda p: p == "fresh", start=n) is not None,
               "a telegram again: fresh")

        # The serial changed through the API: the old device's configs are cleared.
        old = set(cfgs)
        st, _ = api.json("PATCH", "/api/v1/config", {"Device": {"Serial": "SC0043"}})
        tap.ok(st == 200, "PATCH Device.Serial: 200 (%r)" % st)
        base = "devices/%s/smart-connect/SC0043" % mqttlib.SITE
        harness.feed_until(d, pty, raw, harness.TELEGRAM_RX, start=d.count())
        ok, cfgs = wait_retained(broker.port, lambda c: nodes(c) == {"smartconnect_SC0043"}
                                 and any(t.endswith("/gas/config") for t in c))
        tap.ok(ok, "after the serial change only the new device is retained: %s" % nodes(cfgs))
        tap.ok(not (old & set(cfgs)), "none of the %d old configs is left" % len(old))
        check_all(tap, cfgs, base, "new serial")

        # The site changed: same discovery topics, new state topics.
        st, _ = api.json("PATCH", "/api/v1/config", {"MQTT": {"Site": "flat2"}})
        tap.ok(st == 200, "PATCH MQTT.Site: 200 (%r)" % st)
        base = "devices/flat2/smart-connect/SC0043"
        harness.feed_until(d, pty, raw, harness.TELEGRAM_RX, start=d.count())
        ok, cfgs2 = wait_retained(broker.port, lambda c: all(
            json.loads(p).get("state_topic", "").startswith(base) for p in c.values() if p))
        tap.ok(ok and set(cfgs2) == set(cfgs), "site change: the same %d configs, on the new topics" % len(cfgs))
        check_all(tap, cfgs2, base, "new site")
        harness.stop_and_check(tap, d, "first run")

        # Another serial in the file, across a restart: cleared from the list the last run kept
        # (the PATCHes' overrides removed, or the serial of the PATCH would win over the file).
        __import__("os").unlink(httpapi.overrides_path(w))
        d = w.add(harness.Daemon(binary, w.path, config_text(link, broker.port, "SC0044", "flat2")))
        tap.ok(d.wait_for(CONNECTED_RX)[0] is not None, "restarted with serial SC0044")
        ok, cfgs = wait_retained(broker.port, lambda c: nodes(c) == {"smartconnect_SC0044"})
        tap.ok(ok, "after a restart with another serial only the new device is retained: %s" % nodes(cfgs))

        # HomeAssistant=no: everything cleared.
        d.write_config(config_text(link, broker.port, "SC0044", "flat2").replace("HomeAssistant=yes",
                                                                               "HomeAssistant=no"))
        mark = d.count()
        d.signal(__import__("signal").SIGHUP)
        d.wait_for(CONNECTED_RX, mark)
        ok, cfgs = wait_retained(broker.port, lambda c: not c)
        tap.ok(ok, "HomeAssistant=no: no discovery config left (%d)" % len(cfgs))
        harness.stop_and_check(tap, d, "second run")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
