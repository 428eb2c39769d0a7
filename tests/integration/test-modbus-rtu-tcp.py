#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""RTU frames over the Modbus TCP port ([Modbus] Framing=). With the default
Framing=auto, a client that sends raw RTU frames (unit id, function, data,
CRC) gets RTU answers whose CRC is right and whose registers are the Eastron
SDM630 image of the telegram, the voltages and the import energy as the
sidecar states them; pymodbus's RTU framer over a TCP socket (what evcc's
SDM630 template with "rtu: true" does) reads the same; mbpoll and a raw MBAP
client on the same port at the same time are unaffected; exceptions come back
RTU-framed, broadcast is never answered, a bad CRC after the first frame and
a connection that starts with garbage are closed. Framing=rtu closes an MBAP
client; Framing=tcp answers the RTU bytes as MBAP, as before."""

import importlib.util
import json
import os
import socket
import struct
import threading

import harness
from harness import Tap, Workdir

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

TMPL = "Eastron-SDM630"


def crc16_modbus(data):
    """The test's own CRC, independent of the daemon's libmodbus."""
    return mb.crc16_arc(data, 0xFFFF)


def rtu(body):
    return body + struct.pack("<H", crc16_modbus(body))


class RawRtu:
    """RTU frames over one TCP connection, by hand."""

    def __init__(self, port, timeout=harness.TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        self.sock.close()

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise mb.ModbusError("connection closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return buf

    def read(self, fc, addr, count, unit=1):
        """The registers, ('exception', code); the answer's CRC is checked."""
        self.sock.sendall(rtu(struct.pack(">BBHH", unit, fc, addr, count)))
        head = self.recv_exact(3)
        if head[0] != unit:
            raise mb.ModbusError("answer from unit %d to unit %d" % (head[0], unit))
        rest = self.recv_exact(2 if head[1] & 0x80 else head[2] + 2)
        frame = head + rest
        if struct.unpack("<H", frame[-2:])[0] != crc16_modbus(frame[:-2]):
            raise mb.ModbusError("bad CRC in %s" % frame.hex())
        if head[1] & 0x80:
            return ("exception", head[2])
        return mb.parse_read(fc, count, frame[1:-2])


def f32(img, a):
    return struct.unpack(">f", struct.pack(">HH", img[a], img[a + 1]))[0]


def sidecar_checks(tap, img):
    summ = json.loads(harness.testdata(mb.METER_RAW.replace(".raw", ".json")))["expected"]["summary"]
    volts = [float(summ["phases"][p]["voltage"]["value"]) for p in ("L1", "L2", "L3")]
    got = [f32(img, a) for a in (0, 2, 4)]
    tap.ok(all(abs(g - w) < 1e-3 for g, w in zip(got, volts)),
           "RTU: voltages at 0x0000-0x0005 are the sidecar's %s (%s)" % (volts, got))
    e_imp = sum(float(t["value"]) for t in summ["energy_import"].values())
    tap.ok(abs(f32(img, 0x48) - e_imp) < 0.01,
           "RTU: import energy at 0x0048 is the sidecar's %.3f kWh (%.3f)" % (e_imp, f32(img, 0x48)))


def read_blocks(client, fc):
    """Every block of the template in reads of at most 0x40 registers: {addr: word}."""
    out = {}
    for start, n in mb.TEMPLATES[TMPL]:
        for a in range(start, start + n, 0x40):
            k = min(0x40, start + n - a)
            got = client.read(fc, a, k)
            if isinstance(got, tuple):
                raise mb.ModbusError("FC %d 0x%04X: %r" % (fc, a, got))
            out.update({a + i: w for i, w in enumerate(got)})
    return out


def mbpoll_words(port, addr, count):
    rc, vals, _ = mb.mbpoll(port, ["-a", "1", "-0", "-t", "3:hex", "-r", str(addr), "-c", str(count)])
    return rc, [int(vals[a], 16) if a in vals else None for a in range(addr, addr + count)]


def check_pymodbus(tap, port, img):
    if mb.import_pymodbus() is None:
        tap.ok(False, "pymodbus is installed (python3-pymodbus)")
        return
    from pymodbus.client import ModbusTcpClient
    try:
        from pymodbus.framer.rtu_framer import ModbusRtuFramer as framer
    except ImportError:
        from pymodbus.transaction import ModbusRtuFramer as framer
    c = ModbusTcpClient("127.0.0.1", port=port, framer=framer, timeout=5)
    try:
        tap.ok(c.connect(), "pymodbus RTU framer over TCP connects")
        rr = c.read_input_registers(0, 0x50, slave=1)
        regs = None if rr.isError() else list(rr.registers)
        tap.ok(regs == mb.words(img, 0, 0x50),
               "pymodbus RTU framer over TCP: FC 4 0x0000-0x004F equal the image (%r)" % (rr,))
        rr = c.read_holding_registers(0x0156, 4, slave=1)
        tap.ok(not rr.isError() and list(rr.registers) == mb.words(img, 0x0156, 4),
               "pymodbus RTU framer over TCP: FC 3 0x0156 equals the image (%r)" % (rr,))
    finally:
        c.close()


