#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The package under a real systemd: boot this machine's own root file system,
# behind a throw-away overlay, in systemd-nspawn; install the .deb there, use
# the service through its sockets, reload it onto a replayed meter, upgrade
# and purge it. Checks what check-deb.sh cannot without systemd as PID 1: the
# sandbox really starts, the daemon runs unprivileged in it, socket activation,
# SIGHUP reload, the upgrade and purge paths of the maintainer scripts.
#
#   bash tests/package/check-units-live.sh smartconnectd_*.deb
#
# Also: systemd's watchdog restarts a daemon whose event loop stops (SIGSTOP);
# the network handed to the daemon goes through the container's own
# NetworkManager, systemd-hostnamed and polkitd with the package's rule.
#
# Needs root, systemd-container (systemd-nspawn), avahi-daemon (which the
# package recommends) and overlayfs. run-all.sh calls it after check-deb.sh
# on every run. Nothing on the host changes: the overlay lives in a tmpfs in
# a private mount namespace.
set -euo pipefail

deb=$(realpath "${1:?usage: check-units-live.sh PACKAGE.deb}")
here=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ] || ! command -v systemd-nspawn >/dev/null; then
	echo "check-units-live.sh: needs root and systemd-nspawn (package systemd-container)" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/nsp" "$work/root" "$work/ovl"
cp "$deb" "$work/nsp/smartconnectd.deb"
cp "$here/tests/data/dsmr/nl_dsmr50_iskra-mt382_dsmrparser.raw" "$work/nsp/telegram.raw"

# A Modbus read of 0x8016 (total power, EMpro map): prints the watts or the exception.
cat >"$work/nsp/mbread.py" <<'EOF'
import socket, struct
s = socket.create_connection(("127.0.0.1", 502), timeout=5)
s.sendall(struct.pack(">HHHBBHH", 1, 0, 6, 1, 4, 0x8016, 2))
r = s.recv(256)
print(f"exception 0x{r[8]:02X}" if r[7] & 0x80 else f"P={struct.unpack('>f', r[11:13] + r[9:11])[0]:g}")
EOF

