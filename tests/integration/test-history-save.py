#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The periodic history save does not hold up the loop.

SaveInterval=1 and the state directory's history.tmp made a FIFO nobody
reads: the save process blocks in open() for as long as the test wants, as a
slow SD card would in write() and fsync(). Meanwhile the daemon answers every
Modbus read with the values of the telegrams it keeps receiving (with the
save in the loop, the first read would wait forever), keeps exactly one save
process however many intervals pass, and says it skips the others. Then the
test reads the FIFO: the child writes a history file into it, fails at
fsync() (a FIFO cannot be synced) and the daemon logs the failure; the FIFO
gone, the next save writes the file. Stopped while a save is stuck, the
daemon ends the child and saves itself; a restart restores the file."""

import os
import time

import importlib.util

import harness
from harness import Tap, Workdir, stop_and_check

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

READS = 200


def children(pid):
    kids = []
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, task)) as f:
            kids += [int(x) for x in f.read().split()]
    return kids


def main():
    binary = harness.daemon_path()
    tap = Tap()
    with Workdir() as w:
        os.mkdir(w.join("state"), 0o750)
        fifo = w.join("state", "history.tmp")
        os.mkfifo(fifo, 0o600)
        d, pty, port = mb.start(tap, binary, w, extra_modbus="\n[History]\nSaveInterval=1\n", name="save")
        tap.on_failure = [lambda: d.dump(tap)]
        raw = harness.testdata(mb.METER_RAW)
        i, v = mb.feed(d, pty, raw)
        tap.ok(i is not None, "telegram decoded")
        i, _ = d.wait_for(r"The previous history save is still running, this one skipped")
        kids = children(d.proc.pid)
        tap.ok(i is not None and len(kids) == 1, "one save process blocked on the FIFO, the next interval "
               "skipped (children %s)" % kids)

        want = mb.words(mb.image("PhoenixContact-EMPro", v, "")[0], 0x8000, 0x36)
        r = mb.Raw(port)
        worst = 0.0
        answered = 0
        skips = d.count()
        for k in range(READS):
            if k % 20 == 0:
                pty.write(raw)
            t0 = time.monotonic()
            got = r.read(4, 0x8000, 0x36)
            worst = max(worst, time.monotonic() - t0)
            answered += got == want
        tap.diag("slowest of %d reads while the save was blocked: %.1f ms" % (READS, worst * 1000))
        kids_after = children(d.proc.pid)
        tap.ok(answered == READS, "all %d Modbus reads answered with the meter's values while the save "
               "was blocked (%d)" % (READS, answered))
        tap.ok(kids_after == kids, "still the same single save process (%s)" % kids_after)
        tap.ok(d.wait_for(r"this one skipped", skips)[0] is not None, "later intervals skipped too")

        start = d.count()
        with open(fifo, "rb") as f:
            data = f.read()
        tap.ok(data.startswith(b"SCHIST\r\n") and len(data) >= 40, "the child wrote a history file into the "
               "FIFO (%d bytes)" % len(data))
        i, _ = d.wait_for(r"Cannot save the history to '.*history': Invalid argument", start)
        tap.ok(i is not None, "the child's failure (fsync on a FIFO) logged by the daemon")
        i, _ = d.wait_for(r"History saved to '.*history' by process \d+", start)
        path = w.join("state", "history")
        tap.ok(i is not None and os.path.isfile(path) and not os.path.exists(fifo),
               "the next save writes the file, no temporary left")
        r.close()

        # Stopped while a save is stuck: the child is ended, the daemon saves in its place.
        os.mkfifo(fifo, 0o600)
        i, _ = d.wait_for(r"this one skipped", d.count())
        kids = children(d.proc.pid)
        tap.ok(i is not None and len(kids) == 1, "a save stuck again (children %s)" % kids)
        os.unlink(fifo)  # the stuck child still waits on the FIFO's inode; the shutdown save makes a file
        mark = d.count()
        stop_and_check(tap, d, "save")
        i, _ = d.wait_for(r"History saved to '[^']*history'\s*$", mark, timeout=1)
        tap.ok(kids and not os.path.exists("/proc/%d" % kids[0]) and i is not None and os.path.isfile(path) and
               not os.path.exists(fifo), "at SIGTERM the stuck save was ended and the daemon saved itself")
        d, pty, port = mb.start(tap, binary, w, extra_modbus="\n[History]\nSaveInterval=0\n", name="restart")
        i, _ = d.wait_for(r"History restored from '.*history'")
        tap.ok(i is not None, "restored at the restart")
        stop_and_check(tap, d, "restart")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
