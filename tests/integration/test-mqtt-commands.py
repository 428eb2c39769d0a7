#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Remote commands over MQTT with the real mosquitto broker, an ACL file and
a password file made here. Off by default: the daemon subscribes to nothing
and a command goes unanswered. Turned on by PATCH: status, telegram,
identify, reset, config, update and unknown commands with mosquitto_pub,
each answered on .../cmd/<name>/response, or with MQTT 5 on the request's
response topic with its correlation data; each logged with its topic. A
config command and the same PATCH over HTTP store the same overrides and
give the same configuration, secrets hidden in the answer; malformed,
oversized and repeated commands are refused and change nothing; a client the
ACL forbids never reaches the daemon."""

import json
import os
import signal
import subprocess
import threading
import time

import harness
import httpapi
import mqttlib
from harness import Pty, Tap, Workdir
from mqttlib import BASE, CONNECTED_RX, Broker, Sub

MQTT_PASSWORD = "Cmd-Daemon-5b3a"
ADMIN_PASSWORD = "Cmd-Admin-77e1"
INTRUDER_PASSWORD = "Cmd-Intruder-0c4d"
CMD = BASE + "/cmd/"


def make_security(w):
    pw = w.join("passwd")
    for i, (user, password) in enumerate((("daemon", MQTT_PASSWORD), ("admin", ADMIN_PASSWORD),
                                          ("intruder", INTRUDER_PASSWORD))):
        subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) + [pw, user, password],
                       check=True, capture_output=True)
    acl = w.join("acl")
    with open(acl, "w") as f:
        f.write("user daemon\ntopic readwrite devices/#\ntopic readwrite homeassistant/#\n"
                "topic write replies/#\n\n"
                "user admin\ntopic write devices/+/smart-connect/+/cmd/#\ntopic read devices/#\n\n"
                "user intruder\ntopic read devices/#\ntopic write devices/+/smart-connect/+/cmd/#\n"
                "topic deny devices/+/smart-connect/+/cmd/reset\n")
    os.chmod(pw, 0o600)
    os.chmod(acl, 0o600)
    return pw, acl


def pub(port, name, payload, user="admin", password=ADMIN_PASSWORD, props=()):
    cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-u", user, "-P", password, "-q", "1",
           "-t", CMD + name, "-V", "mqttv5"]
    for p in props:
        cmd += ["-D", "publish"] + list(p)
    if isinstance(payload, str):
        payload = payload.encode()
    cmd += ["-s"] if payload else ["-n"]  # -s with nothing on stdin sends nothing
    return subprocess.run(cmd, input=payload, capture_output=True, timeout=30).returncode


def answer(sub, name, start, timeout=harness.TIMEOUT):
    i = sub.wait_for(CMD + name + "/response", start=start, timeout=timeout)
    return json.loads(sub.msgs[i][3]) if i is not None else None


def overrides(w):
    try:
        with open(httpapi.overrides_path(w), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


class Sub5:
    """mosquitto_sub with MQTT 5 on replies/#: (topic, correlation data, payload)."""

    def __init__(self, port):
        self.proc = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-V", "mqttv5",
                                      "-t", "replies/#", "-F", "%t\t%D\t%p"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.append(raw.decode().rstrip("\n").split("\t", 2))

    def wait(self, timeout=harness.TIMEOUT):
        deadline = time.monotonic() + timeout
        while not self.lines and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.lines[0] if self.lines else None

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def commands_off(tap, w, d, broker, sub, acl_port):
    tap.ok(d.wait_for(CONNECTED_RX)[0] is not None, "connected with the ACL listener's credentials")
    n = sub.count()
    pub(acl_port, "status", "")
    time.sleep(2)
    tap.ok(answer(sub, "status", n, timeout=1) is None, "Commands=no: a status command is not answered")
    log = open(broker.log).read()
    tap.ok("smartconnect-" in log and "Received SUBSCRIBE from smartconnect-" not in log,
           "Commands=no: the daemon subscribes to nothing (broker log)")
    tap.ok(d.wait_for(r"MQTT command", 0, 0.5)[0] is None, "and no command reached it")


