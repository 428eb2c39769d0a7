#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mDNS through a real avahi-daemon, all inside new network, mount and UTS
namespaces (only lo, multicast on: nothing leaves them), with a private
dbus-daemon as the system bus:
  - avahi-daemon absent at start: a logged state, the daemon runs (READY=1);
    avahi-daemon started later: _http._tcp and _modbus._tcp appear with the
    serial, version and path in TXT, on the right ports, and
    smart-connect.local resolves;
  - avahi-daemon restarted: announced again;
  - a new address on lo is announced, and withdrawn when it goes;
  - SIGHUP with a new Name: the new name is announced, the old one is gone;
    Enabled=no withdraws everything (and unloads avahi-client), Enabled=yes
    announces again;
  - the daemon stops: everything disappears;
  - the name taken by another publisher: smart-connect-<serial> instead.
As root it uses the namespaces directly; otherwise inside a user namespace
(where the avahi user is mapped to root, so avahi-daemon can chown its
runtime directory)."""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import harness
import httpapi
from harness import Daemon, Notify, Proc, Tap, Workdir, stop_and_check

SERIAL = "SC0042"
HTTP_PORT = 18080  # the namespace has its own ports
HW_PORT = 18081

AVAHI_CONF = """[server]
host-name=sc-test-host
domain-name=local
use-ipv4=yes
use-ipv6=yes
allow-interfaces=%s
enable-dbus=%s
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
enable-reflector=no
"""


def enter_namespaces():
    """Re-run this script inside fresh namespaces; returns its exit status."""
    ns = ["unshare", "--net", "--mount", "--uts", "--fork", "--kill-child"]
    env = dict(os.environ, SMARTCONNECT_MDNS_NS="1")
    if os.geteuid() != 0:
        ns[1:1] = ["--user", "--map-root-user"]
        env["SMARTCONNECT_MDNS_NS"] = "user"
    return subprocess.call(ns + [sys.executable] + sys.argv, env=env)


def setup_namespace():
    subprocess.run(["ip", "link", "set", "lo", "up", "multicast", "on"], check=True)
    subprocess.run(["hostname", "sc-test-host"], check=True)
    # avahi-daemon keeps its pid file and socket in /run/avahi-daemon: a
    # private /run keeps them (and it) apart from any avahi of the host.
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    os.mkdir("/run/avahi-daemon")
    if os.environ["SMARTCONNECT_MDNS_NS"] == "user":
        # avahi-daemon chowns its runtime directory to the avahi user, whose
        # uid a user namespace of one uid cannot map: make it root here.
        for name, rx in (("passwd", r"^avahi:x:\d+:\d+:"), ("group", r"^avahi:x:\d+:")):
            with open("/etc/" + name) as f:
                text = re.sub(rx, "avahi:x:0:0:" if name == "passwd" else "avahi:x:0:", f.read(), flags=re.M)
            with open("/run/" + name, "w") as f:
                f.write(text)
            subprocess.run(["mount", "--bind", "/run/" + name, "/etc/" + name], check=True)


AVAHI = ["avahi-daemon", "--no-drop-root", "--no-chroot", "--no-rlimits", "-f"]


def start_avahi(w, name="avahi"):
    p = w.add(Proc(w, name, AVAHI + [w.join("avahi.conf")]))
    return p if p.wait_log(r"Server startup complete") else None


def start_rival(w):
    """Another host on a veth link (its own network and mount namespaces) whose
    avahi-daemon already answers for smart-connect.local, at 10.77.0.2."""
    with open(w.join("rival.conf"), "w") as f:
        f.write(AVAHI_CONF.replace("host-name=sc-test-host", "host-name=smart-connect").replace(
            "use-ipv6=yes", "use-ipv6=no") % ("sc-veth1", "no"))
    script = ("mount -t tmpfs tmpfs /run && mkdir /run/avahi-daemon && "
              "while ! ip link show sc-veth1 >/dev/null 2>&1; do sleep 0.05; done && "
              "ip addr add 10.77.0.2/24 dev sc-veth1 && ip link set sc-veth1 up multicast on && "
              "exec " + " ".join(AVAHI) + " " + w.join("rival.conf"))
    p = w.add(Proc(w, "rival", ["unshare", "--net", "--mount", "sh", "-c", script]))
    subprocess.run(["ip", "link", "add", "sc-veth0", "type", "veth", "peer", "name", "sc-veth1"], check=True)
    subprocess.run(["ip", "link", "set", "sc-veth1", "netns", str(p.proc.pid)], check=True)
    subprocess.run(["ip", "addr", "add", "10.77.0.1/24", "dev", "sc-veth0"], check=True)
    subprocess.run(["ip", "link", "set", "sc-veth0", "up", "multicast", "on"], check=True)
    return p if p.wait_log(r"Host name is smart-connect\.local") else None


def browse(stype):
    """Resolved services of one type: list of dicts."""
    r = subprocess.run(["avahi-browse", "-rpt", stype], capture_output=True, text=True, timeout=30)
    out = []
    for line in r.stdout.splitlines():
        f = line.split(";")
        if f[0] == "=" and len(f) >= 10:
            out.append({"if": f[1], "proto": f[2], "name": f[3], "type": f[4], "host": f[6], "addr": f[7],
                        "port": int(f[8]), "txt": re.findall(r'"([^"]*)"', ";".join(f[9:]))})
    return out


def resolve(host):
    r = subprocess.run(["avahi-resolve", "-4", "-n", host], capture_output=True, text=True, timeout=30)
    m = re.match(r"(\S+)\s+(\S+)", r.stdout)
    return m.group(2) if m and r.returncode == 0 else None


def until(fn, pred, timeout=harness.TIMEOUT):
    """Call fn until pred(result) holds; the last result either way."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if pred(v) or time.monotonic() > deadline:
            return v
        time.sleep(0.3)


