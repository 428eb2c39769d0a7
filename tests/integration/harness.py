# SPDX-License-Identifier: MIT
"""Shared pieces of the integration tests: a pty that plays the meter, the real
daemon binary as a subprocess with its log collected line by line, an AF_UNIX
notify socket in place of systemd, and a small TAP writer.

Python 3 standard library only. Every wait has a timeout and polls for an
event (a log line, a notify message, an exit); nothing relies on a sleep alone.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import tty

TIMEOUT = float(os.environ.get("SMARTCONNECT_TEST_TIMEOUT", "20"))

# Every daemon a test starts runs with the network guard (netguard.c) preloaded:
# a packet to anything but loopback (or NETGUARD_ALLOW, the CIDRs of a test's
# own namespaces) is refused and recorded in this file, and Tap.done() turns
# each record into a failed check.
NETGUARD_LOG = os.path.join(tempfile.gettempdir(), "sc-netguard-%d.log" % os.getpid())


def guard_env(env):
    """The daemon's environment with the network guard preloaded (when built)."""
    lib = os.environ.get("NETGUARD")
    if not lib:
        return env
    env["LD_PRELOAD"] = " ".join(filter(None, [lib, env.get("LD_PRELOAD", "")]))
    env["NETGUARD_LOG"] = NETGUARD_LOG
    # ASan wants its runtime first in the library list; the guard comes first.
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", ""), "verify_asan_link_order=0"]))
    return env


def netguard_records():
    try:
        with open(NETGUARD_LOG) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def daemon_path():
    path = os.environ.get("SMARTCONNECTD")
    if len(sys.argv) > 1:
        path = sys.argv[1]
    if not path:
        sys.exit("usage: test-*.py SMARTCONNECTD (or set SMARTCONNECTD)")
    return path


def sanitized(binary):
    """Whether the daemon runs under AddressSanitizer (its runtime is linked in):
    every instruction then costs several times more, so a latency bound meant
    to tell a blocked loop from a turning one is loosened by the caller."""
    try:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out


def testdata(rel):
    base = os.environ.get("TESTDATA")
    if not base:
        base = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
    with open(os.path.join(base, rel), "rb") as f:
        return f.read()


class Tap:
    """TAP for meson's protocol: 'tap'. The plan goes at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.on_failure = []

    def ok(self, cond, what):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what), flush=True)
        return bool(cond)

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            print("# " + line, flush=True)

    def done(self):
        if os.environ.get("NETGUARD"):
            records = netguard_records()
            self.ok(not records, "the daemon sent nothing outside loopback and the test's namespaces")
            for line in records:
                self.diag("netguard: " + line)
            if os.path.exists(NETGUARD_LOG):
                os.unlink(NETGUARD_LOG)
        if self.failed:
            for cb in self.on_failure:
                cb()
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


class PartTap:
    """The checks of one part of a test that runs beside others (concurrently()):
    kept in order, written to the test's Tap once the part is over."""

    def __init__(self):
        self.out = []
        self.failed = 0
        self.on_failure = []

    def ok(self, cond, what):
        self.out.append((bool(cond), what))
        if not cond:
            self.failed += 1
        return bool(cond)

    def diag(self, text):
        self.out.append((None, text))


def concurrently(tap, *parts):
    """Each part(tap) in a thread of its own, for parts that mostly wait on
    timers; then the checks and diagnostics of each, part by part, on tap. An
    exception in a part is a failed check with its traceback."""
    taps = [PartTap() for _ in parts]

    def run(part, sub):
        try:
            part(sub)
        except Exception:
            sub.ok(False, "no exception in %s" % part.__name__)
            sub.diag(traceback.format_exc())
        if sub.failed:
            for cb in sub.on_failure:
                cb()

    threads = [threading.Thread(target=run, args=(p, t)) for p, t in zip(parts, taps)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for sub in taps:
        for cond, what in sub.out:
            if cond is None:
                tap.diag(what)
            else:
                tap.ok(cond, what)


class Pty:
    """A pseudo-terminal standing in for the meter's serial adapter, reachable
    through a symlink. We keep a slave fd open ourselves while "plugged": when
    the last slave closes, master I/O fails and timing gets unpredictable."""

    def __init__(self, link):
        self.link = link
        self.master, self.slave = os.openpty()
        # Raw until the daemon sets its own mode: no echo, no CR/LF mangling.
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.name = os.ttyname(self.slave)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(self.name, link)

    def write(self, data):
        """Write all of data; give up (and say so) if the reader stalls."""
        view = memoryview(data)
        deadline = time.monotonic() + TIMEOUT
        while view:
            try:
                n = os.write(self.master, view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
        return True

    def unplug(self):
        """The adapter disappears: the device node goes and the line hangs up."""
        if os.path.lexists(self.link):
            os.unlink(self.link)
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None

    close = unplug


class Notify:
    """An AF_UNIX datagram socket in place of systemd's NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []  # one dict per datagram
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            msg = {"_t": time.monotonic()}  # when it arrived
            for line in data.decode("utf-8", "replace").splitlines():
                key, _, value = line.partition("=")
                msg[key] = value
            with self.cond:
                self.messages.append(msg)
                self.cond.notify_all()

    def wait_for(self, pred, start=0, timeout=TIMEOUT):
        """First message at index >= start for which pred(msg) holds: (index, msg) or (None, None)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.messages)):
                    if pred(self.messages[i]):
                        return i, self.messages[i]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, None
                self.cond.wait(left)

    def dump(self, tap):
        with self.cond:
            for m in self.messages:
                tap.diag("notify: %r" % m)

    def close(self):
        self.sock.close()


