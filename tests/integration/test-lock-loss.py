#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The meter's lock on its serial setting: kept while telegrams come, lost a
minute after the last one. The lock-loss timer is not re-armed per telegram
(it looks at the last telegram when it fires), so telegrams for longer than
that minute must keep the lock, and silence must still lose it, a minute
after the last telegram and not a minute after the lock.

Two daemons run side by side so that the two minutes overlap: one is fed a
telegram a second for 75 s and must keep its lock; the other is fed for 15 s,
then left silent, and must lose its lock when its timer, having moved itself
on at its first firing, finds a minute without telegrams."""

import os
import re
import time

import harness
from harness import Daemon, Pty, Tap, Workdir, feed_until

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
LOST_RX = r"No valid telegram from %s for 60s, detecting the protocol again"
LOSS_SECONDS = 60  # METER_LOCK_LOSS_USEC
KEEP_SECONDS = 75  # past the first minute of the lock, and past its timer's first firing
FEED_SECONDS = 15  # the other meter's telegrams before its silence: its timer's first firing must move on
SILENCE_MAX = 90  # the loss must come this long after the last telegram at the latest


class Meter:
    def __init__(self, binary, w, name):
        self.link = w.join(name)
        self.pty = w.add(Pty(self.link))
        home = w.join(name + ".d")  # a config and state directory of its own
        os.mkdir(home)
        self.d = w.add(Daemon(binary, home, harness.config(self.link, protocol="dsmr", log_level="info")))
        self.lost = LOST_RX % re.escape(self.link)


def main():
    tap = Tap()
    binary = harness.daemon_path()
    with Workdir() as w:
        keep = Meter(binary, w, "ttyKEEP")
        lose = Meter(binary, w, "ttyLOSE")
        tap.on_failure = [lambda: keep.d.dump(tap), lambda: lose.d.dump(tap)]
        raw = harness.testdata(DSMR50)

        i, _ = feed_until(keep.d, keep.pty, raw, r"Receiving DSMR")
        tap.ok(i is not None, "locked on the first telegram")
        i, _ = feed_until(lose.d, lose.pty, raw, r"Receiving DSMR")
        tap.ok(i is not None, "the second meter: locked on the first telegram")
        mark, mark2 = keep.d.count(), lose.d.count()
        t0 = time.monotonic()
        last = t0
        while time.monotonic() - t0 < KEEP_SECONDS:
            keep.pty.write(raw)
            if time.monotonic() - t0 < FEED_SECONDS:
                lose.pty.write(raw)
                last = time.monotonic()
            j, _ = keep.d.wait_for(keep.lost, mark, 1.0)
            if j is not None:
                break
        tap.ok(j is None, "a telegram a second for %d s: the lock is kept" % KEEP_SECONDS)

        j, _ = lose.d.wait_for(lose.lost, mark2, max(0.0, last + SILENCE_MAX - time.monotonic()))
        after = lose.d.times[j] - last if j is not None else None
        tap.ok(j is not None, "silence: the lock is lost ('%s')" % (lose.d.lines[j] if j is not None else None))
        tap.ok(after is not None and after >= LOSS_SECONDS - 1,
               "the loss comes a minute after the last telegram, not after the lock (%s s after it)"
               % (after and "%.1f" % after))
        harness.stop_and_check(tap, keep.d, "lock kept")
        tap.on_failure = [lambda: lose.d.dump(tap)]
        harness.stop_and_check(tap, lose.d, "lock loss")
        tap.on_failure = []
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
