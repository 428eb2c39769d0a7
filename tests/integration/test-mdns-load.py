#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""avahi-client is loaded only when mDNS is on (dlopen), read in the daemon's
/proc/PID/maps:
  - [mDNS] Enabled=no: neither libavahi-client, libavahi-common nor
    libdbus-1 is mapped;
  - Enabled=yes (no avahi-daemon, no system bus: the daemon keeps retrying):
    libavahi-client and libavahi-common are mapped; SIGHUP with Enabled=no
    unloads them, Enabled=yes loads them again;
  - the library unloadable (an empty file bound over it in a mount
    namespace): one log line saying so, mDNS off, the daemon answers HTTP and
    exits 0 on SIGTERM; the same on every reload that asks for mDNS;
  - a libavahi-client.so.3 without avahi-client's functions first in
    LD_LIBRARY_PATH (AVAHI_STUB_DIR, built by meson): the missing function
    is named, the daemon runs on without mDNS.
Nothing is announced (no avahi-daemon): test-mdns.py checks the announcements."""

import os
import signal
import subprocess
import sys

import harness
import httpapi
from harness import Daemon, Notify, Tap, Workdir, stop_and_check

LOAD_FAILED = r"mDNS: avahi-client cannot be loaded \((.*)\), not announcing"


def config(w, enabled, name="smart-connect"):
    return harness.config(w.join("none"), extra="[HTTP]\nPassword=%s\n[mDNS]\nEnabled=%s\nName=%s\n" %
                          (httpapi.PASSWORD, "yes" if enabled else "no", name))


def mapped(pid):
    """The avahi and D-Bus libraries in the process: {basename: path}."""
    out = {}
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            path = line.split()[-1]
            name = os.path.basename(path)
            if name.startswith(("libavahi-", "libdbus-1")):
                out[name.split(".so")[0]] = path
    return out


def start(tap, binary, w, enabled, what, prefix=None, env=None):
    notify = w.add(Notify(w.join("notify-" + what.replace(" ", "-"))))
    d = w.add(Daemon(binary, w.path, config(w, enabled), notify=notify, prefix=prefix, env=env))
    tap.on_failure = [lambda: d.dump(tap)]
    i, _ = notify.wait_for(lambda m: m.get("READY") == "1")
    tap.ok(i is not None, "%s: READY=1" % what)
    return d


def http_answers(d):
    _, m = d.wait_for(httpapi.HTTP_RX)
    if not m:
        return None
    st, body = httpapi.Api(int(m.group(1))).json("GET", "/api/v1/status")
    return st


def reload(d, w, enabled, rx):
    """SIGHUP with mDNS on or off: rx logged, and the reload over (the maps read after it)."""
    mark = d.count()
    d.write_config(config(w, enabled))
    d.signal(signal.SIGHUP)
    i, _ = d.wait_for(rx, mark)
    return i is not None and d.wait_for(r"Configuration reloaded", mark)[0] is not None


def on_and_off(tap, binary):
    """Returns the path of libavahi-client.so.3 the loader found (for the next part)."""
    with Workdir() as w:
        d = start(tap, binary, w, False, "Enabled=no")
        libs = mapped(d.proc.pid)
        tap.ok(not libs, "Enabled=no: no avahi or D-Bus library mapped (%r)" % sorted(libs))
        stop_and_check(tap, d, "Enabled=no")

        d = start(tap, binary, w, True, "Enabled=yes")
        i, _ = d.wait_for(r"mDNS: (cannot connect to avahi|avahi-daemon is not running)")
        tap.ok(i is not None, "Enabled=yes: the client runs, no avahi to talk to (logged)")
        libs = mapped(d.proc.pid)
        tap.ok("libavahi-client" in libs and "libavahi-common" in libs,
               "Enabled=yes: libavahi-client and libavahi-common mapped (%r)" % sorted(libs))
        client = libs.get("libavahi-client")

        tap.ok(reload(d, w, False, r"mDNS: disabled, withdrawing the announcements"), "SIGHUP Enabled=no: logged")
        libs = mapped(d.proc.pid)
        tap.ok("libavahi-client" not in libs and "libavahi-common" not in libs,
               "SIGHUP Enabled=no: avahi-client unloaded (%r)" % sorted(libs))
        tap.ok(reload(d, w, True, r"mDNS: (cannot connect to avahi|avahi-daemon is not running)"),
               "SIGHUP Enabled=yes: mDNS runs again")
        libs = mapped(d.proc.pid)
        tap.ok("libavahi-client" in libs, "SIGHUP Enabled=yes: libavahi-client mapped again (%r)" % sorted(libs))
        stop_and_check(tap, d, "Enabled=yes")
        return client


def unloadable(tap, binary, client):
    """An empty file over the library, in a mount namespace of the daemon's own."""
    if not tap.ok(client is not None, "the path of libavahi-client.so.3 is known"):
        return
    ns = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        ns[1:1] = ["--user", "--map-root-user"]
    with Workdir() as w:
        empty = w.join("empty.so")
        open(empty, "w").close()
        prefix = ns + ["sh", "-c", 'mount --bind "$0" "$1" && shift && exec "$@"', empty, client]
        d = start(tap, binary, w, True, "library unloadable", prefix=prefix)
        i, m = d.wait_for(LOAD_FAILED)
        tap.ok(i is not None and "libavahi-client.so.3" in m.group(1),
               "library unloadable: logged with dlerror()'s reason (%r)" % (m.group(1) if m else None))
        tap.ok(not mapped(d.proc.pid), "library unloadable: nothing of avahi mapped (%r)" % mapped(d.proc.pid))
        st = http_answers(d)
        tap.ok(st == 200, "library unloadable: the HTTP API answers (%r)" % st)
        n = sum(1 for line in d.lines if "avahi-client cannot be loaded" in line)
        tap.ok(n == 1, "library unloadable: one log line at start (%d)" % n)
        mark = d.count()
        d.write_config(config(w, True, "meter-gateway"))
        d.signal(signal.SIGHUP)
        tap.ok(d.wait_for(LOAD_FAILED, mark)[0] is not None, "library unloadable: SIGHUP with a new Name tries again, logged once more")
        tap.ok(d.proc.poll() is None and http_answers(d) == 200, "library unloadable: still answering after SIGHUP")
        stop_and_check(tap, d, "library unloadable")


def stub(tap, binary):
    stub_dir = os.environ.get("AVAHI_STUB_DIR")
    if not tap.ok(stub_dir and os.path.exists(os.path.join(stub_dir, "libavahi-client.so.3")),
                  "the stub libavahi-client.so.3 is built (AVAHI_STUB_DIR=%r)" % stub_dir):
        return
    with Workdir() as w:
        d = start(tap, binary, w, True, "stub library", env={"LD_LIBRARY_PATH": stub_dir})
        i, m = d.wait_for(LOAD_FAILED)
        tap.ok(i is not None and "avahi_client_new" in m.group(1),
               "stub library: the missing function is named (%r)" % (m.group(1) if m else None))
        st = http_answers(d)
        tap.ok(st == 200, "stub library: the HTTP API answers (%r)" % st)
        stop_and_check(tap, d, "stub library")


def main():
    binary = os.path.abspath(harness.daemon_path())
    tap = Tap()
    # Only the stub part may find the stub, whatever the caller's LD_LIBRARY_PATH.
    stub_dir = os.environ.get("AVAHI_STUB_DIR")
    path = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p and p != stub_dir]
    os.environ["LD_LIBRARY_PATH"] = ":".join(path)
    client = on_and_off(tap, binary)
    unloadable(tap, binary, client)
    stub(tap, binary)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
