#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The gateway's own network through a real NetworkManager, all inside new
network and mount namespaces with a private system bus, systemd-udevd on a
private /run and a veth pair whose peer (in a namespace of its own) plays
the LAN with dnsmasq as its DHCP server. Nothing leaves the namespaces.
  - Manage=no: the daemon sends no method call on the bus; PATCH of a network
    key answers 409 saying how to enable management;
  - a profile the daemon did not create is never modified;
  - DHCP -> static (confirmed) -> DHCP through PATCH, address and route on veth0;
  - a static address not confirmed: the old one is back after ConfirmTimeout;
  - no DHCP server: a link-local address; then a server: the lease wins;
  - the Wi-Fi client and access point profiles: SSID, wpa-psk, PSK, mode ap,
    shared 192.168.71.1/24; activation attempted, its failure in the status,
    the PSK never in an answer or the log;
  - NetworkManager stopped and started again while the daemon runs;
  - the access point: POST /api/v1/network/ap refused (409) once settings were
    changed through the API; in factory settings the profile smartconnect-ap
    holds SSID SC-<serial>, mode ap, wpa-psk with the key of
    <state>/wifi-ap-psk, shared IPv4 192.168.71.1/24; its PSK in no answer or log;
  - the factory reset (POST /api/v1/factory-reset) deletes the profiles the
    daemon created (smartconnect-wifi, smartconnect-ap) and writes the
    Ethernet one afresh from the file; a reset interrupted by a kill (its
    marker left in the state directory) deletes them at the next start;
    the profile the daemon did not create stays.
