#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A client that never reads (a small receive buffer, no recv) while the meter
sends 300 distinct DSMR telegrams, one every 10 ms. The three other clients get
every telegram byte for byte; the daemon keeps decoding at the pace of the
meter; its memory stays bounded; the drop is logged once. When the slow client
finally reads (while 50 more telegrams come), it gets whole telegrams with a
gap, in order, each passing its CRC and equal to one that was sent, and
nothing else: the old ones it had queued, then the new ones."""

import re
import time

import harness
import ptlib
from harness import Tap, Workdir

METER = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
N = 300
MORE = 50
PACE = 0.010
RSS_BOUND_KIB = 2048
# What may wait for a client that never reads: QueueSize, the kernel's send
# buffer (the daemon sets 32 KiB, the kernel doubles it), the client's receive
# buffer (4096, doubled), and one telegram in flight.
HELD_BOUND = 16384 + 2 * 32768 + 2 * 4096 + 2048


def main():
    binary = harness.daemon_path()
    tap = Tap()
    name = "never-reading client"
    with Workdir() as w:
        d, pty, port = ptlib.start(tap, binary, w, "Listen=127.0.0.1:0\nQueueSize=16384\n", name, "dsmr")
        if port is None:
            return tap.done()
        raw = harness.testdata(METER)
        telegrams = [ptlib.numbered(raw, k) for k in range(1, N + MORE + 1)]
        i, _ = harness.feed_until(d, pty, telegrams[0], harness.TELEGRAM_RX)
        tap.ok(i is not None, "%s: the meter is read" % name)

        slow = ptlib.Reader(port, rcvbuf=4096, read=False)
        good = [ptlib.Reader(port) for _ in range(3)]
        tap.ok(all(ptlib.wait_connected(d, r) for r in good + [slow]), "%s: four clients connected" % name)
        rss0 = ptlib.rss_kib(d.proc.pid)

        mark = d.count()

        def decoded():
            with d.cond:
                return sum(1 for line in d.lines[mark:] if "telegram: " in line)

        t0 = time.monotonic()
        stalled, behind = 0, 0
        for k, t in enumerate(telegrams[:N]):
            if not pty.write(t):
                stalled += 1
            if k % 10 == 9:
                behind = max(behind, k - decoded())
            time.sleep(max(0.0, t0 + (k + 1) * PACE - time.monotonic()))
        t_end = time.monotonic()
        tap.ok(stalled == 0, "%s: the meter's line never stalled (%d writes in %.2f s)" % (name, N, t_end - t0))
        tap.ok(behind <= 10, "%s: the decoder kept the meter's pace (at most %d telegrams behind, "
               "one every %d ms)" % (name, behind, PACE * 1000))
        deadline = time.monotonic() + harness.TIMEOUT
        while decoded() < N and time.monotonic() < deadline:
            time.sleep(0.01)
        lag = time.monotonic() - t_end
        tap.ok(decoded() == N and lag < 1.0,
               "%s: %d of %d telegrams decoded, the last %.3f s after it was written" % (name, decoded(), N, lag))

        want = b"".join(telegrams[:N])
        for r in good:
            r.wait_len(len(want))
        tap.ok(all(r.get() == want for r in good),
               "%s: the other clients got all %d telegrams byte-exact" % (name, N))
        rss1 = ptlib.rss_kib(d.proc.pid)
        if ptlib.sanitized(d.proc.pid):
            tap.diag("%s: AddressSanitizer keeps freed memory; RSS %d -> %d KiB not checked" % (name, rss0, rss1))
        else:
            tap.ok(rss1 - rss0 < RSS_BOUND_KIB, "%s: daemon RSS %d KiB before, %d KiB after (bound +%d KiB)"
                   % (name, rss0, rss1, RSS_BOUND_KIB))
        j, _ = d.wait_for(r"Passthrough reader %s is not keeping up \(\d+ bytes queued\): dropping whole "
                          r"telegrams" % re.escape(slow.name), mark, 5)
        tap.ok(j is not None, "%s: the drop is logged, naming the client" % name)
        with d.cond:
            n_warn = sum(1 for line in d.lines[mark:] if "is not keeping up" in line)
        tap.ok(n_warn == 1, "%s: logged once, not per telegram (%d lines)" % (name, n_warn))

        # Now it reads: whatever the daemon still holds for it, then nothing more.
        slow.start()
        for t in telegrams[N:]:
            pty.write(t)
            time.sleep(PACE)
        last, still = -1, time.monotonic()
        while time.monotonic() - still < 1.0:
            n = len(slow.get())
            if n != last:
                last, still = n, time.monotonic()
            time.sleep(0.05)
        got = slow.get()
        parts = ptlib.dsmr_telegrams(got)
        sent = {t: k for k, t in enumerate(telegrams)}
        idx = [sent.get(p, -1) for p in parts]
        tap.ok(b"".join(parts) == got and len(parts) > 0,
               "%s: it got %d whole telegrams (%d bytes) and nothing between them" % (name, len(parts), len(got)))
        tap.ok(all(ptlib.dsmr_valid(p) for p in parts) and -1 not in idx,
               "%s: every one passes its CRC and is one that was sent" % name)
        held = sum(len(p) for p, k in zip(parts, idx) if k < N)
        tap.ok(held <= HELD_BOUND, "%s: of the first %d telegrams it got %d bytes, what queue and socket "
               "buffers hold (bound %d)" % (name, N, held, HELD_BOUND))
        gaps = [(a, b) for a, b in zip(idx, idx[1:]) if b != a + 1]
        tap.ok(idx == sorted(idx) and len(gaps) == 1 and idx[-1:] == [N + MORE - 1],
               "%s: in order, %d of %d, with a gap %s, up to the last one sent"
               % (name, len(idx), N + MORE, gaps))
        for r in good + [slow]:
            r.close()
        harness.stop_and_check(tap, d, name)
        j, m = d.wait_for(r"Passthrough stopping: .* (\d+) telegrams dropped", 0, 1)
        tap.ok(j is not None and int(m.group(1)) == N + MORE - len(idx),
               "%s: the daemon counted %s dropped telegrams (%d sent to it of %d)"
               % (name, m.group(1) if m else "?", len(idx), N + MORE))
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
