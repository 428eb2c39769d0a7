#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Socket activation: through systemd-socket-activate on both ports (named
modbus and http), and with LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID set by the
test itself (names in the other order, plus a socket of an unknown name);
LISTEN_PID of another process is not ours; then the same daemon without any
of it. Modbus and the HTTP API must answer on the sockets they were given."""

import os
import shutil
import socket
import struct

import harness
import httpapi
from harness import Daemon, Notify, Tap, Workdir, stop_and_check

HTTP_RX = r"HTTP API on port (\d+)( \(socket activation\))?"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s


def modbus_answers(port):
    """One FC 0x04 request: an answer (values, or exception 0x0B while there is
    no meter data) with our transaction id proves the server behind the port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT) as s:
            s.sendall(struct.pack(">HHHBBHH", 0x1234, 0, 6, 1, 4, 0x8000, 2))
            rsp = s.recv(260)
    except OSError:
        return False
    if len(rsp) < 9:
        return False
    tid, proto, _, _, fc = struct.unpack(">HHHBB", rsp[:8])
    return tid == 0x1234 and proto == 0 and (fc == 4 or (fc == 0x84 and rsp[8] == 0x0B))


def http_answers(port):
    st, body = httpapi.Api(port).json("GET", "/api/v1/status")
    return st == 200 and isinstance(body, dict)


def start(w, binary, name, trigger=None, **kw):
    notify = w.add(Notify(w.join("notify-" + name)))
    d = w.add(Daemon(binary, w.path, httpapi.http_config(w.join("nothing-here")), notify=notify, **kw))
    if trigger:
        trigger(d)
    i, _ = notify.wait_for(lambda m: m.get("READY") == "1")
    return d, i is not None


def check_activated(tap, d, name, modbus, http):
    _, m = d.wait_for(r"Modbus TCP server on port (\d+)( \(socket activation\))?")
    tap.ok(m is not None and int(m.group(1)) == modbus and m.group(2),
           "%s: Modbus serves the activated socket on port %d (%r)" % (name, modbus, m and m.group(0)))
    tap.ok(modbus_answers(modbus), "%s: Modbus answers on port %d" % (name, modbus))
    _, m = d.wait_for(HTTP_RX)
    tap.ok(m is not None and int(m.group(1)) == http and m.group(2),
           "%s: HTTP serves the activated socket on port %d (%r)" % (name, http, m and m.group(0)))
    tap.ok(http_answers(http), "%s: HTTP answers GET /api/v1/status on port %d" % (name, http))


def socket_activate(tap, binary):
    modbus, http = free_port(), free_port()
    with Workdir() as w:
        prefix = [shutil.which("systemd-socket-activate") or "systemd-socket-activate",
                  "-l", "127.0.0.1:%d" % modbus, "-l", "127.0.0.1:%d" % http, "--fdname=modbus:http",
                  "-E", "NOTIFY_SOCKET"]
        # It execs the daemon on the first connection attempt.
        first = []
        def trigger(d):
            d.wait_for(r"Listening on 127\.0\.0\.1:%d as 4" % http)
            first.append(modbus_answers(modbus))

        d, ready = start(w, binary, "sa", prefix=prefix, trigger=trigger)
        tap.on_failure = [lambda: d.dump(tap)]
        tap.ok(ready, "systemd-socket-activate: READY=1")
        tap.ok(first == [True], "systemd-socket-activate: the connection that started the daemon is answered")
        check_activated(tap, d, "systemd-socket-activate", modbus, http)
        stop_and_check(tap, d, "systemd-socket-activate")


def listen_fds(tap, binary):
    with Workdir() as w:
        socks = [listener(), listener(), listener()]
        http, modbus = (s.getsockname()[1] for s in socks[:2])
        bogus = "socket:[%d]" % os.fstat(socks[2].fileno()).st_ino
        d, ready = start(w, binary, "fds", listen_fds=socks, pid_env=[],
                         env={"LISTEN_FDNAMES": "http:modbus:bogus"})
        for s in socks:
            s.close()  # the daemon's copies are the only ones now
        tap.on_failure = [lambda: d.dump(tap)]
        tap.ok(ready, "LISTEN_FDS: READY=1")
        check_activated(tap, d, "LISTEN_FDS", modbus, http)
        i, _ = d.wait_for(r"Ignoring socket 5 named 'bogus'")
        tap.ok(i is not None, "LISTEN_FDS: a socket of an unknown name is closed with a warning")
        held = set()
        for fd in os.listdir("/proc/%d/fd" % d.proc.pid):
            try:
                held.add(os.readlink("/proc/%d/fd/%s" % (d.proc.pid, fd)))
            except OSError:
                pass
        tap.ok(bogus not in held, "LISTEN_FDS: the daemon no longer holds the unknown socket")
        stop_and_check(tap, d, "LISTEN_FDS")


def other_pid(tap, binary):
    with Workdir() as w:
        s = listener()
        port = s.getsockname()[1]
        # LISTEN_PID names another process: the sockets are not meant for us.
        d, ready = start(w, binary, "pid", listen_fds=[s], env={"LISTEN_PID": "1", "LISTEN_FDNAMES": "modbus"})
        s.close()
        tap.on_failure = [lambda: d.dump(tap)]
        _, m = d.wait_for(r"Modbus TCP server on port (\d+)( \(socket activation\))?")
        tap.ok(ready and m is not None and not m.group(2) and int(m.group(1)) != port,
               "LISTEN_PID of another process: Modbus binds its configured address (%r)" % (m and m.group(0)))
        stop_and_check(tap, d, "LISTEN_PID of another process")


def plain(tap, binary):
    with Workdir() as w:
        d, ready = start(w, binary, "plain")
        tap.on_failure = [lambda: d.dump(tap)]
        tap.ok(ready, "without activation: READY=1")
        _, m = d.wait_for(r"Modbus TCP server on port (\d+)( \(socket activation\))?")
        tap.ok(m is not None and not m.group(2), "without activation: Modbus binds its configured address")
        tap.ok(m is not None and modbus_answers(int(m.group(1))), "without activation: Modbus answers")
        _, m = d.wait_for(HTTP_RX)
        tap.ok(m is not None and not m.group(2) and http_answers(int(m.group(1))),
               "without activation: HTTP binds its configured address and answers")
        tap.ok(not any("socket from systemd" in l for l in d.lines), "without activation: no socket warning")
        stop_and_check(tap, d, "without activation")


def main():
    binary = harness.daemon_path()
    tap = Tap()
    socket_activate(tap, binary)
    listen_fds(tap, binary)
    other_pid(tap, binary)
    plain(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