Needs root (skipped otherwise) and network-manager, dnsmasq-base, udev
(tests/install-deps.sh installs them; a missing one fails the test in CI)."""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import harness
import httpapi
from harness import Daemon, Notify, Proc, Tap, Workdir, stop_and_check

HTTP_PORT = 18081
LAN = "10.99.0"
SERIAL = "SC0077"
CONFIRM = 10  # ConfirmTimeout in the test
WIFI_PSK = "wifi-secret-9731"

NM_CONF = """[main]
plugins=keyfile
dhcp=internal
no-auto-default=*
[keyfile]
unmanaged-devices=interface-name:lo
[logging]
level=INFO
[connectivity]
enabled=false
"""


def enter_namespaces():
    env = dict(os.environ, SMARTCONNECT_NM_NS="1")
    return subprocess.call(["unshare", "--net", "--mount", "--fork", "--kill-child", sys.executable] + sys.argv,
                           env=env)


def until(fn, pred, timeout=harness.TIMEOUT, every=0.3):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if pred(v) or time.monotonic() > deadline:
            return v
        time.sleep(every)


def run(*cmd):
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True, timeout=30).stdout
    except subprocess.TimeoutExpired:
        return ""


def addresses():
    """IPv4 addresses on veth0 as "a.b.c.d/p"."""
    return re.findall(r"inet (\S+)", run("ip", "-4", "addr", "show", "dev", "veth0"))


def default_via():
    m = re.search(r"default via (\S+) dev veth0", run("ip", "-4", "route"))
    return m.group(1) if m else None


def nmcli(*args):
    return run("nmcli", *args)


def profile(name, *fields):
    """Fields of a profile, as nmcli shows them (secrets included)."""
    out = nmcli("-s", "-g", ",".join(fields), "connection", "show", name)
    return out.strip().split("\n") if out.strip() else []


def setup(w):
    for d in ("/run", "/var/lib/NetworkManager", "/etc/NetworkManager"):
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", d], check=True)
    os.makedirs("/etc/NetworkManager/system-connections")
    os.makedirs("/run/udev")
    with open("/etc/NetworkManager/NetworkManager.conf", "w") as f:
        f.write(NM_CONF)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    bus = harness.system_bus(w)
    udev = w.add(Proc(w, "udevd", ["/lib/systemd/systemd-udevd"]))
    ok = bus.wait_log(r"unix:path=") and udev.proc.poll() is None
    # The LAN: veth1 in a namespace of its own, dnsmasq started in it on demand.
    lan = w.add(Proc(w, "lan", ["unshare", "--net", "sh", "-c",
                                "while ! ip link show veth1 >/dev/null 2>&1; do sleep 0.05; done; "
                                "ip addr add %s.1/24 dev veth1; ip link set veth1 up; ip link set lo up; "
                                "echo lan-up; exec sleep 100000" % LAN]))
    subprocess.run(["ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1"], check=True)
    subprocess.run(["ip", "link", "set", "veth1", "netns", str(lan.proc.pid)], check=True)
    subprocess.run(["udevadm", "trigger", "--action=add", "--subsystem-match=net"], timeout=30)
    subprocess.run(["udevadm", "settle", "-t", "10"], timeout=30)
    return ok and lan.wait_log(r"lan-up"), lan


def start_nm(w):
    nm = w.add(Proc(w, "nm", ["NetworkManager", "--no-daemon", "--config=/etc/NetworkManager/NetworkManager.conf"],
                    append=True))
    up = until(lambda: run("busctl", "--system", "status", "org.freedesktop.NetworkManager"), bool, every=0.2)
    # udev's rules leave a veth unmanaged until a profile is activated on it explicitly.
    state = until(lambda: nmcli("-g", "GENERAL.STATE", "device", "show", "veth0"), bool)
    return nm if up else None, state.strip()


def start_dhcp(w, lan):
    return w.add(Proc(w, "dnsmasq", ["nsenter", "--net=/proc/%d/ns/net" % lan.proc.pid, "dnsmasq", "--no-daemon",
                                     "--conf-file=/dev/null", "--interface=veth1", "--bind-interfaces", "--port=0",
                                     "--dhcp-range=%s.100,%s.150,255.255.255.0,2m" % (LAN, LAN),
                                     "--dhcp-option=3,%s.1" % LAN, "--leasefile-ro", "--dhcp-authoritative",
                                     "--pid-file="]))


def config(w, manage, extra=""):
    net = "\n[Network]\nManage=%s\nEthernetInterface=veth0\nConfirmTimeout=%d\n%s" % (manage, CONFIRM, extra)
    # Updates=no: the package updates talk to systemd on the same bus, which
    # the check of Manage=no (no method call at all) would count.
    text = harness.config(w.join("nothing-here"),
                          extra="\n[Device]\nSerial=%s\nUpdates=no\n\n[mDNS]\nEnabled=no\n%s" % (SERIAL, net))
    return text.replace("[HTTP]\nListen=127.0.0.1:0", "[HTTP]\nListen=127.0.0.1:%d\nPassword=%s" % (HTTP_PORT, httpapi.PASSWORD))


def start_daemon(w, binary, text, name, workdir=None):
    """workdir (its state directory in workdir/state): w's own unless given."""
    notify = w.add(Notify(w.join("notify-" + name)))
    env = {"NETGUARD_ALLOW": "%s.0/24,169.254.0.0/16" % LAN}
    d = w.add(Daemon(binary, workdir or w.path, text, notify=notify, env=env, name=name + ".conf"))
    j, _ = notify.wait_for(lambda m: m.get("READY") == "1")
    return d, j is not None


API = httpapi.Api(HTTP_PORT)  # one client: its bodies are every answer of the test


def api():
    return API


def nm_status():
    st, j = api().json("GET", "/api/v1/status")
    return (j or {}).get("network", {}).get("manager", {}) if st == 200 else {}


def patch(body):
    return api().json("PATCH", "/api/v1/config", body)


def in_lan(addrs):
    return [a for a in addrs if re.match(r"10\.99\.0\.1\d\d/24$", a)]


