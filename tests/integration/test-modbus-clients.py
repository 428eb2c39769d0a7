#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Many clients and bad ones at the same time. 64 clients, all connected at
once, each read the whole EMpro block several times while one client sends
half an MBAP header and stops, one sends requests without ever reading its
answers, one sends garbage (and must be disconnected) and one connects and
closes in a loop. Every good request is answered correctly, each within 2 s;
the daemon still serves afterwards and exits 0 on SIGTERM. With MaxClients=2
a third client is served in place of the longest idle one, and the other
two keep working."""

import importlib.util
import os
import socket
import struct
import threading
import time

import harness
from harness import Tap, Workdir

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

N_GOOD = 64
ROUNDS = 10
BOUND = 2.0  # seconds for one answer, on a loaded 2-core machine


def good_client(port, want_a, want_b, barrier, go, results, k):
    res = {"ok": 0, "bad": [], "max": 0.0}
    results[k] = res
    try:
        r = mb.Raw(port, timeout=harness.TIMEOUT)
    except OSError as e:
        res["bad"].append("connect: %r" % e)
        barrier.abort()
        return
    try:
        barrier.wait(harness.TIMEOUT)
        if not go.wait(harness.TIMEOUT):
            raise OSError("never told to start")
        for n in range(ROUNDS):
            for fc in (3, 4):
                for (a, cnt), want in (((0x8000, 0x36), want_a), ((0x8100, 8), want_b)):
                    t = time.monotonic()
                    got = r.read(fc, a, cnt, unit=n % 256)
                    dt = time.monotonic() - t
                    res["max"] = max(res["max"], dt)
                    if got != want:
                        res["bad"].append("FC %d 0x%04X: %r" % (fc, a, got))
                    elif dt > BOUND:
                        res["bad"].append("FC %d 0x%04X answered after %.2f s" % (fc, a, dt))
                    else:
                        res["ok"] += 1
    except (OSError, mb.ModbusError, threading.BrokenBarrierError) as e:
        res["bad"].append(repr(e))
    finally:
        r.close()


def never_reads(port, stop, stats):
    """Requests, as fast as the socket takes them, never reading an answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
    s.setblocking(False)
    req = struct.pack(">HHHBBHH", 1, 0, 6, 1, 3, 0x8000, 0x36)
    sent = 0
    try:
        while not stop.is_set():
            try:
                s.send(req * 64)
                sent += 64
                stats["sent"] = sent
            except BlockingIOError:
                stop.wait(0.05)
            except OSError:
                stats["closed"] = True
                break
    finally:
        stats["sent"] = sent
        s.close()


def open_close(port, stop, stats):
    n = 0
    while not stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
            s.close()
            n += 1
            stats["n"] = n
        except OSError as e:
            stats["error"] = repr(e)
            stop.wait(0.01)
    stats["n"] = n


