#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The fuzzing step of tests/run-all.sh: build the libFuzzer harnesses with
# clang, ASan and UBSan, and fuzz every target for FUZZ_SECONDS (default 60),
# FUZZ_JOBS targets at a time (default: one per CPU).
#
#   tests/fuzz/run-ci.sh                    # FUZZ_SECONDS=300 for a longer run
#
# New inputs go to a scratch corpus inside the build directory, never into
# tests/fuzz/corpus/. A crash leaves its reproducer under
# $FUZZ_BUILD_DIR/fuzz-artifacts/<target>/ and fails the script once every
# target has run; minimise it with -minimize_crash=1 and commit it to
# tests/fuzz/corpus/<target>/ together with the fix.
set -euo pipefail

cd "$(dirname "$0")/../.."

build=${FUZZ_BUILD_DIR:-build-ci-fuzz}
seconds=${FUZZ_SECONDS:-60}
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_summary=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_summary=1:print_stacktrace=1}"

# The library objects need the coverage instrumentation too, hence the global
# c_args; -Db_lundef=false because the sanitizer runtimes resolve at link time.
rm -rf "$build"
CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link

targets=(dsmr tic telegram mbap rtu modbus-framing passthrough config-patch update-state mqtt-header
        history-file history-query capacity-file)
if [ -f tests/fuzz/fuzz-config.c ] && [ -d tests/fuzz/corpus/config ]; then
        targets+=(config)
fi
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz-}"

# libFuzzer takes one dictionary; the all-protocol target gets both.
cat tests/fuzz/dsmr.dict tests/fuzz/tic.dict >"$build/telegram.dict"

fuzz_args() {
        case $1 in
        telegram | passthrough) args=(-dict="$build/telegram.dict" -max_len=20000) ;;
        config) args=(-dict=tests/fuzz/config.dict) ;;
        config-patch) args=(-dict=tests/fuzz/config-patch.dict -max_len=70000) ;;
        update-state) args=(-dict=tests/fuzz/update-state.dict -max_len=4096) ;;
        mbap | rtu | modbus-framing | mqtt-header | history-file) args=(-max_len=4096) ;;
        capacity-file) args=(-max_len=512) ;;
        history-query) args=(-max_len=256) ;;
        *) args=(-dict="tests/fuzz/$1.dict" -max_len=20000) ;;
        esac
}

# One target in the background; its verdict lands in $build/fuzz-$t.rc.
fuzz_start() {
        local t=$1
        fuzz_args "$t"
        mkdir -p "$build/fuzz-corpus/$t" "$build/fuzz-artifacts/$t"
        echo "fuzz-$t: ${seconds}s, log in $build/fuzz-$t.log"
        (
                rc=0
                "$build/tests/fuzz/fuzz-$t" "${args[@]}" -max_total_time="$seconds" -timeout=10 \
                        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t/" \
                        "$build/fuzz-corpus/$t" "tests/fuzz/corpus/$t" >"$build/fuzz-$t.log" 2>&1 || rc=$?
                echo "$rc" >"$build/fuzz-$t.rc"
        ) &
}

fuzz_report() {
        local t=$1 log="$build/fuzz-$1.log"
        if [ "$(cat "$build/fuzz-$t.rc")" = 0 ]; then
                grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log" | sed "s/^/  $t: /"
        else
                echo "fuzz-$t FAILED:"
                grep -m 1 -A 30 -E 'invariant broken|runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)' \
                        "$log" | sed 's/^/  /' || tail -n 30 "$log"
                ls "$build/fuzz-artifacts/$t" | sed 's/^/  artifact: /'
                failed+=("$t")
        fi
}

# FUZZ_JOBS targets at a time (default: the number of CPUs), each one process.
jobs=${FUZZ_JOBS:-$(nproc)}
failed=()
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
        batch=("${targets[@]:i:jobs}")
        for t in "${batch[@]}"; do
                fuzz_start "$t"
        done
        wait
        for t in "${batch[@]}"; do
                fuzz_report "$t"
        done
done

if [ ${#failed[@]} -gt 0 ]; then
        echo "fuzzing found problems in: ${failed[*]}"
        exit 1
fi
echo "fuzzing: ${targets[*]} clean for ${seconds}s each"