cat >"$work/nsp/inside.sh" <<'EOF'
#!/bin/sh
# Runs as a service of the booted container; results go to /nsp/result.
exec >/nsp/result 2>&1
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; }
check() { what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
active() { for u in smartconnect.service smartconnect-modbus.socket smartconnect-http.socket; do
	[ "$(systemctl is-active "$u")" = "$1" ] || return 1; done; }
wait_log() { i=0; while [ $i -lt 100 ]; do
	journalctl -q -u smartconnect.service --no-pager | grep -q "$1" && return 0; sleep 0.1; i=$((i + 1)); done; return 1; }

# A Docker-style policy-rc.d would keep dpkg from starting anything. A user
# left by an earlier installation on the host would hide what the package does.
rm -f /usr/sbin/policy-rc.d
if getent passwd smartconnect >/dev/null; then userdel smartconnect; fi
if getent group smartconnect >/dev/null; then groupdel smartconnect; fi
dpkg -i /nsp/smartconnectd.deb >/nsp/dpkg.log 2>&1
check "dpkg -i" [ $? -eq 0 ]
sleep 2
check "installation started the service and both sockets" active active
pid=$(systemctl show -P MainPID smartconnect.service)
status=/proc/$pid/status
check "runs as smartconnect" [ "$(awk '/^Uid:/ { print $2 }' $status)" = "$(id -u smartconnect)" ]
check "has dialout" grep -Eq "^Groups:.*\b$(getent group dialout | cut -d: -f3)\b" $status
check "has no capability" grep -Eq '^CapEff:\s0+$' $status
check "has no capability to regain" grep -Eq '^CapBnd:\s0+$' $status
check "NoNewPrivs and a seccomp filter" sh -c "grep -Eq '^NoNewPrivs:\s1' $status && grep -Eq '^Seccomp:\s2' $status"
check "its own user namespace (PrivateUsers=)" [ "$(readlink /proc/1/ns/user)" != "$(readlink /proc/$pid/ns/user)" ]
check "Modbus through smartconnect-modbus.socket (no meter yet: 0x0B)" [ "$(python3 /nsp/mbread.py)" = "exception 0x0B" ]
# ---- HTTPS on port 443 through smartconnect-https.socket, the certificate made at installation
ca=/var/lib/smartconnect/https-certificate.pem
pw=$(cat /var/lib/smartconnect/http-password)
https_status() { curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert $ca -u "user:$pw" \
	--resolve smart-connect.local:443:127.0.0.1 https://smart-connect.local/api/v1/status; }
served_fp() { openssl s_client -connect 127.0.0.1:443 -servername smart-connect.local </dev/null 2>/dev/null |
	openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//'; }
check "smartconnect-https.socket is active" [ "$(systemctl is-active smartconnect-https.socket)" = active ]
check "HTTPS on 443 with the installed certificate as CA: status 200" [ "$(https_status)" = 200 ]
https_fp=$(smartconnectd --show-certificate | sed -n 's/^SHA-256 Fingerprint=//p')
check "the served certificate is the one --show-certificate names ($https_fp)" [ "$(served_fp)" = "$https_fp" ]
loc=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' -H 'Host: smart-connect.local' http://127.0.0.1/)
check "port 80 sends a browser to https://smart-connect.local/ ($loc)" [ "$loc" = "308 https://smart-connect.local/" ]
check "port 80 still serves the JSON API" \
	[ "$(curl -sS -o /dev/null -w '%{http_code}' -u "user:$pw" http://127.0.0.1/api/v1/status)" = 200 ]
# ---- end of HTTPS
# The same sandbox with another program: avahi-daemon, which the mDNS client
# reaches over the D-Bus system bus, must answer from inside it.
sed -e 's|^ExecStart=.*|ExecStart=busctl --system call org.freedesktop.Avahi / org.freedesktop.Avahi.Server GetVersionString|' \
	-e 's/^Type=notify/Type=oneshot/' -e '/^WatchdogSec=/d; /^Restart/d; /^ExecReload=/d; /^\[Install\]/,$d' \
	/lib/systemd/system/smartconnect.service >/run/systemd/system/smartconnect-probe.service
systemctl daemon-reload
check "avahi-daemon answers on the D-Bus system bus from inside the sandbox" systemctl start smartconnect-probe.service
journalctl -q -u smartconnect-probe.service --no-pager | tail -3
exposure=$(systemd-analyze security --no-pager smartconnect.service | sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "exposure $exposure"
check "exposure $exposure <= 2.0" awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }'

# A meter on a pty that looks like a USB adapter (root:dialout 0660); the
# documented drop-in allows the pts device group.
mkdir -p /etc/systemd/system/smartconnect.service.d
printf '[Service]\nDeviceAllow=char-pts rw\n' >/etc/systemd/system/smartconnect.service.d/pts.conf
smartconnect-replay --loop --interval 1 --link /run/p1 /nsp/telegram.raw 2>/dev/null &
i=0; while [ ! -L /run/p1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
chown root:dialout "$(readlink -f /run/p1)"
chmod 0660 "$(readlink -f /run/p1)"
printf '[Meter]\nDevice=/run/p1\n' >/etc/smartconnect.conf
systemctl daemon-reload
systemctl reload smartconnect.service
check "reload: the daemon reads the meter through dialout, in the sandbox" wait_log 'Receiving DSMR'
check "reload kept the same process" [ "$(systemctl show -P MainPID smartconnect.service)" = "$pid" ]
p=$(python3 /nsp/mbread.py)
check "Modbus answers the meter's power ($p)" [ "$p" = "P=244" ]

# A stopped event loop stops the watchdog pings: systemd must kill and restart
# the daemon. The drop-in only shortens the shipped WatchdogSec=30s and
# RestartSec=5s so that this takes seconds; the mechanism is the one shipped.
printf '[Service]\nWatchdogSec=3s\nRestartSec=1s\n' >/etc/systemd/system/smartconnect.service.d/watchdog.conf
systemctl daemon-reload
systemctl restart smartconnect.service
sleep 1
pid=$(systemctl show -P MainPID smartconnect.service)
check "watchdog: the daemon runs with WatchdogSec=3s (${pid})" [ "$(systemctl show -P WatchdogUSec smartconnect.service)" = 3s ]
check "watchdog: the daemon outlives 3 watchdog intervals while its loop runs" sh -c "sleep 9; [ \"\$(systemctl show -P MainPID smartconnect.service)\" = $pid ]"
kill -STOP "$pid"
i=0; while [ $i -lt 150 ] && [ "$(systemctl show -P MainPID smartconnect.service)" = "$pid" ]; do sleep 0.1; i=$((i + 1)); done
check "watchdog: a stopped loop is killed within 15 s" [ "$(systemctl show -P MainPID smartconnect.service)" != "$pid" ]
check "watchdog: systemd logged the watchdog timeout" sh -c "journalctl -q -u smartconnect.service --no-pager | grep -q 'Watchdog timeout'"
i=0; while [ $i -lt 100 ] && [ "$(systemctl is-active smartconnect.service)" != active ]; do sleep 0.1; i=$((i + 1)); done
npid=$(systemctl show -P MainPID smartconnect.service)
check "watchdog: restarted, active again as a new process ($npid)" sh -c "[ \"\$(systemctl is-active smartconnect.service)\" = active ] && [ $npid != 0 ] && [ $npid != $pid ]"
i=0; while [ $i -lt 50 ] && [ "$(python3 /nsp/mbread.py 2>&1)" != "P=244" ]; do sleep 0.2; i=$((i + 1)); done
p=$(python3 /nsp/mbread.py 2>&1)
check "watchdog: the restarted daemon serves the meter again ($p)" [ "$p" = "P=244" ]
[ "$p" = "P=244" ] || { journalctl -q -u smartconnect.service --no-pager | tail -25; ls -l /run/p1 "$(readlink -f /run/p1)"; pgrep -a smartconnect-rep; }
rm /etc/systemd/system/smartconnect.service.d/watchdog.conf
systemctl daemon-reload

# The network handed over ([Network] Manage=networkmanager): the daemon, as
# the user smartconnect inside its sandbox, writes its profile through the
# container's own NetworkManager and sets the static host name through
# systemd-hostnamed; both ask the real polkitd, which has only the package's
# rule to say yes. A veth pair made in the container's private network stands
# in for the Ethernet port. pkcheck asks polkitd the same for the daemon's
# process, for an action the rule does not grant, and for another user.
ip link add sc-eth0 type veth peer name sc-lan0
ip link set sc-lan0 up
systemctl start NetworkManager.service
check "NetworkManager runs in the container" [ "$(systemctl is-active NetworkManager.service)" = active ]
old_host=$(hostnamectl --static)
printf '[Meter]\nDevice=/run/p1\n\n[Network]\nManage=networkmanager\nEthernetInterface=sc-eth0\nEthernetIpMode=Static\nEthernetAddress=10.77.0.2\nEthernetNetmask=24\nHostname=sc-nspawn-check\n' >/etc/smartconnect.conf
systemctl reload smartconnect.service
pid=$(systemctl show -P MainPID smartconnect.service)
i=0; while [ $i -lt 100 ] && ! nmcli -g connection.id connection show smartconnect-ethernet >/dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done
check "NetworkManager holds smartconnect-ethernet, written by the daemon as smartconnect" \
	[ "$(nmcli -g ipv4.addresses connection show smartconnect-ethernet 2>/dev/null)" = 10.77.0.2/24 ]
i=0; while [ $i -lt 100 ] && [ "$(hostnamectl --static)" != sc-nspawn-check ]; do sleep 0.1; i=$((i + 1)); done
check "systemd-hostnamed set the static host name the daemon asked for" [ "$(hostnamectl --static)" = sc-nspawn-check ]
journalctl -q -u smartconnect.service --no-pager | grep -i 'networkmanager\|host name' | tail -5
check "polkitd: the daemon may modify system connections" \
	pkcheck --action-id org.freedesktop.NetworkManager.settings.modify.system --process "$pid"
check "polkitd: the daemon may set the static host name" \
	pkcheck --action-id org.freedesktop.hostname1.set-static-hostname --process "$pid"
check "polkitd: not what the rule does not name (enable-disable-network)" \
	sh -c "! pkcheck --action-id org.freedesktop.NetworkManager.enable-disable-network --process $pid"
setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 60 &
other=$!
sleep 0.2
check "polkitd: not another user (nobody) modifying system connections" \
	sh -c "! pkcheck --action-id org.freedesktop.NetworkManager.settings.modify.system --process $other"
kill $other
hostnamectl set-hostname --static "$old_host"

systemctl stop smartconnect.service
printf '[Meter]\nDevice=/dev/ttyUSB0\n' >/etc/smartconnect.conf
# HTTPS: the certificate as it is before the upgrade (the network part above
# may have renewed it for the host name it set).
https_fp=$(smartconnectd --show-certificate | sed -n 's/^SHA-256 Fingerprint=//p')

dpkg -i /nsp/smartconnectd.deb >>/nsp/dpkg.log 2>&1
check "upgrade (dpkg -i again)" [ $? -eq 0 ]
sleep 2
check "after the upgrade the service and both sockets are active" active active
check "Modbus answers after the upgrade" [ "$(python3 /nsp/mbread.py 2>&1)" = "exception 0x0B" ]
# ---- HTTPS after the upgrade: the same certificate, still served
check "after the upgrade smartconnect-https.socket is active" [ "$(systemctl is-active smartconnect-https.socket)" = active ]
check "after the upgrade the same certificate is served ($https_fp)" [ "$(served_fp)" = "$https_fp" ]
check "after the upgrade HTTPS answers with it as CA" [ "$(https_status)" = 200 ]
# ---- end of HTTPS

dpkg --purge smartconnectd >>/nsp/dpkg.log 2>&1
check "purge" [ $? -eq 0 ]
check "after the purge nothing is active" active inactive
check "after the purge smartconnect-https.socket is inactive" [ "$(systemctl is-active smartconnect-https.socket)" = inactive ]
check "port 502 is free again" sh -c '! python3 /nsp/mbread.py >/dev/null 2>&1'
check "/var/lib/smartconnect is gone" [ ! -e /var/lib/smartconnect ]
echo DONE
systemctl poweroff
EOF
chmod +x "$work/nsp/inside.sh"

cat >"$work/nsp/smartconnect-check.service" <<'EOF'
[Unit]
Description=smartconnectd package check
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/nsp/inside.sh
EOF

bash "$(dirname "$0")/nspawn-run.sh" "$work" check-units-live.sh 300
