#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""SIGHUP reloads the configuration as a transaction: a changed Device switches
to the new pty; a broken file is reported (file, line, key) and the running
configuration stays, and so does the daemon."""

import re
import signal

import harness
from harness import (TELEGRAM_RX, Daemon, Notify, Pty, Tap, Workdir, feed_until, telegram_json,
                     telegram_with_p)

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
KAIFA42 = "dsmr/nl_dsmr42_kaifa_dsmrparser.raw"
XS210 = "dsmr/nl_dsmr50_sagemcom-xs210_basjes.raw"


def wait_reload(tap, notify, pos, what):
    """RELOADING=1 then READY=1, both after message index pos. Returns the next index."""
    i, _ = notify.wait_for(lambda m: m.get("RELOADING") == "1", pos)
    tap.ok(i is not None, "%s: RELOADING=1" % what)
    j, _ = notify.wait_for(lambda m: m.get("READY") == "1", (i or pos) + 1)
    tap.ok(j is not None, "%s: READY=1 after the reload" % what)
    return (j or pos) + 1


def main():
    binary = harness.daemon_path()
    tap = Tap()

    with Workdir() as w:
        link_a, link_b = w.join("meterA"), w.join("meterB")
        notify = w.add(Notify(w.join("notify")))
        pty_a = w.add(Pty(link_a))
        pty_b = w.add(Pty(link_b))
        d = w.add(Daemon(binary, w.path, harness.config(link_a), notify=notify))
        tap.on_failure = [lambda: d.dump(tap), lambda: notify.dump(tap)]

        i, _ = notify.wait_for(lambda m: m.get("READY") == "1")
        tap.ok(i is not None, "started")
        pos = (i or 0) + 1
        i, _ = feed_until(d, pty_a, harness.testdata(DSMR50), TELEGRAM_RX)
        tap.ok(i is not None, "meter A decoded")

        # 1. Another device.
        mark = d.count()
        d.write_config(harness.config(link_b))
        d.signal(signal.SIGHUP)
        pos = wait_reload(tap, notify, pos, "new Device")
        i, _ = d.wait_for(r"Meter device is now '%s'" % re.escape(link_b), mark)
        tap.ok(i is not None, "switch to the new device logged")
        i, _ = d.wait_for(r"Opened '%s'" % re.escape(link_b), mark)
        tap.ok(i is not None, "new device opened")
        i, m = feed_until(d, pty_b, harness.testdata(KAIFA42), telegram_with_p(2027), mark)
        tap.ok(i is not None and telegram_json(m)["E_IMPORT"] == 3016.829,
               "telegram from the new device decoded (P=2027, E_IMPORT=3016.829)")
        i, _ = d.wait_for(r"Receiving DSMR 4\.2 telegrams from %s" % re.escape(link_b), mark, 1)
        tap.ok(i is not None, "'Receiving DSMR 4.2 telegrams from <new device>' logged")

        # 2. A broken file: reported, and nothing changes.
        mark = d.count()
        broken = harness.config(link_a).replace("Protocol=auto", "Protocol=dsmr5")
        line = broken.splitlines().index("Protocol=dsmr5") + 1
        d.write_config(broken)
        d.signal(signal.SIGHUP)
        pos = wait_reload(tap, notify, pos, "broken file")
        i, _ = d.wait_for(r"%s:%d: \[Meter\] Protocol: unknown value 'dsmr5'"
                          % (re.escape(d.config), line), mark)
        tap.ok(i is not None, "the error names file, line %d and key" % line)
        i, _ = d.wait_for(r"Reload failed, keeping the running configuration", mark)
        tap.ok(i is not None, "'Reload failed, keeping the running configuration' logged")
        tap.ok(d.proc.poll() is None, "still running after a broken reload")
        j, _ = d.wait_for(r"Meter device is now", mark, 0.5)
        tap.ok(j is None, "no device switch from a broken file")

        mark = d.count()
        i, m = feed_until(d, pty_b, harness.testdata(XS210), telegram_with_p(335), mark)
        tap.ok(i is not None, "still reading the device of the running configuration")

        # 3. The same (valid) file again: a reload that changes nothing.
        mark = d.count()
        d.write_config(harness.config(link_b))
        d.signal(signal.SIGHUP)
        pos = wait_reload(tap, notify, pos, "unchanged file")
        i, _ = d.wait_for(r"Configuration reloaded, changed: nothing", mark)
        tap.ok(i is not None, "an unchanged file changes nothing")

        rc = d.stop()
        tap.ok(rc == 0, "exit status %r after SIGTERM" % rc)
        tap.on_failure = []
        if tap.failed:
            d.dump(tap)
            notify.dump(tap)

    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
