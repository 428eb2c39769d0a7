#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Bounded input from the broker. A fake broker (a socket server in the test)
checks that CONNECT asks for MQTT 5 with Maximum Packet Size 65536, accepts
it, then sends a PUBLISH whose header announces 256 MiB and pours megabytes
after it, on every reconnect. The daemon drops the connection at the header,
counts it (status and /metrics), its RSS stays flat over the rounds, and
Modbus answers throughout. A header split over two segments, a malformed
header and a packet just under the bound are handled as well: the first two
end the connection, the last does not."""

import re
import socket
import struct
import threading
import time

import harness
import httpapi
import mqttlib
from harness import Pty, Tap, Workdir
from mqttlib import CONNECTED_RX, FAILED_RX, BlackHole

BOUND = 65536
CONNACK_V5 = b"\x20\x03\x00\x00\x00"  # accepted, no properties
HUGE_HEADER = b"\x30\xff\xff\xff\x7f"  # PUBLISH, remaining length 268435455
JUNK = b"\0" * (1 << 20)
ROUNDS = 6


def varint(buf, i):
    """(value, next index) of an MQTT variable byte integer at buf[i]."""
    value, shift = 0, 0
    while True:
        b = buf[i]
        value |= (b & 0x7f) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7


def read_connect(c):
    """The CONNECT packet's (protocol level, {property id: value}) or None."""
    buf = b""
    while len(buf) < 5 or len(buf) < varint(buf, 1)[1] + varint(buf, 1)[0]:
        chunk = c.recv(4096)
        if not chunk:
            return None
        buf += chunk
    _, i = varint(buf, 1)
    name_len = struct.unpack(">H", buf[i:i + 2])[0]
    i += 2 + name_len
    level = buf[i]
    i += 1 + 1 + 2  # flags, keep alive
    if level != 5:
        return level, {}
    plen, i = varint(buf, i)
    props, end = {}, i + plen
    while i < end:
        pid = buf[i]
        i += 1
        if pid == 0x27:  # Maximum Packet Size: four bytes
            props[pid] = struct.unpack(">I", buf[i:i + 4])[0]
            i += 4
        elif pid == 0x11:  # Session Expiry Interval
            props[pid] = struct.unpack(">I", buf[i:i + 4])[0]
            i += 4
        elif pid in (0x21, 0x22):  # Receive Maximum, Topic Alias Maximum
            props[pid] = struct.unpack(">H", buf[i:i + 2])[0]
            i += 2
        else:
            props[pid] = None
            break
    return level, props


class FakeBroker:
    """Answers CONNECT with a v5 CONNACK, then plays the scenario of the
    current round. Records each CONNECT and how each connection ended."""

    def __init__(self):
        self.connects = []
        self.ends = []  # per connection: (scenario, bytes of junk taken before the close, or how it ended)
        self.play = lambda c: None
        self.lock = threading.Lock()
        self.hole = BlackHole(serve=self._serve)
        self.port = self.hole.port

    def _serve(self, c):
        try:
            got = read_connect(c)
            with self.lock:
                self.connects.append(got)
            c.sendall(CONNACK_V5)
            play = self.play
            sent = play(c)
        except OSError:
            play, sent = None, "closed"
        with self.lock:
            self.ends.append((play and play.__name__, sent))

    def close(self):
        self.hole.close()


def pour(c):
    """The 256 MiB header, then junk until the daemon closes (at most 64 MiB)."""
    c.sendall(HUGE_HEADER)
    sent = 0
    c.settimeout(10)
    try:
        while sent < 64 * len(JUNK):
            sent += c.send(JUNK)
    except OSError:
        return sent
    return sent


def split_header(c):
    """The first byte of the huge header, a pause, then the rest: the guard must wait."""
    c.sendall(HUGE_HEADER[:2])
    time.sleep(0.3)
    return pour_rest(c, HUGE_HEADER[2:])


def pour_rest(c, head):
    c.sendall(head)
    return wait_close(c)


def malformed(c):
    """A remaining length of five bytes: the protocol allows four."""
    c.sendall(b"\x30\x80\x80\x80\x80\x01")
    return wait_close(c)


def near_bound(c):
    """A PUBLISH of exactly BOUND bytes on a topic nobody asked for, then silence."""
    topic = b"x/y"
    body = struct.pack(">H", len(topic)) + topic + b"\x00"  # topic, no properties (QoS 0)
    body += b"p" * (BOUND - 4 - len(body))  # a 4-byte fixed header: BOUND in all
    c.sendall(b"\x30" + bytes([0x80 | (len(body) & 0x7f), 0x80 | ((len(body) >> 7) & 0x7f),
                               len(body) >> 14]) + body)
    c.sendall(b"\xd0\x00")  # an unasked PINGRESP: harmless
    return wait_close(c, 3)


