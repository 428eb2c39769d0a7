#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The meter's lock on its serial setting: kept while telegrams come, lost a
minute after the last one. The lock-loss timer is not re-armed per telegram
(it looks at the last telegram when it fires), so telegrams for longer than
that minute must keep the lock, and silence must still lose it."""

import re
import time

import harness
from harness import Daemon, Pty, Tap, Workdir, feed_until

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
LOST_RX = r"No valid telegram from %s for 60s, detecting the protocol again"
KEEP_SECONDS = 75  # past the first minute of the lock, and past its timer's first firing


def main():
    tap = Tap()
    binary = harness.daemon_path()
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        d = w.add(Daemon(binary, w.path, harness.config(link, protocol="dsmr", log_level="info")))
        tap.on_failure = [lambda: d.dump(tap)]
        raw = harness.testdata(DSMR50)
        lost = LOST_RX % re.escape(link)

        i, _ = feed_until(d, pty, raw, r"Receiving DSMR")
        tap.ok(i is not None, "locked on the first telegram")
        mark = d.count()
        t0 = time.monotonic()
        while time.monotonic() - t0 < KEEP_SECONDS:
            pty.write(raw)
            j, _ = d.wait_for(lost, mark, 1.0)
            if j is not None:
                break
        tap.ok(j is None, "a telegram a second for %d s: the lock is kept" % KEEP_SECONDS)

        mark = d.count()
        j, _ = d.wait_for(lost, mark, 90)
        tap.ok(j is not None, "silence: the lock is lost ('%s')" % (d.lines[j] if j is not None else None))
        harness.stop_and_check(tap, d, "lock loss")
        tap.on_failure = []
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
