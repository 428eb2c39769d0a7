#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Ten clients read the passthrough stream while the pty plays DSMR telegrams
and TIC frames from tests/data. The nine that were there from the start get
every byte of every file, byte for byte; the tenth connects in the middle of a
telegram and gets everything from the next telegram start on."""

import harness
import ptlib
from harness import Tap, Workdir

BEFORE = [
    "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw",
    "dsmr/be_emucs_fluvius_capacity-history_dsmrparser.raw",
    "dsmr/nl_dsmr22_kamstrup_basjes.raw",
]
SPLIT = "dsmr/nl_dsmr42_kaifa_dsmrparser.raw"  # the tenth client connects inside this one
AFTER = [
    "dsmr/lu_smarty_three-phase_gas_meterlogger.raw",
    "tic/fr_tic-standard_three-phase_tempo_teleinfo-nom.raw",
    "tic/fr_tic-historique_tempo-bbr_stream-10-frames_pyteleinfo.raw",
    "tic/fr_tic-standard_single-phase_producer_openhab.raw",
    "dsmr/nl_dsmr50_sagemcom-xs210_basjes.raw",
]
N_EARLY = 9


def frames(data):
    """The telegrams of a mixed stream, in order (DSMR by dsmr_parser's regex, TIC STX..ETX)."""
    found = [(m.start(), m.group(0)) for m in ptlib.DSMR_RX.finditer(data)]
    found += [(m.start(), m.group(0)) for m in ptlib.TIC_RX.finditer(data)]
    return [f for _, f in sorted(found)]


def main():
    binary = harness.daemon_path()
    tap = Tap()
    name = "ten clients"
    with Workdir() as w:
        d, pty, port = ptlib.start(tap, binary, w, "Listen=127.0.0.1:0\nMaxClients=10\n", name)
        if port is None:
            return tap.done()
        early = [ptlib.Reader(port) for _ in range(N_EARLY)]
        tap.ok(all(ptlib.wait_connected(d, r) for r in early), "%s: %d clients connected" % (name, N_EARLY))

        for f in BEFORE:
            ptlib.feed(d, pty, harness.testdata(f))
        split = harness.testdata(SPLIT)
        half = len(split) // 2
        tap.ok(ptlib.feed(d, pty, split[:half]), "%s: the daemon read the first half of a telegram" % name)
        mark = d.count()
        late = ptlib.Reader(port)
        tap.ok(ptlib.wait_connected(d, late, mark), "%s: a tenth client connected mid-telegram" % name)
        pty.write(split[half:])
        for f in AFTER:
            ptlib.feed(d, pty, harness.testdata(f))

        everything = b"".join(harness.testdata(f) for f in BEFORE + [SPLIT] + AFTER)
        after = b"".join(harness.testdata(f) for f in AFTER)
        for r in early:
            r.wait_len(len(everything))
        late.wait_len(len(after))

        exact = [r.get() == everything for r in early]
        tap.ok(all(exact), "%s: %d of %d early clients got all %d bytes byte-exact"
               % (name, sum(exact), N_EARLY, len(everything)))
        for r in early:
            if r.get() != everything:
                tap.diag("%s: %d bytes, first difference at %d" % (
                    r.name, len(r.get()), next((i for i, (a, b) in enumerate(zip(r.get(), everything))
                                                if a != b), min(len(r.get()), len(everything)))))
        want = frames(everything)
        tap.ok(all(frames(r.get()) == want for r in early),
               "%s: each early client frames the same %d telegrams as the files hold" % (name, len(want)))
        got = late.get()
        tap.ok(got == after, "%s: the late client got exactly the bytes from the next telegram start "
               "(%d bytes, expected %d)" % (name, len(got), len(after)))
        tap.ok(frames(got) == frames(after) and not got.startswith(split[half:half + 16]),
               "%s: the late client's first telegram is whole: %r" % (name, got[:24]))
        for r in early + [late]:
            r.close()
        harness.stop_and_check(tap, d, name)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