def scenario_unmanaged(tap, w, binary):
    mon = w.add(Proc(w, "monitor", ["dbus-monitor", "--system", "--monitor"]))
    time.sleep(1)
    with open(mon.log) as f:
        mark = len(f.read())
    d, ready = start_daemon(w, binary, config(w, "no"), "unmanaged")
    tap.ok(ready, "Manage=no: the daemon is ready")
    st, j = patch({"Ethernet": {"IpMode": "Static", "StaticIPv4": {"IpAddress": LAN + ".9"}}})
    tap.ok(st == 409 and "Manage=networkmanager" in (j or {}).get("error", ""),
           "Manage=no: PATCH of a network key: 409 saying how to enable management (%r %r)" % (st, j))
    st, j = api().json("POST", "/api/v1/network/confirm")
    tap.ok(st == 409, "Manage=no: POST /api/v1/network/confirm: 409 (%r)" % st)
    st, j = api().json("GET", "/api/v1/status")
    tap.ok(st == 200 and j["network"]["manager"]["managed_by"] == "operating-system",
           "Manage=no: the status says the operating system manages the network")
    stop_and_check(tap, d, "unmanaged")
    mon.close()
    with open(mon.log) as f:
        seen = f.read()[mark:]
    calls = re.findall(r"method call .*member=(\w+)", seen)
    tap.ok(not calls, "Manage=no: no method call on the bus while the daemon ran (%r)" % calls[:5])


def scenario_managed(tap, w, binary, lan, nm):
    nmcli("connection", "add", "type", "ethernet", "ifname", "veth0", "con-name", "office", "autoconnect", "no",
          "ipv4.method", "manual", "ipv4.addresses", LAN + ".77/24")
    office = "/etc/NetworkManager/system-connections/office.nmconnection"
    with open(office) as f:
        office_before = f.read()
    dhcp = start_dhcp(w, lan)
    tap.ok(dhcp.wait_log(r"started|DHCP"), "dnsmasq on the LAN side")
    d, ready = start_daemon(w, binary, config(w, "networkmanager"), "managed")
    tap.on_failure = [lambda: d.dump(tap)]
    tap.ok(ready, "Manage=networkmanager: the daemon is ready")
    got = until(addresses, in_lan, timeout=40)
    tap.ok(in_lan(got), "DHCP: a lease on veth0 (%r)" % got)
    tap.ok(until(default_via, lambda g: g == LAN + ".1") == LAN + ".1", "DHCP: the default route via the LAN's router")
    tap.ok(profile("smartconnect-ethernet", "ipv6.method") == ["disabled"], "IPv6 off on our profile")

    # Static, confirmed: it stays.
    st, j = patch({"Ethernet": {"IpMode": "Static", "StaticIPv4": {"IpAddress": LAN + ".50", "Netmask": "24",
                                                                   "Gateway": LAN + ".1"}}})
    tap.ok(st == 200, "PATCH to static: 200 (%r %r)" % (st, j))
    got = until(addresses, lambda a: LAN + ".50/24" in a and not in_lan(a))
    tap.ok(LAN + ".50/24" in got and not in_lan(got), "static: %s.50/24 on veth0, the lease gone (%r)" % (LAN, got))
    tap.ok(until(default_via, lambda g: g == LAN + ".1") == LAN + ".1", "static: the default route via the gateway")
    left = nm_status().get("confirm_within_sec")
    tap.ok(isinstance(left, int) and 0 < left <= CONFIRM, "static: the status shows the confirmation window (%r)" % left)
    st, j = patch({"Ethernet": {"StaticIPv4": {"IpAddress": LAN + ".51"}}})
    tap.ok(st == 409, "a second change while one awaits confirmation: 409 (%r)" % st)
    st, j = api().json("POST", "/api/v1/network/confirm")
    tap.ok(st == 200, "POST /api/v1/network/confirm: 200 (%r %r)" % (st, j))
    time.sleep(CONFIRM + 7)
    tap.ok(LAN + ".50/24" in addresses(), "confirmed: the static address stays past ConfirmTimeout (%r)" % addresses())

    # Back to DHCP, confirmed.
    st, j = patch({"Ethernet": {"IpMode": "DHCP"}})
    api().json("POST", "/api/v1/network/confirm")
    got = until(addresses, in_lan, timeout=40)
    tap.ok(st == 200 and in_lan(got) and LAN + ".50/24" not in got, "back to DHCP: a lease again (%r)" % got)

    # Not confirmed: rolled back by NetworkManager.
    st, j = patch({"Ethernet": {"IpMode": "Static", "StaticIPv4": {"IpAddress": "10.98.0.60", "Gateway": ""}}})
    got = until(addresses, lambda a: "10.98.0.60/24" in a)
    tap.ok(st == 200 and "10.98.0.60/24" in got, "unconfirmed static address applied (%r)" % got)
    got = until(addresses, lambda a: in_lan(a) and "10.98.0.60/24" not in a, timeout=CONFIRM + 40)
    tap.ok(in_lan(got) and "10.98.0.60/24" not in got, "not confirmed: the old lease is back (%r)" % got)
    i, _ = d.wait_for(r"Network settings rolled back")
    st, j = api().json("GET", "/api/v1/config")
    tap.ok(i is not None and j and j["Ethernet"]["IpMode"] == "DHCP",
           "not confirmed: the settings follow the rollback (%r)" % (j or {}).get("Ethernet"))
    return d, dhcp, office, office_before


