#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Package updates from the API under a real systemd, D-Bus and polkit: boot
# this machine's own root file system, behind a throw-away overlay, in
# systemd-nspawn with a private network; install the .deb there with a local
# package source (a file: repository made here, nothing leaves the machine)
# and check, through curl on the daemon's HTTP API:
#   - the polkit rule: the smartconnect user may start the two update units,
#     and may not stop, restart or start anything else;
#   - GET /api/v1/firmware: the installed version and the candidate, after a
#     check the daemon started itself and after POST {"action":"check"};
#   - POST /api/v1/firmware: the unprivileged daemon starts
#     smartconnect-update.service over D-Bus; the newer build (the same
#     package with its version bumped by dpkg-deb, in the daemon's version
#     string too) gets installed, the daemon is restarted by the upgrade, and
#     the restarted daemon runs the new version and shows "done" and the new
#     installed version, also after its own check at start;
#   - a broken package source: "failed" with apt's reason;
#   - a helper killed half way: "failed", interrupted, with the unit's result.
#
#   bash tests/package/check-update-live.sh smartconnectd_*.deb
#
# Needs root, systemd-container, polkitd, dpkg-dev (dpkg-scanpackages) and
# curl. run-all.sh calls it after check-units-live.sh. Nothing on the host
# changes: the overlay lives in a tmpfs in a private mount namespace.
set -euo pipefail

deb=$(realpath "${1:?usage: check-update-live.sh PACKAGE.deb}")
if [ "$(id -u)" -ne 0 ] || ! command -v systemd-nspawn >/dev/null || ! command -v dpkg-scanpackages >/dev/null; then
	echo "check-update-live.sh: needs root, systemd-nspawn (systemd-container) and dpkg-scanpackages (dpkg-dev)" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/nsp" "$work/root" "$work/ovl" "$work/nsp/new"
cp "$deb" "$work/nsp/smartconnectd.deb"

# The newer build: the same files with the version bumped, in the control
# file and in the daemon itself (its version string, the same length: the
# last digit plus one), so that the daemon restarted by the upgrade says it
# runs the new version.
old=$(dpkg-deb -f "$deb" Version)
new=$(python3 -c 'import sys; v = sys.argv[1]; print(v[:-1] + str(int(v[-1]) + 1))' "$old")
case $old in *[0-8]) ;; *) echo "check-update-live.sh: version $old does not end in 0-8" >&2; exit 1 ;; esac
dpkg-deb -R "$deb" "$work/x"
sed -i "s/^Version: .*/Version: $new/" "$work/x/DEBIAN/control"
python3 - "$work/x/usr/sbin/smartconnectd" "$old" "$new" <<'PY'
import sys
path, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
data = open(path, "rb").read()
n = data.count(old)
if not n or len(old) != len(new):
    sys.exit("no version string %r in %s" % (old, path))
open(path, "wb").write(data.replace(old, new))
print("bumped %d version string(s) in the daemon" % n)
PY
(cd "$work/x" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | xargs -0 md5sum >DEBIAN/md5sums)
dpkg-deb -b -Zxz "$work/x" "$work/nsp/new/smartconnectd_${new}_$(dpkg-deb -f "$deb" Architecture).deb" >/dev/null
echo "old $old, new $new"

