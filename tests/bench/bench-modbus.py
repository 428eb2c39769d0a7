#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Modbus TCP benchmark: smartconnectd against a minimal libmodbus server.

Starts smartconnect-replay (a DSMR 5 capture on a pty, in a loop), the daemon
on it with the Eastron-SDM630 template on a free loopback port, and
bench-modbus-floor (select() + modbus_receive + modbus_reply, nothing else).
Then bench-modbus reads, with FC 0x03, 2 registers at 0x0034 and 60 registers
at 0x0000 with 1 and 16 concurrent clients from each server in turn, and one
table is printed: requests per second, p50 and p99 latency, and per case the
ratios ours/floor. The daemon is read a third way, with RTU frames over the
same TCP port ([Modbus] Framing=auto, libmodbus's RTU context on a TCP
socket), and that row gives its ratios to the daemon's own MBAP figures.

The goal: throughput at least 0.9 x the floor's and p99 at most 1.2 x the
floor's. The verdict is printed; the exit status is 0 unless a process fails.

With --mqtt, a mosquitto broker runs on a free loopback port and the daemon
publishes every telegram and its counters to it during the run.

usage: bench-modbus.py SMARTCONNECTD SMARTCONNECT_REPLAY FLOOR CLIENT TESTDATA_DIR
                       [--seconds S] [--clients N,N] [--rounds R] [--mqtt]
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

CAPTURE = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
READS = [(2, 0x0034), (60, 0x0000)]  # registers, start address (FC 0x03)
GOAL_RPS = 0.9
GOAL_P99 = 1.2
TIMEOUT = 20.0

CONFIG = """[Daemon]
LogLevel=info

[Meter]
Device={device}

[Modbus]
Listen=127.0.0.1:0
MeterType=Eastron-SDM630
MaxClients=64
# All benchmark clients come from 127.0.0.1.
MaxClientsPerIP=64
StalePolicy=keep

[HTTP]
Listen=127.0.0.1:0
"""


