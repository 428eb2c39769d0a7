# SPDX-License-Identifier: MIT
"""Pieces the benchmarks share: percentiles, a paho MQTT client, a minimal
Modbus TCP client, the daemon's listener ports from its log; the broker and
free ports come from the integration tests' mqttlib."""

import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
sys.path.append("/usr/lib/python3/dist-packages")  # Debian's python3-paho-mqtt

import harness  # noqa: E402
from mqttlib import Broker, free_port, wait_port  # noqa: E402,F401

EMPRO_BLOCKS = [(0x8000, 0x36), (0x8100, 8)]
HTTP_RX = r"HTTP API on port (\d+)"
MODBUS_RX = r"Modbus TCP server on port (\d+)"
PT_RX = r"Passthrough server on port (\d+)"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def paho_client(port, name):
    import paho.mqtt.client as mqtt
    c = mqtt.Client(client_id=name, protocol=mqtt.MQTTv311)
    c.connect("127.0.0.1", port)
    return c


def port_of(d, rx):
    i, m = d.wait_for(rx)
    if i is None:
        raise RuntimeError("no log line %r" % rx)
    return int(m.group(1))


class ModbusClient:
    """A minimal Modbus TCP client (FC 0x03) on one persistent connection."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), harness.TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tid = 0
        self.errors = 0

    def read(self, addr, n):
        """The answer's bytes after the transaction id (an exception counts in errors)."""
        self.tid = (self.tid + 1) & 0xFFFF
        self.sock.sendall(struct.pack(">HHHBBHH", self.tid, 0, 6, 1, 3, addr, n))
        want = 9 + 2 * n
        buf = b""
        while len(buf) < want:
            chunk = self.sock.recv(want - len(buf))
            if not chunk:
                raise RuntimeError("Modbus connection closed")
            buf += chunk
            if len(buf) >= 9 and buf[7] & 0x80:
                self.errors += 1
                break
        return buf[2:]

    def poll(self):
        for addr, n in EMPRO_BLOCKS:
            self.read(addr, n)

    def close(self):
        self.sock.close()
