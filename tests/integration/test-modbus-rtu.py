#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Modbus RTU server on a pty pair joined by socat (the RS-485 line), fed
a real DSMR 5 telegram on the meter's pty. Real RTU masters read it: pymodbus's
RTU client and mbpoll -m rtu read every block of every template on FC 3 and 4,
word for word against the image computed from the telegram's decimal values
(MeterType changed by SIGHUP; CarloGavazzi-EM24 is the RS-485 model's map
there); the TCP server serves the same words. A raw master checks what a meter
on a shared bus does: another unit id and a broadcast get silence, garbage, a
truncated frame, a bad CRC and an oversized burst are dropped and the next
request is answered, exceptions are RTU-framed. Then the adapter is unplugged
(socat ends, the links go) and plugged back; then StalePolicy error, zero and
keep. The daemon's end of the line lives in a directory that goes with the
adapter, as /dev/serial/by-id does."""

import importlib.util
import os
import signal
import subprocess
import sys
import time

import harness
import httpapi
import rtulib
from harness import Tap, Workdir

_spec = importlib.util.spec_from_file_location(
    "modbus_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-modbus-common.py"))
mb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mb)

RTU_RX = r"Modbus RTU server on (\S+) at 9600 8N1, unit id 1, meter type ([^,\s]+)"
RTU_TEMPLATES = ["Eastron-SDM630", "PhoenixContact-EMPro", "CarloGavazzi-EM24", "SunSpec", "Chint-DTSU666",
                 "CarloGavazzi-EM340"]
SILENCE = 0.3  # seconds a master waits before it calls a unit silent (75 frame gaps at 9600 baud)


def served(tmpl):
    return "CarloGavazzi-EM24-RS485" if tmpl == "CarloGavazzi-EM24" else tmpl


def chunks(start, n):
    while n > 0:
        k = min(n, 125)
        yield start, k
        start, n = start + k, n - k


def import_serial_client():
    mb.import_pymodbus()  # puts Debian's dist-packages on the path when needed
    try:
        from pymodbus.client import ModbusSerialClient
        return ModbusSerialClient
    except ImportError:
        return None


def check_pymodbus(tap, cls, line, tmpl, img_in, img_hold):
    c = cls(port=line.master_end, baudrate=9600, parity="N", stopbits=1, bytesize=8, timeout=2, retries=1)
    if not tap.ok(c.connect(), "%s: pymodbus RTU client opens the line" % tmpl):
        return
    try:
        for fc, img in ((3, img_hold), (4, img_in)):
            bad = []
            for start, n in mb.BLOCKS[served(tmpl)]:
                for a, k in chunks(start, n):
                    rr = (c.read_holding_registers if fc == 3 else c.read_input_registers)(a, k, slave=1)
                    if rr.isError():
                        bad.append("0x%04X+%d: %r" % (a, k, rr))
                    elif list(rr.registers) != mb.words(img, a, k):
                        bad.append("0x%04X+%d differs" % (a, k))
            tap.ok(not bad, "%s: pymodbus RTU FC %d: every block equals the telegram's image" % (tmpl, fc))
            for b in bad[:5]:
                tap.diag(b)
        last_start, last_n = mb.BLOCKS[served(tmpl)][-1]
        rr = c.read_holding_registers(last_start + last_n, 1, slave=1)
        tap.ok(rr.isError() and getattr(rr, "exception_code", None) == 2,
               "%s: pymodbus RTU read after the last block: exception 2 (%r)" % (tmpl, rr))
    finally:
        c.close()


def mbpoll(line, args):
    p = subprocess.run(["mbpoll", "-m", "rtu", "-b", "9600", "-P", "none", "-s", "1", "-1", "-o", "2"] + args +
                       [line.master_end], capture_output=True, text=True, timeout=60)
    values = {}
    for row in p.stdout.splitlines():
        row = row.strip()
        if row.startswith("[") and "]:" in row:
            ref, _, rest = row.partition("]:")
            values[int(ref[1:])] = rest.split()[0]
    return p.returncode, values, p.stderr.strip()


def check_mbpoll(tap, line, tmpl, img_in, img_hold):
    for table, img in (("3", img_in), ("4", img_hold)):
        bad = []
        for start, n in mb.BLOCKS[served(tmpl)]:
            for a, k in chunks(start, n):
                rc, vals, err = mbpoll(line, ["-a", "1", "-0", "-t", table + ":hex", "-r", str(a), "-c", str(k)])
                got = [int(vals[x], 16) if x in vals else None for x in range(a, a + k)]
                if rc != 0 or got != mb.words(img, a, k):
                    bad.append("0x%04X+%d rc %d %s" % (a, k, rc, err))
        tap.ok(not bad, "%s: mbpoll -m rtu -t %s:hex, every block equals the telegram's image" % (tmpl, table))
        for b in bad[:5]:
            tap.diag(b)


def reload_type(tap, d, line, tmpl, meter_link):
    n = d.count()
    d.write_config(rtulib.rtu_config(meter_link, line.daemon_end, tmpl, mb.SERIAL, password=httpapi.PASSWORD))
    d.signal(signal.SIGHUP)
    i, _ = d.wait_for(r"Configuration reloaded, changed: .*modbus-rtu", n)
    return tap.ok(i is not None, "%s: SIGHUP applies the new MeterType to RTU and TCP" % tmpl)


def check_templates(tap, d, line, v, port, cls):
    version = mb.version(harness.daemon_path())
    for k, tmpl in enumerate(RTU_TEMPLATES):
        if k > 0 and not reload_type(tap, d, line, tmpl, d.meter_link):
            continue
        img_in, img_hold = mb.image(served(tmpl), v, version)
        if cls:
            check_pymodbus(tap, cls, line, tmpl, img_in, img_hold)
        check_mbpoll(tap, line, tmpl, img_in, img_hold)
        # TCP and RTU from the same snapshot: equal words where the maps agree
        # (the EM24's two maps share voltages, currents and powers only).
        start, n = mb.BLOCKS[served(tmpl)][0]
        n = 0x2A if tmpl == "CarloGavazzi-EM24" else n
        r = mb.Raw(port)
        try:
            tcp = r.read(4, start, min(n, 125))
        finally:
            r.close()
        m = rtulib.Master(line.master_end)
        rtu = m.read(4, start, min(n, 125))
        m.close()
        tap.ok(tcp == rtu and isinstance(rtu, list),
               "%s: TCP and RTU answer the same words for 0x%04X+%d" % (tmpl, start, min(n, 125)))


def check_em24(tap, d, line):
    """The RS-485 model's own registers (MeterType=CarloGavazzi-EM24 on RTU)."""
    if not reload_type(tap, d, line, "CarloGavazzi-EM24", d.meter_link):
        return
    m = rtulib.Master(line.master_end)
    try:
        tap.ok(m.read(3, 0x000B, 1) == [71] and m.read(4, 0x000B, 1) == [71],
               "EM24 RS-485: one-register read of 0x000B is 71 (EM24-DIN AV2)")
        w = m.call(1, bytes([6, 0x11, 0x01, 0, 5]), 8)
        tap.ok(w == rtulib.frame(1, bytes([6, 0x11, 0x01, 0, 5])) and m.read(3, 0x1101, 1) == [5],
               "EM24 RS-485: FC 6 to 0x1101 (application) is echoed and reads back 5")
        m.call(1, bytes([6, 0x11, 0x01, 0, 7]), 8)
        ex = m.read(3, 0x005E, 1)
        tap.ok(m.read(4, 0x003E, 2) == m.read(4, 0x0042, 2) and ex == [0],
               "EM24 RS-485: import total at 0x3E and 0x42 (mbmd's cgem24), export block up to 0x5F")
    finally:
        m.close()


