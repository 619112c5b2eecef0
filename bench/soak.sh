#!/bin/bash
# The soak, the documented run: one hour of the daemon under systemd-like
# supervision against the emulator, 4 groups x 2 connections, a steady
# stream, a burst and a fault from the matrix every minute, sampled every
# 10 s (tests/soak/soak_test.cpp says what it does and what it checks).
# Prints the "[ soak ]" table and saves it under BUILD/bench-results/. Run on
# demand; CI runs the same test for 2 minutes (scripts/test.sh soak). Needs
# root: the test runs its own journald in private namespaces, as every
# integration test does, and leaves the host's alone.
#
#   sudo bench/soak.sh                       # 1 hour
#   sudo SOAK_SECONDS=600 bench/soak.sh      # 10 minutes
#
# Environment: SOAK_SECONDS (3600), SOAK_FAULT_PERIOD (60), SOAK_SAMPLE_PERIOD
# (10), SOAK_WARMUP (300), SOAK_RATE (50 messages/s per group), SOAK_BURST
# (2000), SOAK_DEDUP_WINDOW (10000, the daemon's default), BENCH_BUILD_DIR
# (build-bench).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${BENCH_BUILD_DIR:-build-bench}
[ "$(id -u)" -eq 0 ] || { echo "bench/soak.sh: needs root (a private journald, namespaces)" >&2; exit 1; }

export SOAK_SECONDS=${SOAK_SECONDS:-3600} SOAK_FAULT_PERIOD=${SOAK_FAULT_PERIOD:-60}
export SOAK_SAMPLE_PERIOD=${SOAK_SAMPLE_PERIOD:-10} SOAK_WARMUP=${SOAK_WARMUP:-300}
export SOAK_RATE=${SOAK_RATE:-50} SOAK_BURST=${SOAK_BURST:-2000} SOAK_DEDUP_WINDOW=${SOAK_DEDUP_WINDOW:-10000}

echo "== building $build (Release)" >&2
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIOT_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target soak-tests iot-amqpd iot-amqpd-emulator >/dev/null

mkdir -p "$build/bench-results"
out="$build/bench-results/soak-$(date +%Y%m%d-%H%M%S).txt"
echo "== soak: ${SOAK_SECONDS}s, a fault every ${SOAK_FAULT_PERIOD}s, ${SOAK_RATE} msg/s per group; table in $out" >&2
set +e
"$build/tests/soak-tests" 2>&1 | tee "$out.log" | grep --line-buffered -E '\[ soak \]|Failure|FAILED|Expected|Which is' |
    tee "$out"
status=${PIPESTATUS[0]}
exit "$status"
