#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The HTTP files never block the loop: [HTTP] PasswordFile=, Certificate= and
Key= each pointing at a FIFO without a writer and at an idle pty, in the
config file at start. Each time the daemon logs the file, reaches READY (the
notify socket), runs without that feature (the API is not served), and
Modbus answers every read within 100 ms from its listener's log line until a
second after READY."""

import importlib.util
import os
import time

import harness
import httpapi
from harness import Notify, Tap, Workdir

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

LIMIT = 0.1  # seconds; 0.5 under AddressSanitizer (harness.sanitized)


def modbus_latencies(port, until):
    """The time each read took, polling every 20 ms until until(); a read that
    gets no answer counts as its timeout (1 s)."""
    times = []
    t_end = time.monotonic() + harness.TIMEOUT
    while time.monotonic() < t_end and not until() and len(times) < 2000:
        t0 = time.monotonic()
        try:
            c = mb.Raw(port, timeout=1)
            try:
                c.read(3, 0, 2)
            except mb.ModbusError:
                pass  # an exception answer is an answer
            c.close()
            times.append(time.monotonic() - t0)
        except OSError:
            times.append(max(time.monotonic() - t0, 1.0))
        time.sleep(0.02)
    return times


def scenario(tap, binary, key, kind):
    with Workdir() as w:
        cert, pem = w.join("cert.pem"), w.join("key.pem")
        httpapi.make_cert(cert, pem)
        master = None
        if kind == "fifo":
            path = w.join("fifo")
            os.mkfifo(path)
        else:
            master, slave = os.openpty()
            path = os.ttyname(slave)
        if key == "PasswordFile":
            lines = "PasswordFile=%s\n" % path
        else:
            files = {"Certificate": cert, "Key": pem, key: path}
            lines = "Password=%s\nCertificate=%s\nKey=%s\n" % (httpapi.PASSWORD, files["Certificate"], files["Key"])
        text = httpapi.http_config(w.join("meter"), password=None).replace("[HTTP]\n", "[HTTP]\n" + lines)
        notify = w.add(Notify(w.join("notify")))
        d = w.add(harness.Daemon(binary, w.path, text, notify=notify))
        name = "%s= an idle %s" % (key, "FIFO" if kind == "fifo" else "pty")
        i, m = d.wait_for(mb.PORT_RX)
        ready = []
        times = []
        if i is not None:
            ready_at = []

            def until():
                if not ready_at:
                    j, _ = notify.wait_for(lambda x: x.get("READY") == "1", timeout=0)
                    if j is not None:
                        ready_at.append(time.monotonic())
                return ready_at and time.monotonic() > ready_at[0] + 1.0

            times = modbus_latencies(int(m.group(1)), until)
            ready = ready_at
        tap.ok(ready, "%s: READY" % name)
        tap.ok(times and max(times) < LIMIT, "%s: Modbus answered %d reads, the slowest in %.0f ms"
               % (name, len(times), 1000 * max(times or [0])))
        j, _ = d.wait_for(r"Cannot read the HTTPS? (password file|certificate|key) '%s': not a regular file"
                          % path, timeout=1)
        tap.ok(j is not None, "%s: logged" % name)
        j, _ = d.wait_for(httpapi.HTTP_RX, timeout=0.2)
        tap.ok(j is None, "%s: the HTTP API is not served" % name)
        rc = d.stop()
        tap.ok(rc == 0, "%s: exit status %r after SIGTERM" % (name, rc))
        if master is not None:
            os.close(master)
            os.close(slave)
        if tap.failed:
            d.dump(tap)


def main():
    global LIMIT
    binary = harness.daemon_path()
    tap = Tap()
    if harness.sanitized(binary):
        LIMIT = 0.5
        tap.diag("AddressSanitizer build: one Modbus answer may take up to %.1f s" % LIMIT)
    for key in ("PasswordFile", "Certificate", "Key"):
        for kind in ("fifo", "pty"):
            scenario(tap, binary, key, kind)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
