#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""MQTT latency benchmark: from the last byte of a telegram written to the pty
to the power_instant message at a subscriber, against the broker's own
publish-to-receive latency measured in the same run by a second client that
publishes a payload of the same size. Both go through the same mosquitto on
127.0.0.1 to the same subscriber; the difference is what the daemon adds
(tty read, decode, JSON, publish). Prints p50, p99 and max of both and the
difference; the goal is under 1 ms added at p99.

usage: bench-mqtt.py SMARTCONNECTD TESTDATA_DIR [--count N]
"""

import argparse
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tty

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import free_port, paho_client as client, pct, wait_port  # noqa: E402

CAPTURE = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
TOPIC = "devices/bench/smart-connect/BENCH1/data/power_instant"
REF_TOPIC = "bench/reference"
GOAL_MS = 1.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("smartconnectd")
    ap.add_argument("testdata")
    ap.add_argument("--count", type=int, default=1000)
    args = ap.parse_args()
    raw = open(os.path.join(args.testdata, CAPTURE), "rb").read()

    tmp = tempfile.mkdtemp(prefix="bench-mqtt-")
    procs = []
    try:
        port = free_port()
        bconf = os.path.join(tmp, "broker.conf")
        with open(bconf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % port)
        procs.append(subprocess.Popen(["mosquitto", "-c", bconf], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        if not wait_port(port):
            raise RuntimeError("mosquitto did not start")

        master, slave = os.openpty()
        tty.setraw(slave)
        link = os.path.join(tmp, "tty")
        os.symlink(os.ttyname(slave), link)
        conf = os.path.join(tmp, "d.conf")
        with open(conf, "w") as f:
            f.write("[Daemon]\nLogLevel=info\n[Meter]\nDevice=%s\nProtocol=dsmr\n[Modbus]\n"
                    "Listen=127.0.0.1:0\n[HTTP]\nListen=127.0.0.1:0\n[MQTT]\nEnabled=yes\n"
                    "Broker=mqtt://127.0.0.1:%d\nSite=bench\nPingGateway=127.0.0.2\nPingHost=127.0.0.3\n"
                    "[Device]\nSerial=BENCH1\n" % (link, port))
        d = subprocess.Popen([args.smartconnectd, "--config", conf, "--state-dir", tmp],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(d)

        got = queue.Queue()
        sub = client(port, "bench-sub")
        sub.on_message = lambda c, u, m: got.put((time.perf_counter(), m.topic, m.payload))
        sub.subscribe([(TOPIC, 0), (REF_TOPIC, 0)])
        sub.loop_start()
        pub = client(port, "bench-pub")
        pub.loop_start()

        # Wait until telegrams come through (detection, connection).
        deadline = time.monotonic() + 30
        payload = None
        while payload is None and time.monotonic() < deadline:
            os.write(master, raw)
            try:
                _, topic, payload = got.get(timeout=0.5)
            except queue.Empty:
                pass
        if payload is None:
            raise RuntimeError("no power_instant from the daemon")
        time.sleep(0.3)
        while not got.empty():
            got.get()

        ours, ref = [], []
        for i in range(args.count):
            os.write(master, raw)
            t0 = time.perf_counter()
            t1, topic, _ = got.get(timeout=5)
            if topic != TOPIC:
                raise RuntimeError("unexpected message on " + topic)
            ours.append(t1 - t0)
            time.sleep(0.003)
            t0 = time.perf_counter()
            pub.publish(REF_TOPIC, payload, qos=0)
            t1, topic, _ = got.get(timeout=5)
            if topic != REF_TOPIC:
                raise RuntimeError("unexpected message on " + topic)
            ref.append(t1 - t0)
            time.sleep(0.003)

        print("MQTT latency on 127.0.0.1, %d telegrams of %d bytes, payload %d bytes, QoS 0, %d CPUs" %
              (args.count, len(raw), len(payload), os.cpu_count()))
        print("%-42s %9s %9s %9s" % ("path", "p50 ms", "p99 ms", "max ms"))
        for name, xs in (("pty last byte -> daemon -> broker -> sub", ours),
                         ("client publish -> broker -> sub (floor)", ref)):
            print("%-42s %9.3f %9.3f %9.3f" % (name, pct(xs, .5) * 1e3, pct(xs, .99) * 1e3, max(xs) * 1e3))
        added50 = (pct(ours, .5) - pct(ref, .5)) * 1e3
        added99 = (pct(ours, .99) - pct(ref, .99)) * 1e3
        print("%-42s %9.3f %9.3f" % ("added by the daemon", added50, added99))
        print("\ngoal: under %.1f ms added at p99: %s" % (GOAL_MS, "PASS" if added99 < GOAL_MS else "FAIL"))
        sub.loop_stop()
        pub.loop_stop()
        return 0
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