def concurrent(tap, port, img):
    """An RTU connection and MBAP clients interleaved on the same port."""
    r = RawRtu(port)
    m = mb.Raw(port)
    results = {}

    def rtu_loop():
        try:
            results["rtu"] = all(r.read(4, 0, 0x40) == mb.words(img, 0, 0x40) for _ in range(50))
        except (OSError, mb.ModbusError) as e:
            results["rtu"] = repr(e)

    def mbap_loop():
        try:
            results["mbap"] = all(m.read(4, 0, 0x40) == mb.words(img, 0, 0x40) for _ in range(50))
        except (OSError, mb.ModbusError) as e:
            results["mbap"] = repr(e)

    threads = [threading.Thread(target=f) for f in (rtu_loop, mbap_loop)]
    for t in threads:
        t.start()
    rc, words = mbpoll_words(port, 0, 0x40)
    for t in threads:
        t.join(60)
    tap.ok(results.get("rtu") is True, "50 RTU reads while MBAP clients read: all equal the image (%r)"
           % results.get("rtu"))
    tap.ok(results.get("mbap") is True, "50 raw MBAP reads at the same time: all equal the image (%r)"
           % results.get("mbap"))
    tap.ok(rc == 0 and words == mb.words(img, 0, 0x40), "mbpoll (MBAP) at the same time: equal the image")
    return r, m


def run_auto(tap, binary):
    with Workdir() as w:
        d, pty, port = mb.start(tap, binary, w, meter_type=TMPL, name="auto")
        tap.on_failure = [lambda: d.dump(tap)]
        if port is None:
            return
        tap.ok(d.wait_for(r"framing auto")[0] is not None, "default: Framing=auto in the start line")
        i, v = mb.feed(d, pty, harness.testdata(mb.METER_RAW))
        if not tap.ok(i is not None, "telegram decoded"):
            return
        img, hold = mb.image(TMPL, v, "")
        sidecar_checks(tap, img)

        r = RawRtu(port)
        try:
            got4, got3 = read_blocks(r, 4), read_blocks(r, 3)
            tap.ok(all(got4[a] == img[a] for a in got4), "raw RTU FC 4: every block equals the image")
            tap.ok(all(got3[a] == hold[a] for a in got3), "raw RTU FC 3: every block equals the holding image")
            tap.ok(r.read(4, 0x0050, 2) == ("exception", 2), "raw RTU read outside the blocks: RTU exception 2")
            # Broadcast: silence, and the next request is answered as usual.
            r.sock.sendall(rtu(struct.pack(">BBHH", 0, 4, 0, 2)))
            tap.ok(mb.is_closed(r.sock, 0.5) is False, "raw RTU broadcast: no answer, connection open")
            tap.ok(r.read(4, 0, 2) == mb.words(img, 0, 2), "raw RTU after the broadcast: answered")
            tap.ok(r.read(4, 0, 2, unit=7) == mb.words(img, 0, 2), "raw RTU unit id 7: answered too")
            # Split into single bytes: framing across reads.
            for b in rtu(struct.pack(">BBHH", 1, 4, 6, 2)):
                r.sock.sendall(bytes([b]))
            head = r.recv_exact(9)
            tap.ok(head[:3] == b"\x01\x04\x04" and list(struct.unpack(">HH", head[3:7])) == mb.words(img, 6, 2),
                   "raw RTU request sent byte by byte: answered (%s)" % head.hex())
            r.sock.sendall(b"\x01\x04\x00\x00\x00\x02\x00\x00")
            tap.ok(mb.is_closed(r.sock, harness.TIMEOUT), "raw RTU frame with a bad CRC: connection closed")
        except (OSError, mb.ModbusError) as e:
            tap.ok(False, "raw RTU client: %r" % e)
        finally:
            r.close()

        check_pymodbus(tap, port, img)
        a, b = concurrent(tap, port, img)
        a.close()
        b.close()

        for what, data in (("HTTP", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ("zeros", b"\x00" * 16),
                           ("random", bytes(range(0x41, 0x61)))):
            s = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
            s.sendall(data)
            tap.ok(mb.is_closed(s, harness.TIMEOUT), "a connection starting with garbage (%s) is closed" % what)
            s.close()
        m = mb.Raw(port)
        tap.ok(m.read(4, 0, 2) == mb.words(img, 0, 2), "MBAP after all that: answered")
        m.close()
        harness.stop_and_check(tap, d, "auto")


def run_fixed(tap, binary, framing):
    with Workdir() as w:
        d, pty, port = mb.start(tap, binary, w, meter_type=TMPL, extra_modbus="Framing=%s\n" % framing,
                                name=framing)
        if port is None:
            return
        i, v = mb.feed(d, pty, harness.testdata(mb.METER_RAW))
        img, _ = mb.image(TMPL, v, "")
        if framing == "rtu":
            r = RawRtu(port)
            tap.ok(r.read(4, 0, 4) == mb.words(img, 0, 4), "Framing=rtu: RTU answered")
            r.close()
            m = mb.Raw(port)
            m.send_pdu(1, mb.read_pdu(4, 0, 2))
            tap.ok(mb.is_closed(m.sock, harness.TIMEOUT), "Framing=rtu: an MBAP client is closed")
            m.close()
        else:
            m = mb.Raw(port)
            tap.ok(m.read(4, 0, 4) == mb.words(img, 0, 4), "Framing=tcp: MBAP answered")
            m.close()
            # "01 04 00 00 00 02 71 CB" reads as MBAP: unit 0x71, function 0xCB.
            s = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
            s.sendall(rtu(struct.pack(">BBHH", 1, 4, 0, 2)))
            ans = s.recv(64)
            tap.ok(len(ans) == 9 and ans[2:4] == b"\0\0" and ans[7] & 0x80,
                   "Framing=tcp: RTU bytes get an MBAP exception, as before (%s)" % ans.hex())
            s.close()
        harness.stop_and_check(tap, d, framing)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    run_auto(tap, binary)
    run_fixed(tap, binary, "rtu")
    run_fixed(tap, binary, "tcp")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
