#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what is needed, build, and run every test: the README's test command,
# and what CI runs (.ci/run). From a fresh Debian 12 machine, as root:
#
#   bash tests/run-all.sh
#
# Steps: packages; build with warnings as errors and run all test suites; the
# same under AddressSanitizer + UndefinedBehaviorSanitizer; libFuzzer on each
# target (tests/fuzz/run-ci.sh); the decode benchmark; the Debian package,
# installed on this machine and purged again, then booted under systemd in
# systemd-nspawn (tests/package/check-units-live.sh), with the package updates
# from the API (tests/package/check-update-live.sh); the C formatting against .clang-format.
# Build directories: build-ci, build-ci-asan (and whatever run-ci.sh uses).
# SKIP_INSTALL=1 skips the apt-get step on a machine that has the packages.
set -euo pipefail

cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# Make sanitizer findings fatal and readable (meson's defaults, spelled out).
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_summary=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_summary=1:print_stacktrace=1}"

start=$SECONDS
step() {
        printf '\n==== [%dm%02ds] %s\n' $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)) "$*"
}

step "packages"
if [ "${SKIP_INSTALL:-0}" = 1 ]; then
        echo "SKIP_INSTALL=1: not installing packages"
else
        bash tests/install-deps.sh
fi

step "build (gcc, -Dwerror=true)"
rm -rf build-ci
meson setup build-ci -Dwerror=true
meson compile -C build-ci

step "tests (all suites)"
meson test -C build-ci --print-errorlogs

step "build (gcc, -Db_sanitize=address,undefined -Dwerror=true)"
rm -rf build-ci-asan
meson setup build-ci-asan -Db_sanitize=address,undefined -Dwerror=true
meson compile -C build-ci-asan

step "tests under ASan and UBSan (all suites)"
meson test -C build-ci-asan --print-errorlogs

# ---- FUZZING: clang + libFuzzer, FUZZ_SECONDS per target (20 here: 14
# ---- targets; run-ci.sh alone defaults to 60). The commands belong to the
# ---- fuzzing harnesses and live in tests/fuzz/run-ci.sh.
step "fuzzing (tests/fuzz/run-ci.sh)"
if [ -f tests/fuzz/run-ci.sh ]; then
        FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash tests/fuzz/run-ci.sh
else
        echo "tests/fuzz/run-ci.sh does not exist: no fuzzing step"
fi

# The quick benchmarks; 'fleet' (50 daemons for 5 minutes) and 'daemon'
# (callgrind and strace over the whole daemon, 100,000 telegrams) take longer
# than a CI run should and are run by hand: meson test --benchmark fleet daemon.
step "benchmark (figures, not a gate)"
meson test -C build-ci --benchmark --verbose decode history modbus modbus-mqtt mqtt passthrough latency modbus-rtu

step "Debian package: build, lintian, unit exposure, install, use, purge (tests/package/check-deb.sh)"
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
DEB_OUT=$debs bash tests/package/check-deb.sh

step "the package under a real systemd in systemd-nspawn: sandbox, sockets, reload, watchdog, upgrade, purge"
bash tests/package/check-units-live.sh "$debs"/smartconnectd_*.deb

step "package updates from the API under systemd, D-Bus and polkit in systemd-nspawn (tests/package/check-update-live.sh)"
bash tests/package/check-update-live.sh "$debs"/smartconnectd_*.deb

step "formatting (clang-format --dry-run --Werror, .clang-format)"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        mapfile -t sources < <(git ls-files -co --exclude-standard '*.c' '*.h')
else
        mapfile -t sources < <(find src include tests -name '*.[ch]')
fi
clang-format --dry-run --Werror "${sources[@]}"
echo "${#sources[@]} files formatted as .clang-format says"

step "all done"
