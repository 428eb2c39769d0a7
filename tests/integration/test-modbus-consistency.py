#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every answer comes from exactly one telegram. Two valid telegrams with
different values (the second one made from the first, CRC-16/ARC recomputed)
are written to the pty alternately, as fast as the daemon takes them, while
several clients read the whole EMpro block 0x8000-0x8035 in one request over
and over: every answer must equal one of the two register images, never a mix."""

import importlib.util
import os
import threading
import time

import harness
from harness import Tap, Workdir

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

READERS = 4
DURATION = 4.0  # seconds of alternating telegrams

CHANGES = {  # same widths as in the original telegram
    "1-0:1.8.1": "003433.111", "1-0:1.7.0": "04.691",
    "1-0:32.7.0": "231.2", "1-0:52.7.0": "229.8", "1-0:72.7.0": "233.4",
    "1-0:31.7.0": "005", "1-0:51.7.0": "007", "1-0:71.7.0": "009",
    "1-0:21.7.0": "01.234", "1-0:41.7.0": "01.567", "1-0:61.7.0": "01.890",
}


def reader(port, images, stop, res):
    res.update(n=0, seen={k: 0 for k in images}, bad=[])
    try:
        r = mb.Raw(port)
        while not stop.is_set():
            got = r.read(3, 0x8000, 0x36)
            res["n"] += 1
            for k, img in images.items():
                if got == img:
                    res["seen"][k] += 1
                    break
            else:
                res["bad"].append(got)
        r.close()
    except (OSError, mb.ModbusError) as e:
        res["bad"].append(repr(e))


def main():
    binary = harness.daemon_path()
    tap = Tap()
    raw_a = harness.testdata(mb.METER_RAW)
    raw_b = mb.edit_telegram(raw_a, CHANGES)
    tap.ok(mb.with_crc(mb.telegram_body(raw_a)) == raw_a[raw_a.index(b"/"):],
           "the CRC-16/ARC computed here matches the original telegram's")
    with Workdir() as w:
        d, pty, port = mb.start(tap, binary, w)
        tap.on_failure = [lambda: d.dump(tap)]
        if port is None:
            return tap.done()
        i, va = mb.feed(d, pty, raw_a, 0, harness.telegram_with_p(433))
        tap.ok(i is not None, "telegram A decoded")
        j, vb = mb.feed(d, pty, raw_b, i or 0, harness.telegram_with_p(4691))
        tap.ok(j is not None, "telegram B (edited, new CRC) decoded")
        if i is None or j is None:
            return tap.done()
        tap.ok(str(vb["U1"]) == "231.2" and vb["I3"] == 9 and vb["P2"] == 1567,
               "telegram B's values: U1 231.2 V, I3 9 A, P2 1567 W")
        images = {name: mb.words(mb.image("PhoenixContact-EMPro", v, "")[0], 0x8000, 0x36)
                  for name, v in (("A", va), ("B", vb))}
        tap.ok(all(images["A"][k:k + 2] != images["B"][k:k + 2] for k in (6, 8, 10, 14, 16, 18, 22, 30, 32, 34)),
               "the two images differ in every measured float")

        stop = threading.Event()
        results = [{} for _ in range(READERS)]
        threads = [threading.Thread(target=reader, args=(port, images, stop, results[k]), daemon=True)
                   for k in range(READERS)]
        first = d.count()
        for t in threads:
            t.start()
        t0 = time.monotonic()
        written = 0
        while time.monotonic() - t0 < DURATION:
            if not pty.write(raw_a if written % 2 == 0 else raw_b):
                break
            written += 1
        stop.set()
        for t in threads:
            t.join(harness.TIMEOUT)
        with d.cond:
            decoded = sum(1 for line in d.lines[first:] if "telegram: {" in line)

        n = sum(r.get("n", 0) for r in results)
        bad = [b for r in results for b in r.get("bad", [])]
        seen = {k: sum(r["seen"][k] for r in results if "seen" in r) for k in images}
        tap.diag("%d telegrams written, %d decoded in %.1f s; %d answers: %d A, %d B"
                 % (written, decoded, DURATION, n, seen["A"], seen["B"]))
        tap.ok(not any(t.is_alive() for t in threads), "all %d readers finished" % READERS)
        tap.ok(decoded >= 10, "telegrams alternated while reading (%d decoded)" % decoded)
        tap.ok(n > 0 and not bad, "every one of %d answers equals telegram A's or B's image (%d others)"
               % (n, len(bad)))
        for b in bad[:5]:
            tap.diag("neither A nor B: %r" % (b,))
        tap.ok(seen["A"] > 0 and seen["B"] > 0, "answers from both telegrams were seen (A %d, B %d)"
               % (seen["A"], seen["B"]))
        rc = d.stop()
        tap.ok(rc == 0, "exit status %r after SIGTERM" % rc)
        tap.on_failure = []
        if tap.failed:
            d.dump(tap)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
