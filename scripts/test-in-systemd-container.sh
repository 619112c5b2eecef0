#!/usr/bin/env bash
# Runs the integration tests on the other kind of machine: a booted Debian 12
# container with systemd as PID 1 and its own journald under it (CI's host has
# no service manager). The test binaries are the ones already built on this
# host (same Debian 12); the container gets their runtime libraries and the
# tools the tests call, and sees the source tree read-only and the build dir
# through a throw-away overlay, both at the same paths as here. The tests run
# as root in a transient service of the container's systemd. Needs root,
# debootstrap and systemd-container; the rootfs is cached (shared with the
# package test, packaging/nspawn-container.sh).
#
#   scripts/test-in-systemd-container.sh [CTEST_ARGUMENT...]   default: -L integration
#
# Environment: IOT_BUILD_DIR (default build), IOT_CONTAINER_TIMEOUT (seconds
# for the whole ctest run inside, default 1800), IOT_TEST_CACHE, DEBIAN_MIRROR.
# The ctest log and the container's journal come back to
# <build dir>/systemd-container/ (ctest.log; journal.txt: systemd's and journald's
# lines and every warning, from the container's journal).
set -uo pipefail
umask 022

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$(cd "${IOT_BUILD_DIR:-$root/build}" 2>/dev/null && pwd) || build_dir=${IOT_BUILD_DIR:-$root/build}
time_limit=${IOT_CONTAINER_TIMEOUT:-1800}
ctest_args=("$@")
[ ${#ctest_args[@]} -eq 0 ] && ctest_args=(-L integration)
out=$build_dir/systemd-container
started_at=$SECONDS
status=1
ctest_pid=

log() { printf '%s\n' "$*"; }
die() { log "test-in-systemd-container: FAIL: $*"; exit 1; }
# shellcheck source=packaging/nspawn-container.sh
. "$root/packaging/nspawn-container.sh"

cleanup() {
    local exit_status=$?
    # Interrupted: stop the run inside (timeout passes the signal on); the
    # container's shutdown below ends whatever is left of it.
    [ -n "$ctest_pid" ] && kill -TERM "$ctest_pid" 2>/dev/null
    if [ -n "$leader" ] && ! nspawn_gone; then
        # Bounded: the tests' own message entries would be hundreds of MB.
        # What systemd and journald said (restarts, rate limits, suppressed
        # messages) and every warning or error of anything else.
        {
            ct journalctl -q --no-pager -o short-monotonic -n 3000 \
                _PID=1 + SYSLOG_IDENTIFIER=systemd-journald + _SYSTEMD_UNIT=systemd-journald.service
            echo "---- warnings and errors ----"
            ct journalctl -q --no-pager -o short-monotonic -n 3000 -p warning
        } >"$out/journal.txt" 2>&1
    fi
    shutdown_container
    log "TIME: total $((SECONDS - started_at))s"
    [ "$exit_status" -eq 0 ] && [ "$status" -eq 0 ] && exit 0
    exit 1
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" -eq 0 ] || die "must run as root"
for tool in debootstrap systemd-nspawn nsenter ldd dpkg; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[ -f "$build_dir/CTestTestfile.cmake" ] || die "$build_dir is not a configured build dir (scripts/test.sh build)"
mapfile -t programs < <(find "$build_dir" -maxdepth 2 -type f -perm -u+x \
    \( -name iot-amqpd -o -name iot-amqpd-emulator -o -name integration-tests -o -name unit-tests \))
[ ${#programs[@]} -gt 0 ] || die "nothing built in $build_dir"

mapfile -t packages < <(runtime_packages "${programs[@]}"; printf '%s\n' "${container_base_packages[@]}")
prepare_rootfs "${packages[@]}"

rm -rf "$out"
mkdir -p "$out"
# The build dir through an overlay (ctest and the tests may write there; the
# host's copy stays as it was), the results directory writable, the source
# tree read-only. Same paths inside as here: the build dir's files name them.
boot_container iot-amqpd-systemd "$out/console.log" \
    --bind-ro="$root:$root" --overlay="$build_dir::$build_dir" --bind="$out:$out"

# The journald the tests use for now is the container's (systemd's) own: the
# same preparation as on a developer's machine. (Gone once the tests start
# journalds of their own.)
if [ -x "$root/scripts/start-test-journald.sh" ]; then
    ct "$root/scripts/start-test-journald.sh" >/dev/null || log "warning: start-test-journald.sh failed in the container"
fi
log "container: systemd $(ct systemctl --version | awk 'NR == 1 { print $2 }') as PID 1," \
    "journald PID $(ct systemctl show -P MainPID systemd-journald.service)," \
    "capabilities $(ct grep CapEff /proc/1/status | awk '{ print $2 }')"

# What the harness needs for a journald of its own: a private mount namespace
# with tmpfs over journald's directories, from a service of the container's
# systemd (nspawn grants CAP_SYS_ADMIN and allows mount/unshare by default).
private_mounts_ok() {
    ct_run unshare --mount --propagation private \
        sh -c 'mount -t tmpfs tmpfs /run/systemd/journal && mount -t tmpfs tmpfs /run/log && umount /run/log /run/systemd/journal'
}
if private_mounts_ok; then
    log "container: unshare --mount with tmpfs over /run/systemd/journal works as root"
else
    log "container: unshare --mount with tmpfs over /run/systemd/journal FAILS here"
fi

# ctest as root in a transient service of the container's systemd; bounded on
# both sides (RuntimeMaxSec= inside, timeout here in case the container hangs).
t0=$SECONDS
log "container: ctest ${ctest_args[*]} (at most ${time_limit}s)"
# In the background and waited for, so that INT/TERM reach the trap at once
# (bash runs a trap only after a foreground command has finished).
timeout --kill-after=30 $((time_limit + 60)) \
    nsenter -t "$leader" -a systemd-run --quiet --pipe --wait --collect --service-type=exec \
    -p RuntimeMaxSec="$time_limit" -p WorkingDirectory="$build_dir" \
    ctest --test-dir "$build_dir" --no-tests=error --output-on-failure --output-log "$out/ctest.log" "${ctest_args[@]}" \
    </dev/null > >(tee "$out/ctest-output.txt") 2>&1 &
ctest_pid=$!
wait "$ctest_pid"
status=$?
ctest_pid=
timing ctest "$t0"
log "test-in-systemd-container: ctest exit status $status; logs in $out/"
