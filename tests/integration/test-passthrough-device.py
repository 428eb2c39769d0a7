#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""P1 out: [Passthrough] Device= names a second pty. It gets exactly the bytes
the meter's pty gets, at the serial setting the meter side locked on (TIC
historique: 1200 7E1; DSMR 5: 115200 8N1), and survives the output vanishing
(symlink and pty gone) and coming back. A stuck output (nobody reads it) never
holds up the meter input.

Linux keeps only the speed of a pty's termios (it drops character size and
parity), and the speed tells the three settings apart; the rest is checked as
"output termios c_cflag equals the input's" and in the daemon's own log."""

import os
import re
import termios
import threading
import time

import harness
import ptlib
from harness import TELEGRAM_RX, Daemon, Pty, Tap, Workdir

TIC = "tic/fr_tic-historique_tempo-bbr_stream-10-frames_pyteleinfo.raw"
DSMR = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
SPEEDS = {termios.B1200: "1200", termios.B9600: "9600", termios.B115200: "115200"}


class Sink:
    """Reads the output pty's master into .data on a thread."""

    def __init__(self, pty):
        self.pty = pty
        self.data = bytearray()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                chunk = os.read(self.pty.master, 65536)
                self.data += chunk
            except BlockingIOError:
                time.sleep(0.01)
            except (OSError, TypeError):
                return

    def settle(self, quiet=0.5):
        """Wait until nothing more arrives for a while; the number of bytes then."""
        last, since = -1, time.monotonic()
        deadline = since + harness.TIMEOUT
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            if len(self.data) != last:
                last, since = len(self.data), time.monotonic()
            time.sleep(0.02)
        return last

    def wait_len(self, n):
        deadline = time.monotonic() + harness.TIMEOUT
        while len(self.data) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return bytes(self.data)

    def close(self):
        self.stop = True
        self.thread.join(harness.TIMEOUT)


def speed(fd):
    attr = termios.tcgetattr(fd)
    return SPEEDS.get(attr[5], "?%d" % attr[5]) if attr[4] == attr[5] else "split"


def same_termios(a, b):
    return termios.tcgetattr(a)[2] == termios.tcgetattr(b)[2] and speed(a) == speed(b)


def run(tap, binary, protocol, sample, want_setting):
    name = "P1 out, %s" % protocol
    with Workdir() as w:
        link_in, link_out = w.join("ttyMETER"), w.join("ttyP1OUT")
        meter = w.add(Pty(link_in))
        out = w.add(Pty(link_out))
        d = w.add(Daemon(binary, w.path, ptlib.config(link_in, "Device=%s\n" % link_out, protocol)))
        tap.on_failure = [lambda: d.dump(tap)]
        q = re.escape(link_out)
        i, _ = d.wait_for(r"Opened '%s'" % q)
        tap.ok(i is not None, "%s: the output tty is opened" % name)
        sink = Sink(out)

        data = harness.testdata(sample)
        i, _ = harness.feed_until(d, meter, data, TELEGRAM_RX)
        tap.ok(i is not None, "%s: the meter is read" % name)
        j, _ = d.wait_for(r"Receiving .* at %s" % want_setting, 0, 5)
        tap.ok(j is not None, "%s: the meter side locked on %s" % (name, want_setting))
        baud = want_setting.split()[0]
        tap.ok(speed(out.slave) == baud and same_termios(meter.slave, out.slave),
               "%s: output at %s baud, termios as the input's (%s baud)" % (name, speed(out.slave), speed(meter.slave)))
        if protocol != "auto":
            j, _ = d.wait_for(r"Passthrough device '%s' now at %s" % (q, want_setting), 0, 1)
            tap.ok(j is not None, "%s: the daemon set the output to %s" % (name, want_setting))

        # From the next frame start on, the output is the input, byte for byte.
        ptlib.drained(meter)
        mark = sink.settle()
        for _ in range(3):
            meter.write(data)
        got = sink.wait_len(mark + 3 * len(data))[mark:]
        tap.ok(got == data * 3, "%s: the output got the %d bytes exactly (%d)" % (name, 3 * len(data), len(got)))

        # The output vanishes: symlink and pty gone. The meter keeps being read.
        sink.close()
        mark = d.count()
        out.unplug()
        i, _ = d.wait_for(r"'%s' vanished, retrying in \d+s" % q, mark)
        tap.ok(i is not None, "%s: the loss of the output is logged" % name)
        meter.write(data)
        i, _ = d.wait_for(TELEGRAM_RX, mark)
        tap.ok(i is not None, "%s: the meter is still read without the output" % name)

        mark = d.count()
        out2 = w.add(Pty(link_out))
        i, _ = d.wait_for(r"'%s' is back" % q, mark)
        tap.ok(i is not None, "%s: the output comes back" % name)
        sink = Sink(out2)
        tap.ok(speed(out2.slave) == baud and same_termios(meter.slave, out2.slave),
               "%s: the new output is at %s baud too (%s)" % (name, baud, speed(out2.slave)))
        meter.write(data)
        got = sink.wait_len(len(data))
        tap.ok(got == data, "%s: the new output gets the next frames byte for byte (%d of %d bytes)"
               % (name, len(got), len(data)))
        sink.close()

        # Nobody reads the output any more: the meter side does not care.
        mark = d.count()
        big = data * 200
        ok = meter.write(big)
        ptlib.drained(meter)
        tap.ok(ok and ptlib.drained(meter), "%s: %d bytes for a stuck output, the meter line never stalled"
               % (name, len(big)))
        j, _ = d.wait_for(r"Passthrough reader %s is not keeping up" % q, mark, 10)
        tap.ok(j is not None, "%s: the stuck output drops whole telegrams (logged)" % name)
        harness.stop_and_check(tap, d, name)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    run(tap, binary, "tic-historique", TIC, "1200 7E1")
    run(tap, binary, "auto", DSMR, "115200 8N1")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
