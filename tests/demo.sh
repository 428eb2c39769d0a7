#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what is needed, build, and run smartconnectd on a simulated meter:
# smartconnect-replay loops over a public DSMR 5 telegram on a pty linked at
# /tmp/smartconnect-demo/p1, and the daemon reads it with tests/demo.conf.
# The README's demo command. From a fresh Debian 12 machine, as root:
#
#   bash tests/demo.sh [TELEGRAM-FILE]
#
# Stop with Ctrl-C. SKIP_INSTALL=1 skips the apt-get step.
set -euo pipefail

cd "$(dirname "$0")/.."
telegram=${1:-tests/data/dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw}
demo=/tmp/smartconnect-demo

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
        bash tests/install-deps.sh
fi
[ -d build-demo ] || meson setup build-demo
meson compile -C build-demo

mkdir -p "$demo/state"
build-demo/src/smartconnect-replay --loop --link "$demo/p1" "$telegram" &
replay=$!
trap 'kill "$replay" 2>/dev/null || true; wait "$replay" 2>/dev/null || true' EXIT

for _ in $(seq 100); do
        [ -L "$demo/p1" ] && break
        sleep 0.1
done

# The HTTP API has no built-in password: make one, as the package does.
if [ ! -s "$demo/state/http-password" ]; then
        (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$demo/state/http-password")
fi
password=$(head -n 1 "$demo/state/http-password")

cat >&2 <<EOF
demo: smartconnectd reads the simulated meter at $demo/p1; stop with Ctrl-C
demo: web page and API  http://127.0.0.1:8080/  user 'user', password '$password'
demo:                   curl -u 'user:$password' http://127.0.0.1:8080/api/v1/status
demo: Modbus TCP        127.0.0.1:1502 (mbpoll -a 1 -r 32775 -c 2 -t 4:float -1 127.0.0.1 -p 1502)
demo: raw telegrams     curl -sN telnet://127.0.0.1:1503
EOF
build-demo/src/smartconnectd --config tests/demo.conf --state-dir "$demo/state"
