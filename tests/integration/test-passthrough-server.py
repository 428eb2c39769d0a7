#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The passthrough's TCP server: MaxClients refuses the one too many;
AllowFrom refuses addresses outside its list, and a SIGHUP with a new list
applies it; SIGHUP switches the server on and off; socket activation with the fd name "passthrough"; and hostile
clients: one that floods us with data (read and thrown away, memory bounded),
one that half-closes (still gets telegrams), one that resets the connection.
Through all of it a well-behaved client gets every telegram."""

import re
import signal
import socket
import struct
import threading
import time

import harness
import ptlib
from harness import Tap, Workdir

METER = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
FLOOD_BYTES = 64 << 20


def refused(port):
    """Connect and see the server close at once (no data, EOF or reset)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
    s.settimeout(5)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    finally:
        s.close()


def send_and_check(tap, pty, readers, data, what):
    marks = [len(r.get()) for r in readers]
    pty.write(data)
    ok = all(r.wait_len(m + len(data)) and r.get()[m:] == data for r, m in zip(readers, marks))
    tap.ok(ok, what)


def max_clients(tap, binary):
    name = "MaxClients=2"
    with Workdir() as w:
        d, pty, port = ptlib.start(tap, binary, w, "Listen=127.0.0.1:0\nMaxClients=2\n", name)
        if port is None:
            return
        data = harness.testdata(METER)
        a, b = ptlib.Reader(port), ptlib.Reader(port)
        tap.ok(ptlib.wait_connected(d, a) and ptlib.wait_connected(d, b), "%s: two clients connected" % name)
        tap.ok(refused(port), "%s: a third connection is closed at once" % name)
        i, _ = d.wait_for(r"Refusing passthrough client 127\.0\.0\.1:\d+: 2 clients connected \(MaxClients\)", 0, 5)
        tap.ok(i is not None, "%s: the refusal is logged" % name)
        send_and_check(tap, pty, [a, b], data, "%s: the first two keep getting telegrams" % name)
        a.sock.close()
        a.closed = True
        # A closed client is noticed at the latest when the next telegram goes out to it.
        deadline, ok = time.monotonic() + harness.TIMEOUT, False
        while not ok and time.monotonic() < deadline:
            pty.write(data)
            i, _ = d.wait_for(r"Passthrough client %s disconnected" % re.escape(a.name), 0, 0.5)
            ok = i is not None
        tap.ok(ok, "%s: the closed client is noticed" % name)
        c = ptlib.Reader(port)
        tap.ok(ptlib.wait_connected(d, c), "%s: a new client takes the free slot" % name)
        send_and_check(tap, pty, [b, c], data, "%s: and gets telegrams" % name)
        for r in (a, b, c):
            r.close()
        rc = d.stop()
        j, m = d.wait_for(r"Passthrough stopping: (\d+) clients served, (\d+) refused", 0, 1)
        tap.ok(rc == 0 and j is not None and m.group(1) == "3" and m.group(2) == "1",
               "%s: exit 0; counted 3 served, 1 refused (%s)" % (name, m.group(0) if m else "?"))


def allow_from(tap, binary):
    name = "AllowFrom"
    with Workdir() as w:
        link = w.join("ttyMETER")
        pty = w.add(harness.Pty(link))
        text = ptlib.config(link, "Listen=127.0.0.1:0\nAllowFrom=10.0.0.0/8, 192.168.1.7 ::1\n")
        d = w.add(harness.Daemon(binary, w.path, text))
        tap.on_failure = [lambda: d.dump(tap)]
        i, m = d.wait_for(ptlib.PORT_RX)
        if not tap.ok(i is not None, "%s: server listening" % name):
            return
        port = int(m.group(1))
        tap.ok(refused(port), "%s: 127.0.0.1 is not in 10.0.0.0/8, 192.168.1.7, ::1: closed at once" % name)
        i, _ = d.wait_for(r"Refusing passthrough client 127\.0\.0\.1:\d+: not in AllowFrom", 0, 5)
        tap.ok(i is not None, "%s: the refusal is logged" % name)

        mark = d.count()
        d.write_config(text.replace("AllowFrom=10.0.0.0/8, 192.168.1.7 ::1", "AllowFrom=10.0.0.0/8 127.0.0.0/30"))
        d.signal(signal.SIGHUP)
        i, _ = d.wait_for(r"Configuration reloaded, changed: .*passthrough", mark)
        tap.ok(i is not None, "%s: SIGHUP applies a new AllowFrom" % name)
        r = ptlib.Reader(port)
        tap.ok(ptlib.wait_connected(d, r, mark), "%s: 127.0.0.1 in 127.0.0.0/30 is served, same port" % name)
        send_and_check(tap, pty, [r], harness.testdata(METER), "%s: and gets telegrams" % name)
        r.close()
        harness.stop_and_check(tap, d, name)


