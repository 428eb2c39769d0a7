#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A live stream whose reader stops for good is dropped after about 120 s
without progress, and only that one: a client with a small receive window
opens GET /api/v1/live and never reads, while a flood of telegrams fills its
window, the daemon's send buffer and its event queue; a second stream (curl
-N) reads all along. The stalled stream is still open a minute and a half
after the flood (a reader that pauses is not dropped), gone well before
200 s (the daemon's memory is not held by a client that left), and the
reading stream keeps getting one event per telegram throughout. Takes about
2.5 minutes of wall time, mostly sleeping."""

import base64
import importlib.util
import os
import re
import socket
import time

import harness
import httpapi
from harness import Pty, Tap, Workdir, feed_until, stop_and_check

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("live", os.path.join(HERE, "test-live.py"))
live = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(live)

FLOOD = 300
KEPT_AT = 90      # seconds after the flood: the stalled stream must still be open
GONE_BY = 200     # seconds after the flood: it must be gone


def live_clients(api):
    _, _, page = api.call("GET", "/metrics")
    m = re.search(rb"^smartconnect_http_live_clients (\d+)", page, re.M)
    return int(m.group(1)) if m else None


def stalled_stream(port):
    """A client that sends the request and then never reads, with a tiny window."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(("127.0.0.1", port))
    auth = base64.b64encode(("user:" + httpapi.PASSWORD).encode()).decode()
    s.sendall(("GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic %s\r\n\r\n"
               % auth).encode())
    return s


def drained_to_eof(s):
    """Everything the server left in the socket, then its end (None: no end within the timeout)."""
    s.settimeout(harness.TIMEOUT)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
    except OSError:
        return None


def main():
    binary = harness.daemon_path()
    tap = Tap()
    good = harness.testdata(live.DSMR50)
    with Workdir() as w:
        pty = w.add(Pty(w.join("ttyUSB0")))
        d, port = httpapi.start(tap, binary, w, httpapi.http_config(pty.link))
        i, _ = feed_until(d, pty, good, r"Receiving DSMR 5\.0 telegrams")
        tap.ok(i is not None, "the meter is found")
        api = httpapi.Api(port)
        reader = live.Stream(port)
        tap.ok(reader.wait(lambda: reader.named("status")), "the reading stream is open")
        stalled = stalled_stream(port)
        t = time.monotonic()
        while live_clients(api) != 2 and time.monotonic() - t < harness.TIMEOUT:
            time.sleep(0.1)
        tap.ok(live_clients(api) == 2, "the stalled stream is open too")

        before = len(reader.named("power_instant"))
        for _ in range(FLOOD):
            pty.write(good)
            time.sleep(0.02)
        flood_end = time.monotonic()
        tap.ok(reader.wait(lambda: len(reader.named("power_instant")) >= before + FLOOD * 0.9),
               "the reading stream got the flood (%d events)" % (len(reader.named("power_instant")) - before))

        # One telegram a second from now on, as a meter sends them.
        kept = gone = None
        while time.monotonic() - flood_end < GONE_BY:
            pty.write(good)
            time.sleep(1)
            n = live_clients(api)
            age = time.monotonic() - flood_end
            if kept is None and age >= KEPT_AT:
                kept = n == 2
            if n == 1 and gone is None:
                gone = age
                break
        tap.ok(kept, "%d s after the flood the stalled stream is still open" % KEPT_AT)
        tap.ok(gone is not None and gone >= KEPT_AT,
               "the stalled stream is dropped %s s after the flood (timeout 120 s without progress)"
               % (gone and "%.0f" % gone))
        rest = drained_to_eof(stalled)
        tap.ok(rest is not None and rest.startswith(b"HTTP/1.1 200"),
               "the stalled client finds the data it left unread, then the end (%s bytes)"
               % (rest and len(rest)))
        stalled.close()
        n = len(reader.named("power_instant"))
        pty.write(good)
        tap.ok(reader.wait(lambda: len(reader.named("power_instant")) == n + 1),
               "the reading stream is unaffected: one event for the next telegram")
        reader.close()
        stop_and_check(tap, d, "live stall")
    tap.done()


if __name__ == "__main__":
    main()
