#!/bin/sh
# Makes sure a systemd-journald with its rate limit lifted is running, for the
# integration tests and CI, and prints its PID on stdout.
#
# Idempotent: a journald that already runs with our drop-in in place is left
# alone. Without a lifted rate limit journald silently drops entries past
# 10 000 per 30 s, which the tests would report as lost messages.
#
# Needs root: it writes /etc/systemd/journald.conf.d/ and starts journald
# standalone when no service manager runs one (containers, CI sandboxes).
set -eu

journald_binary=/lib/systemd/systemd-journald
dropin_dir=/etc/systemd/journald.conf.d
dropin="$dropin_dir/90-iot-amqpd-tests.conf"
socket=/run/systemd/journal/socket

dropin_text='# Written by iot-amqpd scripts/start-test-journald.sh for the integration tests:
# every device message is one journal entry, so the rate limit must not drop any.
[Journal]
RateLimitIntervalSec=0
RateLimitBurst=0'

die() { echo "start-test-journald: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"
[ -x "$journald_binary" ] || die "$journald_binary not found (apt-get install systemd)"

# True while the process exists and is not a zombie: a journald we started
# detached is re-parented to PID 1, which in some sandboxes never reaps it.
alive() {
    state=$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null || true)
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# The PID of the running journald, found through /proc (its comm is truncated
# to 15 characters); empty when none runs.
journald_pid() {
    for comm_file in /proc/[0-9]*/comm; do
        if [ "$(cat "$comm_file" 2>/dev/null)" = "systemd-journal" ]; then
            candidate=${comm_file#/proc/}
            candidate=${candidate%/comm}
            if alive "$candidate"; then
                echo "$candidate"
                return 0
            fi
        fi
    done
    return 0
}

dropin_changed=no
if [ ! -f "$dropin" ] || [ "$(cat "$dropin")" != "$dropin_text" ]; then
    mkdir -p "$dropin_dir"
    printf '%s\n' "$dropin_text" > "$dropin.tmp"
    mv "$dropin.tmp" "$dropin"
    dropin_changed=yes
fi

managed_by_systemd=no
if [ "$(cat /proc/1/comm 2>/dev/null)" = "systemd" ]; then
    managed_by_systemd=yes
fi

pid=$(journald_pid)
if [ -n "$pid" ] && [ "$dropin_changed" = yes ]; then
    # A running journald read its configuration before our drop-in existed.
    if [ "$managed_by_systemd" = yes ]; then
        systemctl restart systemd-journald.service
    else
        kill -TERM "$pid"
        tries=0
        while alive "$pid" && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
        ! alive "$pid" || die "journald $pid did not stop for the restart"
    fi
    pid=$(journald_pid)
fi

if [ -z "$pid" ]; then
    if [ "$managed_by_systemd" = yes ]; then
        systemctl start systemd-journald.service
    else
        mkdir -p /run/systemd/journal
        # Detached into its own session so it outlives the caller (a test
        # process or a CI step) and no terminal signal reaches it.
        setsid "$journald_binary" </dev/null >/dev/null 2>&1 &
    fi
fi

# Ready when the process exists and its native socket is bound.
tries=0
while [ $tries -lt 100 ]; do
    pid=$(journald_pid)
    if [ -n "$pid" ] && [ -S "$socket" ]; then
        echo "$pid"
        exit 0
    fi
    sleep 0.1
    tries=$((tries + 1))
done
die "journald did not come up within 10 s (pid '${pid}', socket $socket)"