def reload_on_off(tap, binary):
    name = "reload"
    with Workdir() as w:
        link = w.join("ttyMETER")
        pty = w.add(harness.Pty(link))
        text = harness.config(link)
        d = w.add(harness.Daemon(binary, w.path, text))
        tap.on_failure = [lambda: d.dump(tap)]
        i, _ = d.wait_for(r"smartconnectd .* running")
        tap.ok(i is not None and d.wait_for(ptlib.PORT_RX, 0, 0.5)[0] is None,
               "%s: no [Passthrough] section, no server" % name)

        mark = d.count()
        d.write_config(text + "\n[Passthrough]\nListen=127.0.0.1:0\n")
        d.signal(signal.SIGHUP)
        i, m = d.wait_for(ptlib.PORT_RX, mark)
        tap.ok(i is not None, "%s: SIGHUP with Listen= starts the server" % name)
        if i is None:
            return
        r = ptlib.Reader(int(m.group(1)))
        tap.ok(ptlib.wait_connected(d, r, mark), "%s: a client connects" % name)
        send_and_check(tap, pty, [r], harness.testdata(METER), "%s: and gets telegrams" % name)

        mark = d.count()
        d.write_config(text + "\n[Passthrough]\nListen=\n")
        d.signal(signal.SIGHUP)
        i, _ = d.wait_for(r"Passthrough server off", mark)
        j, _ = d.wait_for(r"Passthrough client %s disconnected" % re.escape(r.name), mark)
        tap.ok(i is not None and j is not None, "%s: SIGHUP with an empty Listen= stops it and its clients" % name)
        tap.ok(r.wait_closed(), "%s: the client sees the end of the stream" % name)
        r.close()
        harness.stop_and_check(tap, d, name)


def activation(tap, binary):
    name = "socket activation"
    with Workdir() as w:
        link = w.join("ttyMETER")
        pty = w.add(harness.Pty(link))
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        # No Listen= at all: the socket from "systemd" is the configuration.
        d = w.add(ptlib.activated_daemon(binary, w.path, ptlib.config(link, ""), listener))
        listener.close()
        tap.on_failure = [lambda: d.dump(tap)]
        i, m = d.wait_for(ptlib.PORT_RX + r" \(socket activation\)")
        tap.ok(i is not None and int(m.group(1)) == port,
               "%s: serves the socket named 'passthrough' on port %d" % (name, port))
        r = ptlib.Reader(port)
        tap.ok(ptlib.wait_connected(d, r), "%s: a client connects" % name)
        send_and_check(tap, pty, [r], harness.testdata(METER), "%s: and gets telegrams" % name)
        r.close()
        harness.stop_and_check(tap, d, name)


def flood(port, stop, stats):
    s = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
    s.setblocking(False)
    junk = b"GET / HTTP/1.1\r\n" * 4096
    sent = 0
    try:
        while not stop.is_set() and sent < FLOOD_BYTES:
            try:
                sent += s.send(junk)
            except BlockingIOError:
                stop.wait(0.001)
            except OSError as e:
                stats["error"] = repr(e)
                break
    finally:
        stats["sent"] = sent
        s.close()


def hostile(tap, binary):
    name = "hostile clients"
    with Workdir() as w:
        d, pty, port = ptlib.start(tap, binary, w, "Listen=127.0.0.1:0\n", name)
        if port is None:
            return
        data = harness.testdata(METER)
        good = ptlib.Reader(port)
        tap.ok(ptlib.wait_connected(d, good), "%s: a good client connected" % name)
        rss0 = ptlib.rss_kib(d.proc.pid)

        stop, stats = threading.Event(), {}
        t = threading.Thread(target=flood, args=(port, stop, stats), daemon=True)
        t.start()
        half = ptlib.Reader(port, read=False)
        half.sock.shutdown(socket.SHUT_WR)
        half.start()
        rst = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
        rst_name = "127.0.0.1:%d" % rst.getsockname()[1]
        tap.ok(ptlib.wait_connected(d, half) and d.wait_for(r"client %s connected" % re.escape(rst_name))[0],
               "%s: a half-closing client and a resetting one connected" % name)
        rst.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        rst.close()
        i, m = d.wait_for(r"Passthrough client %s disconnected: (.*) \(" % re.escape(rst_name), 0, 5)
        tap.ok(i is not None and m.group(1) in ("connection reset", "connection closed"),
               "%s: the reset is seen at once (%s)" % (name, m.group(1) if m else "?"))

        for _ in range(20):
            pty.write(data)
            time.sleep(0.05)
        want = data * 20
        good.wait_len(len(want))
        half.wait_len(len(want))
        stop.set()
        t.join(harness.TIMEOUT)
        tap.ok(good.get() == want, "%s: the good client got all 20 telegrams while %d bytes of junk came in"
               % (name, stats.get("sent", 0)))
        tap.ok(half.get() == want, "%s: the half-closed client still gets them (%d bytes)" % (name, len(half.get())))
        rss1 = ptlib.rss_kib(d.proc.pid)
        tap.ok(stats.get("sent", 0) > 16 << 20 and rss1 - rss0 < 1024,
               "%s: %d bytes of junk read and thrown away; RSS %d -> %d KiB"
               % (name, stats.get("sent", 0), rss0, rss1))
        tap.ok(d.proc.poll() is None, "%s: the daemon still runs" % name)
        good.close()
        half.close()
        harness.stop_and_check(tap, d, name)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    max_clients(tap, binary)
    allow_from(tap, binary)
    reload_on_off(tap, binary)
    activation(tap, binary)
    hostile(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
