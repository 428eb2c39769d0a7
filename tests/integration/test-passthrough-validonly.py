#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The bad samples of tests/data/bad through the passthrough. With
ValidOnly=yes a client gets exactly the frames their sidecars call valid (a
DSMR telegram with a matching CRC and no line over the DSMR maximum, a TIC
frame that is complete with every group checksum right), byte for byte, in
order, and nothing else. In raw mode (the default) it gets every byte the
meter sent, noise, broken and encrypted frames included."""

import json
import os

import harness
import ptlib
from harness import Tap, Workdir

# A file that ends inside a frame is followed by one of the same family, whose
# start marker ends it (a DSMR '/' does not end a TIC frame, nor STX a DSMR one).
DSMR = [
    "bad_dsmr50_garbage-before-header",
    "bad_dsmr42_flipped-byte_bad-crc",
    "bad_dsmr50_truncated",
    "bad_dsmr42_line-removed_bad-crc_dsmrparser",
    "bad_dsmr50_missing-crc",
    "bad_dsmr40_overlong-line_then-valid",
    "bad_dsmr50_capture-starting-mid-telegram_basjes",
    "bad_dsmr50_cut-off-then-new-telegram_basjes",
    "bad_dsmr_two-telegrams-with-noise-between",
    "bad_lu_smarty_encrypted_inner-crc-mismatch_openhab_plaintext",
    "bad_lu_smarty_encrypted_inner-crc-mismatch_openhab",
]
TIC = [
    "bad_tic-historique_group-bad-checksum",
    "bad_tic-historique_incomplete-stream_teleinfo-nom",
    "bad_tic-standard_group-bad-checksum",
    "bad_tic-standard_truncated-frame-then-next",
    "bad_tic-standard_single-group-bad-checksum_linkytic",
    "bad_tic-standard_real-capture-with-line-errors_teleinfo-nom",
]
FIRST = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
LAST = "tic/fr_tic-standard_three-phase_tempo_teleinfo-nom.raw"
DSMR_LINE_MAX = 2100  # 0-0:96.13.0 with 2048 characters is the longest legal line


def sidecar(name):
    return json.loads(harness.testdata(os.path.join("bad", name + ".json")))


def valid_frames(name):
    """The frames of a bad sample that its sidecar says are valid, as bytes."""
    raw = harness.testdata(os.path.join("bad", name + ".raw"))
    side = sidecar(name)
    integ = side["integrity"]
    out = []
    for t in integ.get("telegrams", []):
        data = raw[t["offset"]:t["offset"] + t["length"]]
        if t["crc_valid"] and max(len(line) for line in data.split(b"\n")) <= DSMR_LINE_MAX:
            out.append(data)
    for f in integ.get("frames", []):
        if f["complete"] and f["all_valid"]:
            out.append(raw[f["offset"]:f["offset"] + f["length"]])
    return out


def run(tap, binary, valid_only):
    name = "ValidOnly=yes" if valid_only else "raw"
    names = DSMR + TIC
    with Workdir() as w:
        d, pty, port = ptlib.start(tap, binary, w, "Listen=127.0.0.1:0\nValidOnly=%s\n"
                                   % ("yes" if valid_only else "no"), name)
        if port is None:
            return
        r = ptlib.Reader(port)
        tap.ok(ptlib.wait_connected(d, r), "%s: client connected" % name)
        first, last = harness.testdata(FIRST), harness.testdata(LAST)
        stream = [first] + [harness.testdata(os.path.join("bad", n + ".raw")) for n in names] + [last]
        for data in stream:
            ptlib.feed(d, pty, data)

        if valid_only:
            frames = [first] + [f for n in names for f in valid_frames(n)] + [last]
            want = b"".join(frames)
            tap.diag("%s: %d valid frames expected: %s" % (name, len(frames), ", ".join(
                "%s %d" % (n, len(valid_frames(n))) for n in names if valid_frames(n))))
        else:
            want = b"".join(stream)
        r.wait_len(len(want))
        got = r.get()
        tap.ok(got == want, "%s: the client got %d bytes, expected %d, identical: %s"
               % (name, len(got), len(want), got == want))
        if got != want:
            i = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            tap.diag("first difference at %d: got %r, want %r" % (i, got[i - 20:i + 20], want[i - 20:i + 20]))
        if valid_only:
            dsmr = ptlib.dsmr_telegrams(got)
            tap.ok(all(ptlib.dsmr_valid(t) for t in dsmr) and len(dsmr) == 8,
                   "%s: all %d DSMR telegrams pass their CRC" % (name, len(dsmr)))
            j, m = d.wait_for(r"Rejected a DSMR frame .*: CRC mismatch", 0, 1)
            tap.ok(j is not None, "%s: the meter did reject frames meanwhile" % name)
        else:
            noise = harness.testdata("bad/bad_dsmr50_garbage-before-header.raw")[:63]
            tap.ok(b"\xdb\x08" in got and noise in got,
                   "%s: the encrypted frame and the noise before a header went out too" % name)
        r.close()
        harness.stop_and_check(tap, d, name)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    run(tap, binary, True)
    run(tap, binary, False)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