def rtu_status(d):
    i, m = d.wait_for(httpapi.HTTP_RX)
    if i is None:
        return {}
    st, s = httpapi.Api(int(m.group(1))).json("GET", "/api/v1/status")
    return s.get("modbus_rtu", {}) if st == 200 and isinstance(s, dict) else {}


def check_bus(tap, d, line):
    """What a meter on a shared bus does, with a raw master."""
    m = rtulib.Master(line.master_end)
    before = rtu_status(d)
    tap.ok(before.get("enabled") is True and before.get("open") is True and before.get("unit_id") == 1 and
           before.get("meter_type") == "Eastron-SDM630" and before.get("device") == line.daemon_end,
           "status.modbus_rtu: enabled, open, unit 1, Eastron-SDM630, the device (%r)" % before)
    try:
        good = lambda: m.read(4, 0x0000, 2)
        tap.ok(isinstance(good(), list), "raw master: a read of unit 1 is answered")
        tap.ok(m.silent(rtulib.frame(2, bytes([4, 0, 0, 0, 2])), SILENCE), "unit id 2: silence")
        tap.ok(m.silent(rtulib.frame(247, bytes([3, 0, 0, 0, 2])), SILENCE), "unit id 247: silence")
        tap.ok(m.silent(rtulib.frame(0, bytes([4, 0, 0, 0, 2])), SILENCE), "broadcast (unit 0) read: silence")
        tap.ok(m.silent(rtulib.frame(0, bytes([6, 0x11, 0x01, 0, 1])), SILENCE), "broadcast write: silence")
        tap.ok(isinstance(good(), list), "after other units and broadcasts: unit 1 is answered")
        req = rtulib.frame(1, bytes([4, 0, 0, 0, 2]))
        tap.ok(m.silent(req[:-1] + bytes([req[-1] ^ 0xFF]), SILENCE), "a bad CRC: silence")
        tap.ok(m.silent(req[:5], SILENCE), "a truncated frame: silence")
        tap.ok(isinstance(good(), list), "after a truncated frame: the next request is answered")
        garbage = bytes((k * 73 + 11) & 0xFF for k in range(200))
        tap.ok(m.silent(garbage, SILENCE), "200 garbage bytes: silence")
        tap.ok(isinstance(good(), list), "after garbage: the next request is answered")
        tap.ok(m.silent(b"\x01" * 600, SILENCE), "an oversized burst of 600 bytes: silence")
        tap.ok(isinstance(good(), list), "after an oversized burst: the next request is answered")
        got = [m.read(4, 0x0000, 0), m.read(4, 0x0000, 126), m.read(3, 0x0050, 1)]
        tap.ok(got == [("exception", 3), ("exception", 3), ("exception", 2)],
               "RTU exceptions: count 0 and 126 get 3, an address outside the blocks 2 (%r)" % got)
        rsp = m.call(1, bytes([1, 0, 0, 0, 1]), 6)
        tap.ok(rsp == rtulib.frame(1, bytes([0x81, 1])), "FC 1: exception 1, RTU-framed (%r)" % (rsp,))
        rsp = m.call(1, bytes([6, 0, 0, 0, 1]), 8)
        tap.ok(rsp == rtulib.frame(1, bytes([0x86, 1])), "FC 6 to a measurement: exception 1 (%r)" % (rsp,))
    finally:
        m.close()
    after = rtu_status(d)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in ("requests", "exceptions", "ignored", "bad_frames")}
    # 10 answered, 5 of them exceptions; 4 frames for others plus the garbage (its first byte is
    # unit 11) ignored; bad CRC, truncated, oversized dropped (more if a burst arrived in pieces).
    tap.ok(delta["requests"] == 10 and delta["exceptions"] == 5 and delta["ignored"] >= 4 and
           delta["bad_frames"] >= 3 and delta["ignored"] + delta["bad_frames"] >= 8,
           "status.modbus_rtu counters moved as provoked: %r" % delta)


