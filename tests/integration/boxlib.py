# SPDX-License-Identifier: MIT
"""Pieces of the box tests (LED, button, factory reset). CI has no LED and no
input device: a directory the test makes with the LED class files as plain
files stands in for /sys/class/leds (each write of the daemon replaces a
file's whole value, as sysfs does), and a FIFO carrying struct input_event
records stands in for /dev/input/event*."""

import os
import struct
import threading
import time

import harness

COLOURS = ("red", "green", "blue")
EV_KEY = 1
KEY_RESTART = 0x198
EVENT = struct.Struct("@qqHHi")  # struct input_event on 64-bit Linux: timeval, type, code, value


def make_leds(root):
    """sc:red, sc:green, sc:blue with max_brightness 255, all off."""
    for c in COLOURS:
        d = os.path.join(root, "sc:" + c)
        os.makedirs(d, exist_ok=True)
        for attr, value in (("max_brightness", "255\n"), ("brightness", "0\n"),
                            ("trigger", "[none] timer\n"), ("delay_on", ""), ("delay_off", "")):
            with open(os.path.join(d, attr), "w") as f:
                f.write(value)


def indicator_config(root):
    return "\n[Indicator]\nPath=%s\nRed=sc:red\nGreen=sc:green\nBlue=sc:blue\n" % root


def led(root, colour):
    """'off', 'on' or 'timer on/off' for one colour, from its files."""
    def read(attr):
        with open(os.path.join(root, "sc:" + colour, attr)) as f:
            return f.read()
    trig = read("trigger")
    if trig == "timer":
        return "timer %s/%s" % (read("delay_on"), read("delay_off"))
    if trig == "none":
        return "on" if read("brightness") == "255" else "off" if read("brightness") == "0" else "?"
    return "untouched"


def leds(root):
    return tuple(led(root, c) for c in COLOURS)


def wait_leds(root, want, timeout=10):
    """Poll the files until they show want (red, green, blue): (ok, last seen)."""
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = leds(root)
        if got == want:
            return True, got
        time.sleep(0.05)
    return False, got


def mtimes(root):
    out = {}
    for c in COLOURS:
        d = os.path.join(root, "sc:" + c)
        for attr in os.listdir(d):
            out[(c, attr)] = os.stat(os.path.join(d, attr)).st_mtime_ns
    return out


# The patterns of the manual's table, as the files show them (red, green, blue).
INITIALISING = ("timer 300/600", "timer 400/500", "timer 500/400")
NORMAL = ("off", "on", "off")
NO_DATA = ("timer 500/500", "timer 500/500", "off")
NO_IP = ("timer 500/500", "on", "off")
NO_DATA_NO_IP = ("on", "timer 500/500", "off")
IDENTIFY = ("timer 125/125",) * 3
PRESSED = ("on", "on", "on")
HELD_AP = ("off", "off", "timer 250/250")
HELD_FACTORY = ("timer 250/250", "off", "off")
OFF = ("off", "off", "off")


class Feeder:
    """Writes a telegram into the pty every interval while running."""

    def __init__(self, pty, data, interval=0.5):
        self.pty, self.data, self.interval = pty, data, interval
        self.on = threading.Event()
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_ev.is_set():
            if self.on.is_set():
                self.pty.write(self.data)
            time.sleep(self.interval)

    def close(self):
        self.stop_ev.set()
        self.thread.join(5)


def key(fd, value, sec, usec=0, code=KEY_RESTART):
    """One EV_KEY record and its EV_SYN, time stamps chosen by the test."""
    os.write(fd, EVENT.pack(sec, usec, EV_KEY, code, value) + EVENT.pack(sec, usec, 0, 0, 0))


def meter_data():
    return harness.testdata("dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw")


# ---- a real input device through /dev/uinput (where the kernel has it) ----------------------

UI_SET_EVBIT = 0x40045564  # _IOW('U', 100, int)
UI_SET_KEYBIT = 0x40045565  # _IOW('U', 101, int)
UI_DEV_SETUP = 0x405C5503  # _IOW('U', 3, struct uinput_setup), 92 bytes
UI_DEV_CREATE = 0x5501  # _IO('U', 1)
UI_DEV_DESTROY = 0x5502  # _IO('U', 2)
BUS_VIRTUAL = 0x06


def uinput_usable():
    """None when /dev/uinput can make devices here, else why not (for the test's output)."""
    if not os.path.exists("/dev/uinput"):
        return "no /dev/uinput on this machine (kernel without uinput, or a container without it)"
    try:
        os.close(os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK))
    except OSError as e:
        return "/dev/uinput cannot be opened: %s" % e.strerror
    return None


class UinputButton:
    """A virtual input device with one key, made through /dev/uinput: the kernel
    gives it an /dev/input/eventN node and stamps its events itself, as a
    gpio-keys button's. Destroying it makes that node vanish."""

    def __init__(self, name, code=KEY_RESTART):
        import fcntl
        self.name, self.code = name, code
        self.fd = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK)
        fcntl.ioctl(self.fd, UI_SET_EVBIT, EV_KEY)
        fcntl.ioctl(self.fd, UI_SET_KEYBIT, code)
        setup = struct.pack("HHHH80sI", BUS_VIRTUAL, 0x5343, 0x0001, 1, name.encode(), 0)
        fcntl.ioctl(self.fd, UI_DEV_SETUP, setup)
        fcntl.ioctl(self.fd, UI_DEV_CREATE)
        self.node = self._find_node()

    def _find_node(self, timeout=harness.TIMEOUT):
        import glob
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for d in glob.glob("/sys/devices/virtual/input/input*"):
                try:
                    with open(os.path.join(d, "name")) as f:
                        if f.read().strip() != self.name:
                            continue
                except OSError:
                    continue
                for ev in glob.glob(os.path.join(d, "event*")):
                    node = "/dev/input/" + os.path.basename(ev)
                    if os.path.exists(node):
                        return node
            time.sleep(0.05)
        return None

    def key(self, value):
        # The kernel sets the time stamps; the test's zeros are ignored.
        os.write(self.fd, EVENT.pack(0, 0, EV_KEY, self.code, value) + EVENT.pack(0, 0, 0, 0, 0))

    def press(self, seconds):
        self.key(1)
        time.sleep(seconds)
        self.key(0)

    def destroy(self):
        import fcntl
        if self.fd is not None:
            fcntl.ioctl(self.fd, UI_DEV_DESTROY)
            os.close(self.fd)
            self.fd = None
