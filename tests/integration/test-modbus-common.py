# SPDX-License-Identifier: MIT
"""Shared pieces of the test-modbus-*.py scripts (a library, not a test: the
scripts load it with load_common()). On top of harness.py: the daemon with its
Modbus listener on loopback (bound by itself or socket-activated), a raw MBAP
client, the DSMR telegram builder (CRC-16/ARC) and the expected register images
of every template, computed from the decimal values of a telegram.

Python 3 standard library; pymodbus is imported by the scripts that use it.
"""

import decimal
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

import harness
from harness import ActivatedDaemon, Daemon, loopback_listener  # ptlib takes ActivatedDaemon from here

SERIAL = "SC0123456789"
METER_RAW = "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw"
PORT_RX = r"Modbus TCP server on port (\d+)"


# ---- pymodbus (Debian: python3-pymodbus; a pyenv python may not see it) ----

def import_pymodbus():
    """ModbusTcpClient, or None when pymodbus is not installed."""
    try:
        from pymodbus.client import ModbusTcpClient
        return ModbusTcpClient
    except ImportError:
        pass
    dist = "/usr/lib/python3/dist-packages"
    if os.path.isdir(os.path.join(dist, "pymodbus")) and dist not in sys.path:
        sys.path.append(dist)
        try:
            from pymodbus.client import ModbusTcpClient
            return ModbusTcpClient
        except ImportError:
            pass
    return None


# ---- telegrams ----

def crc16_arc(data, crc=0):
    """CRC-16/ARC; with crc=0xFFFF, CRC-16/MODBUS (the RTU frame check)."""
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body):
    """body runs from '/' to '!' inclusive; appends the CRC and CR LF."""
    return body + b"%04X\r\n" % crc16_arc(body)


def telegram_body(raw):
    return raw[raw.index(b"/"):raw.index(b"!") + 1]


def edit_telegram(raw, changes):
    """A new valid telegram: each OBIS code in changes gets a new value string
    (same width as before, so the telegram stays well-formed)."""
    body = telegram_body(raw)
    for obis, value in changes.items():
        rx = re.compile(rb"(?m)^(" + re.escape(obis.encode()) + rb"\()([^)*]*)")
        body, n = rx.subn(lambda m: m.group(1) + value.encode(), body, count=1)
        if n != 1:
            raise ValueError("no %s in the telegram" % obis)
    return with_crc(body)


def telegram_values(match):
    """The decoded values of a 'telegram: {...}' line, numbers as Decimal."""
    j = json.loads(match.group(1), parse_float=decimal.Decimal, parse_int=decimal.Decimal)
    v = {"P": j.get("P"), "E_IMPORT": j.get("E_IMPORT"), "E_EXPORT": j.get("E_EXPORT"),
         "U12": j.get("U12"), "U31": j.get("U31"), "U32": j.get("U32")}
    for ph in (1, 2, 3):
        o = j.get("l%d" % ph) or {}
        for k in ("U", "I", "P"):
            v["%s%d" % (k, ph)] = o.get(k)
    return v


# ---- the conversion of modbus-map.c, from the decimal values ----

def micro(x):
    return int(x * 1000000)


def as_float(x, exp=0):
    """The decimal (times 10^exp) as the nearest double, rounded to float: the 32-bit pattern."""
    return struct.unpack("<I", struct.pack("<f", micro(x) / 1000000 * (10.0 ** exp)))[0]


def scaled(x, exp):
    """x * 10^exp computed in doubles as the daemon does, rounded half away from zero."""
    d = micro(x) / 1000000 * (10.0 ** exp)
    return int(decimal.Decimal(d).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP))


def derived(v, src):
    if src == "I_SUM":
        parts = [v.get("I1"), v.get("I2"), v.get("I3")]
        return None if None in parts else sum(parts)
    if src == "E_TOTAL":
        parts = [v.get("E_IMPORT"), v.get("E_EXPORT")]
        return None if None in parts else sum(parts)
    return v.get(src)


def put32(img, addr, x, low_first):
    x &= 0xFFFFFFFF
    hi, lo = x >> 16, x & 0xFFFF
    img[addr], img[addr + 1] = (lo, hi) if low_first else (hi, lo)


def put_text(img, addr, n, s):
    b = s.encode().ljust(2 * n, b"\0")[:2 * n]
    for i in range(n):
        img[addr + i] = b[2 * i] << 8 | b[2 * i + 1]


def serial_number(s):
    x = 0
    for c in s:
        if c.isdigit():
            x = (x % 100000000) * 10 + int(c)
    return x


