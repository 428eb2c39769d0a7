#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Modbus RTU benchmark: request-to-answer latency of smartconnectd's RTU
server over a socat pty pair (the RS-485 line), at 9600 and 115200 baud.

A raw master writes each request in one write and reads the whole answer:
500 reads of 2 registers and 500 of 60 (Eastron-SDM630, FC 4), one at a time.
Latency is from the end of the write to the last byte of the answer; p50,
p99 and max. The daemon waits for the line to be silent for 3.5 characters
before it takes a request as complete (3.65 ms at 9600 8N1, 1.75 ms at 115200),
so that gap is in every figure; "over the gap" subtracts it. The floor is the
same round trip through the same pty pair with a Python echo in place of the
daemon (no gap): what the line and the client cost by themselves. A pty has no
baud rate, so no figure includes the time the bytes would take on a real wire
(2 registers: 8 + 9 bytes, 17.7 ms at 9600).

usage: bench-modbus-rtu.py SMARTCONNECTD TESTDATA
"""

import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
os.environ.setdefault("TESTDATA", sys.argv[2] if len(sys.argv) > 2 else "")

import harness  # noqa: E402
import rtulib  # noqa: E402

N = 500
METER = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
GAP_US = {9600: 3646, 115200: 1750}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def row(name, lat_us, gap_us):
    p50, p99, mx = pct(lat_us, 50), pct(lat_us, 99), max(lat_us)
    print("%-34s p50 %7.0f us  p99 %7.0f us  max %7.0f us  over the gap: p50 %6.0f us  p99 %6.0f us"
          % (name, p50, p99, mx, p50 - gap_us, p99 - gap_us), flush=True)
    return p50


def measure(master, count):
    req = rtulib.frame(1, bytes([4, 0, 0, 0, count]))
    want = 5 + 2 * count
    lat = []
    for _ in range(N):
        t0 = time.perf_counter()
        master.send(req)
        rsp = master.recv(want, 5.0)
        t1 = time.perf_counter()
        if len(rsp) != want:
            raise SystemExit("answer of %d bytes, want %d" % (len(rsp), want))
        lat.append((t1 - t0) * 1e6)
    return lat


def floor(w, count):
    """The same exchange with an echo of the answer's length on the daemon's end."""
    # A pty pair of its own per call: a second pair under the same links
    # would unlink the first's while its socat still runs.
    line = w.add(rtulib.Line(w, "floor%d" % count))
    stop = threading.Event()
    want_in, answer = 8, bytes(5 + 2 * count)

    def echo():
        fd = os.open(line.daemon_end, os.O_RDWR | os.O_NOCTTY)
        import tty
        tty.setraw(fd)
        while not stop.is_set():
            got = b""
            while len(got) < want_in and not stop.is_set():
                got += os.read(fd, want_in - len(got))
            if got:
                os.write(fd, answer)
        os.close(fd)

    t = threading.Thread(target=echo, daemon=True)
    t.start()
    m = rtulib.Master(line.master_end)
    lat = measure(m, count)
    stop.set()
    m.send(bytes(8))  # wakes the echo thread up
    m.close()
    return lat


def run(binary, baud):
    with harness.Workdir() as w:
        link = w.join("ttyMETER")
        pty = w.add(harness.Pty(link))
        line = w.add(rtulib.Line(w))
        text = rtulib.rtu_config(link, line.daemon_end, "Eastron-SDM630", "SC1", extra_rtu="Baud=%d\n" % baud)
        d = w.add(harness.Daemon(binary, w.path, text.replace("LogLevel=debug", "LogLevel=info")))
        if harness.feed_until(d, pty, harness.testdata(METER), r"Receiving .* telegrams")[0] is None:
            raise SystemExit("no telegram decoded")
        m = rtulib.Master(line.master_end)
        if not isinstance(m.read(4, 0, 2), list):
            raise SystemExit("the RTU server does not answer")
        print("-- %d baud (frame gap %d us)" % (baud, GAP_US[baud]), flush=True)
        for count in (2, 60):
            d50 = row("smartconnectd RTU, %d registers" % count, measure(m, count), GAP_US[baud])
            f50 = row("floor (pty pair + echo), %d registers" % count, floor(w, count), 0)
            print("%-34s %.1f x the floor at p50: %.0f us above it, the %d us gap included"
                  % ("", d50 / f50, d50 - f50, GAP_US[baud]), flush=True)
        m.close()
        d.stop()


def main():
    binary = sys.argv[1]
    for baud in (9600, 115200):
        run(binary, baud)
    return 0


if __name__ == "__main__":
    sys.exit(main())