# Runs in the child between fork and the daemon's exec, so the daemon keeps its
# pid: moves the listening sockets to 3, 4, ... and sets the variables that
# must hold the daemon's own pid (LISTEN_PID unless given, WATCHDOG_PID).
EXEC_WRAPPER = r"""
import fcntl, os, sys
n = int(sys.argv[1])
fds = [fcntl.fcntl(int(fd), fcntl.F_DUPFD_CLOEXEC, 64) for fd in sys.argv[2:2 + n]]
for i, fd in enumerate(fds):
    os.dup2(fd, 3 + i)
    os.close(fd)
env = dict(os.environ)
if n:
    env.setdefault("LISTEN_FDS", str(n))
    env.setdefault("LISTEN_PID", str(os.getpid()))
for var in filter(None, sys.argv[2 + n].split(",")):
    env[var] = str(os.getpid())
os.execve(sys.argv[3 + n], sys.argv[3 + n:], env)
"""


class Daemon:
    """The real smartconnectd on a temporary config, stderr collected by a thread.

    env: extra environment; prefix: a command the daemon runs under (e.g.
    systemd-socket-activate); listen_fds: sockets passed as socket activation,
    in order (set LISTEN_FDNAMES through env); pid_env: variables set to the
    daemon's pid; journal: stderr is a pipe named by JOURNAL_STREAM, as under
    systemd; stderr_pty: stderr is a terminal."""

    def __init__(self, binary, workdir, config_text, notify=None, args=None, name="smartconnect.conf",
                 env=None, prefix=None, listen_fds=None, pid_env=None, journal=False, stderr_pty=False):
        self.config = os.path.join(workdir, name)
        self.write_config(config_text)
        self.lines = []
        self.times = []  # when each line arrived (time.monotonic())
        self.cond = threading.Condition()
        environ = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID",
                  "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
            environ.pop(k, None)
        if notify:
            environ["NOTIFY_SOCKET"] = notify.path
        # The machine's own system bus is never the test's: the package update
        # check would ask its systemd for units. A test with a bus of its own
        # (private_bus()) or that wants none sets the variable itself.
        environ.setdefault("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=" + os.path.join(workdir, "no-system-bus"))
        environ.update(env or {})
        guard_env(environ)
        cmd = [binary, "--config", self.config, "--state-dir", os.path.join(workdir, "state")]
        cmd = (prefix or []) + cmd + (args or [])
        fds = [s if isinstance(s, int) else s.fileno() for s in (listen_fds or [])]
        if fds or pid_env:
            cmd = ([sys.executable, "-c", EXEC_WRAPPER, str(len(fds))] + [str(fd) for fd in fds] +
                   [",".join(pid_env or [])] + cmd)

        err_r = err_w = None
        if journal:
            err_r, err_w = os.pipe()
            st = os.fstat(err_w)
            environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        elif stderr_pty:
            err_r, err_w = os.openpty()
            tty.setraw(err_r)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=err_w if err_w is not None else subprocess.PIPE, env=environ,
                                     pass_fds=fds)
        if err_w is not None:
            os.close(err_w)
            self.err = os.fdopen(err_r, "rb", buffering=0)
        else:
            self.err = self.proc.stderr
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def write_config(self, text):
        # Atomic, as an admin's editor or a package upgrade would do it.
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.config)

    def _read(self):
        # Subclasses that start the process themselves set only proc and lines.
        src = getattr(self, "err", None) or self.proc.stderr
        if not hasattr(self, "times"):
            self.times = []
        try:
            for raw in src:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self.cond:
                    self.lines.append(line)
                    self.times.append(time.monotonic())
                    self.cond.notify_all()
        except OSError:
            pass  # a pty's master reads EIO once the daemon has gone
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, pattern, start=0, timeout=TIMEOUT):
        """First log line at index >= start matching the regex: (index, match) or (None, None)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.lines)):
                    m = rx.search(self.lines[i])
                    if m:
                        return i, m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.thread.is_alive()):
                    return None, None
                self.cond.wait(min(left, 0.5))

    def count(self):
        with self.cond:
            return len(self.lines)

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait_exit(self, timeout=TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=TIMEOUT):
        """SIGTERM, wait; SIGKILL if it hangs (and report None)."""
        self.signal(signal.SIGTERM)
        rc = self.wait_exit(timeout)
        if rc is None:
            self.proc.kill()
            self.proc.wait()
        self.thread.join(timeout)
        return rc

    def dump(self, tap):
        with self.cond:
            for line in self.lines:
                tap.diag("daemon: " + line)


class ActivatedDaemon(Daemon):
    """The daemon started as systemd would with a socket unit: the listening
    socket on fd 3, LISTEN_FDS=1, LISTEN_PID=its own pid, LISTEN_FDNAMES=fdname
    (modbus unless told otherwise).
    A shell sets LISTEN_PID to $$ and execs the daemon, which keeps that pid."""

    def __init__(self, binary, workdir, config_text, listener, fdname="modbus"):
        self.config = os.path.join(workdir, "smartconnect.conf")
        self.write_config(config_text)
        self.lines = []
        self.cond = threading.Condition()
        env = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID",
                  "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
            env.pop(k, None)
        guard_env(env)
        fd = listener.fileno()
        script = ('exec 3<&%d %d<&-; ' % (fd, fd) if fd != 3 else '') + \
            'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=%s exec "$@"' % fdname
        cmd = ["/bin/sh", "-c", script, "sh", binary, "--config", self.config,
               "--state-dir", os.path.join(workdir, "state")]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env, pass_fds=(fd,))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()


def loopback_listener(blocking=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    s.setblocking(blocking)
    return s


def feed_until(daemon, pty, data, pattern, start=0, timeout=TIMEOUT, every=1.0):
    """Write data into the pty until a log line matching pattern appears (the
    daemon may be between serial settings when a telegram arrives)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pty.write(data)
        i, m = daemon.wait_for(pattern, start, min(every, max(0.0, deadline - time.monotonic())))
        if i is not None:
            return i, m
    return None, None