EMPRO_F = [(0x8000, "U12"), (0x8002, "U32"), (0x8004, "U31"), (0x8006, "U1"), (0x8008, "U2"),
           (0x800A, "U3"), (0x800E, "I1"), (0x8010, "I2"), (0x8012, "I3"), (0x8016, "P"),
           (0x801E, "P1"), (0x8020, "P2"), (0x8022, "P3"), (0x8100, "E_IMPORT"),
           (0x8106, "E_EXPORT")]
SDM_F = [(0x0000, "U1"), (0x0002, "U2"), (0x0004, "U3"), (0x0006, "I1"), (0x0008, "I2"),
         (0x000A, "I3"), (0x000C, "P1"), (0x000E, "P2"), (0x0010, "P3"), (0x0030, "I_SUM"),
         (0x0034, "P"), (0x0048, "E_IMPORT"), (0x004A, "E_EXPORT"), (0x00C8, "U12"),
         (0x00CA, "U32"), (0x00CC, "U31"), (0x0156, "E_TOTAL")]
EM24_I = [(0x0000, "U1", 1), (0x0002, "U2", 1), (0x0004, "U3", 1), (0x0006, "U12", 1),
          (0x0008, "U32", 1), (0x000A, "U31", 1), (0x000C, "I1", 3), (0x000E, "I2", 3),
          (0x0010, "I3", 3), (0x0012, "P1", 1), (0x0014, "P2", 1), (0x0016, "P3", 1),
          (0x0028, "P", 1), (0x0034, "E_IMPORT", 1), (0x004E, "E_EXPORT", 1)]
M203 = 40071
SS_PTS = [(0, "I_SUM", "A"), (1, "I1", "A"), (2, "I2", "A"), (3, "I3", "A"), (6, "U1", "V"),
          (7, "U2", "V"), (8, "U3", "V"), (10, "U12", "V"), (11, "U32", "V"), (12, "U31", "V"),
          (16, "P", "W"), (17, "P1", "W"), (18, "P2", "W"), (19, "P3", "W")]
SS_SF = {"A": 4, "V": 13, "HZ": 15, "W": 20, "VA": 25, "VAR": 30, "PF": 35, "WH": 52}
SS_PREF = {"A": -2, "V": -1, "HZ": -2, "W": 0, "VA": 0, "VAR": 0, "PF": -2, "WH": 0}

TEMPLATES = {
    "PhoenixContact-EMPro": [(0x8000, 0x36), (0x8100, 8)],
    "Eastron-SDM630": [(0x0000, 0x50), (0x00C8, 0x32), (0x0156, 0x28), (0xFC00, 4)],
    "CarloGavazzi-EM24": [(0x0000, 0x52), (0x0302, 1), (0x0304, 1), (0x1002, 1), (0x5000, 7),
                          (0xA000, 1), (0xA100, 1)],
    "SunSpec": [(40000, 178)],
    "Chint-DTSU666": [(0x0000, 0x30), (0x101E, 0x12), (0x2000, 0x46), (0x401E, 0x12)],
    "CarloGavazzi-EM340": [(0x0000, 0x66), (0x0302, 2), (0x1002, 1), (0x5000, 7)],
}
# What CarloGavazzi-EM24 is on the RS-485 server (RTU only).
RTU_ONLY = {
    "CarloGavazzi-EM24-RS485": [(0x0000, 0x68), (0x0300, 5), (0x1101, 2), (0x1300, 7)],
}
BLOCKS = dict(TEMPLATES, **RTU_ONLY)
EM24R_I = EM24_I[:13] + [(0x003E, "E_IMPORT", 1), (0x0042, "E_IMPORT", 1), (0x005C, "E_EXPORT", 1)]
DTSU_F = [(0x101E, "E_IMPORT", 0), (0x1028, "E_EXPORT", 0), (0x2000, "U12", 1), (0x2002, "U32", 1),
          (0x2004, "U31", 1), (0x2006, "U1", 1), (0x2008, "U2", 1), (0x200A, "U3", 1), (0x200C, "I1", 3),
          (0x200E, "I2", 3), (0x2010, "I3", 3), (0x2012, "P", 1), (0x2014, "P1", 1), (0x2016, "P2", 1),
          (0x2018, "P3", 1), (0x401E, "E_IMPORT", 0), (0x4028, "E_EXPORT", 0)]