def scenario_link_local(tap, w, d, dhcp, lan):
    dhcp.close()
    # Activated again without a server; nmcli would wait for the lease.
    nmcli("--wait", "1", "connection", "up", "smartconnect-ethernet")
    got = until(addresses, lambda a: any(x.startswith("169.254.") for x in a), timeout=40)
    tap.ok(any(x.startswith("169.254.") for x in got), "no DHCP server: a link-local address (%r)" % got)
    dhcp = start_dhcp(w, lan)
    got = until(addresses, in_lan, timeout=120, every=1)
    tap.ok(in_lan(got), "a DHCP server appears: the lease wins (%r)" % got)
    return dhcp


def scenario_wifi(tap, w, d):
    st, j = patch({"DefaultNetIf": "WiFi", "WiFi": {"ConnectionData": {"WiFiSSID": "Installer Net",
                                                                       "WiFiPassword": WIFI_PSK}}})
    tap.ok(st == 200, "PATCH Wi-Fi client: 200 (%r %r)" % (st, j))
    got = until(lambda: profile("smartconnect-wifi", "802-11-wireless.ssid", "802-11-wireless-security.key-mgmt",
                                "802-11-wireless-security.psk"), lambda p: len(p) == 3)
    tap.ok(got == ["Installer Net", "wpa-psk", WIFI_PSK], "the Wi-Fi profile: SSID, wpa-psk, PSK (%r)" % got[:2])
    err = until(lambda: nm_status().get("error") or "", lambda e: "smartconnect-wifi" in e)
    tap.ok("activation of smartconnect-wifi failed" in err, "no radio: the failed activation in the status (%r)" % err)
    api().json("POST", "/api/v1/network/confirm")


def scenario_restart(tap, w, d, nm):
    mark = d.count()
    nm.close()
    i, _ = d.wait_for(r"NetworkManager: not on the bus", mark)
    tap.ok(i is not None, "NetworkManager stopped: logged")
    tap.ok(until(nm_status, lambda s: s.get("available") is False).get("available") is False,
           "NetworkManager stopped: the status says so")
    nm, _ = start_nm(w)
    i, _ = d.wait_for(r"NetworkManager: on the bus", mark)
    tap.ok(i is not None, "NetworkManager back: picked up")
    i, _ = d.wait_for(r"NetworkManager: applied", i or mark)
    tap.ok(i is not None and d.proc.poll() is None, "NetworkManager back: the settings applied again")
    return nm


def scenario_ap_refused(tap, d):
    st, j = api().json("POST", "/api/v1/network/ap")
    tap.ok(st == 409 and "factory settings" in (j or {}).get("error", ""),
           "POST /api/v1/network/ap after settings changed through the API: 409 (%r %r)" % (st, j))


def ap_client_trial(tap, d):
    """A Wi-Fi client set from access point mode is tried; with no radio it cannot connect, so
    the access point comes back rather than leaving the installer with no way in."""
    mark = d.count()
    st, j = patch({"DefaultNetIf": "WiFi", "WiFi": {"ConnectionData": {"WiFiSSID": "Home Net",
                                                                       "WiFiPassword": WIFI_PSK}}})
    tap.ok(st == 200, "from AP mode, PATCH a Wi-Fi client: 200 (%r)" % st)
    i, _ = d.wait_for(r"NetworkManager: trying the Wi-Fi client 'Home Net'", mark)
    tap.ok(i is not None, "the client is tried, the access point kept as the fallback")
    i, _ = d.wait_for(r"NetworkManager: the Wi-Fi client 'Home Net' did not connect; access point mode kept", mark)
    s = until(nm_status, lambda s: "did not connect" in (s.get("error") or ""))
    tap.ok(i is not None and s.get("access_point") is True,
           "the client fails: the access point mode is kept, and the status says why (%r)" % s.get("error"))
    got = until(lambda: profile("smartconnect-ap", "connection.autoconnect") +
                profile("smartconnect-wifi", "connection.autoconnect", "802-11-wireless.ssid"),
                lambda p: p[:2] == ["yes", "no"])
    tap.ok(got == ["yes", "no", "Home Net"],
           "the access point profile starts by itself again, the client profile is kept for a retry (%r)" % got)


