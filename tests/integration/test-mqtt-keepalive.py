#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A broker that stops answering: a TCP server in the test accepts, answers
CONNECT with CONNACK and then reads everything and says nothing more, so the
daemon's keep-alive ping is never answered. The failure is logged with its
real cause (the keep-alive), not "Unknown error", and the daemon connects
again."""

import socket
import threading
import time

import harness
import mqttlib
from harness import Daemon, Tap, Workdir

KEEPALIVE = 5  # the smallest KeepAlive= allowed


class SilentBroker:
    """CONNACK (session not present, accepted) to the first packet, then silence."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.connects = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.connects += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            if c.recv(4096):
                c.sendall(b"\x20\x02\x00\x00")
            while c.recv(4096):
                pass  # PINGREQ and PUBLISH alike go unanswered
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        broker = w.add(SilentBroker())
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