def image(template, v, version, serial=SERIAL, written=7):
    """(input, holding): dicts address -> word over the template's blocks, for
    the values v (None: no data, every measurement unknown)."""
    v = v or {}
    filler = 0x8000 if template == "SunSpec" else 0
    img = {}
    for start, n in BLOCKS[template]:
        for a in range(start, start + n):
            img[a] = filler
    hold = {}
    if template == "PhoenixContact-EMPro":
        for a, src in EMPRO_F:
            x = derived(v, src)
            put32(img, a, as_float(x) if x is not None else 0, True)
    elif template == "Eastron-SDM630":
        for a, src in SDM_F:
            x = derived(v, src)
            put32(img, a, as_float(x) if x is not None else 0, False)
        put32(img, 0xFC00, serial_number(serial), False)
        img[0xFC02], img[0xFC03] = 112, 0x0100
        single = v and v.get("U2") is None and v.get("I2") is None and v.get("P2") is None \
            and v.get("U12") is None
        put32(hold, 0x000A, as_float(1 if single else 3), False)
        put32(hold, 0x0014, as_float(1), False)
    elif template == "CarloGavazzi-EM24":
        for a, src, e in EM24_I:
            x = derived(v, src)
            put32(img, a, scaled(x, e) if x is not None else 0, True)
        single = v and v.get("U2") is None and v.get("I2") is None and v.get("P2") is None \
            and v.get("U12") is None
        img[0x0302] = img[0x0304] = 0x1000
        img[0x1002] = 3 if single else 0
        put_text(img, 0x5000, 7, serial)
        img[0xA000] = written
        img[0xA100] = 3
    elif template in ("CarloGavazzi-EM340", "CarloGavazzi-EM24-RS485"):
        rs485 = template.endswith("RS485")
        for a, src, e in (EM24R_I if rs485 else EM24_I):
            x = derived(v, src)
            put32(img, a, scaled(x, e) if x is not None else 0, True)
        put_text(img, 0x1300 if rs485 else 0x5000, 7, serial)
        if rs485:
            single = v and v.get("U2") is None and v.get("I2") is None and v.get("P2") is None \
                and v.get("U12") is None
            img[0x0302], img[0x0304], img[0x1101], img[0x1102] = 70, 3, written, 3 if single else 0
    elif template == "Chint-DTSU666":
        img[0x0000], img[0x0001], img[0x0006], img[0x0007] = 204, 701, 1, 10
        for a, src, e in DTSU_F:
            x = derived(v, src)
            put32(img, a, as_float(x, e) if x is not None else 0, False)
    elif template == "SunSpec":
        img[40000], img[40001], img[40002], img[40003] = 0x5375, 0x6E53, 1, 65
        put_text(img, 40004, 16, "smartconnectd")
        put_text(img, 40020, 16, "Smart meter P1/TIC bridge")
        put_text(img, 40036, 8, "")
        put_text(img, 40044, 8, version)
        put_text(img, 40052, 16, serial)
        img[40068], img[40069], img[40070] = 1, 203, 105
        sf = dict(SS_PREF)
        for off, src, g in SS_PTS:
            x = derived(v, src)
            if x is None:
                continue
            while sf[g] < 10 and abs(scaled(x, -sf[g])) > 32767:
                sf[g] += 1
        for g, off in SS_SF.items():
            img[M203 + off] = sf[g] & 0xFFFF
        for off, src, g in SS_PTS:
            x = derived(v, src)
            img[M203 + off] = max(-32767, min(32767, scaled(x, -sf[g]))) & 0xFFFF \
                if x is not None else 0x8000

        def acc(off, x, n):
            for k in range(n):
                put32(img, M203 + off + 2 * k,
                      max(0, min(0xFFFFFFFF, scaled(x, 3))) if x is not None else 0, False)
        acc(36, v.get("E_EXPORT"), 1)
        acc(38, 0, 3)
        acc(44, v.get("E_IMPORT"), 1)
        acc(46, 0, 3)
        acc(53, 0, 8)
        img[M203 + 69] = 0
        acc(70, 0, 16)
        img[M203 + 102] = 0
        acc(103, 0, 1)
        img[40176], img[40177] = 0xFFFF, 0
    holding = dict(img)
    holding.update(hold)
    return img, holding


def words(img, start, n):
    return [img[a] for a in range(start, start + n)]


# ---- a raw Modbus TCP client ----

class ModbusError(Exception):
    pass


