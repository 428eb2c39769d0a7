#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What the daemon publishes, read by mosquitto_sub from the real broker:
exactly one power_instant per telegram fed through the pty, equal to the
decoded telegram and to the values of the capture's JSON sidecar; nothing
while the data are stale; device_counters on time with exactly the documented
keys; the retained "offline" last will after kill -9; and the Home Assistant
discovery configs against the documented sensor schema. Over MQTT 5,
power_instant goes under a topic alias (the topic once per connection, then
the alias alone, as libmosquitto's own log of each PUBLISH shows), and the
subscriber still gets the whole topic; a broker that allows no alias gets the
whole topic every time."""

import datetime
import json
import os
import re
import signal
import time

import harness
import mqttlib
from harness import TELEGRAM_RX, Daemon, Pty, Tap, Workdir
from mqttlib import BASE, CONNECTED_RX, FAILED_RX, SERIAL, Broker, Sub

POWER = BASE + "/data/power_instant"
COUNTERS = BASE + "/data/device_counters"
STATUS = BASE + "/status"
COUNTER_KEYS = ["uptime", "gw_ping_pass", "gw_ping_fail", "internet_ping_pass", "internet_ping_fail",
                "telegrams_pass", "telegrams_fail", "telegrams_frame_fail", "mqtt_event_errors",
                "mqtt_event_connect", "mqtt_send_pass", "mqtt_send_fail", "heap_free", "heap_min_free",
                "heap_largest_free", "heap_failed_allocs"]

# Home Assistant's MQTT sensor: the keys we may use (documented schema,
# abbreviations not used) and the units each device class allows.
HA_SENSOR_KEYS = {"name", "unique_id", "default_entity_id", "state_topic", "value_template", "device_class",
                  "state_class", "unit_of_measurement", "availability", "availability_mode", "device",
                  "entity_category", "expire_after", "json_attributes_topic", "icon", "force_update", "qos"}
HA_DEVICE_KEYS = {"identifiers", "name", "manufacturer", "model", "serial_number", "sw_version"}
HA_UNITS = {"power": {"W", "kW"}, "energy": {"Wh", "kWh", "MWh"}, "voltage": {"V", "mV"},
            "current": {"A", "mA"}, "duration": {"d", "h", "min", "s", "ms"},
            "data_size": {"bit", "kbit", "Mbit", "B", "kB", "MB", "GB", "KiB", "MiB", "GiB"}}
HA_STATE_CLASSES = {"measurement", "total", "total_increasing"}
# libmosquitto's debug line for each PUBLISH it sends (the daemon logs it at
# debug): the topic in quotes, "(null)" when only a topic alias goes.
PUBLISH_RX = r"libmosquitto: Client \S+ sending PUBLISH \(d0, q0, r0, m\d+, '([^']*)'"


def published_topics(d, start=0):
    """The topics of the PUBLISH packets the library sent, from the daemon's log."""
    rx = re.compile(PUBLISH_RX)
    with d.cond:
        return [m.group(1) for m in (rx.search(line) for line in d.lines[start:]) if m]


def sidecar_expect():
    base = os.environ.get("TESTDATA") or os.path.join(os.path.dirname(__file__), "..", "data")
    with open(os.path.join(base, mqttlib.DSMR50[:-4] + ".json")) as f:
        s = json.load(f)["expected"]["summary"]
    e_imp = sum(float(v["value"]) for k, v in s["energy_import"].items() if k.startswith("tariff_"))
    e_exp = sum(float(v["value"]) for k, v in s["energy_export"].items() if k.startswith("tariff_"))
    p = float(s["power_import"]["value"]) * 1000 - float(s["power_export"]["value"]) * 1000
    ts = int(datetime.datetime.fromisoformat(s["timestamp"]["iso"]).timestamp())
    return {"ts": ts, "P": p, "E_IMPORT": round(e_imp, 3), "E_EXPORT": round(e_exp, 3)}


def check_power(tap, w, binary, broker):
    with open(binary, "rb") as f:
        asan = b"__asan_init" in f.read()
    link = w.join("tty")
    pty = w.add(Pty(link))
    sub = w.add(Sub(broker.port))
    conf = mqttlib.mqtt_config(link, "mqtt://127.0.0.1:%d" % broker.port,
                               "CountersInterval=1\nPingInterval=1\n", stale_after=2)
    notify = w.add(harness.Notify(w.join("notify")))
    d = w.add(Daemon(binary, w.path, conf, notify=notify))
    tap.on_failure = [lambda: d.dump(tap), lambda: notify.dump(tap)]
    tap.ok(d.wait_for(CONNECTED_RX)[0] is not None, "connected")
    # Subscribed once it holds the retained availability: on a loaded machine
    # mosquitto_sub may come later than the first telegram.
    tap.ok(sub.wait_for(STATUS) is not None, "the subscriber is subscribed")
    want_status = "MQTT connected to 127.0.0.1:%d" % broker.port
    tap.ok(notify.wait_for(lambda m: want_status in m.get("STATUS", ""))[0] is not None,
           "systemd STATUS= says '%s'" % want_status)
    raw = harness.testdata(mqttlib.DSMR50)
    i, m = harness.feed_until(d, pty, raw, TELEGRAM_RX)
    tap.ok(notify.wait_for(lambda m: m.get("STATUS", "").startswith("receiving DSMR 5.0 telegrams; MQTT "
                                                                      "connected"))[0] is not None,
           "STATUS= joins the meter and MQTT parts")
    tap.ok(sub.wait_for(POWER) is not None, "first power_instant after protocol detection")

    # Settle, then exactly N telegrams.
    time.sleep(0.5)
    mark_log, mark_sub = d.count(), sub.count()
    n = 5
    for _ in range(n):
        pty.write(raw)
        time.sleep(0.3)
    idx = mark_log
    lines = []
    for _ in range(n):
        j, m = d.wait_for(TELEGRAM_RX, idx)
        if j is None:
            break
        lines.append(json.loads(m.group(1)))
        idx = j + 1
    tap.ok(len(lines) == n, "%d telegrams decoded" % n)
    deadline = time.monotonic() + 5
    while len(sub.on(POWER, mark_sub)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    msgs = sub.on(POWER, mark_sub)
    tap.ok(len(msgs) == n, "exactly one power_instant per telegram: %d for %d" % (len(msgs), n))
    payloads = [json.loads(m[3]) for m in msgs]
    tap.ok(payloads == lines, "power_instant is the decoded telegram, key for key")
    tap.ok(all(not m[2] for m in msgs), "power_instant is not retained")
    topics = published_topics(d)
    power = [t for t in topics if t in (POWER, "(null)")]
    tap.ok(len(power) >= n + 1 and power[0] == POWER and set(power[1:]) == {"(null)"},
           "power_instant under a topic alias: the topic once, then the alias alone (%d PUBLISH, %d with the "
           "topic)" % (len(power), power.count(POWER)))
    tap.ok("(null)" not in [t for t in topics if t not in power], "only power_instant goes under the alias")
    first = payloads[0] if payloads else {}
    tap.ok(list(first) == ["ts", "P", "E_IMPORT", "E_EXPORT", "U12", "U31", "U32", "l1", "l2", "l3"],
           "keys in the documented order: %s" % list(first))
    want = sidecar_expect()
    got = {k: first.get(k) for k in want}
    tap.ok(got == want, "values equal the capture's sidecar: %r vs %r" % (got, want))
    tap.ok(first.get("U12") is None and all(isinstance(first.get(p), dict) for p in ("l1", "l2", "l3")),
           "null where the telegram has no value (U12), phases as objects")

    # device_counters every second, the documented keys exactly.
    c0 = sub.count()
    j = sub.wait_for(COUNTERS, start=c0)
    j2 = sub.wait_for(COUNTERS, start=(j or 0) + 1)
    j3 = sub.wait_for(COUNTERS, start=(j2 or 0) + 1)
    tap.ok(None not in (j, j2, j3), "device_counters arrive repeatedly")
    if None not in (j, j2, j3):
        t = [sub.msgs[k][0] for k in (j, j2, j3)]
        gaps = [t[1] - t[0], t[2] - t[1]]
        tap.ok(all(0.5 < g < 1.8 for g in gaps), "CountersInterval=1 honoured: gaps %s" % gaps)
        c = json.loads(sub.msgs[j3][3])
        tap.ok(list(c) == COUNTER_KEYS, "device_counters has exactly the documented keys: %s" % list(c))
        tap.ok(all(isinstance(v, int) and v >= 0 for v in c.values()), "all counters are integers >= 0")
        tap.ok(c["telegrams_pass"] >= n + 1 and c["mqtt_event_connect"] == 1 and
               c["mqtt_send_pass"] >= n + 1, "telegram and MQTT counters count: %r" % c)
        tap.ok(c["gw_ping_pass"] >= 1 and c["internet_ping_pass"] >= 1,
               "reachability checks of 127.0.0.2 and 127.0.0.3 counted")
        if asan:
            # AddressSanitizer's allocator answers mallinfo2() with zeros.
            tap.ok(c["heap_free"] == 0 and c["heap_min_free"] == 0, "heap figures (0 under ASan's allocator)")
        else:
            tap.ok(c["heap_free"] > 0 and 0 < c["heap_min_free"] <= c["heap_free"], "heap figures: %r" %
                   {k: v for k, v in c.items() if k.startswith("heap")})

    # Stale: no power_instant while stale; device_counters go on.
    k, _ = d.wait_for(r"meter data stale")
    tap.ok(k is not None, "data stale after StaleAfter=2")
    mark = sub.count()
    time.sleep(2.5)
    tap.ok(len(sub.on(POWER, mark)) == 0, "no power_instant while stale")
    tap.ok(len(sub.on(COUNTERS, mark)) >= 1, "device_counters go on while stale")

    # The last will on kill -9.
    mark = sub.count()
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    j = sub.wait_for(STATUS, lambda p: p == "offline", start=mark)
    tap.ok(j is not None, "last will 'offline' after kill -9")
    late = Sub(broker.port, (STATUS,))
    j = late.wait_for(STATUS)
    tap.ok(j is not None and late.msgs[j][3] == "offline" and late.msgs[j][2],
           "a new subscriber gets the retained 'offline'")
    late.close()
    tap.on_failure = []
    if tap.failed:
        d.dump(tap)
    sub.close()


def check_discovery(tap, w, binary, broker):
    link = w.join("tty-ha")
    pty = w.add(Pty(link))
    sub = w.add(Sub(broker.port))
    conf = mqttlib.mqtt_config(link, "mqtt://127.0.0.1:%d" % broker.port, "HomeAssistant=yes\n")
    d = w.add(Daemon(binary, w.path, conf, name="ha.conf"))
    tap.on_failure = [lambda: d.dump(tap)]
    tap.ok(d.wait_for(CONNECTED_RX)[0] is not None, "discovery: connected")
    prefix = "homeassistant/sensor/smartconnect_%s/" % SERIAL
    deadline = time.monotonic() + harness.TIMEOUT
    while time.monotonic() < deadline:
        cfgs = [m for m in sub.msgs if m[1].startswith(prefix)]
        if len(cfgs) >= 22:
            break
        time.sleep(0.1)
    tap.ok(len(cfgs) == 22, "22 sensor configs published (3 of the capacity tariff): %d" % len(cfgs))
    late = Sub(broker.port, (prefix + "#",))
    deadline = time.monotonic() + harness.TIMEOUT
    while late.count() < len(cfgs) and time.monotonic() < deadline:
        time.sleep(0.05)
    tap.ok(late.count() == len(cfgs) and all(m[2] for m in late.msgs),
           "configs are retained: a new subscriber gets all %d" % late.count())
    late.close()
    tap.ok(all(m[1].endswith("/config") for m in cfgs), "topics end in /config")
    objs = {m[1][len(prefix):-len("/config")]: json.loads(m[3]) for m in cfgs}
    bad_keys = {k: sorted(set(o) - HA_SENSOR_KEYS) for k, o in objs.items() if set(o) - HA_SENSOR_KEYS}
    tap.ok(not bad_keys, "only documented sensor keys: %r" % bad_keys)
    need = {"name", "unique_id", "default_entity_id", "state_topic", "value_template", "state_class",
            "availability", "device"}
    tap.ok(all(need <= set(o) for o in objs.values()), "every config has %s" % sorted(need))
    tap.ok(all(set(o["device"]) == HA_DEVICE_KEYS and o["device"]["identifiers"] == ["smartconnect_" + SERIAL]
               for o in objs.values()), "one device, with identifiers, name, manufacturer, model, sw_version")
    uids = [o["unique_id"] for o in objs.values()]
    tap.ok(len(set(uids)) == len(uids) and all(SERIAL in u for u in uids), "unique ids from the serial")
    units = {k: (o.get("device_class"), o.get("unit_of_measurement")) for k, o in objs.items()}
    wrong = {k: v for k, v in units.items() if v[0] and v[1] not in HA_UNITS.get(v[0], ())}
    tap.ok(not wrong, "device_class and unit pairs allowed by Home Assistant: %r" % wrong)
    tap.ok(all(o["state_class"] in HA_STATE_CLASSES for o in objs.values()), "state classes valid")
    want = {"power": ("power", "W", "measurement", POWER), "energy_import": ("energy", "kWh", "total_increasing", POWER),
            "energy_export": ("energy", "kWh", "total_increasing", POWER),
            "l2_voltage": ("voltage", "V", "measurement", POWER), "l3_current": ("current", "A", "measurement", POWER),
            "l1_power": ("power", "W", "measurement", POWER), "uptime": ("duration", "s", "total_increasing", COUNTERS)}
    got = {k: (objs.get(k, {}).get("device_class"), objs.get(k, {}).get("unit_of_measurement"),
               objs.get(k, {}).get("state_class"), objs.get(k, {}).get("state_topic")) for k in want}
    tap.ok(got == want, "power, energy, U/I/P per phase and uptime sensors: %r" % got)
    tap.ok(all(o["availability"][0]["topic"] == STATUS and o["availability_mode"] == "all" for o in objs.values()),
           "availability follows the status topic")
    tap.ok(objs.get("uptime", {}).get("entity_category") == "diagnostic", "counters are diagnostic entities")
    tap.ok(objs.get("l1_current", {}).get("value_template") ==
           "{{ value_json.l1.I if value_json.l1 else None }}", "phase template copes with a null phase")
    harness.stop_and_check(tap, d, "discovery")
    j = sub.wait_for(STATUS, lambda p: p == "offline")
    tap.ok(j is not None, "clean stop publishes 'offline'")
    sub.close()
    pty.close()


def check_no_alias(tap, w, binary):
    """A broker whose CONNACK allows no topic alias: the whole topic each time."""
    broker = w.add(Broker(w, "no-alias", listeners="max_topic_alias 0"))
    link = w.join("tty-na")
    pty = w.add(Pty(link))
    sub = w.add(Sub(broker.port, (POWER, STATUS)))
    conf = mqttlib.mqtt_config(link, "mqtt://127.0.0.1:%d" % broker.port)
    d = w.add(Daemon(binary, w.path, conf, name="na.conf"))
    tap.on_failure = [lambda: d.dump(tap)]
    tap.ok(d.wait_for(CONNECTED_RX)[0] is not None, "no alias: connected")
    # Subscribed once it holds the retained "online": no message is missed after it.
    tap.ok(sub.wait_for(STATUS, lambda p: p == "online") is not None, "no alias: the subscriber is subscribed")
    raw = harness.testdata(mqttlib.DSMR50)
    harness.feed_until(d, pty, raw, TELEGRAM_RX)
    for _ in range(3):
        pty.write(raw)
        time.sleep(0.3)
    deadline = time.monotonic() + 5
    while len(sub.on(POWER)) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    power = [t for t in published_topics(d) if t in (POWER, "(null)")]
    tap.ok(len(power) >= 4 and set(power) == {POWER} and len(sub.on(POWER)) == len(power),
           "no alias: power_instant with its whole topic each time, all received (%d sent, %d received)" %
           (len(power), len(sub.on(POWER))))
    tap.ok(d.wait_for(FAILED_RX, timeout=0)[0] is None, "no alias: the connection held")
    harness.stop_and_check(tap, d, "no alias")
    tap.on_failure = []
    sub.close()
    pty.close()


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        broker = w.add(Broker(w, "broker"))
        check_power(tap, w, binary, broker)
        check_discovery(tap, w, binary, broker)
        check_no_alias(tap, w, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
