# SPDX-License-Identifier: MIT
"""The RS-485 line of the Modbus RTU tests (a library, not a test): a pair of
ptys joined by socat stands in for the bus, one end for the daemon and one for
the master, and a raw RTU master that writes frames byte by byte and reads
answers with a deadline. Python 3 standard library and Debian's socat.

We keep both pty ends open ourselves while the line is "plugged" (never read
from them): socat ends the pair when one side has no opener left, which would
unplug the line each time the daemon or a master closes its end."""

import os
import shutil
import subprocess
import termios
import time
import tty

import harness


def crc16(data):
    """Modbus CRC-16 (polynomial 0xA001, start 0xFFFF), low byte first on the wire."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


def frame(unit, pdu):
    body = bytes([unit]) + pdu
    return body + crc16(body)


def have_socat():
    return shutil.which("socat") is not None


class Line:
    """socat's pty pair: daemon_end is the daemon's Device=, master_end the master's.
    With subdir the links live in a directory of their own that goes with the
    adapter, as udev's /dev/serial/by-id does with the last adapter."""

    def __init__(self, w, name="rtu", subdir=None):
        self.dir = w.join(subdir) if subdir else None
        self.daemon_end = os.path.join(self.dir or w.path, "tty%s-slave" % name)
        self.master_end = w.join("tty%s-master" % name)
        self.log = w.join("socat-%s.log" % name)
        self.proc = None
        self.held = []
        self.plug()

    def plug(self):
        if self.dir:
            os.makedirs(self.dir, exist_ok=True)
        for p in (self.daemon_end, self.master_end):
            if os.path.lexists(p):
                os.unlink(p)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["socat", "-d", "pty,raw,echo=0,link=" + self.daemon_end,
                 "pty,raw,echo=0,link=" + self.master_end], stdout=log, stderr=log)
        deadline = time.monotonic() + harness.TIMEOUT
        while time.monotonic() < deadline and not (os.path.exists(self.daemon_end) and
                                                   os.path.exists(self.master_end)):
            time.sleep(0.01)
        self.held = [os.open(p, os.O_RDWR | os.O_NOCTTY) for p in (self.daemon_end, self.master_end)]
        return True

    def quiet(self):
        """Raw, without echo, on the daemon's end. libmodbus gives the tty back
        the settings it found when it closes; when it opened the new pty before
        socat had set echo=0, those echo what the master sends."""
        if self.held:
            tty.setraw(self.held[0])
            attrs = termios.tcgetattr(self.held[0])
            attrs[3] &= ~termios.ECHO
            termios.tcsetattr(self.held[0], termios.TCSANOW, attrs)

    def unplug(self):
        """The adapter goes: the device node disappears and the line hangs up."""
        for p in (self.daemon_end, self.master_end):
            if os.path.lexists(p):
                os.unlink(p)
        for fd in self.held:
            os.close(fd)
        self.held = []
        if self.dir and os.path.isdir(self.dir):
            os.rmdir(self.dir)
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    close = unplug


class Master:
    """A raw RTU master on the line's master end."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        attrs = termios.tcgetattr(self.fd)
        attrs[4] = attrs[5] = termios.B9600
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self.drain()

    def close(self):
        os.close(self.fd)

    def drain(self):
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass

    def send(self, data):
        os.write(self.fd, data)

    def recv(self, want, timeout):
        """Bytes read until want of them arrived or timeout passed."""
        buf = b""
        deadline = time.monotonic() + timeout
        while len(buf) < want and time.monotonic() < deadline:
            try:
                chunk = os.read(self.fd, want - len(buf))
                buf += chunk
            except BlockingIOError:
                time.sleep(0.0005)
        return buf

    def call(self, unit, pdu, answer_len, timeout=harness.TIMEOUT):
        """Send one request; the answer frame (checked CRC) or None for silence/garbage."""
        self.send(frame(unit, pdu))
        head = self.recv(3, timeout)
        if len(head) < 3:
            return None
        need = 5 if head[1] & 0x80 else answer_len
        rest = self.recv(need - 3, timeout)
        rsp = head + rest
        if len(rsp) != need or crc16(rsp[:-2]) != rsp[-2:]:
            return ("bad", rsp.hex())
        return rsp

    def read(self, fc, addr, count, unit=1, timeout=harness.TIMEOUT):
        """The registers, ('exception', code), or None when nothing came."""
        rsp = self.call(unit, bytes([fc]) + addr.to_bytes(2, "big") + count.to_bytes(2, "big"), 5 + 2 * count,
                        timeout)
        if rsp is None or isinstance(rsp, tuple):
            return rsp
        if rsp[1] & 0x80:
            return ("exception", rsp[2])
        if rsp[0] != unit or rsp[1] != fc or rsp[2] != 2 * count:
            return ("bad", rsp.hex())
        return [int.from_bytes(rsp[3 + 2 * k:5 + 2 * k], "big") for k in range(count)]

    def silent(self, data, wait):
        """Send data; True when nothing at all comes back within wait seconds."""
        self.drain()
        self.send(data)
        return self.recv(1, wait) == b""


def rtu_config(meter, line_end, meter_type, serial, stale_after=None, extra_rtu="", password=None):
    text = "[Daemon]\nLogLevel=debug\n\n[Meter]\nDevice=%s\nProtocol=dsmr\n" % meter
    if stale_after is not None:
        text += "StaleAfter=%s\n" % stale_after
    text += "\n[Modbus]\nListen=127.0.0.1:0\nMeterType=%s\n" % meter_type
    text += "\n[ModbusRTU]\nDevice=%s\nMeterType=%s\n%s" % (line_end, meter_type, extra_rtu)
    text += "\n[HTTP]\nListen=127.0.0.1:0\n" + ("Password=%s\n" % password if password else "")
    return text + "\n[Device]\nSerial=%s\n" % serial
