#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The capacity tariff on MQTT, through a real mosquitto: an e-MUCS meter's
telegram gives <base>/data/capacity (retained, so a late subscriber has it at
once) with the meter's own quarter-hour demand and month peak (measured); the
same telegram again sends nothing (the figures did not change), a new demand
sends it again; with HomeAssistant=yes the three capacity sensors are
discovered in kW, device_class power, reading that topic."""

import datetime
import importlib.util
import json
import os
import subprocess

import harness
import mqttlib
from harness import Pty, Tap, Workdir, stop_and_check
from mqttlib import CONNECTED_RX, Broker, Sub

_spec = importlib.util.spec_from_file_location(
    "history_test", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-history.py"))
ht = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ht)

CET = datetime.timezone(datetime.timedelta(hours=1))


def capacity_msgs(sub, topic, start):
    return [json.loads(m[3]) for m in sub.on(topic, start)]


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        broker = w.add(Broker(w, "broker"))
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        text = mqttlib.mqtt_config(link, "mqtt://127.0.0.1:%d" % broker.port, extra="HomeAssistant=yes\n")
        d = w.add(harness.Daemon(binary, w.path, text))
        tap.on_failure = [lambda: d.dump(tap)]
        base = "devices/%s/smart-connect/%s" % (mqttlib.SITE, mqttlib.SERIAL)
        topic = base + "/data/capacity"
        sub = w.add(Sub(broker.port))
        tap.ok(d.wait_for(CONNECTED_RX)[0] is not None, "connected to mosquitto")

        raw = harness.testdata(ht.EMUCS)
        harness.feed_until(d, pty, raw, harness.TELEGRAM_RX)
        i = sub.wait_for(topic)
        cap = json.loads(sub.msgs[i][3]) if i is not None else {}
        peak_time = int(datetime.datetime(2023, 11, 2, 11, 45, tzinfo=CET).timestamp())
        tap.ok(cap.get("source") == "measured" and cap.get("demand_kw") == 0.052 and
               cap.get("month_peak_kw") == 3.064 and cap.get("month_peak_time") == peak_time,
               "data/capacity: the meter's 1-0:1.4.0 and 1-0:1.6.0, measured: %s" %
               {k: cap.get(k) for k in ("source", "demand_kw", "month_peak_kw", "month_peak_time")})
        tap.ok("projection_kw" in cap and "months" in cap, "with the projection and the past months")
        ok, ret = False, ""
        for _ in range(20):
            ret = subprocess.run(
                ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "--retained-only",
                 "-W", "2", "-F", "%r\t%p"], capture_output=True, timeout=30).stdout.decode()
            ok = ret.startswith("1\t")
            if ok:
                break
        tap.ok(ok and json.loads(ret.split("\t", 1)[1]) == cap, "kept retained by the broker for a late "
               "subscriber: %s" % ret[:80])

        # The same telegram twice: nothing new; then a new demand ten seconds later: sent again.
        # Between the two marks exactly one capacity message, whatever the order of the topics.
        mark = sub.count()
        pty.write(raw)
        pty.write(raw)
        j = sub.wait_for(base + "/data/power_instant", start=mark)
        j = sub.wait_for(base + "/data/power_instant", start=j + 1) if j is not None else None
        tap.ok(j is not None, "the same telegram twice more, both published on power_instant")
        pty.write(ht.edit(raw, {"0-0:1.0.0": "(231102121558W)", "1-0:1.4.0": "(00.060*kW)"}))
        i = sub.wait_for(topic, lambda p: json.loads(p).get("demand_kw") == 0.06, start=mark)
        sent = capacity_msgs(sub, topic, mark)
        tap.ok(i is not None and len(sent) == 1 and sent[0].get("month_peak_kw") == 3.064,
               "the same figures: not sent again; a new demand: sent (%s)" % [c.get("demand_kw") for c in sent])

        node = "smartconnect_" + mqttlib.SERIAL
        for obj in ("capacity_demand", "capacity_month_peak", "capacity_projection"):
            i = sub.wait_for("homeassistant/sensor/%s/%s/config" % (node, obj))
            c = json.loads(sub.msgs[i][3]) if i is not None else {}
            tap.ok(c.get("state_topic") == topic and c.get("unit_of_measurement") == "kW" and
                   c.get("device_class") == "power" and c.get("state_class") == "measurement",
                   "Home Assistant: %s in kW from data/capacity" % obj)
        stop_and_check(tap, d, "daemon")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
