# SPDX-License-Identifier: MIT
"""Shared pieces of the test-mqtt-*.py scripts: the real Debian mosquitto
broker on a free loopback port with a generated config, a test PKI made with
openssl, a mosquitto_sub subscriber whose lines are collected with their
arrival time, and a black-hole listener that accepts and never answers.

Python 3 standard library plus the mosquitto, mosquitto-clients and openssl
packages.
"""

import os
import socket
import subprocess
import threading
import time

import harness

SERIAL = "SC0123456789"
SITE = "home"
BASE = "devices/%s/smart-connect/%s" % (SITE, SERIAL)
DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=harness.TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Broker:
    """mosquitto on 127.0.0.1. listeners: text of the config after the plain
    listener (which is always there, anonymous, for the test's subscriber)."""

    def __init__(self, w, name, listeners="", port=None):
        self.port = port or free_port()
        self.conf = w.join(name + ".conf")
        self.log = w.join(name + ".log")
        with open(self.conf, "w") as f:
            # As root, mosquitto would switch to its own user, who cannot read our files.
            user = "user %s\n" % __import__("getpass").getuser() if os.geteuid() == 0 else ""
            f.write(user + "per_listener_settings true\npersistence false\n"
                    "listener %d 127.0.0.1\nallow_anonymous true\n%s\n" % (self.port, listeners))
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        if not wait_port(self.port):
            raise RuntimeError("mosquitto did not start:\n" + open(self.log).read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(harness.TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    close = stop


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_pki(w):
    """A CA, a server certificate for 'localhost' (DNS name only), a client
    certificate with CN=SERIAL, and a second CA with its own client."""
    p = {k: w.join(k) for k in ("ca.crt", "ca.key", "server.crt", "server.key", "client.crt",
                                "client.key", "other-ca.crt", "other-ca.key", "other.crt", "other.key")}
    ext = w.join("ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", *ec, "-keyout", p[ca + ".key"], "-out", p[ca + ".crt"], "-days", "2",
                "-subj", "/CN=Test %s" % ca)
    for name, ca, cn, extra in (("server", "ca", "localhost", ["-extfile", ext]),
                                ("client", "ca", SERIAL, []), ("other", "other-ca", SERIAL, [])):
        csr = w.join(name + ".csr")
        openssl("req", *ec, "-keyout", p[name + ".key"], "-out", csr, "-subj", "/CN=" + cn)
        openssl("x509", "-req", "-in", csr, "-CA", p[ca + ".crt"], "-CAkey", p[ca + ".key"],
                "-CAcreateserial", "-out", p[name + ".crt"], "-days", "2", *extra)
    return p


class Sub:
    """mosquitto_sub on the broker's plain listener: (arrival, topic, retained, payload)."""

    def __init__(self, port, topics=("devices/#", "homeassistant/#")):
        cmd = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-F", "%r\t%t\t%p"]
        for t in topics:
            cmd += ["-t", t]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.msgs = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            retained, _, rest = line.partition("\t")
            topic, _, payload = rest.partition("\t")
            with self.cond:
                self.msgs.append((time.monotonic(), topic, retained == "1", payload))
                self.cond.notify_all()

    def wait_for(self, topic, pred=lambda p: True, start=0, timeout=harness.TIMEOUT):
        """Index of the first message at >= start on topic whose payload satisfies pred, or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.msgs)):
                    if self.msgs[i][1] == topic and pred(self.msgs[i][3]):
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))

    def count(self):
        with self.cond:
            return len(self.msgs)

    def on(self, topic, start=0):
        with self.cond:
            return [m for m in self.msgs[start:] if m[1] == topic]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


class BlackHole:
    """Accepts TCP connections and never sends a byte; or, with serve, runs
    serve(conn) on a thread of its own for each connection."""

    def __init__(self, serve=None):
        self.serve = serve
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            if self.serve:
                threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def mqtt_config(device, broker_url, extra="", stale_after=None, log_level="debug"):
    text = "[MQTT]\nEnabled=yes\nBroker=%s\nSite=%s\nPingGateway=127.0.0.2\nPingHost=127.0.0.3\n%s" % (
        broker_url, SITE, extra)
    text += "\n[Device]\nSerial=%s\n" % SERIAL
    return harness.config(device, stale_after=stale_after, log_level=log_level, extra=text)


CONNECTED_RX = r"MQTT connected to (\S+):(\d+)"
FAILED_RX = r"MQTT connection to \S+ failed: (.*), retrying in"
