#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end latency benchmark: from the last byte of a telegram written to
the meter's pty to (1) a Modbus TCP client polling the EMpro energy block (0x8100)
seeing the new value, (2) an MQTT subscriber receiving power_instant, (3) a
passthrough client holding the whole telegram; p50/p99 against floors
measured in the same run, interleaved telegram by telegram:

  pty floor     the same bytes to a second pty, read by a plain reader
  MQTT floor    pty floor + a client's publish of a payload as long as
                power_instant, through the same mosquitto, to the same subscriber
  relay floor   the same bytes through socat (pty -> TCP) to a TCP client
  Modbus floor  pty floor + one poll round trip to the daemon (the client
                polls back to back: a change is seen at most one poll late)

Each telegram carries a new 1-0:1.8.1 value, so the Modbus block changes.
The observers are Python threads: on a loaded machine their scheduling shows
in p99, alike for the daemon and its floors. Nothing asserts a time.

usage: bench-latency.py SMARTCONNECTD TESTDATA [--count N] [--pace S] [--baseline OLD]

With --baseline, an older build runs the same measurement after this one, each
with its own floors, and a last table gives this build's floor multiples over
the baseline's.
"""

import argparse
import os
import queue
import selectors
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import MODBUS_RX, PT_RX, Broker, ModbusClient, free_port, paho_client, pct, port_of  # noqa: E402
import harness  # noqa: E402  (on the path benchlib sets)
import ptlib  # noqa: E402

METER = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
TOPIC = "devices/bench/smart-connect/BENCH1/data/power_instant"
REF_TOPIC = "bench/reference"
BLOCK = (0x8100, 8)  # the EMpro energy block: 1-0:1.8.1 is in its import total


class Streams(threading.Thread):
    """Reads every stream (pty slave, TCP socket) and stamps when it holds
    `size` more bytes than at arm()."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()
        self.got, self.want, self.done = {}, {}, {}
        self.lock = threading.Lock()
        self.start()

    def add(self, name, fileobj):
        self.got[name] = 0
        self.sel.register(fileobj, selectors.EVENT_READ, name)

    def arm(self, name, size):
        with self.lock:
            self.want[name] = self.got[name] + size
            self.done.pop(name, None)

    def run(self):
        while True:
            for key, _ in self.sel.select(0.5):
                f = key.fileobj
                data = os.read(f, 65536) if isinstance(f, int) else f.recv(65536)
                now = time.perf_counter()
                with self.lock:
                    self.got[key.data] += len(data)
                    if self.got[key.data] >= self.want.get(key.data, 1 << 62):
                        self.done.setdefault(key.data, now)

    def wait(self, name, timeout=5.0):
        deadline = time.monotonic() + timeout
        while name not in self.done:
            if time.monotonic() > deadline:
                raise RuntimeError("%s did not get its bytes" % name)
            time.sleep(0.0002)
        return self.done[name]


