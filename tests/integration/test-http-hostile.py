#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile HTTP clients, each followed by a normal request that must still be
served: an oversized body (413, also chunked), oversized headers, slow-loris
clients, many connections, invalid and deep JSON, a wrong Content-Length.
Then HTTPS with a self-signed certificate made by openssl here."""

import base64
import os
import signal
import socket
import time

import harness
import httpapi
from harness import Tap, Workdir, stop_and_check
from httpapi import PASSWORD, Api

AUTH = "Authorization: Basic " + base64.b64encode(("user:" + PASSWORD).encode()).decode()


def still_serving(tap, api, what, src=None):
    t0 = time.monotonic()
    st, s = api.json("GET", "/api/v1/status", extra=("--interface", src) if src else ())
    dt = time.monotonic() - t0
    tap.ok(st == 200 and isinstance(s, dict) and "meter" in s and dt < 3,
           "after %s: a normal request is served (%r, %.2fs)" % (what, st, dt))


def conn(port, src="127.0.0.1"):
    s = socket.socket()
    s.settimeout(10)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_status(s):
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def hostile(tap, api, port):
    # Oversized bodies.
    st, _, _ = api.call("PATCH", "/api/v1/config", "{\"a\":\"" + "x" * 100000 + "\"}")
    tap.ok(st == 413, "100 kB body with Content-Length: 413 (%r)" % st)
    st, _, _ = api.call("PATCH", "/api/v1/config", "{\"a\":\"" + "x" * 100000 + "\"}",
                        headers=["Transfer-Encoding: chunked"])
    tap.ok(st == 413, "100 kB chunked body: 413 (%r)" % st)
    still_serving(tap, api, "oversized bodies")

    # Oversized headers.
    st, _, _ = api.call("GET", "/api/v1/status", headers=["X-Big: " + "h" * 100000])
    tap.ok(st in (0, 413, 431, 400), "100 kB header: refused (%r)" % st)
    s = conn(port)
    s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(5000)) +
              b"\r\n")
    st = read_status(s)
    s.close()
    tap.ok(st in (0, 413, 431, 400), "5000 headers: refused (%r)" % st)
    still_serving(tap, api, "oversized headers")

    # What a browser sends (its usual headers, the page's session cookie and
    # a few more, Basic credentials: about 3 kB) fits the connection's memory.
    browser = [
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
        "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
        "Accept-Language: nl-NL,nl;q=0.9,fr-FR;q=0.8,fr;q=0.7,en-US;q=0.6,en;q=0.5",
        "Accept-Encoding: gzip, deflate, br",
        "Referer: http://127.0.0.1:%d/" % port,
        "sec-ch-ua: \"Not_A Brand\";v=\"8\", \"Chromium\";v=\"120\", \"Google Chrome\";v=\"120\"",
        "sec-ch-ua-mobile: ?0", "sec-ch-ua-platform: \"Linux\"", "Sec-Fetch-Dest: empty",
        "Sec-Fetch-Mode: cors", "Sec-Fetch-Site: same-origin", "Connection: close",
        "Cookie: smartconnect_session=" + "a" * 64 + "; " + "; ".join("other%d=%s" % (i, "v" * 100)
                                                                      for i in range(20)),
        AUTH,
    ]
    s = conn(port)
    head = ("GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "\r\n".join(browser) + "\r\n\r\n").encode()
    s.sendall(head)
    st = read_status(s)
    s.close()
    tap.ok(2500 < len(head) < 3400 and st == 200, "a browser's %d bytes of headers: served (%r)" % (len(head), st))
    # Past it: a clear 431, not a dropped connection. The server closes with
    # part of the request unread, so the client may see a reset instead of
    # the answer: a few tries, and never anything but 431.
    got = []
    for _ in range(3):
        s = conn(port)
        try:
            s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH.encode() +
                      b"\r\nCookie: " + b"c" * 6000 + b"\r\n\r\n")
        except OSError:
            pass
        got.append(read_status(s))
        s.close()
    tap.ok(431 in got and set(got) <= {0, 431}, "6 kB of headers: 431 (%r)" % got)
    still_serving(tap, api, "headers past the connection's memory")

    # Invalid JSON, deep JSON.
    st, r = api.json("PATCH", "/api/v1/config", "{\"MQTT\": [}")
    tap.ok(st == 400 and "invalid JSON" in r.get("error", ""), "invalid JSON: 400 (%r)" % st)
    st, _ = api.json("PATCH", "/api/v1/config", "[" * 100000 + "]" * 100000)
    tap.ok(st == 413, "100,000 nested arrays (200 kB): 413 (%r)" % st)
    st, r = api.json("PATCH", "/api/v1/config", "[" * 30000 + "]" * 30000)
    tap.ok(st == 400 and "depth" in r.get("error", ""), "30,000 nested arrays: 400, depth limit (%r %r)"
           % (st, r and r.get("error")))
    st, r = api.json("PATCH", "/api/v1/config", "{\"a\":" * 10000 + "1" + "}" * 10000)
    tap.ok(st == 400, "10,000 nested objects: 400 (%r)" % st)
    still_serving(tap, api, "invalid and deep JSON")

    # Wrong Content-Length: longer than the body (the server waits, then times out).
    s = conn(port)
    s.sendall(b"PATCH /api/v1/config HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH.encode() +
              b"\r\nContent-Length: 1000\r\n\r\n{}")
    still_serving(tap, api, "a Content-Length longer than the body (connection left open)")
    t0 = time.monotonic()
    st = read_status(s)
    tap.ok(time.monotonic() - t0 < 8, "that connection is closed by the timeout (%r)" % st)
    s.close()
    # Shorter than the body: the rest is a broken second request.
    s = conn(port)
    s.sendall(b"PATCH /api/v1/config HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH.encode() +
              b"\r\nContent-Length: 2\r\n\r\n{}garbage garbage\r\n\r\n")
    st = read_status(s)
    s.close()
    tap.ok(st == 200, "a Content-Length shorter than the body: the first request is answered (%r)" % st)
    still_serving(tap, api, "a Content-Length shorter than the body")

    # Slow loris: connections that send a header line now and then, never
    # finishing; as many as MaxConnectionsPerIP allows from three addresses.
    lorises = []
    for k in range(24):
        try:
            s = conn(port, "127.0.0.%d" % (100 + k % 3))
            s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            lorises.append(s)
        except OSError:
            pass
    t_end = time.monotonic() + 1.5
    while time.monotonic() < t_end:
        for s in lorises:
            try:
                s.sendall(b"X-a: b\r\n")
            except OSError:
                pass
        time.sleep(0.3)
    still_serving(tap, api, "24 slow-loris connections from 3 addresses", src="127.0.0.2")
    time.sleep(3.5)
    closed = 0
    for s in lorises:
        try:
            s.settimeout(0.5)
            s.sendall(b"X-a: b\r\n")
            closed += s.recv(1) == b""
        except OSError:
            closed += 1
        s.close()
    tap.ok(closed == len(lorises), "every slow-loris connection was closed by Timeout= (%d of %d)"
           % (closed, len(lorises)))

    # Many connections: far more than MaxConnections, idle. Past the limit
    # they wait in the listen backlog until it is full.
    many = []
    for k in range(300):
        try:
            s = socket.socket()
            s.setblocking(False)
            s.bind(("127.0.1.%d" % (1 + k % 250), 0))
            s.connect_ex(("127.0.0.1", port))
            many.append(s)
        except OSError:
            break
    tap.ok(len(many) == 300, "%d connection attempts" % len(many))
    time.sleep(0.3)
    for s in many:
        s.close()
    time.sleep(0.3)
    still_serving(tap, api, "300 idle connections")


def https(tap, binary):
    with Workdir() as w:
        cert, key = w.join("cert.pem"), w.join("key.pem")
        if not tap.ok(httpapi.make_cert(cert, key), "openssl made a self-signed certificate"):
            return
        text = httpapi.http_config(w.join("meter")).replace(
            "[HTTP]\n", "[HTTP]\nCertificate=%s\nKey=%s\n" % (cert, key))
        d = w.add(harness.Daemon(binary, w.path, text))
        tap.on_failure = [lambda: d.dump(tap)]
        i, m = d.wait_for(httpapi.HTTP_RX + r", https")
        if not tap.ok(i is not None, "HTTPS: listening, logged as https"):
            d.stop()
            return
        port = int(m.group(1))
        api = Api(port, scheme="https", cacert=cert)
        st, s = api.json("GET", "/api/v1/status")
        tap.ok(st == 200 and "system" in s, "HTTPS: status with the certificate verified (%r)" % st)
        st, _, _ = api.call("GET", "/api/v1/status", auth=None)
        tap.ok(st == 401, "HTTPS: auth still required (%r)" % st)
        st, _, _ = Api(port).call("GET", "/api/v1/status")
        tap.ok(st != 200, "plain HTTP on the HTTPS port is not served (%r)" % st)
        st, _, _ = Api(port, scheme="https").call("GET", "/api/v1/status")
        tap.ok(st == 0, "HTTPS without trusting the certificate fails (%r)" % st)

        # A renewed certificate: SIGHUP reads the files again.
        cert2, key2 = w.join("cert2.pem"), w.join("key2.pem")
        made = httpapi.make_cert(cert2, key2)
        os.replace(cert2, cert)
        os.replace(key2, key)
        mark = d.count()
        d.signal(signal.SIGHUP)
        i, _ = d.wait_for(httpapi.HTTP_RX + r", https", mark)
        st, _, _ = api.call("GET", "/api/v1/status")
        tap.ok(made and i is not None and st == 200,
               "SIGHUP after a certificate renewal: the new certificate is served (%r)" % st)
        stop_and_check(tap, d, "https")


def main():
    binary = harness.daemon_path()
    tap = Tap()

    with Workdir() as w:
        text = httpapi.http_config(w.join("meter")).replace(
            "[HTTP]\n", "[HTTP]\nTimeout=2\nMaxConnections=32\nMaxConnectionsPerIP=8\n")
        d, port = httpapi.start(tap, binary, w, text)
        if port:
            hostile(tap, Api(port), port)
        stop_and_check(tap, d, "hostile clients")
    https(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