def telegram_json(match):
    """The power_instant object of a 'telegram: {...}' line."""
    return json.loads(match.group(1))


TELEGRAM_RX = r"telegram: (\{.*\})$"


def telegram_with_p(p):
    """A telegram line of one particular meter (by its P): an earlier write to
    another pty may still be decoded after the point where a test starts looking."""
    return r'telegram: (\{"ts":-?\d+,"P":%d,.*\})$' % p


def config(device, protocol="auto", stale_after=None, log_level="debug", extra=""):
    text = "[Daemon]\nLogLevel=%s\n\n[Meter]\nDevice=%s\nProtocol=%s\n" % (log_level, device, protocol)
    if stale_after is not None:
        text += "StaleAfter=%s\n" % stale_after
    # Listeners on loopback, on ports the kernel picks: tests run in parallel.
    text += "\n[Modbus]\nListen=127.0.0.1:0\n\n[HTTP]\nListen=127.0.0.1:0\n"
    return text + extra


class Proc:
    """A helper process (dbus-daemon, avahi-daemon, NetworkManager, ...) with its output in
    <workdir>/<name>.log; stopped by pid. append: keep the log of an earlier run of that name."""

    def __init__(self, w, name, cmd, append=False):
        self.log = w.join(name + ".log")
        with open(self.log, "ab" if append else "wb") as f:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)

    def wait_log(self, rx, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log, errors="replace") as f:
                if re.search(rx, f.read()):
                    return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


SYSTEM_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""


def system_bus(w):
    """A private system bus at <workdir>/bus, for tests in namespaces of their own: anyone may own
    any name and call anything, dbus-monitor may watch. Sets DBUS_SYSTEM_BUS_ADDRESS for the
    processes started after it; the Proc has printed its address once it listens."""
    with open(w.join("bus.conf"), "w") as f:
        f.write(SYSTEM_BUS_CONF % w.join("bus"))
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + w.join("bus")
    return w.add(Proc(w, "dbus", ["dbus-daemon", "--config-file=" + w.join("bus.conf"), "--nofork",
                                  "--nopidfile", "--print-address"]))


class Workdir:
    """A temporary directory, removed at exit, with everything in it closed."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="sc-it-")
        self.cleanups = []

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def add(self, obj):
        self.cleanups.append(obj)
        return obj

    def close(self):
        for obj in reversed(self.cleanups):
            try:
                if isinstance(obj, Daemon):
                    if obj.proc.poll() is None:
                        obj.proc.kill()
                        obj.proc.wait()
                else:
                    obj.close()
            except OSError:
                pass
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def stop_and_check(tap, daemon, name):
    """SIGTERM, exit status 0, and the daemon's log shown if a check of this scenario failed."""
    rc = daemon.stop()
    tap.ok(rc == 0, "%s: exit status %r after SIGTERM" % (name, rc))
    tap.on_failure = []
    if tap.failed:
        daemon.dump(tap)
