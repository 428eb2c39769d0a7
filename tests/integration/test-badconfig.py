#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Broken configuration at start: exit status 2 and messages that name file,
line, section and key, every error and not just the first. Also the command
line: --test-config, --version, --help and usage errors."""

import os
import re
import subprocess

import harness
from harness import Daemon, Tap, Workdir


def run(binary, args, timeout=harness.TIMEOUT):
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
    p = subprocess.run([binary] + args, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def broken_at_start(tap, binary):
    with Workdir() as w:
        text = ("[Daemon]\n"                       # 1
                "LogLevel=debug\n"                 # 2
                "\n"                               # 3
                "[Meter]\n"                        # 4
                "Device=/dev/ttyUSB9\n"            # 5
                "Protocol=dsmr5 ; typo\n"          # 6
                "StaleAfter=-3\n"                  # 7
                "[Modbus]\n"                       # 8
                "MaxClients=5000\n"                # 9
                "Colour=blue\n"                    # 10
                "[Bogus]\n"                        # 11
                "Key=1\n")                         # 12
        d = w.add(Daemon(binary, w.path, text))
        rc = d.wait_exit()
        d.thread.join(harness.TIMEOUT)
        tap.ok(rc == 2, "broken config: exit status %r (want 2)" % rc)

        f = re.escape(d.config)
        for line, rx in ((6, r"\[Meter\] Protocol: unknown value 'dsmr5', expected auto, dsmr, "
                             r"tic-historique or tic-standard"),
                         (7, r"\[Meter\] StaleAfter: "),
                         (9, r"\[Modbus\] MaxClients: 5000 is out of range"),
                         (10, r"\[Modbus\] Colour: unknown key"),
                         (11, r"unknown section \[Bogus\]")):
            i, _ = d.wait_for(r"%s:%d: %s" % (f, line, rx), 0, 1)
            tap.ok(i is not None, "error reported for line %d" % line)
        i, _ = d.wait_for(r"Configuration '%s' is invalid, not starting" % f, 0, 1)
        tap.ok(i is not None, "says it does not start")
        i, _ = d.wait_for(r"Opened|running", 0, 0)
        tap.ok(i is None, "nothing was started")
        if tap.failed:
            d.dump(tap)


def command_line(tap, binary):
    with Workdir() as w:
        good = w.join("good.conf")
        with open(good, "w") as f:
            f.write("[Meter]\nDevice=/dev/ttyAMA0  ; the Pi's UART\r\nProtocol=tic-standard\r\n")

        rc, out, err = run(binary, ["--config", good, "--test-config"])
        tap.ok(rc == 0, "--test-config on a good file: exit %r" % rc)
        tap.ok("Device=/dev/ttyAMA0\n" in out and "Protocol=tic-standard\n" in out
               and "MaxClients=16\n" in out, "--test-config prints the effective config")

        bad = w.join("bad.conf")
        with open(bad, "w") as f:
            f.write("[Meter]\nGrid=triangle\n")
        rc, out, err = run(binary, ["--config", bad, "--test-config"])
        tap.ok(rc == 2, "--test-config on a bad file: exit %r" % rc)
        tap.ok("%s:2: [Meter] Grid: unknown value 'triangle'" % bad in err,
               "--test-config names file, line and key")

        rc, out, err = run(binary, ["--config", w.join("missing.conf")])
        tap.ok(rc == 2, "missing --config file: exit %r" % rc)
        tap.ok("missing.conf" in err, "missing --config file is named")

        rc, out, err = run(binary, ["--no-such-option"])
        tap.ok(rc == 2, "unknown option: exit %r" % rc)
        rc, out, err = run(binary, ["--log-level", "chatty", "--config", good])
        tap.ok(rc == 2, "bad --log-level: exit %r" % rc)
        rc, out, err = run(binary, ["--config", good, "extra-argument"])
        tap.ok(rc == 2, "stray argument: exit %r" % rc)

        rc, out, err = run(binary, ["--version"])
        tap.ok(rc == 0 and out.startswith("smartconnectd "), "--version: %r" % out.strip())
        rc, out, err = run(binary, ["--help"])
        tap.ok(rc == 0 and "--config" in out and "--state-dir" in out, "--help")


def not_utf8(tap, binary):
    """Text that is not UTF-8 would break every JSON answer that shows it: it is
    refused where it enters, naming the key (or the option)."""
    with Workdir() as w:
        for key, line in (("WiFiSSID", b"[Network]\nWiFiSSID=caf\xe9\n"),  # Latin-1
                          ("Device", b"[Meter]\nDevice=/dev/tty\xff\xfe\n")):
            path = w.join("latin1-%s.conf" % key)
            with open(path, "wb") as f:
                f.write(line)
            rc, out, err = run(binary, ["--config", path, "--test-config"])
            tap.ok(rc == 2 and re.search(r"\] %s: not UTF-8 text" % key, err),
                   "%s not in UTF-8: exit %r, the key named (%s)" % (key, rc, " | ".join(err.strip().splitlines())[:200]))
        good = w.join("caf\xe9.conf".encode("latin-1").decode("utf-8", "surrogateescape"))
        with open(good.encode("utf-8", "surrogateescape"), "w") as f:
            f.write("[Meter]\nDevice=/dev/ttyUSB0\n")
        rc, out, err = run(binary, ["--config", good, "--test-config"])
        tap.ok(rc != 0 and "must be UTF-8" in err,
               "--config with a path that is not UTF-8: refused (%r, %s)" % (rc, " | ".join(err.strip().splitlines())[:160]))


def main():
    binary = harness.daemon_path()
    tap = Tap()
    broken_at_start(tap, binary)
    command_line(tap, binary)
    not_utf8(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
