#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every MeterType on the real daemon, fed a real DSMR 5 telegram through a pty:
the registers read with pymodbus (FC 3 and 4, unit ids 0, 1 and 247), mbpoll
and the libmodbus client (modbus-client.c) equal the image computed here from
the telegram's decimal values (float32 = the decimal rounded to float, INT32
scaled and rounded half away from zero, SunSpec int16 with scale factors).
Reads outside the blocks get exception 2, bad counts 3, writes and other
function codes 1, except the EM24's 0xA000 which is written and read back; the
EM24's one-register read of 0x000B is its model code 1648.

One EMpro run takes its listener by socket activation in blocking mode, as
systemd passes it by default (NonBlocking=no)."""

import importlib.util
import os
import struct
import subprocess
import time

import harness
from harness import Tap, Workdir

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

UNITS = (0, 1, 247)


def chunks(start, n):
    """A block as reads of at most 125 registers."""
    while n > 0:
        k = min(n, 125)
        yield start, k
        start, n = start + k, n - k


def first_diff(got, want, start):
    for k, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return "0x%04X: got 0x%04X, want 0x%04X" % (start + k, g, w)
    return "length %d, want %d" % (len(got), len(want))


def check_pymodbus(tap, client_cls, port, tmpl, img_in, img_hold):
    c = client_cls("127.0.0.1", port=port, timeout=harness.TIMEOUT)
    if not tap.ok(c.connect(), "%s: pymodbus connects" % tmpl):
        return
    try:
        for fc, img in ((3, img_hold), (4, img_in)):
            for unit in UNITS:
                bad = []
                for start, n in mb.TEMPLATES[tmpl]:
                    for a, k in chunks(start, n):
                        if fc == 3:
                            rr = c.read_holding_registers(a, k, slave=unit)
                        else:
                            rr = c.read_input_registers(a, k, slave=unit)
                        want = mb.words(img, a, k)
                        if rr.isError():
                            bad.append("0x%04X+%d: %r" % (a, k, rr))
                        elif list(rr.registers) != want:
                            bad.append(first_diff(list(rr.registers), want, a))
                tap.ok(not bad, "%s: pymodbus FC %d unit %d: every block equals the telegram's image"
                       % (tmpl, fc, unit))
                for b in bad[:5]:
                    tap.diag(b)
        code = {"CarloGavazzi-EM24": 1648, "CarloGavazzi-EM340": 341}.get(tmpl)
        if code:
            for fc in (3, 4):
                rr = (c.read_holding_registers if fc == 3 else c.read_input_registers)(0x000B, 1, slave=1)
                tap.ok(not rr.isError() and list(rr.registers) == [code],
                       "%s: pymodbus FC %d one-register read of 0x000B = %d (%r)"
                       % (tmpl, fc, code, getattr(rr, "registers", rr)))
        # Outside the blocks: exception 2 through pymodbus too.
        last_start, last_n = mb.TEMPLATES[tmpl][-1]
        rr = c.read_holding_registers(last_start + last_n, 1, slave=1)
        tap.ok(rr.isError() and getattr(rr, "exception_code", None) == 2,
               "%s: pymodbus read after the last block: exception 2 (%r)" % (tmpl, rr))
        rr = c.write_register(mb.TEMPLATES[tmpl][0][0], 1, slave=1)
        tap.ok(rr.isError() and getattr(rr, "exception_code", None) == 1,
               "%s: pymodbus write of a measurement register: exception 1 (%r)" % (tmpl, rr))
    finally:
        c.close()


mbpoll = mb.mbpoll


def check_mbpoll(tap, port, tmpl, img_in, img_hold):
    # 16-bit words, 0-based references, both tables: exact.
    for table, img in (("3", img_in), ("4", img_hold)):
        bad = []
        for start, n in mb.TEMPLATES[tmpl]:
            for a, k in chunks(start, n):
                rc, vals, err = mbpoll(port, ["-a", "1", "-0", "-t", table + ":hex", "-r", str(a), "-c", str(k)])
                want = mb.words(img, a, k)
                got = [int(vals[x], 16) if x in vals else None for x in range(a, a + k)]
                if rc != 0 or got != want:
                    bad.append("rc %d %s: %s" % (rc, err, first_diff([g if g is not None else -1 for g in got],
                                                                   want, a)))
        tap.ok(not bad, "%s: mbpoll -t %s:hex, every block equals the telegram's image" % (tmpl, table))
        for b in bad[:5]:
            tap.diag(b)

    # mbpoll's own 32-bit decoding, 1-based references as its default.
    def f32(img, a, low_first):
        hi, lo = (img[a + 1], img[a]) if low_first else (img[a], img[a + 1])
        return struct.unpack(">f", struct.pack(">HH", hi, lo))[0]

    def i32(img, a):
        return struct.unpack(">i", struct.pack(">HH", img[a + 1], img[a]))[0]

    if tmpl == "PhoenixContact-EMPro":
        rc, vals, err = mbpoll(port, ["-a", "247", "-t", "4:float", "-r", str(0x8006 + 1), "-c", "12"])
        want = [f32(img_hold, 0x8006 + 2 * k, True) for k in range(12)]
        got = [float(vals.get(0x8006 + 1 + 2 * k, "nan")) for k in range(12)]
        tap.ok(rc == 0 and all(abs(g - w) <= 1e-5 * max(1.0, abs(w)) for g, w in zip(got, want)),
               "%s: mbpoll -t 4:float (CDAB, its default word order) from register 32775: %s (want %s) %s"
               % (tmpl, got[:4], want[:4], err))
    elif tmpl == "Eastron-SDM630":
        rc, vals, err = mbpoll(port, ["-a", "1", "-t", "3:float", "-B", "-r", "1", "-c", "9"])
        want = [f32(img_in, 2 * k, False) for k in range(9)]
        got = [float(vals.get(1 + 2 * k, "nan")) for k in range(9)]
        tap.ok(rc == 0 and all(abs(g - w) <= 1e-5 * max(1.0, abs(w)) for g, w in zip(got, want)),
               "%s: mbpoll -t 3:float -B (ABCD) from register 1: %s (want %s) %s" % (tmpl, got[:3], want[:3], err))
    elif tmpl == "CarloGavazzi-EM24":
        rc, vals, err = mbpoll(port, ["-a", "0", "-t", "3:int", "-r", "1", "-c", "12"])
        want = [i32(img_in, 2 * k) for k in range(12)]
        got = [int(vals.get(1 + 2 * k, "0")) for k in range(12)]
        tap.ok(rc == 0 and got == want, "%s: mbpoll -t 3:int (CDAB) from register 1: %s (want %s) %s"
               % (tmpl, got[:3], want[:3], err))
        rc, vals, err = mbpoll(port, ["-a", "1", "-0", "-t", "4", "-r", str(0x000B), "-c", "1"])
        tap.ok(rc == 0 and vals.get(0x000B) == "1648", "%s: mbpoll one-register read of 0x000B = %s"
               % (tmpl, vals.get(0x000B)))
    elif tmpl == "Chint-DTSU666":
        rc, vals, err = mbpoll(port, ["-a", "1", "-t", "4:float", "-B", "-r", str(0x2006 + 1), "-c", "3"])
        want = [f32(img_hold, 0x2006 + 2 * k, False) for k in range(3)]
        got = [float(vals.get(0x2006 + 1 + 2 * k, "nan")) for k in range(3)]
        tap.ok(rc == 0 and all(abs(g - w) <= 1e-5 * max(1.0, abs(w)) for g, w in zip(got, want)),
               "%s: mbpoll -t 4:float -B (ABCD, V x 10) from register 8199: %s (want %s) %s"
               % (tmpl, got, want, err))
    elif tmpl == "CarloGavazzi-EM340":
        rc, vals, err = mbpoll(port, ["-a", "1", "-0", "-t", "4", "-r", str(0x000B), "-c", "1"])
        tap.ok(rc == 0 and vals.get(0x000B) == "341", "%s: mbpoll one-register read of 0x000B = %s"
               % (tmpl, vals.get(0x000B)))
    else:
        rc, vals, err = mbpoll(port, ["-a", "1", "-0", "-t", "4:hex", "-r", "40000", "-c", "2"])
        tap.ok(rc == 0 and vals.get(40000) == "0x5375" and vals.get(40001) == "0x6E53",
               "%s: mbpoll reads 'SunS' at 40000 (%s %s)" % (tmpl, vals.get(40000), vals.get(40001)))
    rc, vals, err = mbpoll(port, ["-a", "1", "-0", "-t", "4", "-r", str(mb.TEMPLATES[tmpl][-1][0] +
                                                                        mb.TEMPLATES[tmpl][-1][1]), "-c", "1"])
    tap.ok(rc != 0 and "Illegal data address" in err, "%s: mbpoll outside the blocks: %r" % (tmpl, err))


def client(*args):
    exe = os.environ.get("MODBUS_CLIENT", "")
    p = subprocess.run([exe] + [str(a) for a in args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def check_client(tap, port, tmpl, img_in, img_hold):
    if not os.access(os.environ.get("MODBUS_CLIENT", ""), os.X_OK):
        tap.ok(False, "%s: MODBUS_CLIENT (the libmodbus client) is set and executable" % tmpl)
        return
    for fc, img in ((3, img_hold), (4, img_in)):
        bad = []
        for start, n in mb.TEMPLATES[tmpl]:
            for a, k in chunks(start, n):
                rc, out, err = client(port, 1, "read", fc, a, k)
                got = [int(x) for x in out.split()] if rc == 0 else []
                if got != mb.words(img, a, k):
                    bad.append("rc %d %s %s" % (rc, out[:40], err))
        tap.ok(not bad, "%s: libmodbus client FC %d: every block equals the telegram's image" % (tmpl, fc))
        for b in bad[:5]:
            tap.diag(b)
    last_start, last_n = mb.TEMPLATES[tmpl][-1]
    rc, out, err = client(port, 1, "read", 4, last_start + last_n - 1, 2)
    tap.ok(rc == 3 and out == "exception 2", "%s: libmodbus client read across the end of the last block: %s"
           % (tmpl, out or err))
    if tmpl == "CarloGavazzi-EM24":
        rc, out, err = client(port, 1, "read", 4, 0x000B, 1)
        tap.ok(rc == 0 and out == "1648", "%s: libmodbus client one-register read of 0x000B: %s" % (tmpl, out))
        rc, out, err = client(port, 1, "write", 0xA000, 5)
        rc2, out2, _ = client(port, 1, "read", 3, 0xA000, 1)
        tap.ok(rc == 0 and out2 == "5", "%s: libmodbus client writes 0xA000 = 5 and reads back %s" % (tmpl, out2))
        rc, out, err = client(port, 1, "write", 0xA000, 7)
        tap.ok(rc == 0, "%s: libmodbus client writes 0xA000 = 7 back" % tmpl)
    else:
        rc, out, err = client(port, 1, "write", mb.TEMPLATES[tmpl][0][0], 7)
        tap.ok(rc == 3 and out == "exception 1", "%s: libmodbus client write: %s" % (tmpl, out or err))


def check_raw(tap, port, tmpl, img_in):
    """Exceptions and the EM24 write, byte by byte."""
    r = mb.Raw(port)
    try:
        blocks = mb.TEMPLATES[tmpl]
        bad = []
        for start, n in blocks:
            before, after = start - 1, start + n
            covered = lambda a: any(s <= a < s + k for s, k in blocks)
            for fc in (3, 4):
                if before >= 0 and not covered(before):
                    got = r.read(fc, before, 2)
                    if got != ("exception", 2):
                        bad.append("FC %d 0x%04X+2: %r" % (fc, before, got))
                if after <= 0xFFFF and not covered(after):
                    got = r.read(fc, start + n - 1, 2)
                    if got != ("exception", 2):
                        bad.append("FC %d 0x%04X+2: %r" % (fc, start + n - 1, got))
        tap.ok(not bad, "%s: a read overlapping any block edge gets exception 2" % tmpl)
        for b in bad[:5]:
            tap.diag(b)
        a0 = blocks[0][0]
        got = [r.read(3, a0, 0), r.read(4, a0, 126)]
        tap.ok(got == [("exception", 3)] * 2, "%s: count 0 and 126: exception 3 (%r)" % (tmpl, got))
        other = []
        for fc in (1, 2, 5, 15, 0x17, 0x2B):
            pdu = r.call(1, struct.pack(">BHH", fc, a0, 1) + (b"\x00\x01\x02\x00\x00" if fc == 0x17 else b""))
            other.append((fc, pdu.hex()))
        tap.ok(all(p == "%02x01" % (fc | 0x80) for fc, p in other),
               "%s: FC 1, 2, 5, 15, 23, 43: exception 1 (%s)" % (tmpl, " ".join(p for _, p in other)))
        w = [r.write1(a0, 1), r.write_n(a0, [1, 2])]
        tap.ok(w == [("exception", 1)] * 2, "%s: FC 6 and FC 16 to 0x%04X: exception 1 (%r)" % (tmpl, a0, w))
        if tmpl == "CarloGavazzi-EM24":
            w1 = r.write1(0xA000, 3)
            tap.ok(w1 == struct.pack(">BHH", 6, 0xA000, 3), "%s: FC 6 0xA000 = 3 echoed (%r)" % (tmpl, w1))
            tap.ok(r.read(3, 0xA000, 1) == [3] and r.read(4, 0xA000, 1) == [3],
                   "%s: 0xA000 reads back 3 on FC 3 and 4" % tmpl)
            w2 = r.write_n(0xA000, [7])
            tap.ok(w2 == struct.pack(">BHH", 16, 0xA000, 1), "%s: FC 16 0xA000 = 7 answered (%r)" % (tmpl, w2))
            tap.ok(r.read(3, 0xA000, 1) == [7], "%s: 0xA000 reads back 7" % tmpl)
            tap.ok(r.write_n(0xA000, [7, 7]) == ("exception", 1), "%s: FC 16 of two registers at 0xA000: exception 1"
                   % tmpl)
            tap.ok(r.read(4, 0x000A, 2) == mb.words(img_in, 0x000A, 2),
                   "%s: a two-register read at 0x000A is the voltage, not the model code" % tmpl)
    finally:
        r.close()


def run_template(tap, binary, client_cls, tmpl, activated):
    name = tmpl + (" (socket activation)" if activated else "")
    with Workdir() as w:
        d, pty, port = mb.start(tap, binary, w, tmpl, activated=activated, blocking=False, name=name)
        tap.on_failure = [lambda: d.dump(tap)]
        if port is None:
            return
        i, v = mb.feed(d, pty, harness.testdata(mb.METER_RAW))
        if not tap.ok(i is not None, "%s: telegram decoded" % name):
            return
        tap.ok(v["P"] == 433 and str(v["E_IMPORT"]) == "6657.461" and str(v["U1"]) == "236.7",
               "%s: the telegram's values (P 433 W, import 6657.461 kWh, U1 236.7 V)" % name)
        img_in, img_hold = mb.image(tmpl, v, mb.version(binary))
        t0 = time.monotonic()
        if client_cls:
            check_pymodbus(tap, client_cls, port, tmpl, img_in, img_hold)
        check_mbpoll(tap, port, tmpl, img_in, img_hold)
        check_client(tap, port, tmpl, img_in, img_hold)
        check_raw(tap, port, tmpl, img_in)
        tap.diag("%s: reads took %.1f s" % (name, time.monotonic() - t0))
        harness.stop_and_check(tap, d, name)


def run_blocking_activation(tap, binary):
    """systemd passes listening sockets in blocking mode unless the socket unit
    says NonBlocking=yes. The server must not block in accept() then."""
    name = "blocking socket-activated listener"
    with Workdir() as w:
        d, pty, port = mb.start(tap, binary, w, activated=True, blocking=True, name=name)
        if port is None:
            return
        answers = []
        for k in range(3):
            try:
                r = mb.Raw(port, timeout=5)
                answers.append(r.read(4, 0x8006, 2))
                r.close()
            except (OSError, mb.ModbusError) as e:
                answers.append(repr(e))
        # systemd passes blocking sockets by default; the accept loop runs until
        # EAGAIN, so the daemon must make an inherited listener non-blocking.
        # No telegram was fed: an answer is the values or exception 0x0B, never silence.
        tap.ok(all(not isinstance(a, str) for a in answers),
               "%s: three connections one after the other are answered (%s)" % (name, answers))
        rc = d.stop(timeout=5)
        tap.ok(rc == 0, "%s: exit status %r after SIGTERM" % (name, rc))


def main():
    binary = harness.daemon_path()
    tap = Tap()
    client_cls = mb.import_pymodbus()
    tap.ok(client_cls is not None, "pymodbus is installed (python3-pymodbus)")
    for tmpl in mb.TEMPLATES:
        run_template(tap, binary, client_cls, tmpl, activated=(tmpl == "PhoenixContact-EMPro"))
    run_template(tap, binary, client_cls, "PhoenixContact-EMPro", activated=False)
    run_blocking_activation(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
