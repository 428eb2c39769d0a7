#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Noisy repeats are counted and summarised: a flood of bad-CRC telegrams, one
of Modbus clients replacing each other, one of passthrough clients connecting
and closing and one of refused passthrough clients each give one full line,
then at most one summary per LogSummaryInterval (2 s here instead of the
default minute), and the full line plus the summaries account for every
event. After a quiet
interval the next event is logged in full again."""

import re
import socket
import struct
import time

import harness
from harness import Daemon, Pty, Tap, Workdir, feed_until, stop_and_check

DSMR50 = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
INTERVAL = 2.0
FLOOD = 7.0  # seconds: spans several windows


def bad_crc(telegram):
    """The same telegram with one digit of a value changed: the CRC no longer matches."""
    i = telegram.index(b"1-0:1.8.1(") + len(b"1-0:1.8.1(")
    digit = b"1" if telegram[i:i + 1] != b"1" else b"2"
    return telegram[:i] + digit + telegram[i + 1:]


def lines_matching(d, rx, start=0):
    with d.cond:
        return [(d.times[i], re.search(rx, d.lines[i])) for i in range(start, len(d.lines))
                if re.search(rx, d.lines[i])]


def check_summaries(tap, name, d, full_rx, summary_rx, events, start):
    """Wait for the summary of the last window, then check spacing and totals."""
    deadline = time.monotonic() + INTERVAL * 2 + harness.TIMEOUT
    total = -1
    while time.monotonic() < deadline:
        full = lines_matching(d, full_rx, start)
        summaries = lines_matching(d, summary_rx, start)
        total = len(full) + sum(int(m.group(1)) for _, m in summaries)
        if total >= events:
            break
        time.sleep(0.2)

    tap.ok(len(full) == 1, "%s: one full line for the whole flood (%d)" % (name, len(full)))
    times = [t for t, _ in summaries]
    gaps = [b - a for a, b in zip(times, times[1:])]
    tap.diag("%s: %d summaries, %s events, gaps %s" % (name, len(summaries), [m.group(1) for _, m in summaries],
                                                       " ".join("%.2f" % g for g in gaps)))
    tap.ok(len(summaries) >= 2, "%s: summaries while the flood lasts (%d)" % (name, len(summaries)))
    tap.ok(all(g >= INTERVAL - 0.1 for g in gaps),
           "%s: at most one summary per %gs (smallest gap %.2f s)" % (name, INTERVAL, min(gaps or [INTERVAL])))
    tap.ok(len(summaries) <= FLOOD / INTERVAL + 2, "%s: %d summaries for a %gs flood" % (name, len(summaries), FLOOD))
    tap.ok(total == events, "%s: full line + summaries count every event (%d of %d)" % (name, total, events))


def crc_flood(tap, binary):
    with Workdir() as w:
        link = w.join("ttyUSB0")
        pty = w.add(Pty(link))
        conf = harness.config(link, protocol="dsmr", stale_after=60,
                              extra="").replace("[Daemon]\n", "[Daemon]\nLogSummaryInterval=%g\n" % INTERVAL)
        d = w.add(Daemon(binary, w.path, conf))
        tap.on_failure = [lambda: d.dump(tap)]
        good = harness.testdata(DSMR50)
        bad = bad_crc(good)

        i, _ = feed_until(d, pty, good, r"Receiving DSMR 5\.0 telegrams")
        tap.ok(i is not None, "crc: the meter is found")
        start = d.count()
        sent = 0
        end = time.monotonic() + FLOOD
        while time.monotonic() < end:
            pty.write(bad)
            sent += 1
            time.sleep(0.05)
        check_summaries(tap, "crc", d, r"Rejected a DSMR[^:]* frame from .*CRC mismatch",
                        r"(\d+) frames? rejected in the last 2s: \d+ CRC mismatch", sent, start)

        # Quiet for a whole interval: the next reject is news again.
        time.sleep(INTERVAL * 1.5)
        mark = d.count()
        pty.write(bad)
        j, _ = d.wait_for(r"Rejected a DSMR[^:]* frame from", mark)
        tap.ok(j is not None, "crc: after a quiet interval the next reject is logged in full")
        stop_and_check(tap, d, "crc")


def replace_flood(tap, binary):
    """MaxClients=1: every new Modbus client replaces the one before it."""
    with Workdir() as w:
        conf = harness.config(w.join("nothing-here"), extra="").replace(
            "[Daemon]\n", "[Daemon]\nLogSummaryInterval=%gs\n" % INTERVAL).replace(
            "[Modbus]\n", "[Modbus]\nMaxClients=1\n")
        d = w.add(Daemon(binary, w.path, conf))
        tap.on_failure = [lambda: d.dump(tap)]
        _, m = d.wait_for(r"Modbus TCP server on port (\d+)")
        port = int(m.group(1)) if m else 0
        prev = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
        i, _ = d.wait_for(r"Modbus client .* connected \(1 open\)")
        tap.ok(i is not None, "replace: one client holds the only slot")

        start = d.count()
        tried = 0
        end = time.monotonic() + FLOOD
        while time.monotonic() < end:
            s = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
            # The server closes the one before: wait for that, so every try is counted.
            prev.settimeout(harness.TIMEOUT)
            prev.recv(1)
            prev.close()
            prev = s
            tried += 1
            time.sleep(0.01)
        check_summaries(tap, "replace", d, r"Modbus client .* replaces .*, idle for ",
                        r"(\d+) Modbus clients? replaced idle ones in the last 2s \(MaxClients=1, "
                        r"MaxClientsPerIP=8\)", tried, start)
        prev.close()
        stop_and_check(tap, d, "replace")


def passthrough_conf(w, extra_pt):
    return harness.config(w.join("nothing-here"), log_level="info", extra="").replace(
        "[Daemon]\n", "[Daemon]\nLogSummaryInterval=%gs\n" % INTERVAL) + \
        "\n[Passthrough]\nListen=127.0.0.1:0\n" + extra_pt


def passthrough_flood(tap, binary, name, extra_pt, full_rx, summary_rx):
    """Passthrough clients that connect and close in a loop (MaxClients=1 with
    one kept: each is refused). At LogLevel=info the per-client lines beyond
    the first of a window are not written at all."""
    with Workdir() as w:
        d = w.add(Daemon(binary, w.path, passthrough_conf(w, extra_pt)))
        tap.on_failure = [lambda: d.dump(tap)]
        _, m = d.wait_for(r"Passthrough server on port (\d+)")
        port = int(m.group(1)) if m else 0
        keep = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
        d.wait_for(r"Passthrough client .* connected \(1 open\)")
        time.sleep(INTERVAL * 1.5)  # the keeper's line has its own window

        start = d.count()
        tried = 0
        end = time.monotonic() + FLOOD
        while time.monotonic() < end:
            s = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
            # A reset, not a FIN: a FIN could be a half-close of a reader that
            # still reads, which the daemon keeps until a write fails.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            tried += 1
            time.sleep(0.01)
        check_summaries(tap, name, d, full_rx, summary_rx, tried, start)
        keep.close()
        stop_and_check(tap, d, name)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    # Each flood has a daemon of its own: two at a time, in two lanes, so that
    # the floods' fixed durations overlap while neither lane starves the other
    # into a quiet interval.
    def serial_and_modbus(t):
        crc_flood(t, binary)
        replace_flood(t, binary)

    def passthrough(t):
        passthrough_flood(t, binary, "passthrough connects", "",
                          r"Passthrough client .* connected \(\d+ open\)",
                          r"Passthrough clients in the last 2s: (\d+) connected, \d+ disconnected")
        passthrough_flood(t, binary, "passthrough refusals", "MaxClients=1\n", r"Refusing passthrough client",
                          r"(\d+) passthrough clients? refused in the last 2s: MaxClients=1 reached")

    harness.concurrently(tap, serial_and_modbus, passthrough)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