cat >"$work/nsp/inside.sh" <<'EOF'
#!/bin/bash
# Runs as a service of the booted container; results go to /nsp/result.
exec >/nsp/result 2>&1
old=$1 new=$2
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; }
check() { what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
as_user() { setpriv --reuid=smartconnect --regid=smartconnect --init-groups "$@"; }
api() { curl -sS --max-time 20 -u "user:$(cat /var/lib/smartconnect/http-password)" "$@"; }
fw() { api http://127.0.0.1/api/v1/firmware; }
field() { fw | python3 -c 'import json, sys; v = json.load(sys.stdin).get(sys.argv[1]); print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1" 2>/dev/null; }
# wait_for FIELD VALUE [SECONDS]: until GET shows it.
wait_for() { i=0; while [ $i -lt $((${3:-120} * 2)) ]; do [ "$(field "$1")" = "$2" ] && return 0; sleep 0.5; i=$((i + 1)); done
	echo "  GET: $(fw)"; return 1; }
post() { api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "$1" \
	http://127.0.0.1/api/v1/firmware; }
unit_idle() { i=0; while [ $i -lt 240 ]; do
	case "$(systemctl show -P ActiveState "$1")" in activating | active | deactivating) ;; *) return 0 ;; esac
	sleep 0.5; i=$((i + 1)); done; return 1; }
repo() { (cd /srv/repo && dpkg-scanpackages -m . /dev/null >Packages 2>/dev/null); chmod -R a+rX /srv/repo; }

# The container's package sources: only the local repository.
rm -f /usr/sbin/policy-rc.d /etc/apt/sources.list
rm -rf /etc/apt/sources.list.d && mkdir /etc/apt/sources.list.d
echo "deb [trusted=yes] file:/srv/repo ./" >/etc/apt/sources.list.d/local.list
mkdir -p /srv/repo && cp /nsp/smartconnectd.deb "/srv/repo/smartconnectd_${old}.deb" && repo
apt-get -q update >/nsp/apt.log 2>&1
if getent passwd smartconnect >/dev/null; then userdel smartconnect; fi
if getent group smartconnect >/dev/null; then groupdel smartconnect; fi
dpkg -i /nsp/smartconnectd.deb >/nsp/dpkg.log 2>&1
check "dpkg -i $old" [ $? -eq 0 ]
i=0; while [ $i -lt 100 ] && ! fw >/dev/null 2>&1; do sleep 0.2; i=$((i + 1)); done
pid=$(systemctl show -P MainPID smartconnect.service)
check "the daemon runs as smartconnect, without capabilities" sh -c \
	"[ \"\$(awk '/^Uid:/ { print \$2 }' /proc/$pid/status)\" = $(id -u smartconnect) ] && grep -Eq '^CapEff:\s0+$' /proc/$pid/status"
check "the shipped configuration turns updates on" [ "$(field updates_enabled)" = true ]

# The daemon's own check at start (no check before): the candidate is known.
check "GET: version $old, the running daemon's" [ "$(field version)" = "$old" ]
check "the check at start: candidate $old" wait_for candidate "$old" 60
check "the check unit ran, started by the daemon" sh -c \
	"journalctl -q -u smartconnect.service --no-pager | grep -q 'Update: smartconnect-update-check.service started'"
unit_idle smartconnect-update-check.service
check "GET: installed $old" [ "$(field installed)" = "$old" ]
check "GET: nothing newer" [ "$(field update_available)" = false ]
check "GET: state idle" [ "$(field state)" = idle ]

# polkit: the two units for the smartconnect user, nothing else.
check "polkit: smartconnect starts smartconnect-update-check.service" \
	as_user systemctl --no-ask-password start smartconnect-update-check.service
for cmd in "stop smartconnect.service" "restart smartconnect-update-check.service" \
	"stop smartconnect-update-check.service" "start systemd-tmpfiles-clean.service" \
	"start smartconnect.service" "kill smartconnect.service" "enable smartconnect-update.service" \
	"reset-failed smartconnect-update.service"; do
	check "polkit: smartconnect may not $cmd" sh -c \
		"! setpriv --reuid=smartconnect --regid=smartconnect --init-groups systemctl --no-ask-password $cmd 2>/dev/null"
done
check "polkit: nobody may not start smartconnect-update.service" sh -c \
	"! setpriv --reuid=nobody --regid=nogroup --clear-groups systemctl --no-ask-password start smartconnect-update.service 2>/dev/null"
check "the daemon still runs the same process" [ "$(systemctl show -P MainPID smartconnect.service)" = "$pid" ]
unit_idle smartconnect-update-check.service

# A newer build in the source: a check through the API finds it.
cp /nsp/new/*.deb /srv/repo/ && repo
check "POST {\"action\":\"check\"}: 202" [ "$(post '{"action":"check"}')" = 202 ]
check "GET: candidate $new" wait_for candidate "$new" 60
check "GET: update_available" wait_for update_available true 10
unit_idle smartconnect-update-check.service
check "GET after the check: idle again" [ "$(field state)" = idle ]

# The update itself.
check "POST {}: 202" [ "$(post '{}')" = 202 ]
check "POST again while it runs: 409" [ "$(post '{}')" = 409 ]
check "GET: done" wait_for state done 180
check "GET: installed $new" [ "$(field installed)" = "$new" ]
check "GET: the restarted daemon runs $new" [ "$(field version)" = "$new" ]
check "smartconnectd --version: $new" [ "$(smartconnectd --version)" = "smartconnectd $new" ]
check "GET: nothing newer any more" [ "$(field update_available)" = false ]
check "dpkg: $new installed" [ "$(dpkg-query -W -f='${Version}' smartconnectd)" = "$new" ]
npid=$(systemctl show -P MainPID smartconnect.service)
check "the upgrade restarted the daemon ($pid -> $npid), which runs" sh -c \
	"[ $npid != 0 ] && [ $npid != $pid ] && [ \"\$(systemctl is-active smartconnect.service)\" = active ]"
check "smartconnect-update.service succeeded" [ "$(systemctl show -P Result smartconnect-update.service)" = success ]
# The restarted daemon saw another version than the last check: it checked
# again, its check waited for the update's lock and kept the outcome.
unit_idle smartconnect-update-check.service
check "the restarted daemon's own check ran after the update" sh -c \
	"journalctl -q -u smartconnect-update-check.service --no-pager | grep -q 'installed $new, candidate $new'"
check "GET after that check: still done, $new" sh -c "[ \"\$(curl -sS -u user:\$(cat /var/lib/smartconnect/http-password) http://127.0.0.1/api/v1/firmware | python3 -c 'import json, sys; j = json.load(sys.stdin); print(j[\"state\"], j[\"installed\"])')\" = 'done $new' ]"
check "the update unit outlived the daemon's restart (its log goes on after it)" sh -c \
	"journalctl -q -u smartconnect-update.service --no-pager | grep -q 'smartconnectd $new installed'"
journalctl -q -u smartconnect-update.service --no-pager | tail -3 | sed 's/^/  /'

# A broken package source: failed, with apt's reason.
echo "deb [trusted=yes] file:/srv/missing ./" >>/etc/apt/sources.list.d/local.list
check "POST {} with a broken source: 202" [ "$(post '{}')" = 202 ]
check "GET: failed" wait_for state failed 120
reason=$(field reason)
echo "  reason: $reason"
check "the reason names apt-get update and the source" sh -c "echo '$reason' | grep -q 'apt-get update: .*/srv/missing'"
check "the unit failed too" [ "$(systemctl show -P Result smartconnect-update.service)" = exit-code ]
check "installed is still $new" [ "$(field installed)" = "$new" ]
sed -i '/missing/d' /etc/apt/sources.list.d/local.list

# The helper killed half way (its apt-get waits for the dpkg lock held here):
# the file still says checking, the unit failed: failed, interrupted.
exec 8>/var/lib/dpkg/lock-frontend
flock 8
mkdir -p /run/systemd/system/smartconnect-update.service.d
printf '[Service]\nExecStartPre=/bin/sh -c "exec 7>/var/lib/dpkg/lock-frontend; flock 7"\n' \
	>/run/systemd/system/smartconnect-update.service.d/wait.conf
systemctl daemon-reload
check "POST {} (the helper will be killed): 202" [ "$(post '{}')" = 202 ]
i=0; while [ $i -lt 60 ] && [ "$(systemctl show -P ActiveState smartconnect-update.service)" != activating ]; do sleep 0.5; i=$((i + 1)); done
printf 'state=installing\ninstalled=%s\ncandidate=%s\ntime=%s\n' "$new" "$new" "$(date +%s)" >/var/lib/smartconnect/update-state
check "GET while it runs: installing" wait_for state installing 10
systemctl kill -s KILL smartconnect-update.service
check "GET after the kill: failed" wait_for state failed 30
reason=$(field reason)
echo "  reason: $reason"
check "the reason: interrupted, the unit's result" sh -c "echo '$reason' | grep -q 'interrupted: smartconnect-update.service ended with result signal'"
exec 8>&-
rm -r /run/systemd/system/smartconnect-update.service.d
systemctl daemon-reload

exposure=$(systemd-analyze security --no-pager smartconnect.service | sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p')
check "smartconnect.service exposure $exposure <= 2.0" awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }'
echo DONE
systemctl poweroff
EOF
chmod +x "$work/nsp/inside.sh"

cat >"$work/nsp/smartconnect-check.service" <<EOF
[Unit]
Description=smartconnectd package update check
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/nsp/inside.sh $old $new
EOF

bash "$(dirname "$0")/nspawn-run.sh" "$work" check-update-live.sh 600
