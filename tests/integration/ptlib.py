# SPDX-License-Identifier: MIT
"""Shared pieces of the test-passthrough-*.py scripts (a library, not a test).
On top of harness.py: the daemon with a [Passthrough] section, stream readers
on the TCP port, a telegram framer of the kind Home Assistant's DSMR "network"
source uses (dsmr_parser's TelegramBuffer: a regex over the received bytes),
CRC-16/ARC and TIC checksums, and a check that the meter's input queue has
been read (FIONREAD on our own slave fd of the pty).

Python 3 standard library only.
"""

import fcntl
import importlib.util
import os
import re
import socket
import struct
import termios
import threading
import time

import harness
from harness import Daemon

PORT_RX = r"Passthrough server on port (\d+)"
# dsmr_parser.clients.telegram_buffer: '/' .. '!' + optional CRC + CR LF.
DSMR_RX = re.compile(rb"\/[^\/]+?\![A-F0-9]{0,4}\0?\r\n", re.S)
TIC_RX = re.compile(rb"\x02[^\x02]*?\x03", re.S)


# CRC-16/ARC and the telegram builder of the Modbus tests' library.
_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
_mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mb)
crc16_arc = _mb.crc16_arc
with_crc = _mb.with_crc


def dsmr_valid(telegram):
    """A DSMR 4+ telegram with a matching CRC."""
    m = re.search(rb"!([0-9A-Fa-f]{4})\r\n$", telegram)
    return bool(m) and int(m.group(1), 16) == crc16_arc(telegram[:m.start() + 1])


def dsmr_telegrams(data):
    return [m.group(0) for m in DSMR_RX.finditer(data)]


def tic_frames(data):
    return [m.group(0) for m in TIC_RX.finditer(data)]


def numbered(raw, k):
    """A valid telegram like raw with its 1-0:1.8.1 value set to k (same width)."""
    body = raw[raw.index(b"/"):raw.index(b"!") + 1]
    m = re.search(rb"1-0:1\.8\.1\((\d+)\.(\d+)", body)
    width = len(m.group(1))
    value = b"%0*d.%s" % (width, k, m.group(2))
    return with_crc(body[:m.start(1)] + value + body[m.end(2):])


def config(device, extra_pt, protocol="auto", extra="", log_level="debug"):
    text = harness.config(device, protocol, log_level=log_level)
    return text + "\n[Passthrough]\n" + extra_pt + extra


def start(tap, binary, w, extra_pt="Listen=127.0.0.1:0\n", name="daemon", protocol="auto"):
    """Pty + daemon; waits for the listener. Returns (daemon, pty, port), port
    None when the daemon did not come up (already reported)."""
    link = w.join("ttyMETER")
    pty = w.add(harness.Pty(link))
    d = w.add(Daemon(binary, w.path, config(link, extra_pt, protocol)))
    tap.on_failure = [lambda: d.dump(tap)]
    i, m = d.wait_for(PORT_RX)
    tap.ok(i is not None, "%s: passthrough server listening (port from the log)" % name)
    return d, pty, (int(m.group(1)) if i is not None else None)


def read_bytes(pid):
    """Bytes the process has read so far, tty included (rchar of /proc/PID/io)."""
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def feed(d, pty, data, timeout=harness.TIMEOUT):
    """Write data to the pty and wait until the daemon has read all of it.
    An empty slave queue alone does not prove that: right after the write the
    bytes may still be on their way from the master side. The daemon's own
    read count does (its other reads, timers and the like, are a few bytes)."""
    before = read_bytes(d.proc.pid)
    pty.write(data)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if read_bytes(d.proc.pid) - before >= len(data) and drained(pty, 0):
            return True
        time.sleep(0.005)
    return False


def drained(pty, timeout=harness.TIMEOUT):
    """Wait until the daemon has read everything written to the pty."""
    deadline = time.monotonic() + timeout
    while True:
        left = struct.unpack("i", fcntl.ioctl(pty.slave, termios.FIONREAD, b"\0\0\0\0"))[0]
        if left == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)


class Reader:
    """A client that reads the stream into .data on a thread."""

    def __init__(self, port, rcvbuf=None, read=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(harness.TIMEOUT)
        self.sock.connect(("127.0.0.1", port))
        self.name = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.data = bytearray()
        self.lock = threading.Lock()
        self.closed = False
        self.error = None
        self.thread = None
        if read:
            self.start()

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while True:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                if self.closed:
                    return
                continue
            except OSError as e:
                self.error = e
                return
            if not chunk:
                self.closed = True
                return
            with self.lock:
                self.data += chunk

    def get(self):
        with self.lock:
            return bytes(self.data)

    def wait_len(self, n, timeout=harness.TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.get()) >= n:
                return True
            time.sleep(0.01)
        return len(self.get()) >= n

    def wait_closed(self, timeout=harness.TIMEOUT):
        """Wait for the end of the stream (the server closed); True when it came."""
        self.thread.join(timeout)
        return not self.thread.is_alive() and self.error is None

    def close(self):
        self.closed = True
        if self.thread:
            self.thread.join(harness.TIMEOUT)
        self.sock.close()


def wait_connected(d, reader, start=0):
    i, _ = d.wait_for(r"Passthrough client %s connected" % re.escape(reader.name), start)
    return i is not None


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized(pid):
    """True when the daemon runs with AddressSanitizer (its quarantine keeps freed memory)."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def activated_daemon(binary, workdir, config_text, listener):
    """The daemon as a socket unit starts it, with the listener named "passthrough"."""
    return _mb.ActivatedDaemon(binary, workdir, config_text, listener, fdname="passthrough")
