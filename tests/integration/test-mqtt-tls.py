#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Connection modes against the real mosquitto broker: plain, TLS with user
name and password (mosquitto_passwd), mutual TLS (require_certificate,
use_identity_as_username) with a CA, server and client certificates made by
openssl here; a wrong CA, a host name the certificate does not name, a wrong
password, and a wrong or absent client certificate are refused with a clear
log line, the daemon keeps running and keeps retrying."""

import os
import subprocess

import harness
import mqttlib
from harness import Daemon, Pty, Tap, Workdir
from mqttlib import BASE, CONNECTED_RX, FAILED_RX, Broker, Sub


def tls_listener(p, port, extra):
    return "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n%s\n" % (
        port, p["ca.crt"], p["server.crt"], p["server.key"], extra)


def scenario(tap, binary, w, name, broker, url, mqtt_extra, expect_ok, why_rx=None):
    link = w.join("tty-" + name)
    pty = w.add(Pty(link))
    sub = w.add(Sub(broker.port))
    d = w.add(Daemon(binary, w.path, mqttlib.mqtt_config(link, url, mqtt_extra), name=name + ".conf"))
    tap.on_failure = [lambda: d.dump(tap)]
    if expect_ok:
        i, m = d.wait_for(CONNECTED_RX)
        tap.ok(i is not None, "%s: connected" % name)
        j = sub.wait_for(BASE + "/status", lambda p: p == "online")
        tap.ok(j is not None, "%s: status online, seen by a subscriber" % name)
        harness.feed_until(d, pty, harness.testdata(mqttlib.DSMR50), harness.TELEGRAM_RX)
        j = sub.wait_for(BASE + "/data/power_instant")
        tap.ok(j is not None, "%s: power_instant delivered" % name)
    else:
        i, m = d.wait_for(FAILED_RX)
        tap.ok(i is not None and (why_rx is None or __import__("re").search(why_rx, m.group(1))),
               "%s: refused with a clear reason: %r" % (name, m and m.group(1)))
        # It keeps trying, and nothing crashed.
        i2, _ = d.wait_for(FAILED_RX, (i or 0) + 1, timeout=10)
        tap.ok(i2 is not None, "%s: retried after the back-off" % name)
        tap.ok(d.proc.poll() is None, "%s: daemon still running" % name)
        tap.ok(d.wait_for(CONNECTED_RX, timeout=0)[0] is None, "%s: never connected" % name)
    harness.stop_and_check(tap, d, name)
    sub.close()
    pty.close()


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        p = mqttlib.make_pki(w)
        pwfile = w.join("passwd")
        subprocess.run(["mosquitto_passwd", "-b", "-c", pwfile, "meter", "s3cret pass"], check=True)
        os.chmod(pwfile, 0o600)
        tls_port, mtls_port = mqttlib.free_port(), mqttlib.free_port()
        broker = w.add(Broker(w, "broker", tls_listener(p, tls_port, "allow_anonymous false\npassword_file %s"
                                                       % pwfile) +
                              tls_listener(p, mtls_port, "require_certificate true\n"
                                           "use_identity_as_username true\n")))
        tls = "mqtts://localhost:%d" % tls_port
        mtls = "mqtts://localhost:%d" % mtls_port
        userpw = "Username=meter\nPassword=\"s3cret pass\"\nCAFile=%s\n" % p["ca.crt"]
        client = "CAFile=%s\nCertFile=%s\nKeyFile=%s\n" % (p["ca.crt"], p["client.crt"], p["client.key"])

        scenario(tap, binary, w, "plain", broker, "mqtt://127.0.0.1:%d" % broker.port, "", True)
        scenario(tap, binary, w, "tls-password", broker, tls, userpw, True)
        scenario(tap, binary, w, "mutual-tls", broker, mtls, client, True)
        scenario(tap, binary, w, "wrong-ca", broker, tls,
                 userpw.replace(p["ca.crt"], p["other-ca.crt"]), False, r"certificate verify failed")
        scenario(tap, binary, w, "system-ca", broker, tls, "Username=meter\nPassword=x\n", False,
                 r"certificate verify failed")
        scenario(tap, binary, w, "wrong-host-name", broker, "mqtts://127.0.0.1:%d" % tls_port, userpw, False,
                 r"certificate verify failed")
        scenario(tap, binary, w, "wrong-password", broker, tls, userpw.replace("s3cret", "wrong"), False,
                 r"(?i)broker refused the connection: .*not authori[sz]ed")
        scenario(tap, binary, w, "wrong-client-cert", broker, mtls,
                 client.replace(p["client.crt"], p["other.crt"]).replace(p["client.key"], p["other.key"]),
                 False, r"alert|client certificate")
        scenario(tap, binary, w, "no-client-cert", broker, mtls, "CAFile=%s\n" % p["ca.crt"], False,
                 r"alert certificate required|client certificate")
        scenario(tap, binary, w, "missing-cert-file", broker, mtls,
                 client.replace(p["client.crt"], w.join("nothing.crt")), False,
                 r"cannot load the client certificate '.*nothing.crt'")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