class Poller(threading.Thread):
    """Polls the Modbus block back to back; stamps the first answer that differs."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.mb = ModbusClient(port)
        self.last = self.mb.read(*BLOCK)
        self.changed = None
        self.rtts = []
        self.stop_ev = threading.Event()
        self.start()

    def run(self):
        while not self.stop_ev.is_set():
            t0 = time.perf_counter()
            ans = self.mb.read(*BLOCK)
            t1 = time.perf_counter()
            self.rtts.append(t1 - t0)
            if ans != self.last:
                self.last = ans
                self.changed = t1
            time.sleep(0.0005)


def daemon_config(link, broker):
    return ("[Daemon]\nLogLevel=info\n[Meter]\nDevice=%s\nProtocol=dsmr\n[Device]\nSerial=BENCH1\n"
            "[Modbus]\nListen=127.0.0.1:0\n[HTTP]\nListen=127.0.0.1:0\nPassword=Pw-bench-5e21c9\n[mDNS]\nEnabled=no\n"
            "[Passthrough]\nListen=127.0.0.1:0\n"
            "[MQTT]\nEnabled=yes\nBroker=mqtt://127.0.0.1:%d\nSite=bench\n"
            "PingGateway=127.0.0.2\nPingHost=127.0.0.3\n" % (link, broker.port))


def relay(w, streams):
    """socat from a pty to one TCP client: the bare relay floor."""
    pty = w.add(harness.Pty(w.join("ttyRELAY")))
    port = free_port()
    w.add(harness.Proc(w, "socat", ["socat", "-u", "OPEN:%s,rawer" % pty.name,
                                    "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr" % port]))
    deadline = time.monotonic() + harness.TIMEOUT
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), 1)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("socat did not listen")
            time.sleep(0.05)
    streams.add("relay", sock)
    return pty


def measure(args, binary, w, raw):
    broker = w.add(Broker(w, "broker"))
    meter = w.add(harness.Pty(w.join("ttyMETER")))
    d = w.add(harness.Daemon(binary, w.path, daemon_config(meter.link, broker)))
    harness.feed_until(d, meter, ptlib.numbered(raw, 1), r"Receiving DSMR")
    streams = Streams()
    streams.add("passthrough", socket.create_connection(("127.0.0.1", port_of(d, PT_RX))))
    floor = w.add(harness.Pty(w.join("ttyFLOOR")))
    streams.add("pty", floor.slave)
    relay_pty = relay(w, streams)
    got = queue.Queue()
    sub = paho_client(broker.port, "bench-sub")
    sub.on_message = lambda c, u, m: got.put((time.perf_counter(), m.topic, len(m.payload)))
    sub.subscribe([(TOPIC, 0), (REF_TOPIC, 0)])
    sub.loop_start()
    pub = paho_client(broker.port, "bench-pub")
    pub.loop_start()
    time.sleep(1.0)  # subscriptions and the passthrough client in place
    poller = Poller(port_of(d, MODBUS_RX))
    while not got.empty():
        got.get()

    rows = {k: [] for k in ("modbus", "mqtt", "passthrough", "pty", "mqtt floor", "relay", "modbus floor")}
    payload = None  # as long as power_instant
    for k in range(args.count):
        tel = ptlib.numbered(raw, 1000 + k)
        streams.arm("passthrough", len(tel))
        poller.changed = None
        meter.write(tel)
        t0 = time.perf_counter()
        t, topic, n = got.get(timeout=5)
        if topic != TOPIC:
            raise RuntimeError("unexpected message on " + topic)
        rows["mqtt"].append(t - t0)
        payload = payload or b"x" * n
        rows["passthrough"].append(streams.wait("passthrough") - t0)
        deadline = time.monotonic() + 5
        while poller.changed is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the Modbus value did not change")
            time.sleep(0.0002)
        rows["modbus"].append(poller.changed - t0)

        for name, pty in (("pty", floor), ("relay", relay_pty)):
            streams.arm(name, len(tel))
            pty.write(tel)
            t0 = time.perf_counter()
            rows[name].append(streams.wait(name) - t0)
        t0 = time.perf_counter()
        pub.publish(REF_TOPIC, payload, qos=0)
        t, topic, _ = got.get(timeout=5)
        if topic != REF_TOPIC:
            raise RuntimeError("unexpected message on " + topic)
        rows["mqtt floor"].append(t - t0 + rows["pty"][-1])
        rows["modbus floor"].append(rows["pty"][-1] + poller.rtts[-1])
        time.sleep(args.pace)
    poller.stop_ev.set()
    poller.join(5)
    sub.loop_stop()
    pub.loop_stop()
    return rows, len(raw)


PATHS = (("modbus", "modbus floor", "pty -> daemon -> Modbus client sees the value"),
         ("mqtt", "mqtt floor", "pty -> daemon -> broker -> subscriber"),
         ("passthrough", "relay", "pty -> daemon -> passthrough client"))


def print_table(rows):
    print("%-44s %9s %9s %9s %9s" % ("path", "p50 ms", "p99 ms", "x floor50", "x floor99"))
    for name, fl, what in PATHS:
        xs, fs = rows[name], rows[fl]
        print("%-44s %9.3f %9.3f %9.2f %9.2f" % (what, pct(xs, .5) * 1e3, pct(xs, .99) * 1e3,
                                                  pct(xs, .5) / pct(fs, .5), pct(xs, .99) / pct(fs, .99)))
    print("floors:")
    for fl, what in (("pty", "pty -> plain reader"),
                     ("modbus floor", "pty floor + one Modbus poll round trip"),
                     ("mqtt floor", "pty floor + publish -> broker -> subscriber"),
                     ("relay", "pty -> socat -> TCP client")):
        print("  %-42s %9.3f %9.3f" % (what, pct(rows[fl], .5) * 1e3, pct(rows[fl], .99) * 1e3))


def print_versus(rows, base):
    """Each path's multiple of its own floor, this build over the baseline:
    the floors absorb what the machine did in between."""
    print("this build / baseline, each as a multiple of its floor:")
    print("%-44s %9s %9s" % ("path", "p50", "p99"))
    for name, fl, what in PATHS:
        r = [pct(rows[name], q) / pct(rows[fl], q) / (pct(base[name], q) / pct(base[fl], q)) for q in (.5, .99)]
        print("%-44s %9.2f %9.2f" % (what, r[0], r[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("smartconnectd")
    ap.add_argument("testdata")
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--pace", type=float, default=0.05, help="seconds between two samples")
    ap.add_argument("--baseline", help="an older smartconnectd, measured the same way in the same run")
    args = ap.parse_args()
    os.environ.setdefault("TESTDATA", args.testdata)
    raw = harness.testdata(METER)
    runs = [("this build", args.smartconnectd)] + ([("baseline", args.baseline)] if args.baseline else [])
    results = {}
    for label, binary in runs:
        with harness.Workdir() as w:
            results[label] = measure(args, binary, w, raw)[0]
    print("end-to-end latency, %d telegrams of %d bytes, interleaved with the floors, %d CPUs"
          % (args.count, len(raw), os.cpu_count()))
    for label, binary in runs:
        if args.baseline:
            print("%s: %s" % (label, binary))
        print_table(results[label])
    if args.baseline:
        print_versus(results["this build"], results["baseline"])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, RuntimeError, subprocess.SubprocessError, queue.Empty) as e:
        print("bench-latency.py: %r" % e, file=sys.stderr)
        sys.exit(2)