def run_many(tap, binary):
    name = "64 clients"
    with Workdir() as w:
        d, pty, port = mb.start(tap, binary, w, extra_modbus="MaxClients=70\nMaxClientsPerIP=70\n", name=name)
        tap.on_failure = [lambda: d.dump(tap)]
        if port is None:
            return
        i, v = mb.feed(d, pty, harness.testdata(mb.METER_RAW))
        if not tap.ok(i is not None, "%s: telegram decoded" % name):
            return
        img, _ = mb.image("PhoenixContact-EMPro", v, "")
        want_a, want_b = mb.words(img, 0x8000, 0x36), mb.words(img, 0x8100, 8)

        # The bad ones first, so that they are there all the time.
        half = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
        half.sendall(struct.pack(">HHH", 7, 0, 6)[:4])
        garbage = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
        garbage.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        # All 64 connect first (the connect/close loop could otherwise take
        # the slots of MaxClients=70 with closes the server has not seen yet),
        # then the other two bad ones start, then all read at once.
        barrier = threading.Barrier(N_GOOD + 1)
        go = threading.Event()
        results = [None] * N_GOOD
        good = [threading.Thread(target=good_client, args=(port, want_a, want_b, barrier, go, results, k),
                                 daemon=True) for k in range(N_GOOD)]
        for t in good:
            t.start()
        try:
            barrier.wait(harness.TIMEOUT)
        except threading.BrokenBarrierError:
            pass
        stop = threading.Event()
        nr_stats, oc_stats = {}, {}
        bad_threads = [threading.Thread(target=never_reads, args=(port, stop, nr_stats), daemon=True),
                       threading.Thread(target=open_close, args=(port, stop, oc_stats), daemon=True)]
        for t in bad_threads:
            t.start()
        deadline = time.monotonic() + harness.TIMEOUT
        while (nr_stats.get("sent", 0) < 64 or oc_stats.get("n", 0) < 5) and time.monotonic() < deadline:
            time.sleep(0.01)  # both under way before the reads start; they run until stop
        t0 = time.monotonic()
        go.set()
        for t in good:
            t.join(harness.TIMEOUT * 6)
        elapsed = time.monotonic() - t0
        # The silent sender keeps sending until the daemon gives up on it: on a
        # busy machine the good clients can finish before its buffers fill.
        dropped, _ = d.wait_for(r"Modbus client .*: cannot send the answer, closing", 0)
        stop.set()
        for t in bad_threads:
            t.join(harness.TIMEOUT)

        done = [r for r in results if r is not None]
        bad = [b for r in done for b in r["bad"]]
        total = sum(r["ok"] for r in done)
        worst = max((r["max"] for r in done), default=0.0)
        tap.ok(len(done) == N_GOOD and not any(t.is_alive() for t in good),
               "%s: all %d clients finished" % (name, N_GOOD))
        tap.ok(not bad and total == N_GOOD * ROUNDS * 4,
               "%s: %d of %d answers correct and within %.0f s" % (name, total, N_GOOD * ROUNDS * 4, BOUND))
        for b in bad[:10]:
            tap.diag(b)
        tap.diag("%s: %d requests in %.2f s, slowest answer %.3f s; the silent sender sent %d requests; "
                 "%d connect/close cycles" % (name, N_GOOD * ROUNDS * 4, elapsed, worst, nr_stats.get("sent", 0),
                                              oc_stats.get("n", 0)))
        tap.ok(oc_stats.get("n", 0) > 0, "%s: the connect/close loop ran (%d cycles)" % (name, oc_stats.get("n", 0)))
        tap.ok(mb.is_closed(garbage, 5), "%s: the client that sent garbage was disconnected" % name)
        garbage.close()
        j, _ = d.wait_for(r"Modbus client .*: not a Modbus TCP (or RTU )?frame, closing", 0, 5)
        tap.ok(j is not None, "%s: 'not a Modbus TCP frame' logged" % name)
        tap.ok(dropped is not None, "%s: the client that never reads was dropped, not waited for" % name)

        # The half frame is still pending: completing it gets an answer.
        half.sendall(struct.pack(">HHHBBHH", 7, 0, 6, 1, 3, 0x8006, 2)[4:])
        half.settimeout(5)
        r = mb.Raw.__new__(mb.Raw)
        r.sock, r.tid = half, 0
        try:
            tid, unit, pdu = r.recv_frame()
            tap.ok(tid == 7 and mb.parse_read(3, 2, pdu) == want_a[6:8],
                   "%s: the half frame, completed late, is answered" % name)
        except (OSError, mb.ModbusError) as e:
            tap.ok(False, "%s: the half frame, completed late, is answered (%r)" % (name, e))
        half.close()

        tap.ok(d.proc.poll() is None, "%s: the daemon still runs" % name)
        try:
            r = mb.Raw(port)
            tap.ok(r.read(4, 0x8000, 0x36) == want_a, "%s: a new client is served afterwards" % name)
            r.close()
        except (OSError, mb.ModbusError) as e:
            tap.ok(False, "%s: a new client is served afterwards (%r)" % (name, e))
        harness.stop_and_check(tap, d, name)


def run_max_clients(tap, binary):
    name = "MaxClients=2"
    with Workdir() as w:
        d, pty, port = mb.start(tap, binary, w, extra_modbus="MaxClients=2\n", name=name)
        tap.on_failure = [lambda: d.dump(tap)]
        if port is None:
            return
        i, v = mb.feed(d, pty, harness.testdata(mb.METER_RAW))
        img, _ = mb.image("PhoenixContact-EMPro", v, "")
        want = mb.words(img, 0x8006, 6)
        a, b = mb.Raw(port), mb.Raw(port)
        tap.ok(a.read(3, 0x8006, 6) == want and b.read(4, 0x8006, 6) == want, "%s: two clients served" % name)
        # b read last: a is the longest idle, and the third client takes its slot.
        c = mb.Raw(port)
        tap.ok(c.read(4, 0x8006, 6) == want, "%s: a third client is served" % name)
        t = time.monotonic()
        closed = mb.is_closed(a.sock, 5)
        tap.ok(closed, "%s: the longest idle one was closed for it (after %.3f s)" % (name, time.monotonic() - t))
        j, _ = d.wait_for(r"Modbus client 127\.0\.0\.1:\d+ replaces 127\.0\.0\.1:%d, idle for [\d.]+s: "
                          r"MaxClients reached" % a.sock.getsockname()[1], 0, 5)
        tap.ok(j is not None, "%s: the replacement is logged" % name)
        tap.ok(b.read(3, 0x8006, 6) == want and c.read(4, 0x8006, 6) == want,
               "%s: the other two keep working" % name)
        a.close()
        b.close()
        c.close()
        harness.stop_and_check(tap, d, name)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    run_many(tap, binary)
    run_max_clients(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