def ours(name):
    return lambda svcs: [s for s in svcs if s["name"] == name and s["if"] == "lo"]


def check_announced(tap, what, name, modbus_port, addrs=("127.0.0.1",)):
    http = until(lambda: ours(name)(browse("_http._tcp")), bool)
    modbus = until(lambda: ours(name)(browse("_modbus._tcp")), bool)
    host = name + ".local"
    for label, svcs, port, extra in (("HTTP", http, HTTP_PORT, ["path=/"]), ("Modbus", modbus, modbus_port, [])):
        s = svcs[0] if svcs else {}
        tap.ok(s.get("port") == port, "%s: %s service '%s' on port %r (want %d)" % (what, label, name, s.get("port"), port))
        want = ["serial=" + SERIAL, "version=%s" % VERSION] + extra
        tap.ok(s and all(t in s["txt"] for t in want), "%s: %s TXT %r has %s" % (what, label, s.get("txt"), want))
        tap.ok(s.get("host") == host and s.get("addr") == "127.0.0.1",
               "%s: %s on %s at 127.0.0.1 (%r, %r)" % (what, label, host, s.get("host"), s.get("addr")))
    addr = until(lambda: resolve(host), bool)
    tap.ok(addr in addrs, "%s: avahi-resolve -n %s: %r" % (what, host, addr))


def check_gone(tap, what, name):
    # A name that no longer resolves is only known when avahi-resolve gives up
    # (5 s): it is asked while the services are browsed, until it gives up.
    addr = []
    t = threading.Thread(target=lambda: addr.append(until(lambda: resolve(name + ".local"), lambda v: v is None,
                                                          timeout=10)))
    t.start()
    left = until(lambda: ours(name)(browse("_http._tcp")) + ours(name)(browse("_modbus._tcp")), lambda v: not v)
    t.join()
    tap.ok(not left, "%s: the services of '%s' are gone (%r)" % (what, name, left))
    tap.ok(addr == [None], "%s: %s.local no longer resolves (%r)" % (what, name, addr))


