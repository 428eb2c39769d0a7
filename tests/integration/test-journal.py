#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Log format: "<N>" syslog priority prefixes when JOURNAL_STREAM names the
pipe that really is stderr (as systemd sets it), with the right priority per
message; level words when JOURNAL_STREAM is absent or names something else
(inherited from a parent), on a pipe and on a terminal."""

import base64
import http.client
import re
import signal

import harness
import httpapi
from harness import Daemon, Notify, Tap, Workdir, stop_and_check

# (what, prefix line, plain line) for messages of each priority.
EXPECT = [
    ("error", 3, r"smartconnect\.conf:\d+: \[Meter\] Protocol: unknown value"),
    ("warning", 4, r"Cannot open '.*nothing-here'"),
    ("warning", 4, r"Reload failed, keeping the running configuration"),
    ("info", 6, r"smartconnectd \S+ running"),
    ("debug", 7, r"Configuration '.*', state directory"),
]


def run(tap, binary, name, **kw):
    """Start, make an error with a broken reload, stop; return the log lines."""
    with Workdir() as w:
        notify = w.add(Notify(w.join("notify")))
        d = w.add(Daemon(binary, w.path, harness.config(w.join("nothing-here")), notify=notify, **kw))
        tap.on_failure = [lambda: d.dump(tap)]
        i, _ = notify.wait_for(lambda m: m.get("READY") == "1")
        tap.ok(i is not None, "%s: READY=1" % name)

        d.write_config(harness.config(w.join("nothing-here"), protocol="dsmr5"))
        d.signal(signal.SIGHUP)
        j, _ = d.wait_for(r"Reload failed")
        tap.ok(j is not None, "%s: a broken reload is logged" % name)
        stop_and_check(tap, d, name)
        return list(d.lines)


def check_journal(tap, lines):
    bad = [l for l in lines if not re.match(r"<[0-7]>\S", l)]
    tap.ok(lines and not bad, "journal: every line has a <N> prefix (%d lines, without: %r)" % (len(lines), bad[:3]))
    for word, prio, rx in EXPECT:
        hit = [l for l in lines if re.search(rx, l)]
        tap.ok(hit and all(l.startswith("<%d>" % prio) for l in hit),
               "journal: <%d> (%s) for %s: %r" % (prio, word, rx, hit[:1]))


def check_plain(tap, name, lines):
    bad = [l for l in lines if not re.match(r"(error|warning|notice|info|debug): \S", l)]
    tap.ok(lines and not bad, "%s: every line starts with a level word (%d lines, without: %r)" %
           (name, len(lines), bad[:3]))
    for word, _, rx in EXPECT:
        hit = [l for l in lines if re.search(rx, l)]
        tap.ok(hit and all(l.startswith(word + ": ") for l in hit), "%s: '%s:' for %s" % (name, word, rx))


def forged_lines(tap, binary):
    """A user name that carries CR and ESC (a terminal sequence that erases the
    line) cannot forge or hide a log line: it is logged as \\xNN."""
    evil = "x\r\x1b[2Kroot logged in"
    with Workdir() as w:
        d, port = httpapi.start(tap, binary, w, httpapi.http_config(w.join("nothing-here")), name="forge")
        if port is None:
            return
        token = base64.b64encode((evil + ":wrong").encode()).decode()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/api/v1/status", headers={"Authorization": "Basic " + token})
        st = c.getresponse().status
        c.close()
        i, _ = d.wait_for(re.escape("x\\x0d\\x1b[2Kroot logged in"))
        tap.ok(st == 401 and i is not None, "a user name with CR and ESC is logged escaped (%r)" % st)
        stop_and_check(tap, d, "forge")
        tap.ok(not any(re.search(r"[\x00-\x1f\x7f]", line) for line in d.lines),
               "no control character in any of the %d log lines" % len(d.lines))


def main():
    binary = harness.daemon_path()
    tap = Tap()
    forged_lines(tap, binary)

    check_journal(tap, run(tap, binary, "journal", journal=True))

    # Inherited from a parent under systemd, but stderr is now something else.
    check_plain(tap, "pipe, JOURNAL_STREAM of another file",
                run(tap, binary, "pipe", env={"JOURNAL_STREAM": "8:12345"}))
    check_plain(tap, "terminal", run(tap, binary, "terminal", stderr_pty=True, env={"JOURNAL_STREAM": "0:0"}))
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