def simple_commands(tap, w, d, sub, acl_port, raw):
    n = sub.count()
    tap.ok(pub(acl_port, "status", "") == 0, "status sent")
    a = answer(sub, "status", n)
    tap.ok(a and a.get("ok") is True and a.get("command") == "status" and
           a["status"]["mqtt"]["state"] == "connected", "status answered: MQTT connected (%r)" %
           (a and a.get("status", {}).get("mqtt")))
    tap.ok(d.wait_for(r"MQTT command 'status' received on %s" % (CMD + "status"))[0] is not None,
           "the command is logged with its topic")
    a = answer(sub, "telegram", n) if pub(acl_port, "telegram", "") == 0 else None
    tap.ok(a and a.get("ok") is True and a.get("telegram", "").encode("latin-1") == raw,
           "telegram answered with the last telegram")
    for name, want in (("update", "updates not available"), ("frobnicate", "unknown command")):
        a = answer(sub, name, n) if pub(acl_port, name, "{}") == 0 else None
        tap.ok(a and a.get("ok") is False and a.get("error") == want, "%s: refused, %r (%r)" % (name, want, a))
    a = answer(sub, "identify", n) if pub(acl_port, "identify", "") == 0 else None
    tap.ok(a and a.get("ok") is True, "identify answered (%r)" % a)
    mark = d.count()
    a = answer(sub, "reset", n) if pub(acl_port, "reset", "now") == 0 else None
    tap.ok(a and a.get("ok") is True, "reset answered (%r)" % a)
    tap.ok(d.wait_for(CONNECTED_RX, mark)[0] is not None, "reset: MQTT connects again")
    m2 = sub.count()
    a = answer(sub, "reset", m2) if pub(acl_port, "reset", "now") == 0 else None
    tap.ok(a and a.get("ok") is False and "repeated" in a.get("error", ""),
           "the same reset again at once: refused as repeated (%r)" % a)
    time.sleep(1)
    tap.ok(len([l for l in d.lines[mark:] if "MQTT connected to" in l]) == 1, "only one reconnect")


def response_topic(tap, broker, acl_port):
    s5 = Sub5(broker.port)
    time.sleep(0.5)
    pub(acl_port, "status", "", props=(("response-topic", "replies/abc"), ("correlation-data", "req-42")))
    got = s5.wait()
    s5.close()
    tap.ok(got is not None and got[0] == "replies/abc" and got[1] == "req-42" and
           json.loads(got[2]).get("ok") is True,
           "MQTT 5: answered on the response topic with the correlation data (%r)" % (got and got[:2]))