def config(w, name=None, enabled=True, homewizard=False):
    extra = "\n[Device]\nSerial=%s\n" % SERIAL
    if homewizard:
        extra += "\n[HomeWizard]\nEnabled=yes\nListen=127.0.0.1:%d\n" % HW_PORT
    extra += "\n[mDNS]\nEnabled=%s\n" % ("yes" if enabled else "no")
    if name:
        extra += "Name=%s\n" % name
    text = harness.config(w.join("nothing-here"), extra=extra)
    # A password, so the HTTP API serves (and is announced).
    return text.replace("[HTTP]\nListen=127.0.0.1:0",
                        "[HTTP]\nListen=127.0.0.1:%d\nPassword=%s" % (HTTP_PORT, httpapi.PASSWORD))


def avahi_mapped(d):
    with open("/proc/%d/maps" % d.proc.pid) as f:
        return "libavahi-client.so" in f.read()


def lifecycle(tap, binary):
    with Workdir() as w:
        with open(w.join("avahi.conf"), "w") as f:
            f.write(AVAHI_CONF % ("lo,sc-veth0", "yes"))
        bus = harness.system_bus(w)
        tap.ok(bus.wait_log(r"unix:path="), "private system bus up")

        notify = w.add(Notify(w.join("notify")))
        d = w.add(Daemon(binary, w.path, config(w), notify=notify))
        tap.on_failure = [lambda: d.dump(tap)]
        i, _ = d.wait_for(r"mDNS: avahi-daemon is not running, waiting for it")
        tap.ok(i is not None, "avahi-daemon absent: logged as a state")
        j, _ = notify.wait_for(lambda m: m.get("READY") == "1")
        tap.ok(j is not None and d.proc.poll() is None, "avahi-daemon absent: the daemon runs (READY=1)")
        _, m = d.wait_for(r"Modbus TCP server on port (\d+)")
        modbus_port = int(m.group(1)) if m else -1

        avahi = start_avahi(w)
        tap.ok(avahi is not None, "avahi-daemon started later")
        i, _ = d.wait_for(r"mDNS: announced smart-connect\.local: HTTP on port %d, Modbus on port %d" %
                          (HTTP_PORT, modbus_port))
        tap.ok(i is not None, "the daemon announces once avahi-daemon runs")
        tap.ok(avahi_mapped(d), "mDNS on: libavahi-client mapped (/proc/PID/maps)")
        check_announced(tap, "late avahi", "smart-connect", modbus_port)
        st, _ = httpapi.Api(HTTP_PORT).json("GET", "/api/v1/status")
        tap.ok(st == 200, "the announced HTTP port answers (%r)" % st)

        # A new address (a DHCP lease after start): announced again.
        mark = d.count()
        subprocess.run(["ip", "addr", "add", "192.0.2.99/32", "dev", "lo"], check=True)
        k, _ = d.wait_for(r"mDNS: the host's addresses changed, announcing them", mark)
        tap.ok(k is not None, "a new address: noticed")
        k, _ = d.wait_for(r"mDNS: announced smart-connect\.local", k or mark)
        addr = until(lambda: resolve("smart-connect.local"), bool)
        tap.ok(k is not None and addr in ("127.0.0.1", "192.0.2.99"),
               "a new address: announced again, smart-connect.local resolves (%r)" % addr)
        mark = d.count()
        subprocess.run(["ip", "addr", "del", "192.0.2.99/32", "dev", "lo"], check=True)
        k, _ = d.wait_for(r"mDNS: the host's addresses changed, announcing them", mark)
        addr = until(lambda: resolve("smart-connect.local"), lambda a: a == "127.0.0.1")
        tap.ok(k is not None and addr == "127.0.0.1", "the address gone: no longer announced (%r)" % addr)

        # avahi-daemon goes and comes back.
        mark = d.count()
        avahi.close()
        k, _ = d.wait_for(r"mDNS: (lost avahi-daemon|avahi-daemon is not running)", mark)
        tap.ok(k is not None, "avahi-daemon stopped: logged")
        avahi = start_avahi(w, "avahi2")
        k, _ = d.wait_for(r"mDNS: announced smart-connect\.local", mark)
        tap.ok(avahi is not None and k is not None, "avahi-daemon back: announced again")
        check_announced(tap, "avahi restarted", "smart-connect", modbus_port)

        # A new Name on SIGHUP.
        mark = d.count()
        d.write_config(config(w, "meter-gateway"))
        d.signal(signal.SIGHUP)
        k, _ = d.wait_for(r"mDNS: announced meter-gateway\.local", mark)
        tap.ok(k is not None, "SIGHUP with Name=meter-gateway: announced under the new name")
        check_announced(tap, "renamed", "meter-gateway", modbus_port)
        check_gone(tap, "renamed", "smart-connect")

        # Switched off and on again by SIGHUP.
        mark = d.count()
        d.write_config(config(w, "meter-gateway", enabled=False))
        d.signal(signal.SIGHUP)
        k, _ = d.wait_for(r"mDNS: disabled, withdrawing the announcements", mark)
        tap.ok(k is not None, "SIGHUP with Enabled=no: logged")
        check_gone(tap, "Enabled=no", "meter-gateway")
        tap.ok(d.wait_for(r"Configuration reloaded", mark)[0] is not None and not avahi_mapped(d),
               "Enabled=no: avahi-client unloaded (/proc/PID/maps)")
        mark = d.count()
        d.write_config(config(w, "meter-gateway"))
        d.signal(signal.SIGHUP)
        k, _ = d.wait_for(r"mDNS: announced meter-gateway\.local", mark)
        tap.ok(k is not None, "SIGHUP with Enabled=yes: announced again")

        # The HomeWizard-compatible API: _hwenergy._tcp with the original's TXT while it is on.
        d.write_config(config(w, "meter-gateway", homewizard=True))
        d.signal(signal.SIGHUP)
        hw = until(lambda: ours("meter-gateway")(browse("_hwenergy._tcp")), bool)
        s0 = hw[0] if hw else {}
        want = ["api_enabled=1", "path=/api/v1", "serial=" + SERIAL, "product_name=P1 meter",
                "product_type=HWE-P1"]
        tap.ok(s0.get("port") == HW_PORT and all(t in s0.get("txt", []) for t in want),
               "[HomeWizard] Enabled=yes: _hwenergy._tcp on port %r with TXT %r" % (s0.get("port"), s0.get("txt")))
        d.write_config(config(w, "meter-gateway"))
        d.signal(signal.SIGHUP)
        left = until(lambda: ours("meter-gateway")(browse("_hwenergy._tcp")), lambda v: not v)
        tap.ok(not left and ours("meter-gateway")(browse("_http._tcp")),
               "[HomeWizard] Enabled=no: _hwenergy._tcp withdrawn, _http._tcp stays")

        stop_and_check(tap, d, "lifecycle")
        check_gone(tap, "daemon stopped", "meter-gateway")

        # Another host on the network has the name: the serial makes ours unique.
        rival = start_rival(w)
        tap.ok(rival is not None, "another host answers for smart-connect.local")
        d = w.add(Daemon(binary, w.path, config(w), notify=notify))
        tap.on_failure = [lambda: d.dump(tap)]
        alt = "smart-connect-" + SERIAL
        i, _ = d.wait_for(r"mDNS: name 'smart-connect' is taken, using '%s'" % alt)
        tap.ok(i is not None, "collision: logged, the new name is %s" % alt)
        _, m = d.wait_for(r"Modbus TCP server on port (\d+)")
        check_announced(tap, "collision", alt, int(m.group(1)) if m else -1, ("127.0.0.1", "10.77.0.1"))
        other = resolve("smart-connect.local")
        tap.ok(other == "10.77.0.2", "collision: the other host keeps smart-connect.local (%r)" % other)
        stop_and_check(tap, d, "collision")
        check_gone(tap, "collision, daemon stopped", alt)


VERSION = None


def main():
    global VERSION
    if os.environ.get("SMARTCONNECT_MDNS_NS") not in ("1", "user"):
        return enter_namespaces()

    binary = os.path.abspath(harness.daemon_path())
    tap = Tap()
    missing = [p for p in ("ip", "dbus-daemon", "avahi-daemon", "avahi-browse", "avahi-resolve", "avahi-publish")
               if not shutil.which(p)]
    if not tap.ok(not missing, "tools present (missing: %s)" % missing):
        return tap.done()
    setup_namespace()
    VERSION = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split()[-1]
    lifecycle(tap, binary)
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
