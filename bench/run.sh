#!/bin/bash
# The iot-amqpd benchmark (DESIGN.md §11): builds the daemon, the emulator and
# the bench helpers in Release mode, makes sure a journald with its rate limit
# lifted is running, and runs bench/bench.py, which prints the results table
# (also saved under BUILD/bench-results/). Run on demand; not part of the tests.
#
#   sudo bench/run.sh                      # N = 100 000, 3 runs, ~10 minutes
#   sudo BENCH_N=20000 BENCH_RUNS=1 bench/run.sh   # a quick look
#   sudo bench/run.sh --profile            # instructions per message under callgrind
#
# Environment: BENCH_N, BENCH_RUNS, BENCH_SAMPLE_N (vendor sample, default
# min(N, 20000)), BENCH_LATENCY_S (10), BENCH_FLOOD_COUNT (1000 × 64 KiB),
# BENCH_ONLY=case,case (see bench/bench.py), BENCH_BUILD_DIR (build-bench),
# BENCH_KEEP_WORK=1 (keep the logs and configs). Needs root (journald).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${BENCH_BUILD_DIR:-build-bench}

[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: needs root (it starts journald and writes to the system journal)" >&2; exit 1; }
/usr/bin/python3 -c 'import proton' 2>/dev/null ||
    echo "bench/run.sh: /usr/bin/python3 has no qpid-proton: the vendor-sample rows stay empty (apt-get install python3-qpid-proton)" >&2

echo "== building $build (Release)" >&2
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIOT_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target iot-amqpd iot-amqpd-emulator journal-ceiling journal-audit >/dev/null

echo "== journald with its rate limit lifted: pid $(sh scripts/start-test-journald.sh)" >&2
exec /usr/bin/python3 bench/bench.py "$build" "$@"
