#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Whole-daemon benchmark: what one telegram costs smartconnectd with every
output on, in instructions (callgrind), system calls (strace -c), wake-ups,
memory and start-up.

Set-up (release build): a pty meter fed the 778-byte DSMR 5 capture 20 times a
second, MQTT to a local mosquitto, 4 Modbus TCP clients each reading the two
PhoenixContact-EMPro blocks (0x8000 x 54, 0x8100 x 8) 10 times a second,
2 passthrough readers, GET /api/v1/status every 3 s.

Instructions: the daemon runs under callgrind. After a warm-up the meter
pauses, the counters are zeroed (callgrind_control -z), exactly N telegrams
are written at 20 per second while the clients go on, the counters are dumped
(callgrind_control -d) one period after the last one, and the total is divided
by the telegrams accepted in between (the status counter, read outside the
window, must have grown by N). The same for the meter path alone (no clients,
MQTT on) and for Modbus alone (a client sends exactly R requests per block,
no telegram): instructions per request. Allocations: the calls of the malloc
family in the meter path's window (callgrind counts calls too), per telegram,
libmosquitto's (its PUBLISH packet) apart from the rest, which must stay
under one per telegram: none per telegram in steady state.

System calls: strace -c on the daemon (no valgrind) with the meter, MQTT and
one passthrough reader, over N telegrams. Wake-ups: voluntary context
switches of the loop's thread over --idle-seconds with a 1 Hz meter, MQTT
connected and the watchdog on, run alongside (same seconds) the floor, the
same binary with the meter alone (one wake per telegram at best), the same
with the network checks by name (localhost, through the resolver's thread),
and with --baseline an older build, e.g. on a release build:
  bench-daemon.py BUILD/src/smartconnectd TESTDATA --only wakeups --baseline OLD/smartconnectd
Memory: anonymous memory, RSS and PSS after --memory-telegrams
telegrams with every output on, and where the anonymous memory lives (heap,
anonymous mappings, the private pages of the program and of each library,
stacks, from /proc/PID/smaps); again with a full history file restored (both
rings resident, written by --history-fill) when given; start-up: exec to
READY=1 with mDNS off and on (instructions under callgrind, shared objects
mapped, RSS/PSS), side by side with --baseline when given.

Instruction counts are exact; the goals: <= 30,000 instructions per telegram,
<= 5 system calls per telegram, <= 1.1 wake-ups per second at idle,
anonymous memory <= 2 MB. Nothing asserts a time.

usage: bench-daemon.py SMARTCONNECTD TESTDATA [--only PARTS] [--telegrams N] ...
"""

import argparse
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import HTTP_RX, MODBUS_RX, PT_RX, Broker, ModbusClient, port_of  # noqa: E402
import harness  # noqa: E402  (on the path benchlib sets)

METER = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
PERIOD = 0.050  # 20 telegrams per second
GOAL_INSTR, GOAL_SYSCALLS, GOAL_WAKEUPS, GOAL_ANON_KB, GOAL_STATUS, GOAL_TOOL = 30000, 5, 1.1, 2048, 50000, 60000
PING = ("127.0.0.2", "127.0.0.3")  # PingGateway, PingHost: loopback, refused at once
PASSWORD = "Pw-bench-5e21c9"


def config(link, broker=None, modbus=True, http=True, passthrough=False, ping=PING):
    text = "[Daemon]\nLogLevel=info\n[Meter]\nDevice=%s\nProtocol=dsmr\n[Device]\nSerial=BENCH1\n" % link
    text += "[Modbus]\nListen=%s\n" % ("127.0.0.1:0" if modbus else "")
    text += "[HTTP]\nListen=%s\nPassword=%s\n" % ("127.0.0.1:0" if http else "", PASSWORD)
    # No avahi daemon on a test machine: mDNS would only retry.
    text += "[mDNS]\nEnabled=no\n"
    if passthrough:
        text += "[Passthrough]\nListen=127.0.0.1:0\n"
    if broker:
        text += ("[MQTT]\nEnabled=yes\nBroker=mqtt://127.0.0.1:%d\nSite=bench\n"
                 "PingGateway=%s\nPingHost=%s\n" % ((broker.port,) + ping))
    return text


class Meter:
    """The pty and a writer thread that can pause, or write exactly n telegrams."""

    def __init__(self, w, raw):
        self.link = w.join("ttyMETER")
        self.pty = w.add(harness.Pty(self.link))
        self.raw = raw
        self.written = 0

    def burst(self, n, period=PERIOD):
        t0 = time.monotonic()
        for k in range(n):
            self.pty.write(self.raw)
            self.written += 1
            time.sleep(max(0.0, t0 + (k + 1) * period - time.monotonic()))

    def close(self):
        self.pty.close()


class Load(threading.Thread):
    """Something repeated every period seconds until stopped."""

    def __init__(self, period, fn):
        super().__init__(daemon=True)
        self.period, self.fn = period, fn
        self.stop_ev = threading.Event()
        self.count = 0

    def run(self):
        t = time.monotonic()
        while not self.stop_ev.is_set():
            self.fn()
            self.count += 1
            t += self.period
            self.stop_ev.wait(max(0.0, t - time.monotonic()))

    def close(self):
        self.stop_ev.set()
        self.join(harness.TIMEOUT)


class Reader(threading.Thread):
    """A passthrough client that reads and drops everything."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), harness.TIMEOUT)
        self.bytes = 0
        self.start()

    def run(self):
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return
                self.bytes += len(d)
        except OSError:
            return

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def status(port):
    req = urllib.request.Request("http://127.0.0.1:%d/api/v1/status" % port)
    req.add_header("Authorization", "Basic " + base64.b64encode(("user:" + PASSWORD).encode()).decode())
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def accepted(port):
    return status(port)["meter"]["telegrams_pass"]


def start(w, binary, meter, text, prefix=None, env=None):
    d = w.add(harness.Daemon(binary, w.path, text, prefix=prefix, env=env))
    i, _ = harness.feed_until(d, meter.pty, meter.raw, r"Receiving DSMR", timeout=120, every=2.0)
    if i is None:
        raise RuntimeError("the daemon did not receive the meter")
    return d


def callgrind_ir(path):
    with open(path) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    raise RuntimeError("no instruction total in " + path)


class Callgrind:
    def __init__(self, w):
        self.out = w.join("callgrind.out")
        self.prefix = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + self.out + ".%p"]
        # Instrumented only inside a window: faster start, and a profile of the window alone.
        self.prefix.insert(2, "--instr-atstart=no")
        self.dumps = 0

    def control(self, pid, opt):
        subprocess.run(["callgrind_control"] + opt.split() + [str(pid)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)

    def window(self, pid, fn):
        """Instructions the daemon spends while fn() runs (zeroed before, dumped after)."""
        self.control(pid, "-z")
        self.control(pid, "-i on")
        fn()
        self.control(pid, "-d")
        self.control(pid, "-i off")
        self.dumps += 1
        path = "%s.%d.%d" % (self.out, pid, self.dumps)
        if os.environ.get("BENCH_KEEP"):
            shutil.copy(path, os.environ["BENCH_KEEP"])
        # The profile goes with the work directory: its top functions and heap calls now.
        self.allocs = heap_calls(path)
        return callgrind_ir(path), top_functions(path)


def top_functions(path, n=12):
    p = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=99", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    lines = [l for l in p.stdout.splitlines() if re.match(r"\s*[\d,]+ \(\s*[\d.]+%\)\s+\S", l)]
    return "\n".join("    " + re.sub(r" \[[^]]*\]$", "", l).replace("???:", "") for l in lines[1:n + 1])


ALLOC_FNS = ("malloc", "calloc", "realloc", "reallocarray")


def heap_calls(path):
    """Calls of the malloc family in a profile, by caller: {(caller, object): calls}."""
    p = subprocess.run(["callgrind_annotate", "--tree=caller", "--threshold=100", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    calls, callers = {}, []
    for line in p.stdout.splitlines():
        m = re.match(r"\s*[\d,]+ \(\s*[\d.]+%\)\s+([<*])\s+(\S+)(?: \((\d+)x\))? \[([^]]*)\]", line)
        if not m:
            callers = []
            continue
        kind, fn, n, obj = m.groups()
        if kind == "<":
            callers.append((fn.split(":")[-1], os.path.basename(obj), int(n or 0)))
        elif fn.split(":")[-1] in ALLOC_FNS:
            for caller, cobj, k in callers:
                calls[(caller, cobj)] = calls.get((caller, cobj), 0) + k
            callers = []
    return calls


def alloc_summary(calls, n):
    """Allocations per telegram: libmosquitto's own (its PUBLISH packets) and everyone else's."""
    lib = sum(k for (_, o), k in calls.items() if o.startswith("libmosquitto"))
    rest = {c: k for c, k in calls.items() if not c[1].startswith("libmosquitto")}
    detail = ", ".join("%s %d" % (c[0], k) for c, k in sorted(rest.items(), key=lambda kv: -kv[1]))
    return lib / n, sum(rest.values()) / n, detail


def instructions(args, raw, full):
    """Instructions per accepted telegram, every output on (full) or the meter path with MQTT."""
    with harness.Workdir() as w:
        broker = w.add(Broker(w, "broker"))
        meter = w.add(Meter(w, raw))
        cg = Callgrind(w)
        d = start(w, args.smartconnectd, meter, config(meter.link, broker, passthrough=full), cg.prefix)
        http = port_of(d, HTTP_RX)
        loads = []
        if full:
            mb = port_of(d, MODBUS_RX)
            pt = port_of(d, PT_RX)
            for _ in range(2):
                w.add(Reader(pt))
            for _ in range(4):
                c = w.add(ModbusClient(mb))
                loads.append(Load(0.1, c.poll))
            loads.append(Load(3.0, lambda: status(http)))
        for ld in loads:
            ld.start()
            w.add(ld)
        meter.burst(args.warmup)
        time.sleep(0.5)
        before = accepted(http)
        mb_before = sum(ld.count for ld in loads[:-1]) if full else 0
        ir, out = cg.window(d.proc.pid, lambda: meter.burst(args.telegrams))
        out = (out, cg.allocs)
        mb_reqs = (sum(ld.count for ld in loads[:-1]) - mb_before) * 2 if full else 0
        time.sleep(0.5)
        n = accepted(http) - before
        if n != args.telegrams:
            raise RuntimeError("%d telegrams accepted of %d written" % (n, args.telegrams))
        return ir / n, n, mb_reqs, out


def modbus_request_cost(args, raw):
    with harness.Workdir() as w:
        meter = w.add(Meter(w, raw))
        cg = Callgrind(w)
        d = start(w, args.smartconnectd, meter, config(meter.link), cg.prefix)
        c = w.add(ModbusClient(port_of(d, MODBUS_RX)))
        for _ in range(20):
            c.poll()
        reqs = args.requests

        def run():
            for _ in range(reqs):
                c.poll()

        ir, out = cg.window(d.proc.pid, run)
        if c.errors:
            raise RuntimeError("%d Modbus exceptions" % c.errors)
        return ir / (2 * reqs), 2 * reqs, out


def status_cost(args, raw):
    """Instructions per GET /api/v1/status (no telegram meanwhile), request and response included."""
    with harness.Workdir() as w:
        broker = w.add(Broker(w, "broker"))
        meter = w.add(Meter(w, raw))
        cg = Callgrind(w)
        d = start(w, args.smartconnectd, meter, config(meter.link, broker, passthrough=True), cg.prefix)
        http = port_of(d, HTTP_RX)
        meter.burst(3)
        for _ in range(3):
            status(http)
        n = 20

        def run():
            for _ in range(n):
                status(http)

        ir, out = cg.window(d.proc.pid, run)
        return ir / n, n, out


def decode_tool_cost(args, raw):
    """smartconnect-decode with its full output: instructions per telegram (1010 minus 10 telegrams)."""
    with harness.Workdir() as w:
        irs = []
        for n in (10, 1010):
            path = w.join("in-%d.raw" % n)
            with open(path, "wb") as f:
                f.write(raw * n)
            out = w.join("callgrind.decode.%d" % n)
            p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                                args.decode, "--now=1700000000", path],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            lines = p.stdout.count(b"\n")
            if p.returncode != 0 or lines != n:
                raise RuntimeError("smartconnect-decode: exit %d, %d lines of %d" % (p.returncode, lines, n))
            irs.append(callgrind_ir(out))
        return (irs[1] - irs[0]) / 1000


def strace_count(path):
    total = None
    rows = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[-1] == "total":
                total = int(parts[3])
            elif len(parts) >= 5 and re.match(r"[\d.]+$", parts[0]) and parts[-1] != "total":
                rows[parts[-1]] = (int(parts[3]), int(parts[4]) if len(parts) == 6 else 0)
    if total is None:
        raise RuntimeError("no strace total in " + path)
    return total, rows


def strace_window(pid, out, fn):
    st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached (strace prints nothing to say so)
    t0 = time.monotonic()
    fn()
    took = time.monotonic() - t0
    st.send_signal(signal.SIGINT)
    st.wait(30)
    return strace_count(out) + (took,)


def syscalls(args, raw):
    """System calls per telegram: a window with the telegrams at 20/s minus an
    idle window as long (the timers' own calls: network checks, keep-alive)."""
    with harness.Workdir() as w:
        broker = w.add(Broker(w, "broker"))
        meter = w.add(Meter(w, raw))
        d = start(w, args.smartconnectd, meter, config(meter.link, broker, passthrough=True))
        http = port_of(d, HTTP_RX)
        w.add(Reader(port_of(d, PT_RX)))
        meter.burst(args.warmup)
        time.sleep(0.5)
        before = accepted(http)
        total, rows, took = strace_window(d.proc.pid, w.join("strace.txt"), lambda: meter.burst(args.telegrams))
        n = accepted(http) - before
        idle, idle_rows, _ = strace_window(d.proc.pid, w.join("strace-idle.txt"), lambda: time.sleep(took))
        return total / n, (total - idle) / n, n, rows, idle / took


def wakeups_one(args, raw, binary, mqtt=True, out=None, ping=PING):
    """Voluntary context switches of the daemon's thread per second with a
    1 Hz meter; with mqtt, MQTT connected, its network checks (to the ping
    targets) and the watchdog on."""
    with harness.Workdir() as w:
        broker = w.add(Broker(w, "broker")) if mqtt else None
        meter = w.add(Meter(w, raw))
        d = start(w, binary, meter, config(meter.link, broker, ping=ping),
                  env={"WATCHDOG_USEC": "30000000"} if mqtt else None)
        meter.burst(3, 1.0)

        def ctxt():
            with open("/proc/%d/status" % d.proc.pid) as f:
                return int(re.search(r"voluntary_ctxt_switches:\s+(\d+)", f.read()).group(1))
        c0 = ctxt()
        meter.burst(args.idle_seconds, 1.0)
        out.append((ctxt() - c0) / args.idle_seconds)


def wakeups(args, raw):
    """The daemon, the meter-only floor (MQTT off, no watchdog: ideally one
    wake per telegram) and, with --baseline, an older build: all at once over
    the same seconds, so the machine's load weighs on each alike."""
    names = ("localhost", "localhost")
    runs = [("smartconnectd", args.smartconnectd, True, PING),
            ("floor: meter alone, no MQTT, no watchdog", args.smartconnectd, False, PING),
            ("network checks by name (resolver thread)", args.smartconnectd, True, names)]
    if args.baseline:
        runs.append(("baseline " + args.baseline, args.baseline, True, PING))
        runs.append(("baseline, network checks by name", args.baseline, True, names))
    outs = [[] for _ in runs]
    threads = [threading.Thread(target=wakeups_one, args=(args, raw, b, m, o, p))
               for (_, b, m, p), o in zip(runs, outs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not all(outs):
        raise RuntimeError("a wake-up run failed")
    return [(name, o[0]) for (name, _, _, _), o in zip(runs, outs)]


def smaps(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m:
                out[m.group(1)] = int(m.group(2))
    return out


def anon_breakdown(pid):
    """Anonymous kB by where it lives: malloc's heap, the stacks, other anonymous
    mappings (large allocations, thread stacks, by size), and the private pages
    of the program and of each shared library (relocated data, .bss)."""
    parts, anon_maps, name = {}, [], None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            head = re.match(r"[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$", line)
            if head:
                name, size = head.group(1) or "", None
                continue
            m = re.match(r"(Size|Anonymous):\s+(\d+) kB", line)
            if not m:
                continue
            if m.group(1) == "Size":
                size = int(m.group(2))
                continue
            kb = int(m.group(2))
            if not kb:
                continue
            if name in ("[heap]", "[stack]"):
                key = name
            elif not name:
                anon_maps.append((kb, size))
                key = "anonymous mappings"
            elif "smartconnectd" in os.path.basename(name):
                key = "program data"
            else:
                key = "library data"
            parts[key] = parts.get(key, 0) + kb
            if key == "library data":
                lib = os.path.basename(name).split(".so")[0]
                parts["  " + lib] = parts.get("  " + lib, 0) + kb
    maps = ", ".join("%d of %d" % m for m in sorted(anon_maps, reverse=True))
    return parts, maps


def print_breakdown(pid):
    parts, maps = anon_breakdown(pid)
    libs = sorted(((k, v) for k, v in parts.items() if k.startswith("  ")), key=lambda kv: -kv[1])
    for k in ("[heap]", "anonymous mappings", "program data", "library data", "[stack]"):
        print("    %-20s %5d kB" % (k, parts.get(k, 0)))
        if k == "anonymous mappings":
            print("      (resident kB of mapping kB: %s)" % maps)
        if k == "library data":
            print("      " + ", ".join("%s %d" % (n.strip(), v) for n, v in libs))


def libraries(pid):
    """The shared objects mapped into the process."""
    with open("/proc/%d/maps" % pid) as f:
        return sorted({line.split()[-1] for line in f if re.search(r"\.so(\.\d+)*$", line.split()[-1])})


def startup_once(binary, mdns, callgrind=False):
    """exec to READY=1 of one daemon (no meter, Modbus and HTTP on): seconds,
    shared objects mapped, smaps_rollup at READY=1, and with callgrind the
    instructions up to READY=1 (the dynamic loader's included)."""
    with harness.Workdir() as w:
        notify = w.add(harness.Notify(w.join("notify")))
        text = ("[Meter]\nDevice=%s\n[Modbus]\nListen=127.0.0.1:0\n[HTTP]\nListen=127.0.0.1:0\nPassword=%s\n"
                "[mDNS]\nEnabled=%s\n" % (w.join("none"), PASSWORD, "yes" if mdns else "no"))
        out = w.join("callgrind.out")
        prefix = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] if callgrind else None
        t0 = time.monotonic()
        d = w.add(harness.Daemon(binary, w.path, text, notify=notify, prefix=prefix))
        i, msg = notify.wait_for(lambda m: m.get("READY") == "1", timeout=120)
        if i is None:
            raise RuntimeError("no READY=1")
        seconds = msg["_t"] - t0
        libs, mem, ir = len(libraries(d.proc.pid)), smaps(d.proc.pid), None
        if callgrind:
            subprocess.run(["callgrind_control", "-d", str(d.proc.pid)], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=120)
            ir = callgrind_ir(out + ".1")
        return seconds, libs, mem, ir


def startup(args):
    """This binary against --baseline side by side: wall time to READY=1 as the
    median of alternated runs (the machine's noise hits both alike), and the
    exact instruction counts to READY=1, with mDNS off and on."""
    binaries = [("baseline", args.baseline), ("this", args.smartconnectd)] if args.baseline else \
        [("this", args.smartconnectd)]
    for mdns in (False, True):
        times = {name: [] for name, _ in binaries}
        for _ in range(args.startup_runs):
            for name, b in binaries:
                times[name].append(startup_once(b, mdns)[0])
        med = {name: sorted(t)[len(t) // 2] * 1000 for name, t in times.items()}
        for name, b in binaries:
            _, libs, mem, ir = startup_once(b, mdns, callgrind=True)
            _, _, mem, _ = startup_once(b, mdns)
            print("start-up, mDNS %s, %s: %.1f ms to READY=1 (median of %d), %d instructions, %d shared objects, "
                  "RSS %d kB, PSS %d kB, anonymous %d kB"
                  % ("on" if mdns else "off", name, med[name], args.startup_runs, ir, libs, mem["Rss"], mem["Pss"],
                     mem["Anonymous"]), flush=True)
        if args.baseline:
            print("  time ratio this / baseline: %.3f" % (med["this"] / med["baseline"]), flush=True)


def memory(args, raw, full_history=False):
    with harness.Workdir() as w:
        broker = w.add(Broker(w, "broker"))
        meter = w.add(Meter(w, raw))
        notify = w.add(harness.Notify(w.join("notify")))
        if full_history:
            # A gateway that has run for a year: both rings restored full.
            os.mkdir(w.join("state"))
            subprocess.run([args.history_fill, w.join("state", "history"), str(int(time.time()))],
                           check=True, stdout=subprocess.DEVNULL)
        t0 = time.monotonic()
        d = w.add(harness.Daemon(args.smartconnectd, w.path, config(meter.link, broker, passthrough=True),
                                 notify=notify))
        i, msg = notify.wait_for(lambda m: m.get("READY") == "1")
        if i is None:
            raise RuntimeError("no READY=1")
        startup_ms = (msg["_t"] - t0) * 1000
        if full_history and d.wait_for(r"History restored")[0] is None:
            raise RuntimeError("the full history was not restored")
        harness.feed_until(d, meter.pty, raw, r"Receiving DSMR")
        http = port_of(d, HTTP_RX)
        mb = w.add(ModbusClient(port_of(d, MODBUS_RX)))
        w.add(Reader(port_of(d, PT_RX)))
        after_start = smaps(d.proc.pid)
        for k in range(args.memory_telegrams):
            meter.pty.write(raw)
            if k % 100 == 0:
                mb.poll()
        time.sleep(1.0)
        status(http)
        n = accepted(http)
        after = smaps(d.proc.pid)
        print("memory after %d telegrams%s, every output on: RSS %d kB, PSS %d kB, anonymous %d kB  "
              "goal <= %d kB: %s" % (n, ", history restored full" if full_history else "", after["Rss"],
                                     after["Pss"], after["Anonymous"], GOAL_ANON_KB,
                                     "PASS" if after["Anonymous"] <= GOAL_ANON_KB else "FAIL"))
        print_breakdown(d.proc.pid)
        print("  %d shared objects mapped" % len(libraries(d.proc.pid)), flush=True)
        return startup_ms, after_start, after


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("smartconnectd")
    ap.add_argument("testdata")
    ap.add_argument("--only", default="full,meter,modbus,status,tool,syscalls,wakeups,memory,startup",
                    help="comma-separated parts to run")
    ap.add_argument("--telegrams", type=int, default=200, help="telegrams in a measured window")
    ap.add_argument("--warmup", type=int, default=60, help="telegrams before a window")
    ap.add_argument("--requests", type=int, default=200, help="Modbus polls (2 requests each)")
    ap.add_argument("--idle-seconds", type=int, default=60)
    ap.add_argument("--memory-telegrams", type=int, default=100000)
    ap.add_argument("--decode", help="smartconnect-decode, for its cost per telegram")
    ap.add_argument("--history-fill", help="history-fill: memory again with a full history restored")
    ap.add_argument("--baseline", help="an older smartconnectd: its wake-ups and start-up run alongside")
    ap.add_argument("--startup-runs", type=int, default=15)
    ap.add_argument("--annotate", action="store_true", help="top functions of each callgrind window")
    args = ap.parse_args()
    os.environ.setdefault("TESTDATA", args.testdata)
    parts = args.only.split(",")
    raw = harness.testdata(METER)
    ok = True

    def goal(cond):
        return "PASS" if cond else "FAIL"

    print("smartconnectd whole-daemon benchmark, DSMR 5 telegram of %d bytes" % len(raw))
    if "full" in parts:
        ir, n, reqs, (out, _) = instructions(args, raw, True)
        ok &= ir <= GOAL_INSTR
        print("every output on (4 Modbus clients 2 blocks 10/s, MQTT, 2 passthrough, status every 3 s):")
        print("  instructions per accepted telegram: %.0f over %d telegrams, %d Modbus requests  goal <= %d: %s"
              % (ir, n, reqs, GOAL_INSTR, goal(ir <= GOAL_INSTR)), flush=True)
        if args.annotate:
            print(out)
    if "meter" in parts:
        ir, n, _, (out, allocs) = instructions(args, raw, False)
        lib, ours, detail = alloc_summary(allocs, n)
        ok &= ours < 1
        print("meter path alone (MQTT on, no clients):")
        print("  instructions per accepted telegram: %.0f over %d telegrams" % (ir, n))
        # Timers that run now and then (the reachability check) may allocate in
        # the window; less than one a telegram means none is per telegram.
        print("  heap allocations per telegram (callgrind's calls): libmosquitto %.2f (its PUBLISH packet), "
              "the rest %.2f%s  goal < 1: %s" % (lib, ours, " (%s)" % detail if detail else "",
                                                 goal(ours < 1)), flush=True)
        if args.annotate:
            print(out)
    if "modbus" in parts:
        ir, n, out = modbus_request_cost(args, raw)
        print("Modbus alone (EMpro blocks, 54 and 8 registers, alternately):")
        print("  instructions per request: %.0f over %d requests" % (ir, n), flush=True)
        if args.annotate:
            print(out)
    if "status" in parts:
        ir, n, out = status_cost(args, raw)
        ok &= ir <= GOAL_STATUS
        print("GET /api/v1/status: %.0f instructions per request over %d  goal <= %d: %s"
              % (ir, n, GOAL_STATUS, goal(ir <= GOAL_STATUS)), flush=True)
        if args.annotate:
            print(out)
    if "tool" in parts and args.decode:
        ir = decode_tool_cost(args, raw)
        ok &= ir <= GOAL_TOOL
        print("smartconnect-decode, full objects output: %.0f instructions per telegram  goal <= %d: %s"
              % (ir, GOAL_TOOL, goal(ir <= GOAL_TOOL)), flush=True)
    if "syscalls" in parts:
        per, marginal, n, rows, idle_rate = syscalls(args, raw)
        ok &= marginal <= GOAL_SYSCALLS
        print("system calls per telegram (meter, MQTT, 1 passthrough reader; strace -c): %.2f over %d, "
              "%.2f without the %.1f/s of an idle window as long  goal <= %d: %s"
              % (per, n, marginal, idle_rate, GOAL_SYSCALLS, goal(marginal <= GOAL_SYSCALLS)))
        print("  " + ", ".join("%s %.2f%s" % (k, c / n, " (%d errors)" % e if e else "")
                               for k, (c, e) in sorted(rows.items(), key=lambda kv: -kv[1][0])), flush=True)
    if "wakeups" in parts:
        rows = wakeups(args, raw)
        per, floor = rows[0][1], rows[1][1]
        ok &= per <= GOAL_WAKEUPS
        print("wake-ups per second, 1 Hz meter, MQTT, watchdog (%d s): %.2f  goal <= %.1f: %s"
              % (args.idle_seconds, per, GOAL_WAKEUPS, goal(per <= GOAL_WAKEUPS)))
        for name, v in rows[1:]:
            print("  %s: %.2f (smartconnectd / this: %.2f)" % (name, v, per / v if v else 0))
        sys.stdout.flush()
    if "memory" in parts:
        ms, a, b = memory(args, raw)
        ok &= b["Anonymous"] <= GOAL_ANON_KB
        print("start-up to READY=1: %.1f ms" % ms)
        print("memory after start: RSS %d kB, PSS %d kB, anonymous %d kB" % (a["Rss"], a["Pss"], a["Anonymous"]),
              flush=True)
        if args.history_fill:
            _, _, b = memory(args, raw, full_history=True)
            ok &= b["Anonymous"] <= GOAL_ANON_KB
    if "startup" in parts:
        startup(args)
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        print("bench-daemon.py: %s" % e, file=sys.stderr)
        sys.exit(2)
