#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""GET and POST /api/v1/firmware without systemd: the state file the update
helper writes, read on every GET (versions, state, reason, update_available);
broken, oversized, hostile files and a FIFO in its place are ignored without
blocking; [Device] Updates=no refuses a POST with 409 and a reload turns it
back on; no system bus (DBUS_SYSTEM_BUS_ADDRESS pointing nowhere) makes a POST
503 and the state failed with the reason; bad bodies are 400. The update
through a real systemd and polkit is tests/package/check-update-live.sh."""

import os
import signal
import sys

import harness
import httpapi
from harness import Tap, Workdir


def write_state(w, text, mode="w"):
    path = w.join("state", "update-state")
    tmp = path + ".tmp"
    with open(tmp, mode) as f:
        f.write(text)
    os.replace(tmp, path)


def check_file_states(tap, api, w):
    st, f = api.json("GET", "/api/v1/firmware")
    version = f.get("version")
    tap.ok(st == 200 and version and f.get("installed") == version and f.get("candidate") is None and
           f.get("update_available") is False and f.get("checked") is None,
           "no state file: installed is the running version, no candidate (%r)" % f)
    write_state(w, "state=done\nreason=\ninstalled=0.1.0\ncandidate=0.2.0~rc1+b1\ntime=1796000000\n")
    st, f = api.json("GET", "/api/v1/firmware")
    tap.ok(f.get("state") == "done" and f.get("installed") == "0.1.0" and f.get("candidate") == "0.2.0~rc1+b1" and
           f.get("update_available") is True and f.get("checked") == 1796000000 and f.get("reason") is None,
           "the helper's file: done, 0.2.0~rc1+b1 offered over 0.1.0 (%r)" % f)
    write_state(w, "state=failed\nreason=apt-get update: E: Failed to fetch file:/srv/repo/./Packages\x1b[0m\n"
                   "installed=0.1.0\ncandidate=0.1.0\ntime=1796000001\n")
    st, f = api.json("GET", "/api/v1/firmware")
    tap.ok(f.get("state") == "failed" and f.get("reason") == "apt-get update: E: Failed to fetch "
           "file:/srv/repo/./Packages?[0m" and f.get("update_available") is False,
           "failed with apt's reason, the escape byte shown as '?' (%r)" % f)
    write_state(w, "state=installing\ninstalled=0.1.0\ncandidate=0.2.0\n")
    st, f = api.json("GET", "/api/v1/firmware")
    tap.ok(f.get("state") == "installing", "a running step is shown as written while nothing says "
           "otherwise (%r)" % f)
    hostile = [
        ("an unknown state", "state=pwned\ninstalled=0.1.0\n"),
        ("a shell command as a version", "state=done\ninstalled=0.1.0;reboot\n"),
        ("a truncated line", "state=do"),
        ("binary bytes", "\x00\xff\xfe" * 200),
        ("8 KiB", "state=done\n" + "reason=" + "x" * 8192 + "\n"),
    ]
    for what, text in hostile:
        write_state(w, text, "w" if text.isascii() else "w")
        st, f = api.json("GET", "/api/v1/firmware")
        tap.ok(st == 200 and f.get("state") == "idle" and f.get("installed") == version,
               "%s: ignored, idle and the running version (%r)" % (what, f.get("state")))
    path = w.join("state", "update-state")
    os.unlink(path)
    os.mkfifo(path)
    st, f = api.json("GET", "/api/v1/firmware")
    tap.ok(st == 200 and f.get("state") == "idle", "a FIFO in its place: not opened for reading, idle (%r)" % st)
    os.unlink(path)


def run(tap, binary, w):
    os.makedirs(w.join("state"), exist_ok=True)
    pty = w.add(harness.Pty(w.join("ttyMETER")))
    base = httpapi.http_config(pty.link)
    d = w.add(harness.Daemon(binary, w.path, base + "\n[Device]\nUpdates=no\n",
                             env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=" + w.join("no-bus")}))
    tap.on_failure = [lambda: d.dump(tap)]
    i, m = d.wait_for(httpapi.HTTP_RX)
    if not tap.ok(i is not None, "HTTP API listening"):
        return
    api = httpapi.Api(int(m.group(1)))
    check_file_states(tap, api, w)

    st, f = api.json("GET", "/api/v1/firmware")
    tap.ok(f.get("updates_enabled") is False, "Updates=no: updates_enabled false (%r)" % f)
    for body in ("", "{}", '{"action":"install"}', '{"action":"check"}'):
        st, f = api.json("POST", "/api/v1/firmware", body=body)
        tap.ok(st == 409 and "Updates=no" in f.get("error", ""), "Updates=no: POST %r is 409 (%r %r)" % (body, st, f))

    n = d.count()
    d.write_config(base + "\n[Device]\nUpdates=yes\n")
    d.signal(signal.SIGHUP)
    i, _ = d.wait_for(r"Update: no system bus, no package updates", n)
    tap.ok(i is not None, "reload to Updates=yes: the system bus is looked for, and its absence logged")
    st, f = api.json("GET", "/api/v1/firmware")
    tap.ok(f.get("updates_enabled") is True and f.get("state") == "failed" and
           "system bus cannot be reached" in (f.get("reason") or ""),
           "no system bus: failed, and the reason says so (%r)" % f)
    for body in ("", '{"action":"check"}'):
        st, f = api.json("POST", "/api/v1/firmware", body=body)
        tap.ok(st == 503 and "systemd" in f.get("error", ""), "no system bus: POST %r is 503 (%r %r)" % (body, st, f))
    for body in ("[]", '{"action":"reboot"}', '{"action":1}', '{"action":"check","x":1}', "{", "\x00",
                 '{"action":"check","action":"install"}', "x" * 70000):
        st, f = api.json("POST", "/api/v1/firmware", body=body)
        tap.ok(st in (400, 413) and "error" in f, "POST %r...: %d, nothing started" % (body[:20], st))
    st, f = api.json("GET", "/api/v1/firmware")
    tap.ok(st == 200 and f.get("state") == "failed", "still serving, still failed (%r)" % f.get("state"))
    harness.stop_and_check(tap, d, "firmware")


def main():
    tap = Tap()
    with Workdir() as w:
        run(tap, sys.argv[1], w)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
