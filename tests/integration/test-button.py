#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The push button. Its input device is a FIFO carrying struct input_event
records with time stamps the test chooses, always; where /dev/uinput works,
also a real input device made through it (its events stamped by the
kernel): a short press is a soft reset, the device destroyed is reported
vanished, made again it is back. The test's output says which devices it
used; without uinput the FIFO checks below stand alone. A short press is a soft
reset (the tty is reopened, counted as resets); 2 to 5 s does nothing; 5 s
outside factory settings is refused, in factory settings it says AP mode
needs NetworkManager; held past 5 s and 10 s the LED shows each threshold;
more than 10 s is a factory reset (overrides.json gone, secrets kept, the
daemon still serving); the FIFO's writer going away and coming back is
survived."""

import os
import sys
import time

import boxlib
import harness
import httpapi
from harness import Tap, Workdir

B = boxlib


def press(fd, seconds, t0):
    B.key(fd, 1, t0)
    B.key(fd, 0, t0 + int(seconds), int((seconds % 1) * 1e6))


def run(tap, binary, w):
    root = w.join("leds")
    B.make_leds(root)
    fifo = w.join("event0")
    os.mkfifo(fifo)
    os.makedirs(w.join("state"), exist_ok=True)
    with open(w.join("state", "http-password"), "w") as f:
        f.write("device-secret\n")
    pty = w.add(harness.Pty(w.join("ttyMETER")))
    text = httpapi.http_config(pty.link, extra=B.indicator_config(root) + "\n[Button]\nDevice=%s\n" % fifo)
    d, port = httpapi.start(tap, binary, w, text)
    if port is None:
        return
    api = httpapi.Api(port)
    i, _ = d.wait_for(r"Button: reading key 408 from")
    tap.ok(i is not None, "the button's device is open (KEY_RESTART)")
    # O_RDWR: the test's end never waits for the daemon's, and records wait in the pipe.
    fd = os.open(fifo, os.O_RDWR)

    n = d.count()
    press(fd, 0.3, 1000)
    i, _ = d.wait_for(r"Button: released after 0\.3 s: soft-reset", n)
    j, _ = d.wait_for(r"Soft reset: reopening '%s'" % pty.link, n)
    tap.ok(i is not None and j is not None, "a 0.3 s press: soft reset, the tty is reopened")
    st, js = api.json("GET", "/api/v1/status")
    tap.ok(st == 200 and js["system"]["resets"] == 1, "status: resets 1")

    n = d.count()
    press(fd, 3, 1100)
    i, _ = d.wait_for(r"a press of 2 to 5 s asks for nothing", n)
    tap.ok(i is not None, "a 3 s press: nothing, logged")

    st, _ = api.json("PATCH", "/api/v1/config", {"MQTT": {"Site": "box"}})
    tap.ok(st == 200 and os.path.exists(httpapi.overrides_path(w)), "a setting made through the API")
    n = d.count()
    press(fd, 6, 1200)
    i, _ = d.wait_for(r"AP mode refused: it is only available in factory settings", n)
    tap.ok(i is not None, "a 6 s press outside factory settings: refused with a log line")

    # Held for real: the LED shows each threshold while the key is down.
    n = d.count()
    B.key(fd, 1, 2000)
    ok, got = B.wait_leds(root, B.PRESSED, 3)
    tap.ok(ok, "pressed: every colour steady (%s)" % (got,))
    ok, got = B.wait_leds(root, B.HELD_AP, 7)
    tap.ok(ok, "held 5 s: blue blinking 2 Hz, a release means AP mode (%s)" % (got,))
    ok, got = B.wait_leds(root, B.HELD_FACTORY, 7)
    tap.ok(ok, "held 10 s: red blinking 2 Hz, a release means a factory reset (%s)" % (got,))
    B.key(fd, 0, 2011)
    i, _ = d.wait_for(r"Factory reset: done", n)
    tap.ok(i is not None, "released after 11 s: factory reset done")
    tap.ok(not os.path.exists(httpapi.overrides_path(w)), "overrides.json removed")
    tap.ok(os.path.exists(w.join("state", "http-password")) and os.path.exists(d.config),
           "http-password and the configuration file kept")
    st, js = api.json("GET", "/api/v1/config")
    tap.ok(st == 200 and js["MQTT"]["Site"] == "", "the daemon still serves, with the file's settings")

    n = d.count()
    press(fd, 6, 2100)
    i, _ = d.wait_for(r"AP mode needs \[Network\] Manage=networkmanager", n)
    tap.ok(i is not None, "a 6 s press in factory settings: AP mode needs NetworkManager, logged")

    n = d.count()
    os.close(fd)
    i, _ = d.wait_for(r"Button: '%s' vanished, retrying" % fifo, n)
    tap.ok(i is not None, "the device vanishes (its writer closed)")
    fd = os.open(fifo, os.O_RDWR)
    i, _ = d.wait_for(r"Button: '%s' is back" % fifo, n)
    tap.ok(i is not None, "the device is back")
    n = d.count()
    press(fd, 0.5, 3000)
    i, _ = d.wait_for(r"Soft reset: reopening", n)
    tap.ok(i is not None, "a short press works again")
    os.close(fd)
    harness.stop_and_check(tap, d, "button")


def run_uinput(tap, binary, w):
    """A real evdev device, made through /dev/uinput, as Device= (through a
    symbolic link the test points at the device's node, as udev's by-path
    link would be)."""
    btn = B.UinputButton("smartconnect test button")
    link = w.join("button-by-path")
    tap.ok(btn.node is not None, "uinput: the kernel made an input device (%s)" % btn.node)
    if btn.node is None:
        btn.destroy()
        return
    os.symlink(btn.node, link)
    os.makedirs(w.join("state"), exist_ok=True)
    pty = w.add(harness.Pty(w.join("ttyUINPUT")))
    d = w.add(harness.Daemon(binary, w.path, httpapi.http_config(pty.link, extra="\n[Button]\nDevice=%s\n" % link),
                             name="uinput.conf"))
    tap.on_failure = [lambda: d.dump(tap)]
    i, _ = d.wait_for(r"Button: reading key 408 from '%s'" % link)
    tap.ok(i is not None, "uinput: the daemon reads the real input device")
    n = d.count()
    btn.press(0.3)
    i, _ = d.wait_for(r"Soft reset: reopening", n)
    tap.ok(i is not None, "uinput: a 0.3 s press (kernel time stamps) is a soft reset")
    n = d.count()
    btn.destroy()
    i, _ = d.wait_for(r"Button: '%s' vanished, retrying" % link, n)
    tap.ok(i is not None, "uinput: the device destroyed: vanished, logged")
    btn = B.UinputButton("smartconnect test button")
    os.unlink(link)
    os.symlink(btn.node or "/nonexistent", link)
    i, _ = d.wait_for(r"Button: '%s' is back" % link, n, timeout=45)
    tap.ok(i is not None, "uinput: made again: the device is back")
    n = d.count()
    btn.press(0.3)
    i, _ = d.wait_for(r"Soft reset: reopening", n)
    tap.ok(i is not None, "uinput: a short press works again")
    btn.destroy()
    harness.stop_and_check(tap, d, "uinput")


def main():
    tap = Tap()
    why_not = B.uinput_usable()
    tap.diag("input devices: a FIFO of struct input_event records with the test's time stamps; %s" %
             ("and a real device through /dev/uinput" if why_not is None else
              "not a real device: %s, so the FIFO checks stand alone" % why_not))
    with Workdir() as w:
        run(tap, sys.argv[1], w)
    if why_not is None:
        with Workdir() as w:
            run_uinput(tap, sys.argv[1], w)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
