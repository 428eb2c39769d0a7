#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
smartconnect-decode, run as a user would run it, against the samples in
tests/data and their JSON sidecars (smartconnect-decode(1)).

usage: test-decode.py PATH-TO-smartconnect-decode   (TESTDATA = tests/data)
Prints TAP.
"""
import datetime
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import main_guard  # noqa: E402

DECODE = sys.argv[1]
DATA = os.environ["TESTDATA"]
NOW = 1700000000  # --now for frames without a clock: output must not depend on the host
REJECT_RE = re.compile(r"^smartconnect-decode: (.+): byte (\d+): rejected (\S+) frame: (.+) \((.*)\)$")
POWER_KEYS = ["ts", "P", "E_IMPORT", "E_EXPORT", "U12", "U31", "U32", "l1", "l2", "l3"]


def run(args, stdin=b""):
    p = subprocess.run([DECODE] + args, input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def parse_lines(out):
    """Every stdout line must be one JSON object; returns them (or raises)."""
    return [json.loads(line) for line in out.splitlines()]


def sidecar(raw):
    with open(raw[:-4] + ".json", encoding="utf-8") as f:
        return json.load(f)


def rel(path):
    return os.path.relpath(path, DATA)


# ---- expected values from a sidecar ----

SCALE = {"W": {"W": 1, "kW": 1000, "MW": 1e6}, "kWh": {"Wh": 1e-3, "kWh": 1, "MWh": 1000}}


def number(item, to):
    """A sidecar value {value, unit} in the unit `to` ('W' or 'kWh')."""
    return float(item["value"]) * SCALE[to][item["unit"]]


def dsmr_energy(summary, key):
    e = summary.get(key)
    if not e:
        return None
    if "total" in e:
        return number(e["total"], "kWh")
    return sum(number(v, "kWh") for k, v in e.items() if k.startswith("tariff_"))


def dsmr_expect(sc):
    s = sc["expected"]["summary"]
    want = {"protocol": "dsmr", "E_IMPORT": dsmr_energy(s, "energy_import"),
            "E_EXPORT": dsmr_energy(s, "energy_export")}
    if "power_import" in s:
        p = number(s["power_import"], "W")
        if "power_export" in s:
            p -= number(s["power_export"], "W")
        want["P"] = p
    eq = s.get("equipment_id")
    if eq:
        want["id"] = eq.get("ascii", eq["raw"])
    ts = s.get("timestamp")
    want["ts"] = int(datetime.datetime.fromisoformat(ts["iso"]).timestamp()) if ts else NOW
    want["objects"] = [(o[0], o[1]) for o in sc["expected"]["objects"]]
    return want


def tic_horodate_ts(h):
    """TIC horodate SAAMMJJhhmmss; E = summer (UTC+2), H = winter (UTC+1); lower case = host time."""
    if not h or h[0] not in "EH":
        return NOW
    off = datetime.timezone(datetime.timedelta(hours=2 if h[0] == "E" else 1))
    d = datetime.datetime.strptime(h[1:], "%y%m%d%H%M%S").replace(tzinfo=off)
    return int(d.timestamp())


def tic_expect(sc):
    s = sc["expected"]["summary"]
    idx = s.get("indexes", {})
    pw = s.get("powers", {})
    want = {"objects": [(g[0], [g[2]]) for g in sc["expected"]["groups"]]}
    if sc["expected"]["mode"] == "historique":
        want.update(protocol="tic-historique", id=s["meter_address_ADCO"], E_EXPORT=None, ts=NOW)
        want["E_IMPORT"] = sum(int(v["data"]) for v in idx.values() if v["unit"] == "Wh") / 1000
        # Apparent power only: "P" (W) stays null, the VA value is "S".
        want["P"] = None
        if "PAPP" in pw:
            want["S"] = float(pw["PAPP"]["value"])
        return want

    stge = int(s["STGE"], 16)
    producer, injecting = stge >> 8 & 1, stge >> 9 & 1
    want.update(protocol="tic-standard", id=s["meter_address_ADSC"])
    want["E_IMPORT"] = int(idx["EAST"]["data"]) / 1000
    want["E_EXPORT"] = int(idx["EAIT"]["data"]) / 1000 if producer and "EAIT" in idx else None
    want["P"] = None
    if not injecting:
        want["S"] = float(pw["SINSTS"]["value"])
    elif producer:
        want["S"] = -float(pw["SINSTI"]["value"])
    want["ts"] = tic_horodate_ts(s["DATE"]["horodate"])
    return want


def complete_frames(sc):
    """Frames a reader must deliver from a good sample (the 10-frame stream has 10)."""
    frames = sc["integrity"].get("frames")
    if frames is None:
        return len(sc["integrity"]["telegrams"])
    return sum(1 for f in frames if f["complete"] and f["all_valid"])


# ---- checks ----

def check_shape(tap, name, obj):
    tap.eq(sorted(k for k in obj if k in POWER_KEYS), sorted(POWER_KEYS), f"{name}: power_instant keys")
    apparent = "p_apparent" in (obj.get("flags") or [])
    for ph in ("l1", "l2", "l3"):
        tap.eq(sorted(obj.get(ph) or {}), ["I", "P", "S", "U"] if apparent else ["I", "P", "U"],
               f"{name}: {ph} has U, I, P" + (", S" if apparent else ""))
    tap.eq("S" in obj, apparent, f"{name}: S (VA) exactly when powers are apparent")
    m = obj.get("meter") or {}
    tap.ok(all(k in m for k in ("protocol", "version", "id")), f"{name}: meter has protocol, version, id", m)
    tap.ok(isinstance(obj.get("flags"), list) and all(isinstance(f, str) for f in obj["flags"]),
           f"{name}: flags is a list of strings", obj.get("flags"))
    objs = obj.get("objects")
    tap.ok(isinstance(objs, list) and objs and all(isinstance(o.get("id"), str) and isinstance(o.get("raw"), list)
                                                   for o in objs), f"{name}: objects have id and raw", objs)


def check_values(tap, name, obj, want):
    m = obj.get("meter") or {}
    tap.eq(m.get("protocol"), want["protocol"], f"{name}: meter.protocol")
    if "id" in want:
        tap.eq((m.get("id") or "").strip(), want["id"].strip(), f"{name}: meter.id decoded")
    for key in ("E_IMPORT", "E_EXPORT", "P", "S"):
        if key in want:
            tap.near(obj.get(key), want[key], f"{name}: {key}")
    tap.eq(obj.get("ts"), want["ts"], f"{name}: ts")
    if want["ts"] == NOW:
        tap.ok("ts_host" in obj.get("flags", []), f"{name}: ts_host flag for a frame without clock", obj.get("flags"))
    got = [(o.get("id"), o.get("raw")) for o in obj.get("objects", [])]
    tap.ok(got == want["objects"], f"{name}: every object with its raw values, in frame order",
           first_difference(got, want["objects"]))


def first_difference(got, want):
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"object {i}: got {g!r}, want {w!r}"
    return f"got {len(got)} objects, want {len(want)}"


def test_good_samples(tap):
    files = sorted(glob.glob(os.path.join(DATA, "dsmr", "*.raw")) + glob.glob(os.path.join(DATA, "tic", "*.raw")))
    tap.ok(len(files) >= 30, f"found {len(files)} good samples")
    for raw in files:
        sc, name = sidecar(raw), rel(raw)
        rc, out, err = run([f"--now={NOW}", raw])

        if sc["kind"] == "smarty-encrypted":
            # Ciphered DLMS frames need the meter's key; without one they are reported, not guessed.
            tap.eq(rc, 1, f"{name}: encrypted frame without key -> exit 1")
            tap.eq(out, "", f"{name}: nothing published")
            tap.ok(re.search(r"rejected \S+ frame: .*encrypt", err, re.I), f"{name}: stderr says encrypted", err)
            continue

        tap.eq(rc, 0, f"{name}: exit 0")
        tap.eq(err, "", f"{name}: nothing on stderr")
        try:
            objs = parse_lines(out)
        except ValueError as e:
            tap.ok(False, f"{name}: stdout is one JSON object per line", f"{e}\n{out[:500]}")
            continue
        tap.eq(len(objs), complete_frames(sc), f"{name}: one JSON line per telegram")
        if not objs:
            continue
        check_shape(tap, name, objs[0])
        want = dsmr_expect(sc) if sc["kind"] == "dsmr" else tic_expect(sc)
        check_values(tap, name, objs[0], want)


def accepted_in_sidecar(sc):
    """Telegrams a reader delivers from a bad sample. Entries about single groups (we drop
    the whole TIC frame, proto.h) or about the GCM layer (no key given) are not telegrams."""
    acc = sc["expected_reader_behaviour"]["accept"]
    return sum(1 for a in acc if "group" not in a and "GCM" not in a)


# Reason words the stderr line must contain, where the sample's fault is clear.
BAD_REASONS = {
    "bad_dsmr40_overlong-line_then-valid": "line",
    "bad_dsmr42_flipped-byte_bad-crc": "CRC",
    "bad_dsmr42_line-removed_bad-crc_dsmrparser": "CRC",
    "bad_dsmr50_missing-crc": "CRC",
    "bad_dsmr50_truncated": "truncat",
    "bad_lu_smarty_encrypted_inner-crc-mismatch_openhab": "encrypt",
    "bad_lu_smarty_encrypted_inner-crc-mismatch_openhab_plaintext": "CRC",
    "bad_tic-historique_group-bad-checksum": "checksum",
    "bad_tic-standard_group-bad-checksum": "checksum",
    "bad_tic-standard_truncated-frame-then-next": "truncat",
}
# Samples whose only fault is noise around good frames: noise is not an error.
NOISE_ONLY = {
    "bad_dsmr_two-telegrams-with-noise-between",
    "bad_dsmr50_garbage-before-header",
    "bad_tic-standard_single-group-bad-checksum_linkytic",  # a lone group without STX/ETX is noise
}


def test_bad_samples(tap):
    files = sorted(glob.glob(os.path.join(DATA, "bad", "*.raw")))
    tap.ok(len(files) >= 15, f"found {len(files)} bad samples")
    for raw in files:
        sc, name = sidecar(raw), rel(raw)
        base = os.path.basename(raw)[:-4]
        rc, out, err = run([f"--now={NOW}", raw])
        try:
            objs = parse_lines(out)
        except ValueError as e:
            tap.ok(False, f"{name}: stdout is one JSON object per line", e)
            continue

        tap.eq(len(objs), accepted_in_sidecar(sc), f"{name}: accepted telegrams as the sidecar says")
        rejects = [REJECT_RE.match(line) for line in err.splitlines()]
        tap.ok(all(rejects), f"{name}: every stderr line is a rejection line", err)
        tap.eq(rc, 1 if rejects else 0, f"{name}: exit 1 exactly when a frame was rejected")
        if base in NOISE_ONLY:
            tap.eq((rc, err), (0, ""), f"{name}: noise is no error")
        if base in BAD_REASONS:
            word = BAD_REASONS[base]
            tap.ok(rc == 1 and re.search(word, err, re.I), f"{name}: rejected, stderr names '{word}'", err)
        for m in filter(None, rejects):
            tap.eq(m.group(1), raw, f"{name}: rejection line names the file")
            break


def test_specific_offsets(tap):
    """The byte offset in a rejection line is where the rejected frame starts in the input."""
    cases = [
        ("bad/bad_dsmr42_flipped-byte_bad-crc.raw", [0]),
        ("bad/bad_tic-standard_truncated-frame-then-next.raw", [0]),
        ("bad/bad_tic-historique_incomplete-stream_teleinfo-nom.raw", [31]),
        ("bad/bad_dsmr40_overlong-line_then-valid.raw", [0]),
    ]
    for f, offsets in cases:
        rc, out, err = run([os.path.join(DATA, f)])
        got = [int(m.group(2)) for m in map(REJECT_RE.match, err.splitlines()) if m]
        tap.eq(got, offsets, f"{f}: rejection offsets")
    rc, out, err = run([os.path.join(DATA, "bad/bad_tic-standard_real-capture-with-line-errors_teleinfo-nom.raw")])
    got = [int(m.group(2)) for m in map(REJECT_RE.match, err.splitlines()) if m]
    sc = sidecar(os.path.join(DATA, "bad/bad_tic-standard_real-capture-with-line-errors_teleinfo-nom.raw"))
    broken = [f["offset"] for f in sc["integrity"]["frames"] if not f["all_valid"]]
    tap.eq(got, broken, "real TIC capture: one rejection per damaged or unfinished frame, at its offset")
    tap.eq(len(out.splitlines()), 2, "real TIC capture: the two clean frames are published")


def test_stdin_and_many_files(tap):
    a = os.path.join(DATA, "dsmr", "nl_dsmr50_iskra-am550_three-phase_basjes.raw")
    b = os.path.join(DATA, "tic", "fr_tic-historique_tempo-bbr_teleinfo-nom.raw")
    bad = os.path.join(DATA, "bad", "bad_dsmr42_flipped-byte_bad-crc.raw")
    with open(a, "rb") as f:
        data_a = f.read()

    rc_f, out_f, _ = run([f"--now={NOW}", a])
    rc, out, err = run([f"--now={NOW}"], stdin=data_a)
    tap.eq((rc, out, err), (rc_f, out_f, ""), "no FILE: reads stdin, same output as the file")
    rc, out, err = run([f"--now={NOW}", "-"], stdin=data_a)
    tap.eq((rc, out), (rc_f, out_f), "'-' reads stdin")
    rc, out, err = run([], stdin=b"")
    tap.eq((rc, out, err), (0, "", ""), "empty input: exit 0, no output")
    # The line is 7E1: bit 7 does not count, so 0xAF is a '/' too.
    noise = bytes(b for b in range(256) if b & 0x7F not in (ord("/"), 0x02) and b != 0xDB) * 8
    rc, out, err = run([], stdin=noise)
    tap.eq((rc, out, err), (0, "", ""), "binary noise without a frame start: exit 0, no output")

    rc, out, err = run([f"--now={NOW}", a, b, a])
    lines = out.splitlines()
    tap.eq((rc, len(lines)), (0, 3), "three files: three lines, exit 0")
    tap.eq([json.loads(x)["meter"]["protocol"] for x in lines], ["dsmr", "tic-historique", "dsmr"],
           "three files: output in input order")

    rc, out, err = run([f"--now={NOW}", a, bad, b])
    tap.eq((rc, len(out.splitlines())), (1, 2), "good, bad, good: two lines, exit 1")
    m = REJECT_RE.match(err.strip())
    tap.ok(m and m.group(1) == bad and m.group(2) == "0", "the rejection names the bad file and its own offset", err)

    # A telegram split across reads: stdin fed in small pieces through a pipe.
    p = subprocess.Popen([DECODE, f"--now={NOW}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    for i in range(0, len(data_a), 37):
        p.stdin.write(data_a[i:i + 37])
        p.stdin.flush()
        time.sleep(0.001)
    out, err = p.communicate(timeout=60)
    tap.eq((p.returncode, out.decode()), (rc_f, out_f), "stdin in 37-byte pieces: same output")


def test_errors_and_options(tap):
    good = os.path.join(DATA, "dsmr", "nl_dsmr42_kaifa_dsmrparser.raw")
    with tempfile.TemporaryDirectory() as tmp:
        missing = os.path.join(tmp, "no-such-file.raw")
        rc, out, err = run([missing])
        tap.eq(rc, 2, "missing file: exit 2")
        tap.ok("no-such-file.raw" in err, "missing file: stderr names it", err)
        rc, out, err = run([good, missing])
        tap.eq(rc, 2, "good file then missing file: exit 2")
        rc, out, err = run([tmp])
        tap.eq(rc, 2, "a directory: exit 2")

    for args in (["--bogus"], ["-x", good], ["--utc-offset=banana", good], ["--now=yesterday", good],
                 ["--utc-offset"]):
        rc, out, err = run(args)
        tap.ok(rc == 2 and err.strip(), f"{' '.join(args)}: exit 2 with a message", (rc, err))
        tap.eq(out, "", f"{' '.join(args)}: nothing on stdout")

    rc, out, err = run(["--help"])
    tap.ok(rc == 0 and "Usage" in out and "--utc-offset" in out, "--help: exit 0, usage on stdout", out)
    rc, out, err = run(["--version"])
    tap.ok(rc == 0 and re.search(r"smartconnect-decode \d+\.\d+", out), "--version: exit 0", out)

    # --utc-offset: the meter's winter offset; a meter one hour further east is one hour earlier in UTC.
    rc, out, _ = run([good])
    ts1 = json.loads(out)["ts"]
    rc, out, _ = run(["--utc-offset=+02:00", good])
    tap.eq(json.loads(out)["ts"], ts1 - 3600, "--utc-offset=+02:00 moves ts one hour back")
    rc, out, _ = run(["--utc-offset=+00:00", good])
    tap.eq(json.loads(out)["ts"], ts1 + 3600, "--utc-offset=+00:00 moves ts one hour forward")

    # --now only matters for frames without a clock.
    clockless = os.path.join(DATA, "dsmr", "nl_dsmr22_kamstrup_basjes.raw")
    rc, out, _ = run(["--now=1234567890", clockless])
    tap.eq(json.loads(out)["ts"], 1234567890, "--now is ts of a DSMR 2.2 telegram (no clock)")
    rc, out, _ = run(["--now=1234567890", good])
    tap.eq(json.loads(out)["ts"], ts1, "--now does not change a telegram with a clock")
    before = int(time.time())
    rc, out, _ = run([clockless])
    ts = json.loads(out)["ts"]
    tap.ok(before - 1 <= ts <= int(time.time()) + 1, "without --now a clockless telegram gets the host time", ts)


def test_output_format(tap):
    """Compact JSON: one line per object, nulls for unknown values, never 0 for unknown."""
    f = os.path.join(DATA, "dsmr", "nl_dsmr22_iskra-mt382_dsmrparser.raw")
    rc, out, _ = run([f"--now={NOW}", f])
    tap.ok(out.endswith("\n") and out.count("\n") == 1, "one object, one line, newline-terminated")
    o = json.loads(out)
    tap.ok(o["U12"] is None and o["U31"] is None and o["U32"] is None, "DSMR 2.2: line voltages are null")
    tap.ok(o["l1"]["U"] is None, "DSMR 2.2: no phase voltage -> null, not 0")
    f = os.path.join(DATA, "tic", "fr_tic-standard_three-phase_tempo_teleinfo-nom.raw")
    rc, out, _ = run([f"--now={NOW}", f])
    o = json.loads(out)
    sc = sidecar(f)
    volts = sc["expected"]["summary"]["voltages"]
    tap.eq([o[p]["U"] for p in ("l1", "l2", "l3")], [float(volts[f"URMS{i}"]["value"]) for i in (1, 2, 3)],
           "TIC standard three-phase: URMS1..3 as l1..l3 U")
    amps = sc["expected"]["summary"]["currents"]
    tap.eq([abs(o[p]["I"]) for p in ("l1", "l2", "l3")], [float(amps[f"IRMS{i}"]["value"]) for i in (1, 2, 3)],
           "TIC standard three-phase: IRMS1..3 as l1..l3 I")


def main(tap):
    test_good_samples(tap)
    test_bad_samples(tap)
    test_specific_offsets(tap)
    test_stdin_and_many_files(tap)
    test_errors_and_options(tap)
    test_output_format(tap)


main_guard(main)
