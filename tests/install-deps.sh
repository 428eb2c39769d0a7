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
        mosquitto mosquitto-clients openssl python3-paho-mqtt
        avahi-daemon avahi-utils dbus-daemon iproute2 util-linux
        # HTTP API tests: curl as the client, openssl for a self-signed certificate
        curl openssl
        # GET /metrics: promtool check metrics
        prometheus
        # web page test: headless Chromium driven by selenium
        chromium chromium-driver python3-selenium
        # formatting, man page check, Debian package build
        clang-format groff-base debhelper
        lintian man-db systemd-container # tests/package/, tests/tools/test-man.py
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

"${sudo[@]}" apt-get update -qq </dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" </dev/null
