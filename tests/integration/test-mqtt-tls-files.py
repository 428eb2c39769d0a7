#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""[MQTT] CAFile=, CertFile= and KeyFile= never block the loop. Each in turn
names a FIFO without a writer, then an idle pty, at start: the daemon
reaches READY, Modbus answers every read within 100 ms for several MQTT
connection attempts, and the attempt fails naming the file and why. (The
other two keys name good files made by openssl, so the bad one is reached.)
A CAPath= directory with a FIFO among its hashed names is refused the same
way instead of blocking the handshake later."""

import importlib.util
import os
import time

import harness
import mqttlib
from harness import Daemon, Notify, Tap, Workdir

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

# Seconds for one Modbus answer; 2 under AddressSanitizer (harness.sanitized). A
# loop blocked on one of these files would miss every answer of the 4 s watch;
# the bound only has to stay clear of a loaded machine's scheduling delays.
BOUND = 1.0
WATCH = 4.0      # seconds of reads after READY: the first attempts and retries


def bad_file(w, kind):
    """A FIFO without a writer, or the slave of a pty nobody writes to."""
    if kind == "FIFO":
        path = w.join("fifo")
        os.mkfifo(path)
        return path, None
    master, slave = os.openpty()
    w.add(type("Fds", (), {"close": lambda self: (os.close(master), os.close(slave))})())
    return os.ttyname(slave), master


def run(tap, binary, key, kind, pki):
    name = "%s as %s" % (key, kind)
    with Workdir() as w:
        files = {"CAFile": pki["ca.crt"], "CertFile": pki["client.crt"], "KeyFile": pki["client.key"]}
        path, _ = bad_file(w, kind)
        if key == "CAPath":
            os.mkdir(w.join("cas"))
            os.symlink(pki["ca.crt"], w.join("cas", "00000000.0"))
            os.rename(path, w.join("cas", "5ad8a5d6.0")) if kind == "FIFO" else \
                os.symlink(path, w.join("cas", "5ad8a5d6.0"))
            del files["CAFile"]
            files["CAPath"] = path = w.join("cas")
        else:
            files[key] = path
        extra = "".join("%s=%s\n" % kv for kv in files.items())
        conf = mqttlib.mqtt_config(w.join("nothing-here"), "mqtts://127.0.0.1:%d" % mqttlib.free_port(),
                                   extra=extra)
        notify = w.add(Notify(w.join("notify")))
        d = w.add(Daemon(binary, w.path, conf, notify=notify))
        tap.on_failure = [lambda: d.dump(tap)]
        i, _ = notify.wait_for(lambda m: m.get("READY") == "1")
        tap.ok(i is not None, "%s: the daemon reaches READY" % name)
        _, m = d.wait_for(mb.PORT_RX, 0, 2)
        if not tap.ok(m is not None, "%s: Modbus listening" % name):
            return
        worst, bad = 0.0, 0
        try:
            r = mb.Raw(int(m.group(1)), timeout=2)
            end = time.monotonic() + WATCH
            while time.monotonic() < end:
                t = time.monotonic()
                r.read(4, 0x8000, 2)  # stale: exception 0x0B, an answer all the same
                worst = max(worst, time.monotonic() - t)
                time.sleep(0.02)
            r.close()
        except (OSError, mb.ModbusError):
            bad += 1
        tap.ok(bad == 0 and worst < BOUND, "%s: Modbus answered throughout, slowest %.3f s" % (name, worst))
        j, f = d.wait_for(mqttlib.FAILED_RX, 0, 1)
        why = f.group(1) if f else None
        tap.ok(why is not None and os.path.basename(path) in why and "not a regular file" in why,
               "%s: MQTT does not connect and says why: %r" % (name, why))
        harness.stop_and_check(tap, d, name)


def main():
    global BOUND
    binary = harness.daemon_path()
    tap = Tap()
    if harness.sanitized(binary):
        BOUND = 2.0
        tap.diag("AddressSanitizer build: one Modbus answer may take up to %.1f s" % BOUND)
    with Workdir() as w:
        pki = mqttlib.make_pki(w)
        for key in ("CAFile", "CertFile", "KeyFile", "CAPath"):
            for kind in ("FIFO", "pty"):
                run(tap, binary, key, kind, pki)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
