#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The systemd notify protocol, with an AF_UNIX socket in place of systemd:
READY=1 once the tty is open (or its first open failed), STATUS= in words as
telegrams start, stop (stale), come back and the device goes, and as Modbus
clients come and go; RELOADING=1 and READY=1 around SIGHUP; WATCHDOG=1 at
least every WATCHDOG_USEC/2 when WATCHDOG_PID is the daemon's, none when it is
another process's; STOPPING=1 and exit status 0 on SIGTERM."""

import os
import re
import signal
import socket
import time

import harness
from harness import TELEGRAM_RX, Daemon, Notify, Pty, Tap, Workdir, feed_until, stop_and_check

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


def modbus_clients(tap, binary):
    with Workdir() as w:
        link = w.join("ttyUSB0")
        notify = w.add(Notify(w.join("notify")))
        pty = w.add(Pty(link))
        d = w.add(Daemon(binary, w.path, harness.config(link, stale_after=30), notify=notify))
        tap.on_failure = [lambda: d.dump(tap), lambda: notify.dump(tap)]

        _, m = d.wait_for(r"Modbus TCP server on port (\d+)")
        port = int(m.group(1)) if m else 0
        feed_until(d, pty, harness.testdata(DSMR50), TELEGRAM_RX)
        meter = "receiving DSMR 5.0 telegrams"
        pos, _ = notify.wait_for(status_is(meter))
        tap.ok(pos is not None, "modbus: STATUS=%s before any client" % meter)

        clients = []
        for n, text in ((1, "1 Modbus client"), (2, "2 Modbus clients")):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT))
            i, _ = notify.wait_for(status_is("%s; %s" % (meter, text)), (pos or 0) + 1)
            tap.ok(i is not None, "modbus: STATUS=%s; %s" % (meter, text))
            pos = i or pos

        d.signal(signal.SIGHUP)
        i, _ = notify.wait_for(lambda m: m.get("RELOADING") == "1", (pos or 0) + 1)
        tap.ok(i is not None, "modbus: RELOADING=1 on SIGHUP")
        j, m = notify.wait_for(lambda m: m.get("READY") == "1", (i or pos or 0) + 1)
        tap.ok(m is not None and m.get("STATUS") == meter + "; 2 Modbus clients",
               "modbus: READY=1 after the reload, STATUS %r" % (m or {}).get("STATUS"))
        pos = j or pos

        for text in ("1 Modbus client", None):
            clients.pop().close()
            want = "%s; %s" % (meter, text) if text else meter
            i, _ = notify.wait_for(status_is(want), (pos or 0) + 1)
            tap.ok(i is not None, "modbus: STATUS=%s after a client left" % want)
            pos = i or pos
        stop_and_check(tap, d, "modbus")


def watchdog_gaps(notify, start):
    times = [m["_t"] for m in notify.messages[start:] if m.get("WATCHDOG") == "1"]
    return times, [b - a for a, b in zip(times, times[1:])]


def watchdog(tap, binary):
    usec = 2000000
    with Workdir() as w:
        notify = w.add(Notify(w.join("notify")))
        d = w.add(Daemon(binary, w.path, harness.config(w.join("nothing-here")), notify=notify,
                         env={"WATCHDOG_USEC": str(usec)}, pid_env=["WATCHDOG_PID"]))
        tap.on_failure = [lambda: d.dump(tap), lambda: notify.dump(tap)]

        i, _ = notify.wait_for(lambda m: m.get("READY") == "1")
        tap.ok(i is not None, "watchdog: READY=1")
        t0 = time.monotonic()
        time.sleep(6.5)
        times, gaps = watchdog_gaps(notify, 0)
        first = times[0] - t0 if times else None
        tap.diag("WATCHDOG=1 gaps (s): %s" % " ".join("%.3f" % g for g in gaps))
        tap.ok(len(times) >= 6, "watchdog: %d WATCHDOG=1 in 6.5 s with WATCHDOG_USEC=2 s" % len(times))
        tap.ok(first is not None and first <= usec / 2e6,
               "watchdog: the first one within WATCHDOG_USEC/2 of READY=1 (%r s)" % first)
        tap.ok(gaps and max(gaps) <= usec / 2e6 + 0.05,
               "watchdog: never more than WATCHDOG_USEC/2 apart (max %.3f s)" % max(gaps or [0]))
        stop_and_check(tap, d, "watchdog")

    with Workdir() as w:
        notify = w.add(Notify(w.join("notify")))
        # WATCHDOG_PID names another process: the variables were not meant for us.
        d = w.add(Daemon(binary, w.path, harness.config(w.join("nothing-here")), notify=notify,
                         env={"WATCHDOG_USEC": str(usec), "WATCHDOG_PID": str(os.getpid())}))
        tap.on_failure = [lambda: d.dump(tap), lambda: notify.dump(tap)]
        i, _ = notify.wait_for(lambda m: m.get("READY") == "1")
        time.sleep(2.5)
        times, _ = watchdog_gaps(notify, 0)
        tap.ok(i is not None and not times, "watchdog: none when WATCHDOG_PID is another process (%d)" % len(times))
        stop_and_check(tap, d, "watchdog, other pid")


def main():
    binary = harness.daemon_path()
    tap = Tap()
    lifecycle(tap, binary)
    ready_without_device(tap, binary)
    modbus_clients(tap, binary)
    watchdog(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
