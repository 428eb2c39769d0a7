#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the Debian package, check it, install it on this machine, use it, and
# purge it again. Needs root (dpkg -i) and the packages of tests/install-deps.sh.
# Works without systemd as PID 1 (a CI container): the maintainer scripts then
# only enable the units, and this script checks what they set up.
#
#   bash tests/package/check-deb.sh
#
# The package is built with DEB_BUILD_OPTIONS=nocheck: run-all.sh has run the
# test suites already. KEEP=1 keeps the build directory; DEB_OUT=DIR copies the
# built package there (run-all.sh hands it to check-units-live.sh).
set -euo pipefail

cd "$(dirname "$0")/../.."
src=$PWD
max_exposure=2.0
state=/var/lib/smartconnect
failures=0

ok() { echo "ok: $*"; }
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

if [ "$(id -u)" -ne 0 ]; then
	echo "check-deb.sh: needs root to install the package" >&2
	exit 1
fi
if dpkg-query -W -f='${Status}' smartconnectd 2>/dev/null | grep -q 'installed'; then
	echo "check-deb.sh: smartconnectd is installed already; purge it first" >&2
	exit 1
fi

work=$(mktemp -d)
cleanup() {
	# Never leave the package behind, whatever failed.
	if dpkg-query -W smartconnectd >/dev/null 2>&1; then
		dpkg --purge smartconnectd >/dev/null 2>&1 || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The installed daemon, as the service user, on a replayed meter whose pty is
# root:dialout 0660 like a USB serial adapter; sets daemon_status.
run_daemon_as_service_user() {
	local link="$work/p1" replay pid i
	/usr/bin/smartconnect-replay --loop --interval 0.2 --link "$link" \
		"$src/tests/data/dsmr/nl_dsmr50_iskra-mt382_dsmrparser.raw" 2>"$work/replay.log" &
	replay=$!
	for i in $(seq 50); do [ -L "$link" ] && break; sleep 0.1; done
	chown root:dialout "$(readlink -f "$link")"
	chmod 0660 "$(readlink -f "$link")"
	chmod 0755 "$work"
	printf '[Meter]\nDevice=%s\n[Modbus]\nListen=127.0.0.1:0\n[HTTP]\nListen=127.0.0.1:0\n' "$link" >"$work/smoke.conf"
	chmod 0644 "$work/smoke.conf"
	# A daemon that ignores SIGTERM is killed after 30 s and reported (status 124 or 137).
	timeout -k 5 30 setpriv --reuid=smartconnect --regid=smartconnect --init-groups \
		/usr/sbin/smartconnectd --config "$work/smoke.conf" --state-dir "$state" >"$work/daemon.log" 2>&1 &
	pid=$!
	for i in $(seq 100); do grep -q 'Receiving DSMR' "$work/daemon.log" && break; sleep 0.1; done
	kill -TERM "$pid" 2>/dev/null || true
	daemon_status=0
	wait "$pid" || daemon_status=$?
	kill -TERM "$replay" 2>/dev/null || true
	wait "$replay" || true
}

echo "== build"
mkdir "$work/src"
tar --exclude='./build*' --exclude=./.git -cf - . | tar -xf - -C "$work/src"
(cd "$work/src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 ||
	{
		tail -40 "$work/build.log" >&2
		echo "FAIL: dpkg-buildpackage" >&2
		exit 1
	}
changes=$(ls "$work"/smartconnectd_*.changes)
deb=$(ls "$work"/smartconnectd_*.deb)
ok "built $(basename "$deb")"
if [ -n "${DEB_OUT:-}" ]; then cp "$deb" "$DEB_OUT/"; fi
dpkg-deb --contents "$deb" | awk '{ print "  " $NF }'

echo "== lintian"
# --fail-on error,warning makes the exit status the gate; the grep is the same
# rule spelled out, for lintian versions that lack the option.
lintian_out=$(lintian --fail-on error,warning --display-info "$changes" 2>&1) && lintian_rc=0 || lintian_rc=$?
echo "${lintian_out:-(nothing)}" | sed 's/^/  /'
if [ "$lintian_rc" -eq 0 ] && ! grep -q '^[EW]: ' <<<"$lintian_out"; then
	ok "lintian: no error, no warning"
else
	fail "lintian reports errors or warnings (exit $lintian_rc)"
fi

echo "== systemd-analyze security"
unit="$work/src/systemd/smartconnect.service"
exposure=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1 |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "  exposure $exposure (limit $max_exposure)"
check "smartconnect.service exposure ${exposure:-?} <= $max_exposure" \
	awk -v e="${exposure:-99}" -v m="$max_exposure" 'BEGIN { exit !(e + 0 <= m + 0) }'

echo "== install"
dpkg -i "$deb" 2>&1 | sed 's/^/  /'
check "dpkg says installed" sh -c "dpkg-query -W -f='\${Status}' smartconnectd | grep -qx 'install ok installed'"

echo "== installed programs"
version=$(/usr/sbin/smartconnectd --version)
check "/usr/sbin/smartconnectd --version: $version" test "$version" = "smartconnectd $(dpkg-parsechangelog -l "$src/debian/changelog" -S Version | sed 's/-[^-]*$//')"
telegram="$src/tests/data/dsmr/nl_dsmr50_iskra-mt382_dsmrparser.raw"
json=$(/usr/bin/smartconnect-decode "$telegram")
check "/usr/bin/smartconnect-decode reads a DSMR 5 telegram" \
	python3 -c 'import json, sys; o = json.loads(sys.argv[1]); sys.exit(not (o["meter"]["protocol"] and "P" in o))' "$json"
check "/usr/sbin/smartconnectd --test-config accepts the shipped file" \
	sh -c '/usr/sbin/smartconnectd --test-config >/dev/null'
for f in /lib/systemd/system/smartconnect.service /lib/systemd/system/smartconnect-modbus.socket \
	/lib/systemd/system/smartconnect-http.socket /usr/lib/sysusers.d/smartconnect.conf \
	/usr/share/man/man8/smartconnectd.8.gz /usr/share/man/man5/smartconnect.conf.5.gz \
	/usr/share/man/man1/smartconnect-decode.1.gz /usr/share/man/man1/smartconnect-replay.1.gz \
	/usr/bin/smartconnect-replay /usr/share/doc/smartconnectd/README.Debian /usr/lib/modules-load.d/smartconnect.conf \
	/usr/share/polkit-1/rules.d/smartconnectd.rules /lib/systemd/system/smartconnect-update.service \
	/lib/systemd/system/smartconnect-update-check.service; do
	check "installed $f" test -f "$f"
done
check "systemd-analyze verify accepts the installed units" \
	systemd-analyze verify --man=no /lib/systemd/system/smartconnect.service \
	/lib/systemd/system/smartconnect-modbus.socket /lib/systemd/system/smartconnect-http.socket \
	/lib/systemd/system/smartconnect-update.service /lib/systemd/system/smartconnect-update-check.service
check "the update helper is installed, executable" test -x /usr/libexec/smartconnectd/smartconnect-update
for u in smartconnect-update.service smartconnect-update-check.service; do
	# "static": no [Install] section, nothing enables them; only the daemon starts them.
	check "$u is static" test "$(systemctl is-enabled "$u" 2>/dev/null)" = static
done

echo "== user, password, conffile"
check "system user smartconnect exists" getent passwd smartconnect
check "smartconnect has no login shell" sh -c 'getent passwd smartconnect | grep -q ":/usr/sbin/nologin$"'
check "smartconnect is in dialout" sh -c 'id -nG smartconnect | tr " " "\n" | grep -qx dialout'
check "$state is smartconnect:smartconnect 0750" test "$(stat -c '%U:%G %a' "$state")" = "smartconnect:smartconnect 750"
check "$state/http-password is root:smartconnect 0640" \
	test "$(stat -c '%U:%G %a' "$state/http-password")" = "root:smartconnect 640"
password=$(cat "$state/http-password")
check "the password is 24 URL-safe characters" grep -Eqx '[A-Za-z0-9_-]{24}' <<<"$password"
check "$state/wifi-ap-psk is root:smartconnect 0640" \
	test "$(stat -c '%U:%G %a' "$state/wifi-ap-psk")" = "root:smartconnect 640"
ap_key=$(cat "$state/wifi-ap-psk")
check "$state/device.key is smartconnect:smartconnect 0600" \
	test "$(stat -c '%U:%G %a' "$state/device.key")" = "smartconnect:smartconnect 600"
device_key=$(sha256sum <"$state/device.key")
check "smartconnectd --csr verifies with openssl" \
	sh -c "smartconnectd --csr | openssl req -verify -noout"
check "the access point key is 16 letters and digits" grep -Eqx '[a-km-np-z2-9]{16}' <<<"$ap_key"
check "/etc/smartconnect.conf is a conffile" sh -c 'dpkg-query -W -f="\${Conffiles}" smartconnectd | grep -q " /etc/smartconnect.conf "'
check "/etc/smartconnect.conf is the shipped file" cmp -s /etc/smartconnect.conf "$src/etc/smartconnect.conf"
check "the password is not in the conffile" sh -c "! grep -qF -- '$password' /etc/smartconnect.conf"

echo "== the installed daemon as the service user"
# What the unit relies on, without systemd: the user reads its password file
# (others do not), opens a root:dialout 0660 tty through its group, and the
# daemon runs, reads the meter and stops cleanly.
check "smartconnect reads the password file" \
	sh -c "setpriv --reuid=smartconnect --regid=smartconnect --init-groups cat '$state/http-password' >/dev/null"
check "nobody cannot read the password file" \
	sh -c "! setpriv --reuid=nobody --regid=nogroup --clear-groups cat '$state/http-password' 2>/dev/null"
check "smartconnect reads the access point key, nobody cannot" \
	sh -c "setpriv --reuid=smartconnect --regid=smartconnect --init-groups cat '$state/wifi-ap-psk' >/dev/null &&
		! setpriv --reuid=nobody --regid=nogroup --clear-groups cat '$state/wifi-ap-psk' 2>/dev/null"
run_daemon_as_service_user
check "the daemon as smartconnect received a telegram from a dialout tty" grep -q 'Receiving DSMR' "$work/daemon.log"
check "the daemon as smartconnect served Modbus" grep -q 'Modbus TCP server on port' "$work/daemon.log"
check "the daemon as smartconnect stopped with status 0 on SIGTERM" test "$daemon_status" = 0
sed 's/^/  /' "$work/daemon.log"

# ---- HTTPS: the certificate made at installation, served by the daemon -----
echo "== HTTPS certificate"
https_cert="$state/https-certificate.pem"
check "installed smartconnect-https.socket (port 443, named https)" \
	sh -c 'grep -qx "ListenStream=443" /lib/systemd/system/smartconnect-https.socket &&
		grep -qx "FileDescriptorName=https" /lib/systemd/system/smartconnect-https.socket'
check "systemd-analyze verify accepts smartconnect-https.socket" \
	systemd-analyze verify --man=no /lib/systemd/system/smartconnect-https.socket
check "$state/https-key.pem is smartconnect:smartconnect 0600" \
	test "$(stat -c '%U:%G %a' "$state/https-key.pem")" = "smartconnect:smartconnect 600"
check "$https_cert is smartconnect's" test "$(stat -c '%U' "$https_cert")" = smartconnect
https_fp=$(/usr/sbin/smartconnectd --show-certificate | sed -n 's/^SHA-256 Fingerprint=//p')
check "--show-certificate prints the fingerprint openssl computes ($https_fp)" \
	test "$https_fp" = "$(openssl x509 -in "$https_cert" -noout -fingerprint -sha256 | sed 's/.*=//')"
check "the certificate names smart-connect.local and this host" \
	sh -c "openssl x509 -in '$https_cert' -noout -checkhost smart-connect.local | grep -q 'does match' &&
		openssl x509 -in '$https_cert' -noout -checkhost '$(hostname)' | grep -q 'does match'"
# The installed daemon as the service user serves HTTPS with it.
printf '[Meter]\nDevice=%s/none\n[Modbus]\nListen=127.0.0.1:0\n[HTTP]\nListen=127.0.0.1:0\nListenTLS=127.0.0.1:0\n' \
	"$work" >"$work/https.conf"
chmod 0644 "$work/https.conf"
timeout -k 5 30 setpriv --reuid=smartconnect --regid=smartconnect --init-groups \
	/usr/sbin/smartconnectd --config "$work/https.conf" --state-dir "$state" >"$work/https.log" 2>&1 &
https_pid=$!
for i in $(seq 100); do grep -q 'port [0-9]*, https' "$work/https.log" && break; sleep 0.1; done
https_port=$(sed -n 's/.*HTTP API on port \([0-9]*\), https$/\1/p' "$work/https.log")
check "the daemon as smartconnect serves HTTPS with the installed certificate (curl --cacert)" \
	sh -c "curl -sS -o /dev/null -w '%{http_code}' --cacert '$https_cert' -u 'user:$password' \
		--resolve 'smart-connect.local:$https_port:127.0.0.1' 'https://smart-connect.local:$https_port/api/v1/status' |
		grep -qx 200"
kill -TERM "$https_pid" 2>/dev/null || true
wait "$https_pid" || true
# ---- end of HTTPS -------------------------------------------------------------

echo "== reinstall keeps the password and the access point key"
dpkg -i "$deb" >/dev/null 2>&1
check "same password after a reinstall" test "$(cat "$state/http-password")" = "$password"
check "same access point key after a reinstall" test "$(cat "$state/wifi-ap-psk")" = "$ap_key"
check "same device key after a reinstall" test "$(sha256sum <"$state/device.key")" = "$device_key"
check "same HTTPS certificate after a reinstall (fingerprint)" \
	test "$(/usr/sbin/smartconnectd --show-certificate | sed -n 's/^SHA-256 Fingerprint=//p')" = "$https_fp"

echo "== purge"
dpkg --purge smartconnectd 2>&1 | sed 's/^/  /'
check "package gone" sh -c '! dpkg-query -W smartconnectd >/dev/null 2>&1'
check "$state gone" test ! -e "$state"
check "/etc/smartconnect.conf gone" test ! -e /etc/smartconnect.conf
check "no unit enablement or alias left" sh -c '! ls /etc/systemd/system/smartconnect* /etc/systemd/system/*/smartconnect* >/dev/null 2>&1'

if [ "$failures" -ne 0 ]; then
	echo "check-deb.sh: $failures check(s) failed" >&2
	exit 1
fi
echo "check-deb.sh: all checks passed"
