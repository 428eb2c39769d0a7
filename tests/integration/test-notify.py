#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The systemd notify protocol, with an AF_UNIX socket in place of systemd:
READY=1 once the tty is open (or its first open failed), STATUS= in words as
telegrams start, stop (stale), come back and the device goes, STOPPING=1 and
exit status 0 on SIGTERM."""

import re
import signal

import harness
from harness import TELEGRAM_RX, Daemon, Notify, Pty, Tap, Workdir, feed_until

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"


def status_is(text):
    return lambda m: m.get("STATUS") == text


def status_starts(text):
    return lambda m: m.get("STATUS", "").startswith(text)


def lifecycle(tap, binary):
    with Workdir() as w:
        link = w.join("ttyUSB0")
        notify = w.add(Notify(w.join("notify")))
        pty = w.add(Pty(link))
        d = w.add(Daemon(binary, w.path, harness.config(link, stale_after=2), notify=notify))
        tap.on_failure = [lambda: d.dump(tap), lambda: notify.dump(tap)]

        i, m = notify.wait_for(lambda m: "READY" in m)
        tap.ok(m is not None and m["READY"] == "1", "READY=1 sent")
        tap.ok(m is not None and m.get("STATUS") == "no meter data",
               "STATUS with READY=1: %r" % (m or {}).get("STATUS"))
        j, _ = d.wait_for(r"Opened '%s'" % re.escape(link))
        tap.ok(j is not None, "the daemon opened the tty")

        pos = (i or 0) + 1
        feed_until(d, pty, harness.testdata(DSMR50), TELEGRAM_RX)
        i, m = notify.wait_for(status_is("receiving DSMR 5.0 telegrams"), pos)
        tap.ok(i is not None, "STATUS=receiving DSMR 5.0 telegrams")

        # No more telegrams: stale after StaleAfter=2.
        pos = (i or 0) + 1
        i, m = notify.wait_for(status_starts("meter data stale"), pos)
        tap.ok(i is not None, "STATUS says stale when telegrams stop: %r" % (m or {}).get("STATUS"))
        j, _ = d.wait_for(r"meter data stale \(no telegram for 2s\)")
        tap.ok(j is not None, "'meter data stale (no telegram for 2s)' logged")

        pos = (i or 0) + 1
        mark = d.count()
        feed_until(d, pty, harness.testdata(DSMR50), r"meter data fresh again", mark)
        i, m = notify.wait_for(status_is("receiving DSMR 5.0 telegrams"), pos)
        tap.ok(i is not None, "STATUS back to receiving when telegrams return")

        pos = (i or 0) + 1
        pty.unplug()
        i, m = notify.wait_for(status_is("meter device missing, retrying"), pos)
        tap.ok(i is not None, "STATUS=meter device missing, retrying after unplug")

        pos = (i or 0) + 1
        d.signal(signal.SIGTERM)
        i, m = notify.wait_for(lambda m: m.get("STOPPING") == "1", pos)
        tap.ok(i is not None, "STOPPING=1 on SIGTERM")
        rc = d.wait_exit()
        tap.ok(rc == 0, "exit status %r" % rc)
        tap.on_failure = []
        if tap.failed:
            d.dump(tap)
            notify.dump(tap)


def ready_without_device(tap, binary):
    with Workdir() as w:
        link = w.join("nothing-here")
        notify = w.add(Notify(w.join("notify")))
        d = w.add(Daemon(binary, w.path, harness.config(link), notify=notify))
        tap.on_failure = [lambda: d.dump(tap), lambda: notify.dump(tap)]

        i, m = notify.wait_for(lambda m: "READY" in m)
        tap.ok(m is not None and m["READY"] == "1", "READY=1 also when the device is missing")
        tap.ok(m is not None and m.get("STATUS") == "meter device missing, retrying",
               "STATUS with READY=1: %r" % (m or {}).get("STATUS"))

        d.signal(signal.SIGINT)
        i, m = notify.wait_for(lambda m: m.get("STOPPING") == "1")
        tap.ok(i is not None, "STOPPING=1 on SIGINT")
        rc = d.wait_exit()
        tap.ok(rc == 0, "exit status %r after SIGINT" % rc)
        tap.on_failure = []
        if tap.failed:
            d.dump(tap)
            notify.dump(tap)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    lifecycle(tap, binary)
    ready_without_device(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
