#!/usr/bin/env bash
# Shared by packaging/test-systemd-package.sh, packaging/test-multi-host.sh and
# scripts/test-in-systemd-container.sh (sourced, not run): a cached Debian 12
# rootfs and booted systemd-nspawn containers over it, with systemd as PID 1, a
# private network (loopback only, or one network namespace the caller made and
# passes as --network-namespace-path=) and a throw-away overlay, so nothing a
# test does inside reaches the cache.
#
# The caller defines log MESSAGE and die MESSAGE (which must exit), and calls
#   prepare_rootfs PACKAGE...          debootstrap once, add missing packages later
#   boot_container NAME CONSOLE_LOG [NSPAWN_OPTION...]
#   ct COMMAND... / ct_run [SYSTEMD_RUN_OPTION...] COMMAND...
#   shutdown_container                 always, e.g. from an EXIT trap
# One container is the current one (nspawn_pid, leader), which ct and
# shutdown_container act on. A caller with several boots each in turn, then
#   use_container NAME                 makes NAME current again
#   shutdown_containers                shuts down every container booted here
#
# Environment:
#   IOT_TEST_CACHE   rootfs cache (default /var/cache/iot-amqpd-test): the only
#                    thing on the host these scripts leave behind
#   DEBIAN_MIRROR    for debootstrap (default http://deb.debian.org/debian)
#
# How it drives the container: systemd-nspawn boots it in the background;
# commands run inside through `nsenter -t <container PID 1> -a`, and
# long-running ones as transient units with systemd-run, so the container's
# systemd owns every process and can shut down cleanly.

cache=${IOT_TEST_CACHE:-/var/cache/iot-amqpd-test}
rootfs=$cache/rootfs
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
nspawn_pid=
leader=
# Every container booted here, in the order booted, and by name its
# systemd-nspawn and its PID 1.
container_names=()
declare -A container_nspawn_pid=() container_leader_pid=() container_cgroups=()

# What both containers need besides the binaries' own libraries: systemd as
# PID 1 and the tools an operator uses (man-db for `systemd-analyze verify` to
# check Documentation=); for the tests run inside, ctest (cmake), openssl for
# the test certificates, Python with proton for the vendor-sample fidelity
# test, and what the harness calls (unshare, mount: util-linux, mount). One set
# for both users, so the first run's debootstrap builds the whole cache.
# rabbitmq-server for the tests' private broker nodes (its system node and
# epmd's units are disabled in the rootfs: see prepare_rootfs),
# prometheus-node-exporter for the test that runs a node_exporter of its own
# (the system one is disabled likewise), and autopkgtest, which runs the
# package's debian/tests inside the package stage's container.
# systemd-journal-remote for the multi-host test's uploaders and collector
# (its package enables none of its units, so no container starts them unasked).
# shellcheck disable=SC2034  # used by the scripts that source this file
container_base_packages=(systemd systemd-sysv dbus procps man-db util-linux mount cmake openssl python3
                         python3-qpid-proton rabbitmq-server prometheus-node-exporter autopkgtest
                         systemd-journal-remote)

timing() { log "TIME: $1 $((SECONDS - $2))s"; }

wait_until() {  # wait_until SECONDS COMMAND...: poll until COMMAND succeeds
    local deadline=$((SECONDS + $1))
    shift
    while :; do
        "$@" && return 0
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.5
    done
}

# ---- running things inside the container ----------------------------------
# Pipelines never use `grep -q`: under pipefail, a grep that stops reading
# early fails the pipeline through the writer's SIGPIPE.
ct() { nsenter -t "$leader" -a "$@"; }
# A transient service inside the container, waited for; its exit status and
# output come back. For anything that should belong to the container's systemd.
ct_run() { ct systemd-run --quiet --pipe --wait --collect --service-type=exec "$@"; }

# ---- packages ---------------------------------------------------------------
# The packages that ship these shared libraries (as ldd prints them), asked in
# one dpkg -S (each call reads the whole file database): by the path and its
# merged-/usr twin, since dpkg knows each file under only one of the two.
library_owners() {
    local lib paths=()
    for lib in "$@"; do paths+=("$lib" "/usr$lib" "${lib#/usr}"); done
    dpkg -S "${paths[@]}" 2>/dev/null | grep -v '^diversion' | cut -d: -f1 | sed 's/, /\n/g'
}
# The owners of every library these programs load.
runtime_packages() {
    local program
    for program in "$@"; do
        ldd "$program" | awk '$3 ~ /^\// { print $3 }'
    done | sort -u | { mapfile -t libs; library_owners "${libs[@]}"; }
}

# debootstrap takes only real packages: a virtual one (libspdlog1.10-fmt9 is
# provided by libspdlog1.10) becomes the package that provides it here.
real_package() {
    local provider
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; then
        echo "$1"
        return
    fi
    provider=$(dpkg-query -W -f='${Package}\t${db:Status-Status}\t${Provides}\n' |
        awk -F'\t' -v want="$1" '$2 == "installed" && !found {
            n = split($3, provided, /, */)
            for (i = 1; i <= n; i++) { sub(/ .*/, "", provided[i]); if (provided[i] == want) found = $1 }
        }
        END { print found }')
    echo "${provider:-$1}"
}

