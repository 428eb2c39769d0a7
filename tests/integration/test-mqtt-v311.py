#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A broker that speaks MQTT 3.1.1 only: the daemon's first CONNECT (MQTT 5)
is refused, and the next attempt speaks 3.1.1 and stays connected, publishes
power_instant per telegram and subscribes to its commands without the
MQTT 5 subscription options a 3.1.1 broker would take for a protocol error.
Two such brokers, played by a small socket server: one that answers a
version 5 CONNECT with CONNACK "unacceptable protocol version" (as
mosquitto 1.x does), one that closes the connection without a word (as some
cloud endpoints do). A real mosquitto (MQTT 5) is covered by the other MQTT
tests."""

import socket
import struct
import threading

import harness
import mqttlib
from harness import Pty, Tap, Workdir, feed_until, stop_and_check

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"


def read_exact(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read_packet(c):
    """(first byte, body) of one MQTT packet."""
    head = read_exact(c, 1)[0]
    length, shift = 0, 0
    while True:
        b = read_exact(c, 1)[0]
        length |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return head, read_exact(c, length)


class Broker311:
    """Accepts MQTT 3.1.1 (level 4) only; refuse: 'connack' or 'close' for other levels."""

    def __init__(self, refuse):
        self.refuse = refuse
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.levels, self.topics, self.subscriptions = [], [], []
        self.cond = threading.Condition()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            head, body = read_packet(c)
            name_len = struct.unpack(">H", body[:2])[0]
            level = body[2 + name_len]
            with self.cond:
                self.levels.append(level)
                self.cond.notify_all()
            if level != 4:
                if self.refuse == "connack":
                    c.sendall(b"\x20\x02\x00\x01")
                c.close()
                return
            c.sendall(b"\x20\x02\x00\x00")
            while True:
                head, body = read_packet(c)
                self._packet(c, head, body)
        except (EOFError, OSError):
            c.close()

    def _packet(self, c, head, body):
        kind = head >> 4
        with self.cond:
            if kind == 3:  # PUBLISH (QoS 0 from the daemon; the will is QoS 1)
                n = struct.unpack(">H", body[:2])[0]
                self.topics.append(body[2:2 + n].decode())
            elif kind == 8:  # SUBSCRIBE: packet id, then topic filter and options byte
                pid = body[:2]
                n = struct.unpack(">H", body[2:4])[0]
                self.subscriptions.append((body[4:4 + n].decode(), body[4 + n]))
                c.sendall(b"\x90\x03" + pid + bytes([body[4 + n] & 3]))
            elif kind == 12:  # PINGREQ
                c.sendall(b"\xd0\x00")
            self.cond.notify_all()

    def wait(self, pred, timeout=harness.TIMEOUT):
        with self.cond:
            return self.cond.wait_for(pred, timeout)

    def close(self):
        self.srv.close()


def scenario(tap, binary, refuse):
    with Workdir() as w:
        broker = Broker311(refuse)
        pty = w.add(Pty(w.join("ttyUSB0")))
        text = mqttlib.mqtt_config(pty.link, "mqtt://127.0.0.1:%d" % broker.port, extra="Commands=yes\n")
        d = w.add(harness.Daemon(binary, w.path, text))
        tap.on_failure = [lambda: d.dump(tap)]
        i, _ = d.wait_for(r"the next attempt speaks MQTT 3\.1\.1")
        tap.ok(i is not None and broker.levels[:1] == [5],
               "%s: the first CONNECT is MQTT 5 (levels %r), refused; the next speaks 3.1.1"
               % (refuse, broker.levels))
        i, _ = d.wait_for(mqttlib.CONNECTED_RX)
        tap.ok(i is not None and broker.levels[-1] == 4, "%s: connected with MQTT 3.1.1 (levels %r)"
               % (refuse, broker.levels))
        tap.ok(d.wait_for(r"speaks MQTT 3\.1\.1, not 5")[0] is not None, "%s: the fallback is logged" % refuse)
        i, _ = feed_until(d, pty, harness.testdata(DSMR50), harness.TELEGRAM_RX)
        got = broker.wait(lambda: any(t.endswith("/data/power_instant") for t in broker.topics))
        tap.ok(i is not None and got, "%s: power_instant published over MQTT 3.1.1" % refuse)
        subs = broker.wait(lambda: broker.subscriptions) and broker.subscriptions
        tap.ok(subs and subs[0][0].endswith("/cmd/+") and subs[0][1] == 1,
               "%s: commands subscribed with QoS 1 and no MQTT 5 option bits (%r)" % (refuse, subs))
        tap.ok(d.proc.poll() is None and broker.levels.count(4) == 1,
               "%s: one 3.1.1 connection, kept (%d connects)" % (refuse, len(broker.levels)))
        stop_and_check(tap, d, "MQTT 3.1.1 broker (%s)" % refuse)
        broker.close()


def main():
    binary = harness.daemon_path()
    tap = Tap()
    scenario(tap, binary, "connack")
    scenario(tap, binary, "close")
    tap.done()


if __name__ == "__main__":
    main()