class Proc:
    """A child process whose output (one stream) is collected line by line."""

    def __init__(self, name, cmd, stream="stderr"):
        self.name = name
        self.lines = []
        self.cond = threading.Condition()
        kw = {"stdin": subprocess.DEVNULL}
        if stream == "stderr":
            kw.update(stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        else:
            kw.update(stdout=subprocess.PIPE, stderr=None)
        env = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                  "LISTEN_FDNAMES", "JOURNAL_STREAM"):
            env.pop(k, None)
        self.proc = subprocess.Popen(cmd, env=env, **kw)
        pipe = self.proc.stderr if stream == "stderr" else self.proc.stdout
        self.thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self.thread.start()

    def _read(self, pipe):
        for raw in pipe:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, pattern, timeout=TIMEOUT):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self.cond:
            while True:
                for line in self.lines[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                if self.proc.poll() is not None:
                    raise RuntimeError("{} exited ({}) before '{}':\n{}".format(
                        self.name, self.proc.returncode, pattern, self.log()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("{}: no '{}' within {:.0f} s:\n{}".format(
                        self.name, pattern, timeout, self.log()))
                self.cond.wait(min(left, 0.2))

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        with self.cond:
            return "\n".join("  " + line for line in self.lines[-30:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.thread.join(2)
        return self.proc.returncode


def start_broker(tmp, procs):
    """mosquitto on a free loopback port; returns the port."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    conf = os.path.join(tmp, "broker.conf")
    with open(conf, "w") as f:
        f.write("listener {} 127.0.0.1\nallow_anonymous true\npersistence false\n".format(port))
    procs.append(Proc("mosquitto", ["mosquitto", "-v", "-c", conf]))
    procs[-1].wait_for(r"Opening ipv4 listen socket on port {}".format(port))
    return port


def run_client(client, port, regs, addr, clients, seconds, rtu=False):
    cmd = [client, "127.0.0.1", str(port), "0x%04X" % addr, str(regs), str(clients), str(seconds)]
    cmd += ["rtu"] if rtu else []
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       timeout=seconds + 60)
    if p.returncode != 0:
        raise RuntimeError("{} failed ({}):\n{}{}".format(" ".join(cmd), p.returncode, p.stdout, p.stderr))
    res = dict(kv.split("=", 1) for kv in p.stdout.split())
    out = {k: float(v) for k, v in res.items()}
    if out["errors"]:
        sys.stderr.write("warning: {} errors reading {} registers from port {}:\n{}".format(
            int(out["errors"]), regs, port, p.stderr))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("smartconnectd")
    ap.add_argument("replay")
    ap.add_argument("floor")
    ap.add_argument("client")
    ap.add_argument("testdata")
    ap.add_argument("--seconds", type=float, default=3.0, help="measured time per case (default 3)")
    ap.add_argument("--clients", default="1,16", help="concurrent clients, comma separated (default 1,16)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure each case this many times, alternating servers; keep the best")
    ap.add_argument("--mqtt", action="store_true", help="the daemon publishes to a local mosquitto meanwhile")
    args = ap.parse_args()
    client_counts = [int(x) for x in args.clients.split(",")]

    tmp = tempfile.mkdtemp(prefix="bench-modbus-")
    procs = []
    try:
        link = os.path.join(tmp, "meter")
        replay = Proc("smartconnect-replay",
                      [args.replay, "--loop", "--interval", "1", "--link", link,
                       os.path.join(args.testdata, CAPTURE)])
        procs.append(replay)
        deadline = time.monotonic() + TIMEOUT
        while not os.path.lexists(link):
            if not replay.alive() or time.monotonic() > deadline:
                raise RuntimeError("smartconnect-replay made no {}:\n{}".format(link, replay.log()))
            time.sleep(0.05)

        conf = os.path.join(tmp, "smartconnect.conf")
        with open(conf, "w") as f:
            f.write(CONFIG.format(device=link))
            if args.mqtt:
                bport = start_broker(tmp, procs)
                f.write("\n[MQTT]\nEnabled=yes\nBroker=mqtt://127.0.0.1:%d\nSite=bench\n"
                        "CountersInterval=1\nPingGateway=127.0.0.2\nPingHost=127.0.0.3\n" % bport)
        daemon = Proc("smartconnectd", [args.smartconnectd, "--config", conf,
                                        "--state-dir", os.path.join(tmp, "state")])
        procs.append(daemon)
        ours_port = int(daemon.wait_for(r"Modbus TCP server on port (\d+)").group(1))
        daemon.wait_for(r"Receiving")
        if args.mqtt:
            daemon.wait_for(r"MQTT connected to")

        floor = Proc("bench-modbus-floor", [args.floor, "0"], stream="stdout")
        procs.append(floor)
        floor_port = int(floor.wait_for(r"^port (\d+)").group(1))

        servers = [("smartconnectd", ours_port, daemon), ("floor", floor_port, floor),
                   ("ours RTU/TCP", ours_port, daemon)]
        results = {}
        for regs, addr in READS:
            for n in client_counts:
                for rnd in range(args.rounds):
                    # Alternate which server goes first, so drift hits both alike.
                    order = servers if rnd % 2 == 0 else list(reversed(servers))
                    for name, port, proc in order:
                        r = run_client(args.client, port, regs, addr, n, args.seconds, rtu="RTU" in name)
                        if not proc.alive():
                            raise RuntimeError("{} died during the run:\n{}".format(name, proc.log()))
                        key = (name, regs, n)
                        best = results.get(key)
                        if best is None or r["rps"] > best["rps"]:
                            results[key] = r

        print("Modbus TCP, FC 0x03 on 127.0.0.1, {:.1f} s per case after 0.2 s warm-up, {} CPUs".format(
            args.seconds, os.cpu_count()))
        print("smartconnectd: Eastron-SDM630 template, 2 regs at 0x0034, 60 regs at 0x0000{}".format(
            ", publishing to a local MQTT broker" if args.mqtt else ""))
        print("floor: libmodbus select() + modbus_receive + modbus_reply\n")
        hdr = "{:<14} {:>4} {:>7} {:>9} {:>8} {:>8}   {:>7} {:>7}  {}".format(
            "server", "regs", "clients", "rps", "p50 us", "p99 us", "rps x", "p99 x", "goal")
        print(hdr)
        print("-" * len(hdr))
        verdicts = []
        for regs, _ in READS:
            for n in client_counts:
                f = results[("floor", regs, n)]
                for name in ("smartconnectd", "floor", "ours RTU/TCP"):
                    r = results[(name, regs, n)]
                    extra = ""
                    if "RTU" in name:
                        o = results[("smartconnectd", regs, n)]
                        extra = "   {:>7.2f} {:>7.2f}  (x MBAP)".format(
                            r["rps"] / o["rps"] if o["rps"] else 0.0,
                            r["p99_us"] / o["p99_us"] if o["p99_us"] else float("inf"))
                    if name == "smartconnectd":
                        rr = r["rps"] / f["rps"] if f["rps"] else 0.0
                        pr = r["p99_us"] / f["p99_us"] if f["p99_us"] else float("inf")
                        ok = rr >= GOAL_RPS and pr <= GOAL_P99
                        verdicts.append(ok)
                        extra = "   {:>7.2f} {:>7.2f}  {}".format(rr, pr, "PASS" if ok else "FAIL")
                    print("{:<14} {:>4} {:>7} {:>9.0f} {:>8.1f} {:>8.1f}{}".format(
                        name, regs, n, r["rps"], r["p50_us"], r["p99_us"], extra))
        print("\ngoal: throughput >= {} x floor and p99 <= {} x floor: {} ({}/{} cases)".format(
            GOAL_RPS, GOAL_P99, "PASS" if all(verdicts) else "FAIL", sum(verdicts), len(verdicts)))
        sys.stdout.flush()
        return 0
    finally:
        crashed = []
        for p in reversed(procs):
            rc = p.stop()
            # Killed by our SIGTERM is the normal end; anything else is a crash.
            if rc not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
                crashed.append("{} exited {}:\n{}".format(p.name, rc, p.log()))
        shutil.rmtree(tmp, ignore_errors=True)
        if crashed:
            sys.stderr.write("\n".join(crashed) + "\n")
            sys.exit(1)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        sys.stderr.write("bench-modbus: {}\n".format(e))
        sys.exit(1)
