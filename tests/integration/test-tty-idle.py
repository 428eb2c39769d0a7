#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The serial line's idle time (2 s at 115200 and 9600 baud) separates frames:
a telegram whose second half comes after a shorter pause is still one
telegram; one whose second half comes after a longer pause is cut, the half
is dropped and the next whole telegram is read as usual. The check of the
idle timer against the last read, which keeps a timer that went pending in
the same loop pass as a read from cutting the frame that read began, must
let both of these through unchanged."""

import time

import harness
from harness import TELEGRAM_RX, Daemon, Pty, Tap, Workdir, feed_until

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"


def halves(tap, d, pty, raw, pause):
    mark = d.count()
    cut = len(raw) // 2
    pty.write(raw[:cut])
    time.sleep(pause)
    pty.write(raw[cut:])
    return d.wait_for(TELEGRAM_RX, mark, 4)[0], mark


def main():
    binary = harness.daemon_path()
    tap = Tap()
    raw = harness.testdata(DSMR50)
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        d = w.add(Daemon(binary, w.path, harness.config(link)))
        tap.on_failure = [lambda: d.dump(tap)]
        i, _ = feed_until(d, pty, raw, TELEGRAM_RX)
        tap.ok(i is not None, "the meter is found")

        i, _ = halves(tap, d, pty, raw, 1.0)
        tap.ok(i is not None, "halves 1 s apart (under the idle time): one telegram")

        i, mark = halves(tap, d, pty, raw, 3.0)
        tap.ok(i is None, "halves 3 s apart (over the idle time): the frame is cut, no telegram")

        mark = d.count()
        pty.write(raw)
        i, _ = d.wait_for(TELEGRAM_RX, mark)
        tap.ok(i is not None, "the next whole telegram is read")

        rc = d.stop()
        tap.ok(rc == 0, "exit status %r after SIGTERM" % rc)
        tap.on_failure = []
    tap.done()


if __name__ == "__main__":
    main()
