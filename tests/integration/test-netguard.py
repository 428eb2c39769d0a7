#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The harness's network guard holds: a daemon told to probe an address
outside loopback (a reachability check of 192.0.2.1, TEST-NET-1) is refused
by the guard and the attempt is recorded, so any test whose daemon reaches
beyond loopback fails; the same daemon with its checks on loopback records
nothing. The records of the first daemon are this test's expected outcome and
are cleared before Tap.done() checks the file."""

import os
import time

import harness
from harness import Daemon, Pty, Tap, Workdir, stop_and_check


def run(tap, binary, w, name, gateway, host):
    link = w.join("tty-" + name)
    w.add(Pty(link))
    extra = ("[MQTT]\nEnabled=yes\nBroker=mqtt://127.0.0.1:1\nPingGateway=%s\nPingHost=%s\n"
             "PingInterval=1\n" % (gateway, host))
    d = w.add(Daemon(binary, w.path, harness.config(link, extra=extra), name=name + ".conf"))
    return d


def main():
    tap = Tap()
    binary = harness.daemon_path()
    if not os.environ.get("NETGUARD"):
        tap.ok(False, "NETGUARD names the guard library (tests/integration/meson.build sets it)")
        return tap.done()
    with Workdir() as w:
        d = run(tap, binary, w, "outside", "192.0.2.1", "192.0.2.2")
        deadline = time.monotonic() + harness.TIMEOUT
        while time.monotonic() < deadline and len(harness.netguard_records()) < 2:
            time.sleep(0.1)
        records = harness.netguard_records()
        stop_and_check(tap, d, "outside")
        tap.ok(any("192.0.2.1" in r for r in records), "a probe of 192.0.2.1 is refused and recorded")
        tap.ok(any("192.0.2.2" in r for r in records), "a probe of 192.0.2.2 is refused and recorded")
        tap.ok(all("refused" in r and "pid %d" % d.proc.pid in r for r in records),
               "each record names the daemon's pid and the refusal")
        for r in records:
            tap.diag("expected: " + r)
        os.unlink(harness.NETGUARD_LOG)

        d = run(tap, binary, w, "loopback", "127.0.0.2", "127.0.0.3")
        time.sleep(2.5)  # two PingInterval rounds of probes on loopback
        stop_and_check(tap, d, "loopback")
        tap.ok(harness.netguard_records() == [], "probes of 127.0.0.2 and 127.0.0.3 pass the guard")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
