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

echo "demo: smartconnectd reads the simulated meter at $demo/p1; stop with Ctrl-C" >&2
build-demo/src/smartconnectd --config tests/demo.conf --state-dir "$demo/state"
