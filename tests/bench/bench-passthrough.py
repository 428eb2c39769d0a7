#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Passthrough benchmark: how long a telegram takes from the meter's pty to
every TCP client, and what the fan-out costs the daemon, for 1, 10 and 100
clients on loopback.

A DSMR 5 telegram (778 bytes, numbered so each is distinct) is written to the
pty every 20 ms, 250 times. One selector thread reads every client. Latency is
from the end of the pty write to the moment a client holds the whole telegram:
p50, p99 and max over all clients and telegrams. CPU is the daemon's user +
system time (from /proc, in clock ticks: 40 us resolution here) per telegram.
The client side is Python: on a loaded machine its scheduling shows in p99.

usage: bench-passthrough.py SMARTCONNECTD TESTDATA
"""

import os
import re
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
os.environ.setdefault("TESTDATA", sys.argv[2] if len(sys.argv) > 2 else "")

import harness  # noqa: E402
import ptlib  # noqa: E402

N_TELEGRAMS = 250
PACE = 0.020
METER = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def socket_fds(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass
    return n


def run(binary, n_clients):
    with Workdir() as w:
        link = w.join("ttyMETER")
        pty = w.add(harness.Pty(link))
        text = ptlib.config(link, "Listen=127.0.0.1:0\nMaxClients=128\n", "dsmr", log_level="info")
        d = w.add(harness.Daemon(binary, w.path, text))
        i, m = d.wait_for(ptlib.PORT_RX)
        if i is None:
            sys.exit("the daemon did not start")
        port = int(m.group(1))
        raw = harness.testdata(METER)
        telegrams = [ptlib.numbered(raw, k) for k in range(N_TELEGRAMS + 1)]
        size = len(telegrams[0])
        harness.feed_until(d, pty, telegrams[0], r"Receiving DSMR")

        sel = selectors.DefaultSelector()
        got = {}
        before = socket_fds(d.proc.pid)
        for _ in range(n_clients):
            s = socket.create_connection(("127.0.0.1", port))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            got[s] = 0
        deadline = time.monotonic() + harness.TIMEOUT
        # Accepted by the daemon: its socket fds, not its log (connect lines
        # past the first are summarised at this log level).
        while socket_fds(d.proc.pid) < before + n_clients:
            if time.monotonic() > deadline:
                sys.exit("clients did not connect")
            time.sleep(0.01)

        sent_at = [0.0] * N_TELEGRAMS
        lat = []
        stop = threading.Event()

        def reader():
            while not stop.is_set() or any(v < N_TELEGRAMS * size for v in got.values()):
                for key, _ in sel.select(0.5):
                    s = key.fileobj
                    try:
                        data = s.recv(1 << 16)
                    except BlockingIOError:
                        continue
                    now = time.monotonic()
                    before = got[s]
                    got[s] += len(data)
                    for k in range(before // size, got[s] // size):
                        lat.append(now - sent_at[k])
                if stop.is_set() and time.monotonic() > deadline2[0]:
                    return

        deadline2 = [float("inf")]
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        cpu0 = cpu_seconds(d.proc.pid)
        t0 = time.monotonic()
        for k in range(N_TELEGRAMS):
            sent_at[k] = time.monotonic()
            pty.write(telegrams[k + 1])
            time.sleep(max(0.0, t0 + (k + 1) * PACE - time.monotonic()))
        deadline2[0] = time.monotonic() + harness.TIMEOUT
        stop.set()
        t.join(harness.TIMEOUT + 1)
        cpu = cpu_seconds(d.proc.pid) - cpu0
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        d.stop()
        lat.sort()
        complete = len(lat) == N_TELEGRAMS * n_clients
        return {
            "clients": n_clients,
            "complete": complete,
            "p50": lat[len(lat) // 2] * 1000 if lat else float("nan"),
            "p99": lat[int(len(lat) * 0.99)] * 1000 if lat else float("nan"),
            "max": lat[-1] * 1000 if lat else float("nan"),
            "cpu_us": cpu / N_TELEGRAMS * 1e6,
        }


Workdir = harness.Workdir


def main():
    binary = sys.argv[1]
    print("passthrough: %d DSMR 5 telegrams of 778 bytes every %d ms, latency pty write -> client"
          % (N_TELEGRAMS, PACE * 1000))
    print("%8s %10s %10s %10s %16s %s" % ("clients", "p50 ms", "p99 ms", "max ms", "CPU us/telegram", ""))
    ok = True
    for n in (1, 10, 100):
        r = run(binary, n)
        ok = ok and r["complete"]
        print("%8d %10.3f %10.3f %10.3f %16.1f %s" % (r["clients"], r["p50"], r["p99"], r["max"], r["cpu_us"],
                                                     "" if r["complete"] else "INCOMPLETE"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
