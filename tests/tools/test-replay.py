#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
smartconnect-replay, run as a user would run it: a client opens the symlinked
pty like a serial port and must read exactly the bytes of the files, at the
right cadence (smartconnect-replay(1)).

usage: test-replay.py PATH-TO-smartconnect-replay   (TESTDATA = tests/data)
Prints TAP.
"""
import errno
import glob
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import main_guard  # noqa: E402

REPLAY = sys.argv[1]
DATA = os.environ["TESTDATA"]
START_RE = re.compile(r"^smartconnect-replay: (.+) -> (/dev/pts/\d+), (\d+) telegrams? from (\d+) files?, (.+)$")

TWO = os.path.join(DATA, "bad", "bad_dsmr_two-telegrams-with-noise-between.raw")
TIC_HIST = os.path.join(DATA, "tic", "fr_tic-historique_tempo-bbr_teleinfo-nom.raw")
TIC_STREAM = os.path.join(DATA, "tic", "fr_tic-historique_tempo-bbr_stream-10-frames_pyteleinfo.raw")


def content(path):
    with open(path, "rb") as f:
        return f.read()


class Replay:
    """One smartconnect-replay process with its link in a private directory."""

    def __init__(self, tmp, args, files, link_name="p1"):
        self.link = os.path.join(tmp, link_name)
        self.proc = subprocess.Popen([REPLAY] + args + ["--link", self.link] + files, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.err = ""

    def wait_link(self, timeout=10):
        """The pty the link points to, once it is there (None if the process died first)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if os.path.islink(self.link) and os.readlink(self.link).startswith("/dev/pts/"):
                return os.readlink(self.link)
            if self.proc.poll() is not None:
                return None
            time.sleep(0.005)
        return None

    def read(self, want=None, timeout=20):
        """Read the link as a serial client until EOF, `want` bytes, or timeout.
        Returns (bytes, [(monotonic time, bytes so far)])."""
        fd = os.open(self.link, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        data, marks = b"", []
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end and (want is None or len(data) < want):
                r, _, _ = select.select([fd], [], [], 0.1)
                if not r:
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except OSError as e:
                    if e.errno == errno.EAGAIN:
                        continue
                    if e.errno == errno.EIO:  # the master side closed: end of the line
                        break
                    raise
                if not chunk:
                    break
                data += chunk
                marks.append((time.monotonic(), len(data)))
        finally:
            os.close(fd)
        return data, marks

    def finish(self, timeout=20):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            rc = f"killed after {timeout} s (was {rc})"
        self.err = self.proc.stderr.read().decode("utf-8", "replace")
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.finish(timeout)


def run(args, timeout=30):
    p = subprocess.run([REPLAY] + args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def replay_once(tap, tmp, files, name, args=("--interval", "0")):
    """Replay files once, read them back through the pty, compare byte for byte."""
    r = Replay(tmp, list(args), files)
    try:
        pts = r.wait_link()
        if not tap.ok(pts, f"{name}: link to a pty appears"):
            r.stop()
            tap.diag(r.err)
            return None
        data, _ = r.read()
        rc = r.finish()
    finally:
        if r.proc.poll() is None:
            r.stop(signal.SIGKILL)
    want = b"".join(content(f) for f in files)
    tap.ok(data == want, f"{name}: client reads the file byte for byte",
           f"got {len(data)} bytes, want {len(want)}; first difference at {first_diff(data, want)}")
    tap.eq(rc, 0, f"{name}: exit 0 after the last telegram")
    tap.ok(not os.path.lexists(r.link), f"{name}: link removed at exit")
    return r


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def test_two_telegrams(tap, tmp):
    r = replay_once(tap, tmp, [TWO], "two telegrams with noise")
    if r:
        m = START_RE.match(r.err.strip())
        tap.ok(m, "one start line on stderr", r.err)
        if m:
            tap.eq((m.group(1), m.group(3), m.group(4), m.group(5)), (r.link, "2", "1", "interval 0 s"),
                   "start line: link, 2 telegrams from 1 file, interval 0 s")
    tap.eq(sorted(os.listdir(tmp)), [], "no temporary files left beside the link")


def test_bad_files_byte_exact(tap, tmp):
    """A simulated meter sends what the file holds: garbage, broken frames and all."""
    files = sorted(glob.glob(os.path.join(DATA, "bad", "*.raw")))
    tap.ok(len(files) >= 15, f"found {len(files)} bad samples")
    for f in files:
        replay_once(tap, tmp, [f], os.path.relpath(f, DATA))
    for f in ("dsmr/be_emucs_fluvius_capacity-history_dsmrparser.raw", "dsmr/nl_dsmr22_kamstrup_basjes.raw",
              "tic/fr_tic-standard_three-phase_tempo_teleinfo-nom.raw"):
        replay_once(tap, tmp, [os.path.join(DATA, f)], f)


def test_several_files(tap, tmp):
    files = [TWO, TIC_HIST, os.path.join(DATA, "bad", "bad_dsmr50_garbage-before-header.raw")]
    r = replay_once(tap, tmp, files, "three files in a row")
    if r:
        m = START_RE.match(r.err.strip())
        tap.ok(m and m.group(3) == "4" and m.group(4) == "3", "start line: 4 telegrams from 3 files", r.err)


def test_loop_and_signals(tap, tmp):
    want = content(TWO)
    r = Replay(tmp, ["--interval", "0", "--loop"], [TWO])
    try:
        tap.ok(r.wait_link(), "--loop: link appears")
        n = len(want) * 5 // 2
        data, _ = r.read(want=n, timeout=20)
        tap.ok(data[:n] == (want * 3)[:n], "--loop: the file repeats, byte for byte",
               f"got {len(data)} bytes, first difference at {first_diff(data, want * 3)}")
        tap.ok(r.proc.poll() is None, "--loop: still running")
        rc = r.stop(signal.SIGTERM)
    finally:
        if r.proc.poll() is None:
            r.stop(signal.SIGKILL)
    tap.eq(rc, 0, "SIGTERM: exit 0")
    tap.ok(not os.path.lexists(r.link), "SIGTERM: link removed")

    # SIGINT while waiting for the next telegram (default cadence, 1 s for DSMR 5).
    r = Replay(tmp, ["--loop"], [TWO])
    try:
        tap.ok(r.wait_link(), "SIGINT case: link appears")
        time.sleep(0.3)
        t0 = time.monotonic()
        rc = r.stop(signal.SIGINT)
        took = time.monotonic() - t0
    finally:
        if r.proc.poll() is None:
            r.stop(signal.SIGKILL)
    tap.eq(rc, 0, "SIGINT while waiting: exit 0")
    tap.ok(took < 2, f"SIGINT is handled at once ({took:.2f} s)")
    tap.ok(not os.path.lexists(r.link), "SIGINT: link removed")

    # SIGTERM while nobody reads and the pty is full (a write is waiting).
    r = Replay(tmp, ["--interval", "0", "--loop"], [os.path.join(
        DATA, "bad", "bad_tic-standard_real-capture-with-line-errors_teleinfo-nom.raw")])
    try:
        tap.ok(r.wait_link(), "full pty case: link appears")
        time.sleep(0.5)
        rc = r.stop(signal.SIGTERM)
    finally:
        if r.proc.poll() is None:
            r.stop(signal.SIGKILL)
    tap.eq(rc, 0, "SIGTERM while the pty is full: exit 0")
    tap.ok(not os.path.lexists(r.link), "SIGTERM while the pty is full: link removed")


def test_cadence(tap, tmp):
    """Default cadence: DSMR 5 / e-MUCS one telegram a second, TIC at the serial byte rate."""
    want = content(TWO)
    first_len = want.index(b"/", 1)  # the second telegram starts at the next '/' (noise goes with the first)
    r = Replay(tmp, [], [TWO])
    try:
        tap.ok(r.wait_link(), "DSMR cadence: link appears")
        data, marks = r.read(want=len(want), timeout=15)
        r.finish()
    finally:
        if r.proc.poll() is None:
            r.stop(signal.SIGKILL)
    tap.eq(data, want, "DSMR cadence: both telegrams arrive")
    t_first = marks[0][0] if marks else 0
    t_second = next((t for t, n in marks if n > first_len), None)
    gap = (t_second - t_first) if t_second else -1
    tap.ok(0.5 <= gap <= 3, f"DSMR 5 / e-MUCS: second telegram about 1 s after the first ({gap:.2f} s)")
    tap.ok(r.err.rstrip().endswith("interval 1 s"), "start line names the 1 s interval", r.err)

    # TIC historique: 275 bytes at 1200 baud 7E1 (120 bytes/s) take about 2.3 s.
    want = content(TIC_HIST)
    r = Replay(tmp, [], [TIC_HIST])
    try:
        tap.ok(r.wait_link(), "TIC pacing: link appears")
        t0 = time.monotonic()
        data, marks = r.read(want=len(want), timeout=15)
        took = (marks[-1][0] - t0) if marks else -1
        r.finish()
    finally:
        if r.proc.poll() is None:
            r.stop(signal.SIGKILL)
    tap.eq(data, want, "TIC pacing: the frame arrives")
    tap.ok(1.6 <= took <= 6, f"TIC historique: 275 bytes take about 2.3 s ({took:.2f} s)")
    tap.ok(len(marks) >= 8, f"TIC historique: bytes trickle in ({len(marks)} reads), not in one burst")
    tap.ok("1200 baud" in r.err, "start line names 1200 baud", r.err)

    # --interval overrides: 10 frames 0.2 s apart take about 1.8 s.
    want = content(TIC_STREAM)
    r = Replay(tmp, ["--interval", "0.2"], [TIC_STREAM])
    try:
        tap.ok(r.wait_link(), "--interval 0.2: link appears")
        t0 = time.monotonic()
        data, marks = r.read(want=len(want), timeout=15)
        took = (marks[-1][0] - t0) if marks else -1
        rc = r.finish()
    finally:
        if r.proc.poll() is None:
            r.stop(signal.SIGKILL)
    tap.eq(data, want, "--interval 0.2: all ten frames arrive")
    tap.ok(1.3 <= took <= 6, f"--interval 0.2: ten frames take about 1.8 s ({took:.2f} s)")
    tap.eq(rc, 0, "--interval 0.2: exit 0")


def test_link_handling(tap, tmp):
    # An existing symlink is replaced (atomically: rename over it).
    link = os.path.join(tmp, "p1")
    os.symlink("/nonexistent/old-target", link)
    r = replay_once(tap, tmp, [TIC_HIST], "replacing an old symlink")
    tap.ok(r is not None, "an existing symlink is replaced")

    # Anything that is not a symlink is left alone.
    with open(link, "wb") as f:
        f.write(b"precious")
    rc, out, err = run(["--interval", "0", "--link", link, TWO])
    tap.eq(rc, 2, "a regular file at PATH: exit 2")
    tap.ok("not a symlink" in err, "a regular file at PATH: says why", err)
    tap.eq(content(link), b"precious", "a regular file at PATH: left untouched")
    os.unlink(link)

    rc, out, err = run(["--interval", "0", "--link", os.path.join(tmp, "no-such-dir", "p1"), TWO])
    tap.eq(rc, 2, "link in a missing directory: exit 2")
    tap.eq(sorted(os.listdir(tmp)), [], "nothing left behind after the errors")


def test_usage_errors(tap, tmp):
    link = os.path.join(tmp, "p1")
    missing = os.path.join(tmp, "no-such-file.raw")
    rc, out, err = run(["--link", link, missing])
    tap.eq(rc, 2, "missing file: exit 2")
    tap.ok("no-such-file.raw" in err, "missing file: stderr names it", err)
    tap.ok(not os.path.lexists(link), "missing file: no link created")
    rc, out, err = run(["--link", link, TWO, missing])
    tap.eq(rc, 2, "good file then missing file: exit 2 before anything is sent")
    empty = os.path.join(tmp, "empty.raw")
    open(empty, "wb").close()
    rc, out, err = run(["--link", link, empty])
    tap.eq(rc, 2, "empty file: exit 2")
    os.unlink(empty)

    for args in (["--bogus", "--link", link, TWO], ["--link", link], [TWO], ["--interval", "-1", "--link", link, TWO],
                 ["--interval", "soon", "--link", link, TWO], ["--link"], ["--link", link, "--interval"]):
        rc, out, err = run(args)
        tap.ok(rc == 2 and err.strip(), f"{' '.join(os.path.basename(a) for a in args)}: exit 2 with a message",
               (rc, err))
    tap.ok(not os.path.lexists(link), "usage errors: no link created")

    rc, out, err = run(["--help"])
    tap.ok(rc == 0 and "--link" in out and "--interval" in out, "--help: exit 0, usage on stdout", out)
    rc, out, err = run(["--version"])
    tap.ok(rc == 0 and re.search(r"smartconnect-replay \d+\.\d+", out), "--version: exit 0", out)


def main(tap):
    for test in (test_two_telegrams, test_bad_files_byte_exact, test_several_files, test_loop_and_signals,
                 test_cadence, test_link_handling, test_usage_errors):
        with tempfile.TemporaryDirectory(prefix="replay-test-") as tmp:
            test(tap, tmp)


main_guard(main)
