#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install every Debian 12 package that building, testing, fuzzing, benchmarking
# and packaging smartconnectd need. Runs as root (or through sudo), never reads
# stdin. The one list of build and test packages: README, demo and CI use it.
set -euo pipefail

packages=(
        # build
        build-essential meson ninja-build pkgconf
        libsystemd-dev libjansson-dev systemd
        # the daemon's next subsystems (Modbus, MQTT, HTTP, mDNS, TLS)
        libmodbus-dev libmosquitto-dev libmicrohttpd-dev libavahi-client-dev libssl-dev
        # tests, sanitizers, fuzzing, benchmark
        python3 valgrind clang llvm libclang-rt-14-dev
        mbpoll python3-pymodbus python3-serial-asyncio
        socat # the RS-485 line of the Modbus RTU tests: a pty pair
        mosquitto mosquitto-clients openssl python3-paho-mqtt
        avahi-daemon avahi-utils dbus-daemon iproute2 util-linux
        # NetworkManager test: its own NetworkManager, udevd, bus (dbus-monitor, busctl) and DHCP
        # server inside namespaces; nmcli to read the profiles back
        network-manager dnsmasq-base udev dbus-bin systemd
        # HTTP API tests: curl as the client, openssl for a self-signed certificate
        curl openssl
        # GET /metrics: promtool check metrics
        prometheus
        # web page test: headless Chromium driven by selenium
        chromium chromium-driver python3-selenium
        # formatting, man page check, Debian package build
        clang-format groff-base debhelper
        lintian man-db systemd-container # tests/package/, tests/tools/test-man.py
        dpkg-dev polkitd # tests/package/check-update-live.sh: the local package source; polkit
        nodejs # tests/tools/test-polkit.js evaluates the shipped polkit rule
        polkitd # check-units-live.sh: the rule judged by the real polkitd (pkcheck) in the container
)

export DEBIAN_FRONTEND=noninteractive
sudo=()
if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null; then
                echo "install-deps.sh: run as root (or install sudo) to install: ${packages[*]}" >&2
                exit 1
        fi
        sudo=(sudo --non-interactive --preserve-env=DEBIAN_FRONTEND)
fi

# network-manager's postinst enables NetworkManager.service and, where systemd
# runs, starts it: it would take over this machine's interfaces, while the test
# only ever runs a NetworkManager of its own in namespaces. When it is new here,
# a policy-rc.d (unless one is already in place, as in container images) keeps
# it (and only it) from starting, and it is disabled afterwards. A NetworkManager that was
# already installed is this machine's own: left as it is.
nm_new=1
if dpkg-query -W -f='${Status}' network-manager 2>/dev/null | grep -q ' installed$'; then
        nm_new=0
fi
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ "$nm_new" = 1 ] && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# tests/install-deps.sh: NetworkManager not started while it installs\n%s\n' \
                'case "$1" in NetworkManager*) exit 101 ;; esac; exit 0' |
                "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
        own_policy=1
        trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi

"${sudo[@]}" apt-get update -qq </dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" </dev/null

if [ "$nm_new" = 1 ]; then
        "${sudo[@]}" systemctl disable --quiet NetworkManager.service NetworkManager-wait-online.service \
                NetworkManager-dispatcher.service 2>/dev/null || true
fi
if [ "$own_policy" = 1 ]; then
        "${sudo[@]}" rm -f "$policy"
        trap - EXIT
fi