def scenario_ap(tap, w, binary):
    """A gateway in factory settings (a state directory of its own) asked for the access point."""
    fresh = w.join("factory")
    os.makedirs(os.path.join(fresh, "state"))
    d, ready = start_daemon(w, binary, config(w, "networkmanager"), "factory", workdir=fresh)
    tap.on_failure = [lambda: d.dump(tap)]
    st, j = api().json("POST", "/api/v1/network/ap")
    tap.ok(ready and st == 200, "factory settings: POST /api/v1/network/ap: 200 (%r %r)" % (st, j))
    fields = ("802-11-wireless.ssid", "802-11-wireless.mode", "802-11-wireless-security.key-mgmt",
              "802-11-wireless-security.psk", "ipv4.method", "ipv4.addresses")
    got = until(lambda: profile("smartconnect-ap", *fields), lambda p: len(p) == len(fields))
    keyfile = os.path.join(fresh, "state", "wifi-ap-psk")
    with open(keyfile) as f:
        psk = f.read().strip()
    mode = os.stat(keyfile).st_mode & 0o777
    tap.ok(len(psk) >= 8 and mode == 0o600, "the AP key: %d characters in <state>/wifi-ap-psk, mode %o"
           % (len(psk), mode))
    want = ["SC-" + SERIAL, "ap", "wpa-psk", psk, "shared", "192.168.71.1/24"]
    tap.ok(got == want, "the AP profile: SSID SC-%s, mode ap, wpa-psk, its key, shared 192.168.71.1/24 (%r)"
           % (SERIAL, [x if x != psk else "<psk>" for x in got]))
    tap.ok(until(nm_status, lambda s: s.get("access_point") is True).get("access_point") is True,
           "the status says access point mode")
    ap_client_trial(tap, d)
    stop_and_check(tap, d, "factory")
    tap.ok(psk.encode() not in b"".join(api().bodies) and not any(psk in l for l in d.lines),
           "the AP key is in no API answer and no log line")


def profile_uuids():
    """{name: uuid} of every profile NetworkManager holds."""
    out = nmcli("-g", "NAME,UUID", "connection", "show")
    return dict(line.rsplit(":", 1) for line in out.strip().split("\n") if ":" in line)


