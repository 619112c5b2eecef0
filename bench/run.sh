#!/bin/bash
# The iot-amqpd benchmark (DESIGN.md §11): builds the daemon, the emulator and
# the bench helpers in Release mode and runs bench/bench.py with a journald of
# its own (rate limit lifted), which prints the results table (also saved under
# BUILD/bench-results/). Run on demand; not part of the test suite. Needs root.
#
#   sudo bench/run.sh                               # N = 100 000, 3 runs, 4-7 minutes
#   sudo BENCH_N=20000 BENCH_RUNS=1 bench/run.sh    # a quick look
#   sudo bench/run.sh --profile                     # instructions per message under callgrind
#   sudo BENCH_ONLY=ceiling-sendv,rhea-alone,daemon-rhea bench/run.sh
#                                                   # the independent sender (rhea) alone, behind the
#                                                   # daemon, and the ceiling, side by side
#
# By default everything runs in private mount, network and PID namespaces
# (unshare): a journald of its own on a private tmpfs (started by
# tests/tools/with_private_journald.cpp, which creates what it mounts over inside
# its own tmpfs, so it also runs where journald never ran), the emulator on a
# private loopback, with net.unix.max_dgram_qlen at 512 as systemd sets it on
# every host it boots. Nothing another process does to the system journald
# disturbs the measurement, and the bench's millions of entries do not land in
# the system journal; the host's journald and its configuration are not touched.
#
# Environment: BENCH_N, BENCH_RUNS, BENCH_SAMPLE_N (vendor sample, default N),
# BENCH_LATENCY_S (10), BENCH_FLOOD_COUNT (1000 × 64 KiB), BENCH_ONLY=case,case
# (see bench/bench.py), BENCH_BUILD_DIR (build-bench), BENCH_KEEP_WORK=1 (keep
# logs and configs), BENCH_DGRAM_QLEN (512; 10 is the kernel's default),
# BENCH_SHARED_JOURNALD=1 (use the system's running journald as it is instead, no
# namespaces: its rate limit then applies), BENCH_SENDER_N (the independent
# sender's cases, default 2 x N). The independent sender needs node (nodejs, npm).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${BENCH_BUILD_DIR:-build-bench}

if [ "${1:-}" = --in-namespaces ]; then
    shift
    export BENCH_JOURNALD=private
    echo "== a private journald, its rate limit lifted, journal on a 3 GiB tmpfs" >&2
    # PID 1 of the namespace from here: its exit stops journald and the emulator.
    # with-private-journald makes the network namespace (loopback only) and
    # sets its datagram queue length before journald makes its socket.
    exec "$build/tests/with-private-journald" --journal-size=3g --journal-line=RuntimeMaxUse=1G \
        --dgram-qlen="${BENCH_DGRAM_QLEN:-512}" \
        -- /usr/bin/python3 bench/bench.py "$build" "$@"
fi

[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: needs root (journald, namespaces)" >&2; exit 1; }
/usr/bin/python3 -c 'import proton' 2>/dev/null ||
    echo "bench/run.sh: /usr/bin/python3 has no qpid-proton: the vendor-sample rows stay empty (apt-get install python3-qpid-proton)" >&2

# The independent sender (bench/sender, rhea from npm, pinned in package-lock.json): its
# node_modules are fetched here, before the namespaces cut the network off.
if command -v npm >/dev/null && [ ! -d bench/sender/node_modules/rhea ]; then
    echo "== npm ci in bench/sender (rhea)" >&2
    (cd bench/sender && npm ci --no-audit --no-fund >/dev/null) ||
        echo "bench/run.sh: npm ci failed in bench/sender: the independent-sender rows stay empty" >&2
fi
command -v node >/dev/null ||
    echo "bench/run.sh: no node: the independent-sender rows stay empty (apt-get install nodejs npm)" >&2

echo "== building $build (Release)" >&2
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DIOT_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target iot-amqpd iot-amqpd-emulator journal-ceiling journal-audit \
    with-private-journald >/dev/null

if [ -z "${BENCH_SHARED_JOURNALD:-}" ]; then
    if unshare --mount --net --pid --fork --mount-proc --propagation private true 2>/dev/null; then
        exec unshare --mount --net --pid --fork --mount-proc --propagation private "$0" --in-namespaces "$@"
    fi
    echo "bench/run.sh: cannot create namespaces here; BENCH_SHARED_JOURNALD=1 uses the system's journald" >&2
    exit 1
fi
echo "== the system's journald, as it is (BENCH_SHARED_JOURNALD=1)" >&2
export BENCH_JOURNALD=system
exec /usr/bin/python3 bench/bench.py "$build" "$@"
