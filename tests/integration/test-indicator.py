#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The status LED through the LED class, against a directory the test makes
with the LED class files (no LED in CI; boxlib.py). The daemon runs in a
network namespace of its own, where the test adds and removes the default
route on lo, so "network up" (an IPv4 address and a default route) is the
test's to choose. A real pty meter gives data, no data and stale data.
Checked after each transition: brightness, trigger, delay_on/delay_off;
identify; no write while the state stays (mtimes); off after SIGTERM."""

import os
import subprocess
import sys
import time

import boxlib
import harness
import httpapi
from harness import Tap, Workdir

B = boxlib


def enter_namespace():
    env = dict(os.environ, SMARTCONNECT_LED_NS="1")
    cmd = ["unshare", "--net", "--fork", "--kill-child"]
    if os.geteuid() != 0:
        cmd[1:1] = ["--user", "--map-root-user"]
    return subprocess.call(cmd + [sys.executable] + sys.argv, env=env)


def route(up):
    subprocess.run(["ip", "route", "del", "default"], stderr=subprocess.DEVNULL)
    if up:
        subprocess.run(["ip", "route", "add", "default", "dev", "lo"], check=True)


def expect(tap, root, want, what, timeout=10):
    ok, got = B.wait_leds(root, want, timeout)
    if not tap.ok(ok, "%s: LED %s" % (what, " / ".join(want))):
        tap.diag("files show %s" % (got,))


def no_writes(tap, root, seconds, what):
    before = B.mtimes(root)
    time.sleep(seconds)
    tap.ok(B.mtimes(root) == before, "%s: no LED write in %.0f s while the state stays" % (what, seconds))


def run(tap, binary, w):
    root = w.join("leds")
    B.make_leds(root)
    pty = w.add(harness.Pty(w.join("ttyMETER")))
    text = httpapi.http_config(pty.link, extra=B.indicator_config(root)).replace(
        "Protocol=auto\n", "Protocol=dsmr\nStaleAfter=2s\n")
    feeder = w.add(B.Feeder(pty, B.meter_data()))
    route(True)
    d, port = httpapi.start(tap, binary, w, text)
    if port is None:
        return
    api = httpapi.Api(port)
    i, _ = d.wait_for(r"LED: starting")
    j, _ = d.wait_for(r"LED: initialising")
    tap.ok(i is not None and j is not None and i < j, "steady red while starting, then initialising")
    expect(tap, root, B.INITIALISING, "initialising (colours cycling)")

    feeder.on.set()
    expect(tap, root, B.NORMAL, "meter data, network up")
    no_writes(tap, root, 4, "normal, telegrams arriving")
    st, js = api.json("GET", "/api/v1/status")
    tap.ok(st == 200 and js["system"]["led"] == "normal", "status: system.led normal")

    feeder.on.clear()
    expect(tap, root, B.NO_DATA, "stale data (red/green)")
    no_writes(tap, root, 4.5, "no data")

    route(False)
    expect(tap, root, B.NO_DATA_NO_IP, "stale, no default route (red/orange)")
    feeder.on.set()
    expect(tap, root, B.NO_IP, "meter data, no default route (green/orange)")
    route(True)
    expect(tap, root, B.NORMAL, "default route back")

    st, _ = api.json("POST", "/api/v1/identify")
    tap.ok(st == 202, "POST /api/v1/identify: 202")
    expect(tap, root, B.IDENTIFY, "identify (4 Hz, every colour)", timeout=3)
    t0 = time.monotonic()
    expect(tap, root, B.NORMAL, "the state again after identify", timeout=15)
    tap.ok(time.monotonic() - t0 >= 8, "identify lasted about 10 s (%.1f s seen)" % (time.monotonic() - t0 + 0.5))

    feeder.on.clear()
    pty.unplug()
    expect(tap, root, B.NO_DATA, "meter device gone")
    harness.stop_and_check(tap, d, "LED")
    tap.ok(B.leds(root) == B.OFF, "every LED off after SIGTERM")


def main():
    if not os.environ.get("SMARTCONNECT_LED_NS"):
        return enter_namespace()
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    tap = Tap()
    tap.diag("LED class stand-in: plain files in a test directory (no LED device in CI)")
    with Workdir() as w:
        run(tap, sys.argv[1], w)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