def wait_close(c, timeout=10):
    c.settimeout(timeout)
    try:
        while c.recv(4096):
            pass
        return "closed"
    except socket.timeout:
        return "open"
    except OSError:
        return "closed"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def modbus_ok(port):
    """One FC 0x04 read of 2 registers: (answered, seconds)."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    try:
        t0 = time.perf_counter()
        s.sendall(struct.pack(">HHHBBHH", 7, 0, 6, 1, 4, 0x8016, 2))
        buf = b""
        while len(buf) < 9:
            chunk = s.recv(260)
            if not chunk:
                break
            buf += chunk
        return len(buf) >= 9 and buf[7] == 4, time.perf_counter() - t0
    finally:
        s.close()


def metric(api, name):
    st, _, body = api.call("GET", "/metrics")
    m = re.search(r"^%s (\d+)" % re.escape(name), body.decode(), re.M) if st == 200 else None
    return int(m.group(1)) if m else None


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        fb = w.add(FakeBroker())
        fb.play = pour
        text = mqttlib.mqtt_config(link, "mqtt://127.0.0.1:%d" % fb.port)
        text = text.replace("[HTTP]\n", "[HTTP]\nPassword=%s\n" % httpapi.PASSWORD)
        text = text.replace("[Modbus]\n", "[Modbus]\nStalePolicy=keep\n")
        d, port = httpapi.start(tap, binary, w, text)
        api = httpapi.Api(port)
        _, m = d.wait_for(r"Modbus TCP server on port (\d+)")
        mb_port = int(m.group(1))
        i, _ = harness.feed_until(d, pty, harness.testdata(mqttlib.DSMR50), r"Receiving DSMR 5\.0 telegrams")
        tap.ok(i is not None, "the meter is found")

        i, _ = d.wait_for(CONNECTED_RX)
        tap.ok(i is not None, "connected to the fake broker")
        level, props = fb.connects[0] if fb.connects else (None, {})
        tap.ok(level == 5, "CONNECT speaks MQTT 5 (protocol level %r)" % level)
        tap.ok(props.get(0x27) == BOUND, "CONNECT carries Maximum Packet Size %d (%r)" % (BOUND, props))

        base_lat = [modbus_ok(mb_port)[1] for _ in range(50)]
        rss = []
        pos = 0
        for r in range(ROUNDS):
            j, fm = d.wait_for(FAILED_RX, pos, 90)
            why = fm.group(1) if fm else None
            if r == 0:
                tap.ok(why is not None and "268435460 bytes, over the bound of 65536" in why,
                       "the 256 MiB header ends the connection: %r" % why)
            pos = (j or pos) + 1
            ok, _ = modbus_ok(mb_port)
            tap.ok(ok, "round %d: Modbus answers" % r)
            rss.append(rss_kib(d.proc.pid))
        poured = [e[1] for e in fb.ends if e[0] == "pour"][:ROUNDS]
        tap.diag("RSS per round (KiB): %s; junk taken per connection: %s" % (rss, poured))
        tap.ok(max(rss[1:]) - rss[1] < 4096, "RSS flat over %d rounds: %s KiB" % (ROUNDS, rss))
        tap.ok(len(poured) == ROUNDS and all(isinstance(e, int) and e < 16 * len(JUNK) for e in poured),
               "each connection closed long before 256 MiB: %s bytes" % poured)
        lat = sorted(modbus_ok(mb_port)[1] for _ in range(50))
        bound = max(10 * sorted(base_lat)[49], 0.2)
        tap.ok(lat[-1] < bound, "Modbus max %.3f ms under the pour (bound %.1f ms)" % (lat[-1] * 1e3, bound * 1e3))

        refused = metric(api, "smartconnect_mqtt_packets_refused_total")
        tap.ok(refused is not None and refused >= ROUNDS, "metrics count the refusals (%r)" % refused)
        st, js = api.json("GET", "/api/v1/status")
        got = js.get("mqtt", {}).get("packets_refused") if st == 200 and js else None
        tap.ok(got is not None and got >= ROUNDS, "status counts them too (%r)" % got)

        fb.play = split_header
        j, fm = d.wait_for(r"MQTT connection to \S+ failed: the broker sent a packet of 268435460 bytes",
                           pos, 120)
        tap.ok(j is not None, "a header split over two segments: refused once complete")
        pos = (j or pos) + 1
        fb.play = malformed
        j, fm = d.wait_for(r"MQTT connection to \S+ failed: malformed packet header", pos, 120)
        tap.ok(j is not None, "a five-byte remaining length: refused as malformed")
        pos = (j or pos) + 1
        fb.play = near_bound
        j, _ = d.wait_for(CONNECTED_RX, pos, 120)
        deadline = time.monotonic() + 30
        near = []
        while not near and time.monotonic() < deadline:
            near = [e[1] for e in fb.ends if e[0] == "near_bound"]
            time.sleep(0.2)
        last = near[0] if near else None
        tap.ok(last == "open", "a packet of exactly %d bytes is taken, the connection stays (%r)" % (BOUND, last))
        tap.ok(d.proc.poll() is None, "the daemon runs")
        harness.stop_and_check(tap, d, "bounded input")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
