#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A broker that stops answering: a TCP server in the test accepts, answers
CONNECT with CONNACK and then reads everything and says nothing more, so the
daemon's keep-alive ping is never answered. The failure is logged with its
real cause (the keep-alive), not "Unknown error", and the daemon connects
again."""

import time

import harness
import mqttlib
from harness import Daemon, Tap, Workdir

KEEPALIVE = 5  # the smallest KeepAlive= allowed


def connack_then_silence(c):
    """CONNACK (session not present, accepted) to the first packet, then silence."""
    try:
        if c.recv(4096):
            c.sendall(b"\x20\x03\x00\x00\x00")  # MQTT 5: no properties
        while c.recv(4096):
            pass  # PINGREQ and PUBLISH alike go unanswered
    except OSError:
        pass


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        broker = w.add(mqttlib.BlackHole(serve=connack_then_silence))
        conf = mqttlib.mqtt_config(w.join("nothing-here"), "mqtt://127.0.0.1:%d" % broker.port,
                                   extra="KeepAlive=%d\n" % KEEPALIVE)
        d = w.add(Daemon(binary, w.path, conf))
        tap.on_failure = [lambda: d.dump(tap)]
        i, _ = d.wait_for(mqttlib.CONNECTED_RX)
        tap.ok(i is not None, "connected to the silent broker")
        t = time.monotonic()
        j, m = d.wait_for(mqttlib.FAILED_RX, i or 0, KEEPALIVE * 3 + harness.TIMEOUT)
        why = m.group(1) if m else None
        tap.diag("failure after %.1f s: %r" % (time.monotonic() - t, why))
        tap.ok(why is not None, "the lost keep-alive ends the connection")
        tap.ok(why is not None and "Unknown error" not in why and "keep-alive" in why,
               "the message names the keep-alive as the cause: %r" % why)
        k, _ = d.wait_for(mqttlib.CONNECTED_RX, (j or 0) + 1)
        tap.ok(k is not None, "connects again afterwards")
        harness.stop_and_check(tap, d, "silent broker")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