def scenario_factory_reset(tap, w, binary):
    """The profiles left by the scenarios above, removed by a factory reset."""
    before = profile_uuids()
    tap.ok({"smartconnect-ethernet", "smartconnect-wifi", "smartconnect-ap"} <= set(before),
           "before the reset: the daemon's three profiles are there (%r)" % sorted(before))
    fresh = w.join("reset")
    os.makedirs(os.path.join(fresh, "state"))
    d, ready = start_daemon(w, binary, config(w, "networkmanager"), "reset", workdir=fresh)
    tap.on_failure = [lambda: d.dump(tap)]
    i, _ = d.wait_for(r"NetworkManager: applied")
    st, j = api().json("POST", "/api/v1/factory-reset")
    tap.ok(ready and i is not None and st == 200, "POST /api/v1/factory-reset: 200 (%r %r)" % (st, j))
    for name in ("smartconnect-ethernet", "smartconnect-wifi", "smartconnect-ap"):
        i, _ = d.wait_for(r"NetworkManager: deleted the profile %s" % name)
        tap.ok(i is not None, "factory reset: %s deleted, logged" % name)
    after = until(profile_uuids, lambda p: "smartconnect-wifi" not in p and "smartconnect-ap" not in p and
                  "smartconnect-ethernet" in p)
    tap.ok("smartconnect-wifi" not in after and "smartconnect-ap" not in after,
           "factory reset: smartconnect-wifi and smartconnect-ap are gone (%r)" % sorted(after))
    tap.ok(after.get("smartconnect-ethernet") == before["smartconnect-ethernet"],
           "factory reset: smartconnect-ethernet written afresh from the file (same fixed UUID)")
    others = {n: u for n, u in before.items() if not n.startswith("smartconnect-")}
    tap.ok(others and all(after.get(n) == u for n, u in others.items()),
           "factory reset: every other profile kept (%r)" % sorted(others))
    stop_and_check(tap, d, "reset")

    # A reset cut short by a kill: its marker in the state directory, then a start.
    run("nmcli", "connection", "add", "type", "wifi", "con-name", "smartconnect-wifi", "ifname", "*",
        "ssid", "left-over", "connection.uuid", "5c0e7a1e-7e5a-4c6b-9a61-6e6574000002")
    tap.ok("smartconnect-wifi" in profile_uuids(), "a left-over smartconnect-wifi profile (our UUID) is there")
    with open(os.path.join(fresh, "state", "factory-reset"), "w") as f:
        f.write("factory reset\n")
    d, ready = start_daemon(w, binary, config(w, "networkmanager"), "recover", workdir=fresh)
    i, _ = d.wait_for(r"Factory reset: finishing the one that was interrupted")
    tap.ok(ready and i is not None, "start with the marker: the interrupted reset is finished")
    i, _ = d.wait_for(r"NetworkManager: deleted the profile smartconnect-wifi")
    after = until(profile_uuids, lambda p: "smartconnect-wifi" not in p)
    tap.ok(i is not None and "smartconnect-wifi" not in after and "smartconnect-ethernet" in after,
           "the interrupted reset deleted smartconnect-wifi at the start (%r)" % sorted(after))
    tap.ok(not os.path.exists(os.path.join(fresh, "state", "factory-reset")), "the marker is gone")
    stop_and_check(tap, d, "recover")


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root for network namespaces")
        return 0
    if os.environ.get("SMARTCONNECT_NM_NS") != "1":
        return enter_namespaces()
    binary = os.path.abspath(harness.daemon_path())
    tap = Tap()
    missing = [p for p in ("ip", "dbus-daemon", "dbus-monitor", "NetworkManager", "nmcli", "dnsmasq", "udevadm",
                           "nsenter") if not shutil.which(p)]
    if not os.path.exists("/lib/systemd/systemd-udevd"):
        missing.append("systemd-udevd")
    if missing:
        if os.environ.get("CI"):
            print("Bail out! missing in CI (tests/install-deps.sh installs them): %s" % " ".join(missing))
            return 1
        print("1..0 # SKIP missing: %s" % " ".join(missing))
        return 0
    with Workdir() as w:
        ok, lan = setup(w)
        tap.ok(ok, "namespaces, private bus, udevd, veth pair")
        nm, state = start_nm(w)
        tap.ok(nm is not None and state, "NetworkManager runs and sees veth0 (%r)" % state)
        scenario_unmanaged(tap, w, binary)
        d, dhcp, office, office_before = scenario_managed(tap, w, binary, lan, nm)
        dhcp = scenario_link_local(tap, w, d, dhcp, lan)
        scenario_wifi(tap, w, d)
        nm = scenario_restart(tap, w, d, nm)
        scenario_ap_refused(tap, d)
        bodies = b"".join(api().bodies)
        tap.ok(WIFI_PSK.encode() not in bodies and len(api().bodies) > 10,
               "the Wi-Fi PSK is in no API answer (%d answers)" % len(api().bodies))
        stop_and_check(tap, d, "managed")
        tap.ok(not any(WIFI_PSK in l for l in d.lines), "the Wi-Fi PSK is in no log line")
        scenario_ap(tap, w, binary)
        scenario_factory_reset(tap, w, binary)
        with open(office) as f:
            tap.ok(f.read() == office_before, "the profile the daemon did not create is unchanged")
    return tap.done()


if __name__ == "__main__":
    raise SystemExit(main())
