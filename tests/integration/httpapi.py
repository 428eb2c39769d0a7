# SPDX-License-Identifier: MIT
"""HTTP pieces of the integration tests: curl as the client (what an admin
would use), the daemon's port from its log, and a daemon with a password."""

import json
import subprocess

import harness

HTTP_RX = r"HTTP API on port (\d+)"
PASSWORD = "Pw-4b9f2e71c0"
MQTT_PASSWORD = "MqPw-7d31aa50e2"


class Api:
    def __init__(self, port, user="user", password=PASSWORD, scheme="http", cacert=None):
        self.base = "%s://127.0.0.1:%d" % (scheme, port)
        self.user, self.password, self.cacert = user, password, cacert
        self.bodies = []  # every body received: secrets must never appear in one

    def call(self, method, path, body=None, auth=True, headers=(), extra=()):
        """(status, headers dict, body bytes); status 0 when curl failed."""
        cmd = ["curl", "-sS", "--max-time", "20", "-X", method, "-D", "-", "-o", "-", "--path-as-is"]
        if method == "HEAD":
            cmd = cmd[:4] + ["-I"] + cmd[6:]
        if self.cacert:
            cmd += ["--cacert", self.cacert]
        if auth is True:
            cmd += ["-u", "%s:%s" % (self.user, self.password)]
        elif auth:
            cmd += ["-u", auth]
        for h in headers:
            cmd += ["-H", h]
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            cmd += ["--data-binary", "@-", "-H", "Content-Type: application/json"]
        cmd += list(extra) + [self.base + path]
        p = subprocess.run(cmd, input=body, capture_output=True, timeout=60)
        return parse_response(p.stdout, self.bodies)

    def json(self, method, path, body=None, **kw):
        st, hdr, raw = self.call(method, path, body, **kw)
        try:
            return st, json.loads(raw.decode()) if raw else None
        except ValueError:
            return st, None


def parse_response(out, bodies=None):
    # Skip "100 Continue" and similar interim heads.
    while out.startswith(b"HTTP/1.1 1"):
        out = out.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in out else b""
    if b"\r\n\r\n" not in out:
        return 0, {}, b""
    head, body = out.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return 0, {}, b""
    hdr = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdr[k.strip().lower()] = v.strip()
    if bodies is not None:
        bodies.append(body)
    return status, hdr, body


def make_cert(cert, key):
    """A self-signed certificate for 127.0.0.1 and its key, made by openssl: whether it worked."""
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, timeout=60)
    return p.returncode == 0


def http_config(device, password=PASSWORD, extra=""):
    text = harness.config(device, extra=extra)
    if password is not None:
        text = text.replace("[HTTP]\n", "[HTTP]\nPassword=%s\n" % password)
    return text


def start(tap, binary, w, text, name="daemon", notify=None, args=None):
    """A daemon and its HTTP port (None when the API did not come up)."""
    d = w.add(harness.Daemon(binary, w.path, text, notify=notify, args=args))
    tap.on_failure = [lambda: d.dump(tap)]
    i, m = d.wait_for(HTTP_RX)
    tap.ok(i is not None, "%s: HTTP API listening" % name)
    return d, int(m.group(1)) if m else None


def overrides_path(w):
    return w.join("state", "overrides.json")


def read_overrides(w):
    try:
        with open(overrides_path(w), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def activated_daemon(binary, workdir, config_text, listener):
    """The daemon with its HTTP listener passed as systemd's socket unit would."""
    return harness.ActivatedDaemon(binary, workdir, config_text, listener, fdname="http")
