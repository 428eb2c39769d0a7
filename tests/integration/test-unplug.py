#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Unplugging the serial adapter is a state, not a failure: the daemon logs the
loss, retries, and reads the new device that appears under the same path.
Also: a device missing at start-up, and one that appears later."""

import re

import harness
from harness import (TELEGRAM_RX, Daemon, Pty, Tap, Workdir, feed_until, telegram_json,
                     telegram_with_p)

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
XS210 = "dsmr/nl_dsmr50_sagemcom-xs210_basjes.raw"


def unplug_and_replug(tap, binary):
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        d = w.add(Daemon(binary, w.path, harness.config(link)))
        tap.on_failure = [lambda: d.dump(tap)]
        q = re.escape(link)

        i, _ = d.wait_for(r"Opened '%s'" % q)
        tap.ok(i is not None, "opened the pty behind the symlink")
        i, _ = feed_until(d, pty, harness.testdata(DSMR50), TELEGRAM_RX)
        tap.ok(i is not None, "first meter decoded")

        mark = d.count()
        pty.unplug()
        i, m = d.wait_for(r"'%s' vanished, retrying in (\d+)s" % q, mark)
        tap.ok(i is not None, "loss logged ('... vanished, retrying in Ns')")

        # A few retries against a missing node must stay quiet and harmless.
        j, _ = d.wait_for(r"Still cannot open '%s'" % q, mark)
        tap.ok(j is not None, "retrying while the device is missing")
        tap.ok(d.proc.poll() is None, "still running without a device")

        mark = d.count()
        pty2 = w.add(Pty(link))
        i, _ = d.wait_for(r"'%s' is back" % q, mark)
        tap.ok(i is not None, "'... is back' logged when the device reappears")

        i, m = feed_until(d, pty2, harness.testdata(XS210), telegram_with_p(335), mark)
        tap.ok(i is not None, "a telegram from the new device is decoded")
        if i is not None:
            got = telegram_json(m)
            tap.ok(got["P"] == 335 and got["E_IMPORT"] == 51.775 and got["E_EXPORT"] == 24.413,
                   "values of the new telegram: P=%r E_IMPORT=%r E_EXPORT=%r"
                   % (got["P"], got["E_IMPORT"], got["E_EXPORT"]))
        j, _ = d.wait_for(r"Receiving DSMR 5\.0 telegrams from %s at .*, meter E0047000007630817" % q,
                          mark, 1)
        tap.ok(j is not None, "the new meter is announced")

        rc = d.stop()
        tap.ok(rc == 0, "exit status %r after SIGTERM" % rc)
        tap.on_failure = []
        if tap.failed:
            d.dump(tap)


def missing_at_start(tap, binary):
    with Workdir() as w:
        link = w.join("ttyACM0")
        d = w.add(Daemon(binary, w.path, harness.config(link)))
        tap.on_failure = [lambda: d.dump(tap)]
        q = re.escape(link)

        i, _ = d.wait_for(r"Cannot open '%s': No such file or directory, retrying in 1s" % q)
        tap.ok(i is not None, "missing device at start: logged, retrying")
        i, _ = d.wait_for(r"running", 0)
        tap.ok(i is not None and d.proc.poll() is None, "missing device at start is not fatal")

        mark = d.count()
        pty = w.add(Pty(link))
        i, _ = d.wait_for(r"Opened '%s'" % q, mark)
        tap.ok(i is not None, "device that appears later is opened")
        i, _ = feed_until(d, pty, harness.testdata(DSMR50), TELEGRAM_RX, mark)
        tap.ok(i is not None, "and read")

        rc = d.stop()
        tap.ok(rc == 0, "exit status %r after SIGTERM" % rc)
        tap.on_failure = []
        if tap.failed:
            d.dump(tap)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    unplug_and_replug(tap, binary)
    missing_at_start(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
