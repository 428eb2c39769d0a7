#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Log format: "<N>" syslog priority prefixes when JOURNAL_STREAM names the
pipe that really is stderr (as systemd sets it), with the right priority per
message; level words when JOURNAL_STREAM is absent or names something else
(inherited from a parent), on a pipe and on a terminal."""

import re
import signal

import harness
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


def main():
    binary = harness.daemon_path()
    tap = Tap()

    check_journal(tap, run(tap, binary, "journal", journal=True))

    # Inherited from a parent under systemd, but stderr is now something else.
    check_plain(tap, "pipe, JOURNAL_STREAM of another file",
                run(tap, binary, "pipe", env={"JOURNAL_STREAM": "8:12345"}))
    check_plain(tap, "terminal", run(tap, binary, "terminal", stderr_pty=True, env={"JOURNAL_STREAM": "0:0"}))
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