def check_replug(tap, d, line):
    n = d.count()
    line.unplug()
    i, _ = d.wait_for(r"Modbus RTU line '.*' vanished", n)
    tap.ok(i is not None, "unplugged: the daemon says the line vanished")
    time.sleep(0.5)
    line.plug()
    i, _ = d.wait_for(r"Modbus RTU line '.*' is back", n)
    tap.ok(i is not None, "plugged back: the line is back")
    m = rtulib.Master(line.master_end)
    try:
        tap.ok(isinstance(m.read(4, 0x0000, 2), list), "after the replug: a request is answered")
    finally:
        m.close()
    for k in range(3):
        line.unplug()
        line.plug()
    m = rtulib.Master(line.master_end)
    try:
        got = None
        deadline = time.monotonic() + harness.TIMEOUT
        while time.monotonic() < deadline and not isinstance(got, list):
            got = m.read(4, 0x0000, 2, timeout=0.5)
        tap.ok(isinstance(got, list), "three quick replugs: answered again")
    finally:
        m.close()


def answered(m, unit=1):
    """Polls until unit answers (the line may be opening): True or False."""
    deadline = time.monotonic() + harness.TIMEOUT
    while time.monotonic() < deadline:
        if isinstance(m.read(4, 0x0000, 2, unit=unit, timeout=0.5), list):
            return True
    return False