# ---- the cached rootfs ------------------------------------------------------
# Name resolution inside, the same on every host: the container has no network
# but loopback and no DNS, and the tests' servers listen on 127.0.0.1, so
# `localhost` must resolve from /etc/hosts to 127.0.0.1 and to nothing else,
# for every user (the daemon runs as its own user: the file must be 0644 even
# when the caller's umask is stricter).
hosts_text=$'127.0.0.1\tlocalhost\n::1\tip6-localhost ip6-loopback'
fix_name_resolution() {  # fix_name_resolution ROOT
    local root=$1
    if [ "$(cat "$root/etc/hosts" 2>/dev/null)" != "$hosts_text" ] ||
        [ "$(stat -c %a "$root/etc/hosts")" != 644 ]; then
        rm -f "$root/etc/hosts"  # a symlink would point outside the rootfs
        printf '%s\n' "$hosts_text" >"$root/etc/hosts"
        chmod 0644 "$root/etc/hosts"
    fi
    if ! grep -E '^hosts:[[:space:]]+files' "$root/etc/nsswitch.conf" >/dev/null 2>&1; then
        printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' >"$root/etc/nsswitch.conf"
        chmod 0644 "$root/etc/nsswitch.conf"
    fi
}

prepare_rootfs() {  # prepare_rootfs PACKAGE...
    local t0=$SECONDS packages missing
    mapfile -t packages < <(printf '%s\n' "$@" | grep -v '^$' | sort -u)
    # Building or extending the cache takes the lock exclusively; a booted
    # container holds it shared, since its overlay reads the rootfs live.
    mkdir -p "$cache"
    exec 9>"$cache/lock"
    flock -w 900 9 || die "another run holds $cache/lock"
    if [ ! -x "$rootfs/usr/lib/systemd/systemd" ]; then
        log "rootfs: debootstrap bookworm into $rootfs (first run only) with ${packages[*]}"
        rm -rf "$rootfs.new"
        if ! debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
            bookworm "$rootfs.new" "$mirror" >"$cache/debootstrap.log" 2>&1; then
            tail -n 20 "$cache/debootstrap.log"
            die "debootstrap failed (log: $cache/debootstrap.log)"
        fi
        mv "$rootfs.new" "$rootfs"
    fi
    fix_name_resolution "$rootfs"
    # A package not in the cache yet (a new dependency, or one only the other
    # container user needs): install just that, online.
    mapfile -t missing < <(for p in "${packages[@]}"; do
        chroot "$rootfs" dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -x installed >/dev/null || echo "$p"
    done)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "rootfs: installing ${missing[*]}"
        SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -q --register=no --keep-unit -D "$rootfs" \
            sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" && apt-get clean' \
            sh "${missing[@]}" </dev/null >"$cache/apt.log" 2>&1 || { tail -n 20 "$cache/apt.log"; die "apt-get in the rootfs failed"; }
        fix_name_resolution "$rootfs"
    fi
    # Installed without a running systemd, a package's units are only
    # enabled; disabled, the container does not boot a system RabbitMQ node
    # (the tests start private ones) or epmd.
    if [ -e "$rootfs/lib/systemd/system/rabbitmq-server.service" ]; then
        systemctl --root="$rootfs" disable --quiet rabbitmq-server.service epmd.socket epmd.service 2>/dev/null || true
    fi
    # Its only unit: the timers live in prometheus-node-exporter-collectors, a
    # Recommends that neither debootstrap nor --no-install-recommends brings.
    if [ -e "$rootfs/lib/systemd/system/prometheus-node-exporter.service" ]; then
        systemctl --root="$rootfs" disable --quiet prometheus-node-exporter.service 2>/dev/null || true
    fi
    flock -s 9
    timing rootfs "$t0"
}

# ---- the container's life ---------------------------------------------------
container_leader() {  # the container's PID 1, seen from here
    local child
    for child in $(ps -o pid= --ppid "$nspawn_pid" 2>/dev/null); do
        if grep -qE '^NSpid:[[:space:]]+[0-9]+[[:space:]]+1$' "/proc/$child/status" 2>/dev/null; then
            leader=$child
            return 0
        fi
    done
    return 1
}

system_up() {
    local state
    state=$(ct systemctl is-system-running 2>/dev/null)
    [ "$state" = running ] || [ "$state" = degraded ]
}

