#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A real consumer on the passthrough port: the reader Home Assistant's DSMR
integration runs for a "network" connection (dsmr_parser's TCP reader), redone
with the standard library: a TelegramBuffer that frames telegrams out of
whatever the socket delivers with dsmr_parser's regex, a CRC-16/ARC check as
dsmr_parser's TelegramParser does, and the parse of every COSEM object. Each
telegram it gets passes its CRC and its objects and values agree with the
sidecar of the file, noise between telegrams notwithstanding."""

import json
import re
import socket
import threading

import harness
import ptlib
from harness import Tap, Workdir

FILES = [
    "dsmr/nl_dsmr50_iskra-am550_three-phase_basjes",
    "dsmr/be_emucs_fluvius_capacity-history_dsmrparser",
    "dsmr/nl_dsmr42_kaifa_dsmrparser",
    "dsmr/lu_smarty_three-phase_gas_meterlogger",
    "dsmr/at_dsmr50_sagemcom-t210-d-r_dsmrparser",
    "dsmr/nl_dsmr40_kaifa_arduino-dsmr",
]
NOISE = b"\x00\xff line noise\r\n"
OBJECT_RX = re.compile(r"^(\d+-\d+:\d+\.\d+\.\d+)((?:\([^()]*\))+)$")


class TelegramBuffer:
    """dsmr_parser.clients.telegram_buffer.TelegramBuffer, in short."""

    def __init__(self):
        self._buffer = ""

    def append(self, data):
        self._buffer += data

    def get_all(self):
        for m in re.finditer(r"\/[^\/]+?\![A-F0-9]{0,4}\0?\r\n", self._buffer, re.DOTALL):
            telegram = m.group(0)
            self._buffer = self._buffer[self._buffer.index(telegram) + len(telegram):]
            yield telegram


def parse(telegram):
    """(header, [[obis, [values]], ...]) after the CRC check; ValueError when it fails."""
    raw = telegram.encode("latin-1")
    if not ptlib.dsmr_valid(raw):
        raise ValueError("CRC mismatch")
    lines = telegram.split("\r\n")
    objects = []
    for line in lines[1:]:
        m = OBJECT_RX.match(line)
        if m:
            objects.append([m.group(1), re.findall(r"\(([^()]*)\)", m.group(2))])
    return lines[0], objects


class Consumer(threading.Thread):
    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
        self.name_ = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.buffer = TelegramBuffer()
        self.telegrams, self.errors = [], []
        self.cond = threading.Condition()
        self.start()

    def run(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            if not data:
                return
            self.buffer.append(data.decode("latin-1"))
            for t in self.buffer.get_all():
                with self.cond:
                    try:
                        self.telegrams.append(parse(t))
                    except ValueError as e:
                        self.errors.append(str(e))
                    self.cond.notify_all()

    def wait_count(self, n):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.telegrams) + len(self.errors) >= n, harness.TIMEOUT)


def main():
    binary = harness.daemon_path()
    tap = Tap()
    name = "Home Assistant style reader"
    with Workdir() as w:
        d, pty, port = ptlib.start(tap, binary, w, "Listen=127.0.0.1:0\n", name, "dsmr")
        if port is None:
            return tap.done()
        c = Consumer(port)
        d.wait_for(r"Passthrough client %s connected" % re.escape(c.name_))
        for f in FILES:
            ptlib.feed(d, pty, harness.testdata(f + ".raw") + NOISE)
        tap.ok(c.wait_count(len(FILES)), "%s: %d telegrams framed from the socket" % (name, len(c.telegrams)))
        tap.ok(not c.errors, "%s: every one passes its CRC (%s)" % (name, c.errors or "no errors"))
        for f, (header, objects) in zip(FILES, c.telegrams):
            side = json.loads(harness.testdata(f + ".json"))
            exp = side["expected"]
            tap.ok(header == exp["header"] and objects == exp["objects"],
                   "%s: %s: header and all %d objects as in the sidecar" % (name, f, len(exp["objects"])))
            values = {obis: vals for obis, vals in objects}
            summ = exp["summary"]
            imp = summ["energy_import"]
            checks = [imp.get("tariff_1") or imp["total"], summ["power_import"]]
            tap.ok(all(values[x["obis"]][-1] == x["raw"] for x in checks),
                   "%s: %s: import %s, power %s" % (name, f, checks[0]["value"], checks[1]["value"]))
        c.sock.close()
        harness.stop_and_check(tap, d, name)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
