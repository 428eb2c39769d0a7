#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Protocol=auto on a real pty: the daemon must find DSMR 5, DSMR 2.2, TIC
standard and TIC historique, say so in its "Receiving ..." line, and decode the
values that the telegram holds (checked in the debug "telegram:" line)."""

import re
import time

import harness
from harness import TELEGRAM_RX, Daemon, Pty, Tap, Workdir, feed_until, telegram_json

SETTING = r"(115200 8N1|9600 7E1|1200 7E1)"


def same(got, want):
    """null must stay null; numbers compare exactly (the JSON holds the decimal
    the meter sent, or the decimal sum of several)."""
    if want is None:
        return got is None
    return isinstance(got, (int, float)) and not isinstance(got, bool) and got == want


def matches(got, want):
    for key, value in want.items():
        if isinstance(value, dict):
            if not all(same((got.get(key) or {}).get(sub, "missing"), v) for sub, v in value.items()):
                return False
        elif not same(got.get(key, "missing"), value):
            return False
    return True


def check_values(tap, name, got, want):
    for key, value in want.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                g = (got.get(key) or {}).get(sub, "missing")
                tap.ok(same(g, v), "%s: %s.%s = %r (want %r)" % (name, key, sub, g, v))
        else:
            g = got.get(key, "missing")
            tap.ok(same(g, value), "%s: %s = %r (want %r)" % (name, key, g, value))


def run_case(tap, binary, name, data_file, receiving, want, host_ts=False):
    with Workdir() as w:
        link = w.join("ttyMETER")
        pty = w.add(Pty(link))
        d = w.add(Daemon(binary, w.path, harness.config(link)))
        tap.on_failure = [lambda: d.dump(tap)]

        i, _ = d.wait_for(r"Opened '%s'" % re.escape(link))
        tap.ok(i is not None, "%s: daemon opened the pty" % name)

        data = harness.testdata(data_file)
        i, m = feed_until(d, pty, data, TELEGRAM_RX)
        tap.ok(i is not None, "%s: a telegram was accepted" % name)
        j, _ = d.wait_for(r"Receiving %s telegrams from %s at %s%s" %
                          (receiving[0], re.escape(link), SETTING, receiving[1]), 0, 1)
        tap.ok(j is not None and j < (i or 0), "%s: 'Receiving ...%s' logged before the values"
               % (name, receiving[1]))
        if i is not None:
            got = telegram_json(m)
            check_values(tap, name, got, want)
            if host_ts:
                tap.ok(abs(got["ts"] - time.time()) < 300, "%s: ts is the host's time" % name)

        harness.stop_and_check(tap, d, name)


def tic_historique_frames(raw):
    """Expected values of every frame of a TIC historique stream, from its groups."""
    frames = []
    for chunk in raw.split(b"\x03")[:-1]:
        groups = {}
        for line in chunk[chunk.index(b"\x02") + 1:].split(b"\r"):
            parts = line.strip(b"\n").split(b" ")
            if len(parts) >= 2:
                groups[parts[0].decode()] = parts[1].decode()
        wh = sum(int(v) for k, v in groups.items() if k.startswith("BBR"))
        frames.append({
            "P": None, "S": int(groups["PAPP"]),  # apparent power only: VA, not W
            "E_IMPORT": float("%d.%03d" % (wh // 1000, wh % 1000)),
            "E_EXPORT": None,
            "l1": {"I": int(groups["IINST"])},
        })
    return frames


def run_tic_stream(tap, binary):
    name = "TIC historique stream"
    raw = harness.testdata("tic/fr_tic-historique_tempo-bbr_stream-10-frames_pyteleinfo.raw")
    frames = tic_historique_frames(raw)
    with Workdir() as w:
        link = w.join("ttyTIC")
        pty = w.add(Pty(link))
        d = w.add(Daemon(binary, w.path, harness.config(link)))
        tap.on_failure = [lambda: d.dump(tap)]

        i, _ = d.wait_for(r"Opened '%s'" % re.escape(link))
        i, _ = feed_until(d, pty, raw, r"Receiving TIC historique telegrams from %s at %s, meter 021861348497"
                          % (re.escape(link), SETTING))
        tap.ok(i is not None, "%s: 'Receiving TIC historique telegrams ..., meter 021861348497'" % name)

        # Locked now: one more pass must come out whole, every frame in order.
        # Frames of earlier passes may still be arriving, so look for ten
        # consecutive telegram lines that match the ten frames.
        tap.ok(pty.write(raw), "%s: stream written" % name)
        seen, pos = [], (i or 0) + 1
        deadline = time.monotonic() + harness.TIMEOUT
        while time.monotonic() < deadline:
            pos, m = d.wait_for(TELEGRAM_RX, pos, max(0.0, deadline - time.monotonic()))
            if pos is None:
                break
            seen.append(telegram_json(m))
            pos += 1
            if len(seen) >= len(frames) and all(
                    matches(got, want) for got, want in zip(seen[-len(frames):], frames)):
                break
        last = seen[-len(frames):]
        tap.ok(len(last) == len(frames), "%s: %d frames accepted in a row" % (name, len(last)))
        for k, (got, want) in enumerate(zip(last, frames)):
            check_values(tap, "%s frame %d" % (name, k + 1), got, want)

        harness.stop_and_check(tap, d, name)


def run_fixed(tap, binary, protocol, wrong_file, right_file, receiving, want):
    """A fixed Protocol= hunts only its own family: a frame of the other one,
    written first, is skipped, and the right one that follows comes out."""
    name = "Protocol=" + protocol
    with Workdir() as w:
        link = w.join("ttyFIXED")
        pty = w.add(Pty(link))
        d = w.add(Daemon(binary, w.path, harness.config(link, protocol=protocol)))
        tap.on_failure = [lambda: d.dump(tap)]

        d.wait_for(r"Opened '%s'" % re.escape(link))
        data = harness.testdata(wrong_file) + harness.testdata(right_file)
        i, m = feed_until(d, pty, data, TELEGRAM_RX)
        tap.ok(i is not None, "%s: a telegram was accepted" % name)
        if i is not None:
            check_values(tap, name, telegram_json(m), want)
        j, _ = d.wait_for(r"Receiving %s telegrams from %s at %s" % (receiving[0], re.escape(link),
                                                                     receiving[1]), 0, 1)
        tap.ok(j is not None, "%s: 'Receiving' names the fixed setting" % name)

        harness.stop_and_check(tap, d, name)


def main():
    binary = harness.daemon_path()
    tap = Tap()

    run_case(tap, binary, "DSMR 5.0", "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw",
             (r"DSMR 5\.0", ", meter E0044007131650618"),
             {"ts": 1553436341, "P": 433, "E_IMPORT": 6657.461, "E_EXPORT": 0,
              "U12": None, "U31": None, "U32": None,
              "l1": {"U": 236.7, "I": 0, "P": 45}, "l2": {"U": 234.5, "I": 0, "P": 10},
              "l3": {"U": 236, "I": 2, "P": 379}})

    run_case(tap, binary, "DSMR 2.2", "dsmr/nl_dsmr22_kamstrup_basjes.raw",
             (r"DSMR 2\.2\S*", ", meter KA6U001660297912"),
             {"P": 540, "E_IMPORT": 9393.447, "E_EXPORT": 10854.505,
              "l1": {"U": None, "I": None, "P": None}}, host_ts=True)

    run_case(tap, binary, "TIC standard", "tic/fr_tic-standard_three-phase_tempo_teleinfo-nom.raw",
             (r"TIC standard", ", meter 041776199277"),
             {"ts": 1581718084, "P": None, "S": 2700, "E_IMPORT": 21849.106, "E_EXPORT": None,
              "l1": {"U": 237, "I": 3}, "l2": {"U": 238, "I": 6}, "l3": {"U": 235, "I": 3}})

    run_tic_stream(tap, binary)

    run_fixed(tap, binary, "tic-historique", "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw",
              "tic/fr_tic-historique_tempo-bbr_single-phase_pyteleinfo.raw",
              ("TIC historique", r"1200 7E1"), {"P": None, "S": 2830, "E_EXPORT": None})
    run_fixed(tap, binary, "tic-standard", "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw",
              "tic/fr_tic-standard_three-phase_tempo_teleinfo-nom.raw",
              ("TIC standard", r"9600 7E1"), {"P": None, "S": 2700, "E_IMPORT": 21849.106})
    run_fixed(tap, binary, "dsmr", "tic/fr_tic-standard_three-phase_tempo_teleinfo-nom.raw",
              "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw",
              (r"DSMR 5\.0", r"(115200 8N1|9600 7E1)"), {"P": 433, "E_IMPORT": 6657.461})
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
