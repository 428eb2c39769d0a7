#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""DNS rebinding and cross-site requests: a Host that does not name this
gateway gets 421 with a JSON error, even with a matching Origin (a page of
evil.example whose name now resolves to us); the gateway's own names work
(loopback address, localhost, host name, <mDNS Name>.local, [HTTP]
AllowedHosts=, also after SIGHUP); a state-changing request without Origin is
refused when its Referer is another site; two Origin headers are refused."""

import base64
import json
import signal
import socket

import harness
import httpapi
from harness import Tap, Workdir, stop_and_check
from httpapi import PASSWORD, Api

AUTH = "Basic " + base64.b64encode(("user:" + PASSWORD).encode()).decode()


def raw(port, method, headers):
    """(status, JSON body or None) of a request with exactly these header lines."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    lines = ["%s /api/v1/%s HTTP/1.1" % (method, "reset" if method == "POST" else "status")]
    lines += headers + ["Authorization: " + AUTH, "Content-Length: 0", "Connection: close", "", ""]
    s.sendall("\r\n".join(lines).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    st, _, body = httpapi.parse_response(data)
    try:
        return st, json.loads(body.decode())
    except ValueError:
        return st, None


def hosts(tap, port, d):
    st, j = raw(port, "POST", ["Host: evil.example", "Origin: http://evil.example"])
    tap.ok(st in (421, 403) and isinstance(j, dict) and "error" in j,
           "POST /api/v1/reset with Host: evil.example and a matching Origin: refused with JSON (%r %r)" % (st, j))
    st, j = raw(port, "GET", ["Host: evil.example:%d" % port])
    tap.ok(st == 421 and isinstance(j, dict) and "error" in j, "GET with Host: evil.example: 421 (%r %r)" % (st, j))
    for name in ("127.0.0.1:%d" % port, "127.0.0.1", "localhost:%d" % port, "LocalHost", "[::1]:%d" % port,
                 socket.gethostname(), "smart-connect.local", "Smart-Connect.local."):
        st, _ = raw(port, "GET", ["Host: " + name])
        tap.ok(st == 200, "Host: %s is served (%r)" % (name, st))
    st, j = Api(port).json("GET", "/api/v1/status")
    tap.ok(st == 200, "curl to 127.0.0.1:%d still works (%r)" % (port, st))
    addr = ((j or {}).get("network") or {}).get("address")
    if addr:  # an address of an interface, as the status reports it
        st, _ = raw(port, "GET", ["Host: %s:%d" % (addr, port)])
        tap.ok(st == 200, "Host: %s (this machine's interface) is served (%r)" % (addr, st))
    st, _ = Api(port).json("POST", "/api/v1/reset", body="")
    tap.ok(st == 202, "POST /api/v1/reset from curl (no Origin, no Referer): 202 (%r)" % st)

    me = "127.0.0.1:%d" % port
    st, _ = raw(port, "POST", ["Host: " + me, "Referer: http://evil.example/page.html"])
    tap.ok(st == 403, "POST without Origin, Referer of another site: 403 (%r)" % st)
    st, _ = raw(port, "POST", ["Host: " + me, "Referer: http://%s/" % me])
    tap.ok(st == 202, "POST without Origin, Referer of this gateway: 202 (%r)" % st)
    st, _ = raw(port, "POST", ["Host: " + me, "Origin: http://" + me, "Origin: http://" + me])
    tap.ok(st == 403, "two Origin headers: 403 (%r)" % st)
    st, _ = raw(port, "POST", ["Host: " + me, "Origin: http://" + me])
    tap.ok(st == 202, "one matching Origin: 202 (%r)" % st)


def allowed(tap, port, d, w):
    for name in ("gw.example.test", "GW.Example.Test.:%d" % port, "192.0.2.1:%d" % port):
        st, _ = raw(port, "GET", ["Host: " + name])
        tap.ok(st == 200, "AllowedHosts: Host: %s is served (%r)" % (name, st))
    st, _ = raw(port, "GET", ["Host: 198.51.100.7"])
    tap.ok(st == 421, "Host: 198.51.100.7 (not ours, not allowed): 421 (%r)" % st)
    d.write_config(httpapi.http_config(w.join("meter")).replace("[HTTP]\n", "[HTTP]\nAllowedHosts=other.test\n"))
    mark = d.count()
    d.signal(signal.SIGHUP)
    i, _ = d.wait_for(r"[Rr]eload", mark)
    st_new, _ = raw(port, "GET", ["Host: other.test"])
    st_old, _ = raw(port, "GET", ["Host: gw.example.test"])
    tap.ok(i is not None and st_new == 200 and st_old == 421,
           "after SIGHUP with AllowedHosts=other.test: other.test served, gw.example.test 421 (%r %r)"
           % (st_new, st_old))


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        d, port = httpapi.start(tap, binary, w, httpapi.http_config(w.join("meter")))
        if port:
            hosts(tap, port, d)
        stop_and_check(tap, d, "host names")
    with Workdir() as w:
        text = httpapi.http_config(w.join("meter")).replace(
            "[HTTP]\n", "[HTTP]\nAllowedHosts=gw.example.test, 192.0.2.1\n")
        d, port = httpapi.start(tap, binary, w, text, name="AllowedHosts")
        if port:
            allowed(tap, port, d, w)
        stop_and_check(tap, d, "allowed hosts")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
