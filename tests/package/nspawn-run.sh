#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boots this machine's root file system behind a throw-away overlay (a tmpfs
# in a private mount namespace) in systemd-nspawn with a private network,
# runs $WORK/nsp/smartconnect-check.service there (it writes $WORK/nsp/result
# and ends with "DONE"), and judges the result: every "FAIL" line or a
# missing DONE fails. Shared by check-units-live.sh and check-update-live.sh.
#
#   bash tests/package/nspawn-run.sh WORK NAME TIMEOUT_SECONDS
set -euo pipefail

work=${1:?usage: nspawn-run.sh WORK NAME TIMEOUT}
name=${2:?}
limit=${3:?}
mkdir -p "$work/root" "$work/ovl"

cat >"$work/boot.sh" <<'INNER'
#!/bin/sh
set -e
work=$1
mount --make-rprivate /
mount -t tmpfs -o size=2G tmpfs "$work/ovl"
mkdir "$work/ovl/upper" "$work/ovl/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/ovl/upper,workdir=$work/ovl/work" "$work/root"
cp "$work/nsp/smartconnect-check.service" "$work/root/etc/systemd/system/"
mkdir -p "$work/root/nsp"
exec timeout "$2" systemd-nspawn -q -D "$work/root" --private-network --register=no --keep-unit \
	--link-journal=no --bind="$work/nsp:/nsp" --boot systemd.wants=smartconnect-check.service
INNER
chmod +x "$work/boot.sh"

unshare -m "$work/boot.sh" "$work" "$limit" >"$work/console.log" 2>&1 || true
if [ ! -f "$work/nsp/result" ]; then
	tail -30 "$work/console.log" >&2
	echo "$name: the container did not run the checks" >&2
	exit 1
fi
cat "$work/nsp/result"
if grep -q '^FAIL' "$work/nsp/result" || ! grep -qx DONE "$work/nsp/result"; then
	[ -f "$work/nsp/dpkg.log" ] && sed 's/^/  dpkg: /' "$work/nsp/dpkg.log" >&2
	echo "$name: failed" >&2
	exit 1
fi
echo "$name: all checks passed"