def config_commands(tap, w, d, sub, api, acl_port):
    n = sub.count()
    patch = {"MeterType": "SunSpec", "MQTT": {"CountersInterval": 30}}
    before = overrides(w)
    a = answer(sub, "config", n) if pub(acl_port, "config", json.dumps(patch)) == 0 else None
    tap.ok(a and a.get("ok") is True and a["config"].get("MeterType") == "SunSpec",
           "config: applied, the new configuration answered (%r)" % (a and a.get("error")))
    text = json.dumps(a or {})
    tap.ok(MQTT_PASSWORD not in text and httpapi.PASSWORD not in text, "config answer: no secret in it")
    stored, (st, got_mqtt) = overrides(w), api.json("GET", "/api/v1/config")
    tap.ok(stored != before and st == 200, "config: stored in overrides.json")
    # The same patch over HTTP, from the state before: the same file and configuration.
    with open(httpapi.overrides_path(w), "wb") as f:
        f.write(before)
    d.signal(signal.SIGHUP)
    time.sleep(1)
    st, _ = api.json("PATCH", "/api/v1/config", patch)
    st2, got_http = api.json("GET", "/api/v1/config")
    tap.ok(st == 200 and overrides(w) == stored, "HTTP PATCH of the same patch: the same overrides.json")
    tap.ok(st2 == 200 and got_http == got_mqtt, "and the same configuration")

    for what, payload, want in (("invalid JSON", "{\"MeterType\": ", "invalid JSON"),
                                ("unknown key", json.dumps({"Nope": 1}), "Nope"),
                                ("bad value", json.dumps({"MeterType": "Toaster"}), "MeterType"),
                                ("16 KiB + 1", json.dumps({"MeterType": "x" * 16384}), "too large")):
        before = overrides(w)
        n = sub.count()
        a = answer(sub, "config", n) if pub(acl_port, "config", payload) == 0 else None
        tap.ok(a and a.get("ok") is False and want in json.dumps(a) and overrides(w) == before,
               "config, %s: refused, nothing changed (%r)" % (what, a and a.get("error")))
    n, before = sub.count(), overrides(w)
    pub(acl_port, "config", json.dumps({"MeterType": "x" * 100000}))
    tap.ok(answer(sub, "config", n, timeout=3) is None and overrides(w) == before,
           "100 kB, over the Maximum Packet Size: the broker does not deliver it, nothing changed")
    tap.ok(d.wait_for(r"MQTT connection to .* failed", 0, 0.5)[0] is None, "and the connection stays")


def intruder(tap, d, sub, acl_port):
    n, mark = sub.count(), d.count()
    pub(acl_port, "reset", "x", user="intruder", password=INTRUDER_PASSWORD)
    time.sleep(2)
    tap.ok(answer(sub, "reset", n, timeout=1) is None and
           not [l for l in d.lines[mark:] if "MQTT command" in l],
           "a reset from a client the ACL forbids never reaches the daemon")


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        pw, acl = make_security(w)
        acl_port = mqttlib.free_port()
        broker = w.add(Broker(w, "broker", "log_type all\nlistener %d 127.0.0.1\nallow_anonymous false\n"
                              "password_file %s\nacl_file %s\n" % (acl_port, pw, acl)))
        sub = w.add(Sub(broker.port, ("devices/#",)))
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        raw = harness.testdata(mqttlib.DSMR50)
        text = mqttlib.mqtt_config(link, "mqtt://127.0.0.1:%d" % acl_port,
                                   "Username=daemon\nPassword=%s\n" % MQTT_PASSWORD)
        text = text.replace("[HTTP]\n", "[HTTP]\nPassword=%s\n" % httpapi.PASSWORD)
        d, port = httpapi.start(tap, binary, w, text)
        api = httpapi.Api(port)
        harness.feed_until(d, pty, raw, harness.TELEGRAM_RX)
        commands_off(tap, w, d, broker, sub, acl_port)

        # A reset left retained on the broker must never run (at every connect it would again).
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(acl_port), "-u", "admin", "-P",
                        ADMIN_PASSWORD, "-t", CMD + "reset", "-r", "-m", "retained"], check=True, timeout=30)
        mark = d.count()
        st, _ = api.json("PATCH", "/api/v1/config", {"MQTT": {"Commands": True}})
        tap.ok(st == 200, "PATCH MQTT.Commands true: 200 (%r)" % st)
        tap.ok(d.wait_for(r"MQTT: remote commands on %s\+" % CMD, mark)[0] is not None, "subscribed")
        time.sleep(2)
        tap.ok(not [l for l in d.lines[mark:] if "MQTT command 'reset'" in l],
               "a retained reset on the broker is not delivered, not carried out")
        simple_commands(tap, w, d, sub, acl_port, raw)
        response_topic(tap, broker, acl_port)
        config_commands(tap, w, d, sub, api, acl_port)
        intruder(tap, d, sub, acl_port)
        st, js = api.json("GET", "/api/v1/status")
        tap.ok(st == 200 and js["mqtt"]["state"] == "connected", "still connected at the end")
        harness.stop_and_check(tap, d, "commands")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