def check_reload(tap, d, line):
    """SIGHUP: a new unit id, the server off, on again on the same line."""
    def reload(device, extra, pattern, what):
        n = d.count()
        d.write_config(rtulib.rtu_config(d.meter_link, device, "Eastron-SDM630", mb.SERIAL, extra_rtu=extra,
                                         password=httpapi.PASSWORD))
        d.signal(signal.SIGHUP)
        i, _ = d.wait_for(pattern, n)
        return tap.ok(i is not None, what)

    m = rtulib.Master(line.master_end)
    try:
        if reload(line.daemon_end, "UnitId=42\n", r"Modbus RTU server on .* unit id 42,",
                  "SIGHUP with UnitId=42: the line is set up anew"):
            tap.ok(answered(m, 42), "unit id 42 is answered")
            tap.ok(m.silent(rtulib.frame(1, bytes([4, 0, 0, 0, 2])), SILENCE), "unit id 1: silence now")
        if reload("", "", r"Modbus RTU server stopped", "SIGHUP with Device= empty: the server stops"):
            tap.ok(rtu_status(d).get("enabled") is False, "stopped: status.modbus_rtu.enabled is false")
            line.quiet()
            m.drain()
            m.send(rtulib.frame(1, bytes([4, 0, 0, 0, 2])))
            got = m.recv(64, SILENCE)
            tap.ok(got == b"", "stopped: silence (%r)" % got)
        if reload(line.daemon_end, "", r"Modbus RTU server on .* unit id 1,",
                  "SIGHUP with the Device= again: the server starts"):
            tap.ok(answered(m), "started again: unit id 1 is answered")
    finally:
        m.close()


def start(tap, w, meter_type, stale_after=None, extra_rtu=""):
    link = w.join("ttyMETER")
    pty = w.add(harness.Pty(link))
    line = w.add(rtulib.Line(w, subdir="by-id"))
    d = w.add(harness.Daemon(harness.daemon_path(), w.path,
                             rtulib.rtu_config(link, line.daemon_end, meter_type, mb.SERIAL, stale_after,
                                               extra_rtu, password=httpapi.PASSWORD)))
    d.meter_link = link
    i, m = d.wait_for(RTU_RX)
    tap.ok(i is not None and m.group(2) == meter_type, "%s: RTU server in the log" % meter_type)
    i, pm = d.wait_for(mb.PORT_RX)
    return d, pty, line, int(pm.group(1)) if i is not None else None


def run_main(tap, cls):
    with Workdir() as w:
        d, pty, line, port = start(tap, w, RTU_TEMPLATES[0])
        tap.on_failure = [lambda: d.dump(tap)]
        m = rtulib.Master(line.master_end)
        got = m.read(4, 0x0000, 2)
        m.close()
        tap.ok(got == ("exception", 11), "before any telegram: exception 0x0B, RTU-framed (%r)" % (got,))
        i, v = mb.feed(d, pty, harness.testdata(mb.METER_RAW))
        if not tap.ok(i is not None, "telegram decoded"):
            return
        check_templates(tap, d, line, v, port, cls)
        check_em24(tap, d, line)
        reload_type(tap, d, line, "Eastron-SDM630", d.meter_link)
        check_bus(tap, d, line)
        check_replug(tap, d, line)
        check_reload(tap, d, line)
        harness.stop_and_check(tap, d, "RTU")


def run_stale(tap, policy):
    name = "RTU StalePolicy=" + policy
    with Workdir() as w:
        d, pty, line, port = start(tap, w, "Eastron-SDM630", stale_after="2s",
                                   extra_rtu="StalePolicy=%s\n" % policy)
        tap.on_failure = [lambda: d.dump(tap)]
        i, v = mb.feed(d, pty, harness.testdata(mb.METER_RAW))
        if not tap.ok(i is not None, "%s: telegram decoded" % name):
            return
        fresh = mb.words(mb.image("Eastron-SDM630", v, "")[0], 0, 0x50)
        zero = mb.words(mb.image("Eastron-SDM630", None, "")[0], 0, 0x50)
        m = rtulib.Master(line.master_end)
        try:
            tap.ok(m.read(4, 0, 0x50) == fresh, "%s: fresh values first" % name)
            i, _ = d.wait_for(r"meter data stale", 0)
            tap.ok(i is not None, "%s: the meter turns stale" % name)
            want = {"error": ("exception", 11), "zero": zero, "keep": fresh}[policy]
            got = m.read(4, 0, 0x50)
            tap.ok(got == want, "%s: while stale the answer is %s" % (name, "exception 0x0B" if policy == "error"
                                                                       else policy))
            n = d.count()
            i, _ = mb.feed(d, pty, harness.testdata(mb.METER_RAW), n)
            tap.ok(i is not None and m.read(4, 0, 0x50) == fresh, "%s: fresh again after a telegram" % name)
        finally:
            m.close()
        harness.stop_and_check(tap, d, name)


def main():
    tap = Tap()
    if not tap.ok(rtulib.have_socat(), "socat is installed (tests/install-deps.sh)"):
        return tap.done()
    cls = import_serial_client()
    tap.ok(cls is not None, "pymodbus's serial client is installed (python3-pymodbus, python3-serial)")
    run_main(tap, cls)
    for policy in ("error", "zero", "keep"):
        run_stale(tap, policy)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