class Raw:
    """One TCP connection speaking MBAP by hand: every byte is ours to choose."""

    def __init__(self, port, timeout=harness.TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tid = 0

    def close(self):
        self.sock.close()

    def send_pdu(self, unit, pdu, tid=None):
        if tid is None:
            self.tid = (self.tid + 1) & 0xFFFF
            tid = self.tid
        self.sock.sendall(struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu)
        return tid

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ModbusError("connection closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return buf

    def recv_frame(self):
        """(tid, unit, pdu) of the next answer."""
        hdr = self.recv_exact(7)
        tid, proto, length, unit = struct.unpack(">HHHB", hdr)
        if proto != 0 or length < 2:
            raise ModbusError("bad MBAP header %s" % hdr.hex())
        return tid, unit, self.recv_exact(length - 1)

    def call(self, unit, pdu):
        tid = self.send_pdu(unit, pdu)
        rtid, runit, rpdu = self.recv_frame()
        if rtid != tid or runit != unit:
            raise ModbusError("answer tid %d unit %d to request tid %d unit %d" % (rtid, runit, tid, unit))
        return rpdu

    def read(self, fc, addr, count, unit=1):
        """The registers, or ('exception', code)."""
        pdu = self.call(unit, struct.pack(">BHH", fc, addr, count))
        return parse_read(fc, count, pdu)

    def write1(self, addr, value, unit=1):
        pdu = self.call(unit, struct.pack(">BHH", 6, addr, value))
        if pdu[0] & 0x80:
            return ("exception", pdu[1])
        return pdu

    def write_n(self, addr, values, unit=1):
        pdu = self.call(unit, struct.pack(">BHHB", 16, addr, len(values), 2 * len(values)) +
                        struct.pack(">%dH" % len(values), *values))
        if pdu[0] & 0x80:
            return ("exception", pdu[1])
        return pdu


def mbpoll(port, args):
    """mbpoll -m tcp once: (exit status, {reference: value text}, stderr)."""
    p = subprocess.run(["mbpoll", "-m", "tcp", "-1", "-o", "5", "-p", str(port)] + args + ["127.0.0.1"],
                       capture_output=True, text=True, timeout=60)
    values = {}
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("[") and "]:" in line:
            ref, _, rest = line.partition("]:")
            values[int(ref[1:])] = rest.split()[0]
    return p.returncode, values, p.stderr.strip()


def read_pdu(fc, addr, count):
    return struct.pack(">BHH", fc, addr, count)


def parse_read(fc, count, pdu):
    if len(pdu) == 2 and pdu[0] == fc | 0x80:
        return ("exception", pdu[1])
    if pdu[0] != fc or pdu[1] != 2 * count or len(pdu) != 2 + 2 * count:
        raise ModbusError("bad answer %s to FC %d count %d" % (pdu.hex(), fc, count))
    return list(struct.unpack(">%dH" % count, pdu[2:]))


def is_closed(sock, timeout):
    """Did the peer close (EOF or reset) within timeout? Any data is read and ignored."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


# ---- the daemon with its Modbus listener ----

def modbus_config(device, meter_type="PhoenixContact-EMPro", listen="127.0.0.1:0", stale_after=None,
                  extra_modbus="", extra=""):
    text = "[Daemon]\nLogLevel=debug\n\n[Meter]\nDevice=%s\nProtocol=dsmr\n" % device
    if stale_after is not None:
        text += "StaleAfter=%s\n" % stale_after
    text += "\n[Modbus]\nListen=%s\nMeterType=%s\n%s" % (listen, meter_type, extra_modbus)
    text += "\n[HTTP]\nListen=127.0.0.1:0\n\n[Device]\nSerial=%s\n" % SERIAL
    return text + extra


def start(tap, binary, w, meter_type="PhoenixContact-EMPro", activated=False, blocking=True, stale_after=None,
          extra_modbus="", name="daemon"):
    """Pty + daemon; waits for the listener. Returns (daemon, pty, port) with
    port None when the daemon did not come up (already reported)."""
    link = w.join("ttyMETER")
    pty = w.add(harness.Pty(link))
    text = modbus_config(link, meter_type, stale_after=stale_after, extra_modbus=extra_modbus)
    if activated:
        listener = loopback_listener(blocking)
        port = listener.getsockname()[1]
        d = w.add(ActivatedDaemon(binary, w.path, text, listener))
        listener.close()  # the daemon holds it now
        i, m = d.wait_for(PORT_RX + r" \(socket activation\)")
        tap.ok(i is not None and int(m.group(1)) == port,
               "%s: serves the socket-activated listener on port %d" % (name, port))
    else:
        d = w.add(Daemon(binary, w.path, text))
        i, m = d.wait_for(PORT_RX)
        tap.ok(i is not None, "%s: Modbus TCP server listening (port from the log)" % name)
        port = int(m.group(1)) if i is not None else None
    return d, pty, port


def feed(d, pty, data, start_line=0, pattern=harness.TELEGRAM_RX):
    """Write the telegram until the daemon logs it decoded: (index, values) or (None, None)."""
    i, m = harness.feed_until(d, pty, data, pattern, start_line)
    if i is None:
        return None, None
    return i, telegram_values(m)


def version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"(\d+\.\d+\S*)", out)
    return m.group(1) if m else ""


def load_common():
    """For the scripts: import this file (its name has dashes)."""
    return sys.modules[__name__]
