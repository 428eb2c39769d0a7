#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The login lockout against many sources: an address locked by its failures
stays locked while 70 other loopback addresses (127.0.0.0/8) guess in turn;
the number of wrong logins checked per second, all sources together, stays
within the global bound (20 per second plus one burst of 20), the rest get
429 at once; and the auth scheme name is matched in any case (RFC 7617)."""

import base64
import http.client
import time

import harness
import httpapi
from harness import Tap, Workdir, stop_and_check
from httpapi import PASSWORD

LOCKED = "127.0.0.2"
SOURCES = ["127.0.0.%d" % n for n in range(10, 80)]  # 70 addresses
PER_SEC = 20


def request(port, src, password, scheme="Basic"):
    """(status, seconds) of GET /api/v1/status from src; status 0 on failure."""
    cred = base64.b64encode(("user:" + password).encode()).decode()
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(src, 0))
        c.request("GET", "/api/v1/status", headers={"Authorization": "%s %s" % (scheme, cred)})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status, time.monotonic() - t0
    except OSError:
        return 0, time.monotonic() - t0


def lock(tap, port):
    """Lock LOCKED for 4 s: five failures (1 s), then one more after each lock."""
    sts = [request(port, LOCKED, "wrong")[0] for _ in range(5)]
    for wait in (1.1, 2.1):
        time.sleep(wait)
        sts.append(request(port, LOCKED, "wrong")[0])
    st, _ = request(port, LOCKED, PASSWORD)
    return tap.ok(sts == [401] * 7 and st == 429,
                  "%s: 7 wrong logins, then even the right password gets 429 (%r, %r)" % (LOCKED, sts, st))


def rotate(port, seconds):
    """Wrong logins round-robin over SOURCES for at most seconds and 5000 requests:
    the statuses in the order sent, the slowest 429 and the time taken."""
    got, slowest_429 = [], 0.0
    t0 = time.monotonic()
    t_end = t0 + seconds
    k = 0
    while time.monotonic() < t_end and k < 5000:
        st, dt = request(port, SOURCES[k % len(SOURCES)], "guess-%d" % k)
        got.append(st)
        if st == 429:
            slowest_429 = max(slowest_429, dt)
        k += 1
    return got, slowest_429, time.monotonic() - t0


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        d, port = httpapi.start(tap, binary, w, httpapi.http_config(w.join("meter")))
        if port:
            for scheme in ("basic", "BASIC", "bAsIc"):
                st, _ = request(port, "127.0.0.3", PASSWORD, scheme)
                tap.ok(st == 200, "auth scheme '%s' is accepted (%r)" % (scheme, st))
            if lock(tap, port):
                got, _, _ = rotate(port, 0.5)
                st, _ = request(port, LOCKED, PASSWORD)
                tap.ok(st == 429, "after %d wrong logins from %d other addresses %s is still locked (%r)"
                       % (len(got), len(SOURCES), LOCKED, st))
            time.sleep(1.1)
            got, slowest, took = rotate(port, 3.0)
            checked = got.count(401)
            bound = int(took * PER_SEC) + PER_SEC + 2
            tap.diag("%.2f s of guesses from %d addresses: %d sent, %d checked (401), %d refused (429)"
                     % (took, len(SOURCES), len(got), checked, got.count(429)))
            tap.ok(checked <= bound, "at most %d wrong logins checked in %.2f s, all sources together (%d)"
                   % (bound, took, checked))
            tap.ok(got.count(429) > 0 and slowest < 0.5,
                   "the others got 429 at once (%d, slowest %.3fs)" % (got.count(429), slowest))
            tap.ok(set(got) <= {401, 429}, "every guess got 401 or 429 (%r)" % sorted(set(got)))
            time.sleep(1.1)
            st, _ = request(port, "127.0.0.4", PASSWORD)
            tap.ok(st == 200, "a second after the guessing, the right password works (%r)" % st)
        stop_and_check(tap, d, "lockout")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
