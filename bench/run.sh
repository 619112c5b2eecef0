#!/bin/bash
# The iot-amqpd benchmark (DESIGN.md §11): builds the daemon, the emulator and
# the bench helpers in Release mode, makes sure a journald with its rate limit
# lifted is running (scripts/start-test-journald.sh), and runs bench/bench.py,
# which prints the results table (also saved under BUILD/bench-results/).
# Run on demand; not part of the test suite. Needs root.
#
#   sudo bench/run.sh                               # N = 100 000, 3 runs, 4-7 minutes
#   sudo BENCH_N=20000 BENCH_RUNS=1 bench/run.sh    # a quick look
#   sudo bench/run.sh --profile                     # instructions per message under callgrind
#
# By default everything runs in private mount, network and PID namespaces
# (unshare): a journald of its own on a private tmpfs, the emulator on a private
# loopback, with net.unix.max_dgram_qlen at 512 as systemd sets it on every
# host it boots. Nothing another process does to the system journald (tests
# that stop or restart it) disturbs the measurement, and the bench's millions of
# entries do not land in the system journal.
#
# Environment: BENCH_N, BENCH_RUNS, BENCH_SAMPLE_N (vendor sample, default N),
# BENCH_LATENCY_S (10), BENCH_FLOOD_COUNT (1000 × 64 KiB), BENCH_ONLY=case,case
# (see bench/bench.py), BENCH_BUILD_DIR (build-bench), BENCH_KEEP_WORK=1 (keep
# logs and configs), BENCH_DGRAM_QLEN (512; 10 is the kernel's default),
# BENCH_SHARED_JOURNALD=1 (use the system's journald instead, no namespaces).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${BENCH_BUILD_DIR:-build-bench}

if [ "${1:-}" = --in-namespaces ]; then
    shift
    # Private from here on: this mount namespace's /run and journald.conf.d.
    mount -t tmpfs -o size=3g,mode=0755 bench-journal /run/log/journal
    mount -t tmpfs -o mode=0755 bench-journal-sockets /run/systemd/journal
    mkdir -p /etc/systemd/journald.conf.d
    mount -t tmpfs -o mode=0755 bench-journald-conf /etc/systemd/journald.conf.d
    printf '[Journal]\nRuntimeMaxUse=1G\n' >/etc/systemd/journald.conf.d/50-iot-amqpd-bench.conf
    ip link set lo up
    sysctl -qw net.unix.max_dgram_qlen="${BENCH_DGRAM_QLEN:-512}"
    echo "== private journald with its rate limit lifted: pid $(sh scripts/start-test-journald.sh)" >&2
    export BENCH_JOURNALD=private
    status=0
    /usr/bin/python3 bench/bench.py "$build" "$@" || status=$?
    exit "$status"  # PID 1 of the namespace: its exit stops journald and the emulator
fi

[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: needs root (journald, namespaces)" >&2; exit 1; }
/usr/bin/python3 -c 'import proton' 2>/dev/null ||
    echo "bench/run.sh: /usr/bin/python3 has no qpid-proton: the vendor-sample rows stay empty (apt-get install python3-qpid-proton)" >&2

echo "== building $build (Release)" >&2
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIOT_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target iot-amqpd iot-amqpd-emulator journal-ceiling journal-audit >/dev/null

if [ -z "${BENCH_SHARED_JOURNALD:-}" ]; then
    if unshare --mount --net --pid --fork --mount-proc --propagation private true 2>/dev/null; then
        exec unshare --mount --net --pid --fork --mount-proc --propagation private "$0" --in-namespaces "$@"
    fi
    echo "bench/run.sh: cannot create namespaces here; using the system journald" >&2
fi
echo "== journald with its rate limit lifted: pid $(sh scripts/start-test-journald.sh)" >&2
export BENCH_JOURNALD=system
exec /usr/bin/python3 bench/bench.py "$build" "$@"