# systemd-nspawn --keep-unit makes the container's cgroups (payload,
# supervisor) under its own: two containers started from one cgroup would share
# them, and each one's systemd would manage (and on shutdown kill) the other's
# processes. So each systemd-nspawn starts in a cgroup of its own, below the
# caller's, in each hierarchy systemd uses (cgroup2, and name=systemd on a
# hybrid host).
caller_cgroups() {  # the caller's cgroup directories, one a line
    local mount path
    mount=$(findmnt -n -o TARGET -t cgroup2 | head -n 1)
    path=$(sed -n 's/^0:://p' /proc/self/cgroup)
    [ -n "$mount" ] && [ -n "$path" ] && echo "$mount${path%/}"
    mount=$(findmnt -n -o TARGET,OPTIONS -t cgroup | awk '$2 ~ /(^|,)name=systemd(,|$)/ { print $1; exit }')
    path=$(sed -n 's/^[0-9]*:name=systemd://p' /proc/self/cgroup)
    [ -n "$mount" ] && [ -n "$path" ] && echo "$mount${path%/}"
    return 0
}
remove_cgroups() {  # remove_cgroups DIR...: empty ones, innermost first
    local dir
    for dir in "$@"; do
        [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    return 0
}

boot_container() {  # boot_container NAME CONSOLE_LOG [NSPAWN_OPTION...]
    local t0=$SECONDS name=$1 console=$2 network=--private-network option cgroups=() dir
    shift 2
    # systemd-nspawn refuses --private-network beside a namespace of the caller's.
    for option in "$@"; do
        case $option in --network-namespace-path=*) network= ;; esac
    done
    mapfile -t cgroups < <(caller_cgroups | sed "s|\$|/iot-test-$name|")
    (
        for dir in "${cgroups[@]}"; do
            mkdir -p "$dir" && echo "$BASHPID" >"$dir/cgroup.procs" ||
                log "could not start $name in cgroup $dir: it shares its caller's"
        done
        SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec systemd-nspawn -b --register=no --keep-unit ${network:+"$network"} \
            --volatile=overlay -D "$rootfs" -M "$name" "$@" </dev/null >"$console" 2>&1
    ) &
    nspawn_pid=$!
    container_cgroups[$name]="${cgroups[*]}"
    leader=
    container_names+=("$name")
    container_nspawn_pid[$name]=$nspawn_pid
    wait_until 30 container_leader || { tail -n 20 "$console"; die "container $name did not start"; }
    container_leader_pid[$name]=$leader
    wait_until 60 system_up || { ct systemctl --failed; die "container $name's systemd did not finish booting"; }
    timing boot "$t0"
}

use_container() {  # use_container NAME: ct and shutdown_container act on NAME from now on
    [ -n "${container_nspawn_pid[$1]:-}" ] || die "no container $1 was booted"
    nspawn_pid=${container_nspawn_pid[$1]}
    leader=${container_leader_pid[$1]:-}
}

nspawn_gone() { ! kill -0 "$nspawn_pid" 2>/dev/null; }
# Asks politely first; a container whose PID 1 is killed takes its whole PID
# namespace with it, and then systemd-nspawn exits too.
shutdown_container() {
    [ -n "$nspawn_pid" ] || return 0
    local pid=$nspawn_pid
    if ! nspawn_gone; then
        [ -n "$leader" ] && ct systemctl poweroff >/dev/null 2>&1
        if ! wait_until 20 nspawn_gone; then
            log "container did not power off in 20 s: SIGTERM to systemd-nspawn"
            kill -TERM "$nspawn_pid" 2>/dev/null
        fi
        if ! wait_until 10 nspawn_gone; then
            log "container still up: SIGKILL to its PID 1"
            [ -n "$leader" ] && kill -KILL "$leader" 2>/dev/null
            wait_until 10 nspawn_gone || kill -KILL "$nspawn_pid" 2>/dev/null
        fi
    fi
    wait "$nspawn_pid" 2>/dev/null
    nspawn_pid=
    local name
    for name in "${!container_nspawn_pid[@]}"; do
        if [ "${container_nspawn_pid[$name]}" = "$pid" ]; then
            # shellcheck disable=SC2086  # a list of paths without spaces
            remove_cgroups ${container_cgroups[$name]}
        fi
    done
}

shutdown_containers() {  # every container booted here, in the reverse order of booting
    local i
    for ((i = ${#container_names[@]} - 1; i >= 0; i--)); do
        use_container "${container_names[i]}"
        shutdown_container
    done
    container_names=()
    container_nspawn_pid=()
    container_leader_pid=()
    container_cgroups=()
    leader=
}

# Run rather than sourced: `packaging/nspawn-container.sh prepare PACKAGE...`
# builds (or extends) the cached rootfs, e.g. in the background while
# something else compiles (scripts/test.sh does).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    umask 022
    log() { printf '%s\n' "$*"; }
    die() { log "nspawn-container: $*"; exit 1; }
    [ "${1:-}" = prepare ] || { echo "usage: $0 prepare PACKAGE..." >&2; exit 2; }
    [ "$(id -u)" -eq 0 ] || die "must run as root"
    shift
    prepare_rootfs "$@"
fi
