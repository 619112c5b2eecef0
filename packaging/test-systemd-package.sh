#!/bin/bash
# Package test under a real systemd: boots a Debian 12 container, installs the
# .deb and checks what an operator would see: files and permissions, the unit's
# verification and sandbox score, the journal catalog, start, status line,
# messages in the journal with their IOT_* fields, reload (good and bad),
# watchdog restart, metrics served by Debian's node_exporter, stop and purge;
# then, in the same container, the package's autopkgtests (debian/tests) with
# autopkgtest's null runner against both .debs. Needs root, debootstrap and
# systemd-container; the rootfs is cached. The emulator comes from the
# iot-amqpd-emulator .deb beside the daemon's.
#
#   packaging/test-systemd-package.sh [path/to/iot-amqpd_*.deb]
#
# Environment:
#   IOT_TEST_CACHE, DEBIAN_MIRROR: see packaging/nspawn-container.sh, which
#   builds the cached rootfs and boots the container (private network, only
#   loopback; a throw-away overlay; the emulator runs as a transient unit).
set -uo pipefail
umask 022

root=$(cd "$(dirname "$0")/.." && pwd)
deb=${1:-}
if [ -z "$deb" ]; then
    deb=$(ls -t "$root"/dist/iot-amqpd_*_amd64.deb 2>/dev/null | head -n 1)
fi
# The emulator's package, built from the same source: same directory, version and arch.
emulator_deb=$(dirname "$deb")/$(basename "$deb" | sed 's/^iot-amqpd_/iot-amqpd-emulator_/')
make_certs=$root/tests/support/make-test-certs.sh

# The unit's watchdog and restart delay, which bound the watchdog check.
watchdog_sec=30
restart_sec=5

started_at=$SECONDS
stage=

# shellcheck source=packaging/package-test-common.sh
. "$root/packaging/package-test-common.sh"
# shellcheck source=packaging/nspawn-container.sh
. "$root/packaging/nspawn-container.sh"

# Packages the .debs need, resolved on this host: their Depends (first
# alternative, no versions), and what debian/tests/control lists besides the
# two packages (the container has no network to fetch them).
required_packages() {
    deb_dependencies "$deb" "$emulator_deb"
    sed -n 's/^Depends://p' "$root/debian/tests/control" | tr ',' '\n' | sed 's/[[:space:]]//g' |
        grep -v -e '^$' -e '^iot-amqpd'
    printf '%s\n' "${container_base_packages[@]}"
}

# On failure, what the daemon and systemd said about it (not the message
# entries), and the emulator's last lines, before the container goes away.
dump_journal() {
    log "---- container journal: iot-amqpd's own lines and systemd's about it ----"
    ct journalctl -q --no-pager -n 60 -o short-monotonic \
        _SYSTEMD_UNIT=iot-amqpd.service SYSLOG_IDENTIFIER=iot-amqpd + _PID=1 UNIT=iot-amqpd.service
    log "---- container journal: emulator ----"
    ct journalctl -q --no-pager -n 20 -o short-monotonic -u iot-emulator.service
}

cleanup() {
    local status=$?
    if [ "$failed" -gt 0 ] && [ -n "$leader" ] && ! nspawn_gone; then dump_journal 2>&1 | cut -c1-400; fi
    shutdown_container
    [ -n "$stage" ] && rm -rf "$stage" "$stage.console.log"
    log "TIME: total $((SECONDS - started_at))s"
    log "package-test: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$status" -eq 0 ] && exit 0
    exit 1
}

# ---- helpers on the daemon and the emulator ---------------------------------
access_key_id=LTAI5tPackageTest7788
access_key_secret=package-test-secret-not-real
instance_id=iot-pkgtest
group_id_a=CG_PKG_A
group_id_b=CG_PKG_B
test_ca=/usr/local/share/iot-amqpd-test/ca.pem

write_config() {  # write_config GROUPS_YAML: rewrites the config in place (mode kept)
    ct sh -c 'cat > /etc/iot-amqpd/iot-amqpd.yaml' <<EOF
defaults:
  endpoint: amqps://localhost:$emulator_port
  access_key_id: $access_key_id
  access_key_secret_file: /etc/iot-amqpd/access-key-secret
  iot_instance_id: $instance_id
  tls: { ca_file: $test_ca, verify_hostname: true }
  reconnect: { initial_delay: 200ms, max_delay: 2s }
metrics: { textfile: /run/iot-amqpd/metrics.prom, interval: 1s }
consumer_groups:
$1
EOF
}
group_a="  - { name: group-a, consumer_group_id: $group_id_a }"
group_b="  - { name: group-b, consumer_group_id: $group_id_b }"

emu() { ct /srv/iot-test/iot-amqpd-emulator ctl --control /run/iot-emulator/ctl.sock "$@"; }
publish() {  # publish GROUP_ID COUNT PREFIX
    emu publish "group=$1" "count=$2" kind=mixed "id_prefix=$3" >/dev/null
}
emu_stat() {  # emu_stat GROUP_ID KEY: one counter from the emulator's stats
    emu stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["groups"][sys.argv[1]][sys.argv[2]])' "$1" "$2"
}

message_ids() {  # message_ids GROUP PREFIX: every IOT_MESSAGE_ID written for them, one per entry
    ct journalctl -q --no-pager -o export -u iot-amqpd.service "IOT_CONSUMER_GROUP=$1" |
        grep -a "^IOT_MESSAGE_ID=$2" | cut -d= -f2-
}
count_ids() { message_ids "$1" "$2" | wc -l; }
distinct_ids() { message_ids "$1" "$2" | sort -u | wc -l; }
has_all() { [ "$(distinct_ids "$1" "$2")" -ge "$3" ]; }
exactly_once() {  # exactly_once GROUP PREFIX COUNT
    local entries distinct
    entries=$(count_ids "$1" "$2")
    distinct=$(distinct_ids "$1" "$2")
    log "  $1 $2*: $entries entries, $distinct distinct ids, $3 published"
    [ "$entries" -eq "$3" ] && [ "$distinct" -eq "$3" ]
}
group_id_of() { case $1 in group-a) echo "$group_id_a" ;; group-b) echo "$group_id_b" ;; esac; }
emu_summary() {  # the emulator's view of a group, for a failure message
    emu stats | python3 -c 'import json, sys
g = json.load(sys.stdin)["groups"][sys.argv[1]]
print(" ".join(f"{k}={g[k]}" for k in ("published", "delivered", "accepted", "in_flight", "queued",
                                        "redelivered", "connections", "links")))' "$1"
}
delivered_once() {  # delivered_once GROUP PREFIX COUNT SECONDS
    local t0=$SECONDS
    if wait_until "$4" has_all "$1" "$2" "$3"; then
        log "  $1 $2*: all $3 in the journal after $((SECONDS - t0))s"
        exactly_once "$1" "$2" "$3"
    else
        log "  $1 $2*: only $(distinct_ids "$1" "$2") of $3 after $4s; emulator: $(emu_summary "$(group_id_of "$1")")"
        return 1
    fi
}
ct_says() {  # ct_says EXPECTED COMMAND...: COMMAND inside prints exactly EXPECTED
    local got
    got=$(ct "${@:2}" 2>/dev/null)
    [ "$got" = "$1" ] || { log "  ${*:2}: got '$got', want '$1'"; return 1; }
}
no_daemon_process() { ! ct pgrep -u iot-amqpd >/dev/null; }
main_pid() { ct systemctl show -P MainPID iot-amqpd.service; }
is_active() { [ "$(ct systemctl is-active iot-amqpd.service)" = active ]; }
active_with_new_pid() { local p; p=$(main_pid); is_active && [ "$p" != 0 ] && [ "$p" != "$1" ]; }
status_text() { ct systemctl show -P StatusText iot-amqpd.service; }

# The journal catalog: an event's MESSAGE_ID from the one header that lists them.
message_id() {  # message_id EVENT
    sed -n "s/.*{\"$1\", \"\([0-9a-f]\{32\}\)\"}.*/\1/p" "$root/include/iot-amqpd/message_ids.hpp"
}
catalog_knows() {  # catalog_knows EVENT: journalctl --list-catalog lists its id
    # Read the whole list first: grep -q would stop early, and the SIGPIPE fails the pipeline (pipefail).
    local list
    list=$(ct journalctl --list-catalog 2>/dev/null) || return 2
    grep -q "^$(message_id "$1") iot-amqpd: " <<<"$list"
}
explained() {  # explained EVENT TEXT: journalctl -x shows TEXT from the catalog under the event's line
    local out
    out=$(ct journalctl -x -q --no-pager -u iot-amqpd.service "IOT_EVENT=$1")
    grep -q "^░░ .*$2" <<<"$out" || { log "  journalctl -x IOT_EVENT=$1 shows no '$2':"; log "$out" | tail -n 12; return 1; }
}
found_by_id() {  # found_by_id EVENT: journalctl MESSAGE_ID=<id> finds its lines, and only those
    local id events
    id=$(message_id "$1")
    events=$(ct journalctl -q --no-pager -o export "MESSAGE_ID=$id" | grep -a '^IOT_EVENT=' | sort -u)
    [ "$events" = "IOT_EVENT=$1" ] || { log "  MESSAGE_ID=$id finds '$events', want IOT_EVENT=$1"; return 1; }
}
has_status() { [ -n "$(status_text)" ]; }

# ---- the test ----------------------------------------------------------------
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" -eq 0 ] || die "must run as root"
for tool in debootstrap systemd-nspawn nsenter dpkg-deb python3 tar; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[ -n "$deb" ] && [ -f "$deb" ] || die "no .deb (run packaging/build-deb.sh or pass its path)"
[ -f "$emulator_deb" ] || die "no $emulator_deb beside the daemon's .deb (packaging/build-deb.sh builds both)"
[ -x "$make_certs" ] || die "$make_certs missing"
log "packages: $deb $emulator_deb"

mapfile -t packages < <(required_packages)
prepare_rootfs "${packages[@]}"

stage=$(mktemp -d /var/tmp/iot-amqpd-test.XXXXXX)
cp "$deb" "$stage/iot-amqpd.deb"
cp "$emulator_deb" "$stage/iot-amqpd-emulator.deb"
# The package test runs the emulator from the .deb's contents, so that the
# daemon's install and purge checks see the daemon's package alone; the
# autopkgtests below install both packages.
dpkg-deb --fsys-tarfile "$emulator_deb" | tar -xO ./usr/bin/iot-amqpd-emulator >"$stage/iot-amqpd-emulator" ||
    die "no usr/bin/iot-amqpd-emulator in $emulator_deb"
chmod 0755 "$stage/iot-amqpd-emulator"
# autopkgtest reads the tests from a source tree. debian/tests and the
# changelog (for the version it reports) make the degenerate tree it runs in
# place (a "built tree"), with no copy and no dpkg-source in the container.
mkdir -p "$stage/src/debian"
cp -a "$root"/debian/{changelog,tests} "$stage/src/debian/"
"$make_certs" "$stage/certs" >/dev/null || die "make-test-certs.sh failed"
cat >"$stage/accounts.yaml" <<EOF
instance_id: $instance_id
consumer_groups: [$group_id_a, $group_id_b]
accounts:
  - access_key_id: $access_key_id
    access_key_secret: $access_key_secret
    consumer_groups: [$group_id_a, $group_id_b]
EOF
chmod -R go+rX "$stage"

boot_container iot-amqpd-test "$stage.console.log" --bind-ro="$stage:/srv/iot-test"

# -- install --
t0=$SECONDS
if ct dpkg -i /srv/iot-test/iot-amqpd.deb >"$stage/dpkg.log" 2>&1; then
    pass "dpkg -i installs the package"
else
    cat "$stage/dpkg.log"
    die "dpkg -i failed"
fi
timing install "$t0"
trigger_ran() { grep -q '^Processing triggers for systemd' "$stage/dpkg.log"; }
check "dpkg -i ran systemd's trigger for /usr/lib/systemd/catalog" trigger_ran

file_is() {  # file_is PATH MODE OWNER:GROUP
    local got
    got=$(ct stat -c '%a %U:%G' "$1" 2>/dev/null)
    [ "$got" = "$2 $3" ] || { log "  $1: got '$got', want '$2 $3'"; return 1; }
}
check "binary /usr/sbin/iot-amqpd 755 root:root" file_is /usr/sbin/iot-amqpd 755 root:root
check "unit /lib/systemd/system/iot-amqpd.service 644 root:root" \
    file_is /lib/systemd/system/iot-amqpd.service 644 root:root
check "config /etc/iot-amqpd/iot-amqpd.yaml 640 root:iot-amqpd" \
    file_is /etc/iot-amqpd/iot-amqpd.yaml 640 root:iot-amqpd
check "config dir /etc/iot-amqpd 750 root:iot-amqpd" file_is /etc/iot-amqpd 750 root:iot-amqpd
is_conffile() { ct dpkg-query -W -f='${Conffiles}' iot-amqpd | grep '^ /etc/iot-amqpd/iot-amqpd.yaml ' >/dev/null; }
check "config is a conffile" is_conffile
system_user_ok() { ct getent passwd iot-amqpd | grep ':/usr/sbin/nologin$' >/dev/null; }
check "system user iot-amqpd exists with nologin shell" system_user_ok
check "man pages iot-amqpd(8) and iot-amqpd.yaml(5) installed" \
    ct test -f /usr/share/man/man8/iot-amqpd.8.gz -a -f /usr/share/man/man5/iot-amqpd.yaml.5.gz
check "catalog /usr/lib/systemd/catalog/iot-amqpd.catalog 644 root:root" \
    file_is /usr/lib/systemd/catalog/iot-amqpd.catalog 644 root:root
[ -n "$(message_id auth_failed)" ] || die "no MESSAGE_ID for auth_failed in include/iot-amqpd/message_ids.hpp"
check "systemd's dpkg trigger updated the catalog: journalctl --list-catalog lists auth_failed's id" \
    catalog_knows auth_failed
check "fresh install: unit disabled" ct_says disabled systemctl is-enabled iot-amqpd.service
check "fresh install: unit not started and not failed" ct_says inactive systemctl is-active iot-amqpd.service

verify_clean() {
    local out
    out=$(ct systemd-analyze verify /lib/systemd/system/iot-amqpd.service 2>&1) || { log "$out"; return 1; }
    [ -z "$out" ] || { log "$out"; return 1; }
}
check "systemd-analyze verify on the installed unit is clean" verify_clean
security_ok() {
    local score
    score=$(ct systemd-analyze security --offline=yes /lib/systemd/system/iot-amqpd.service 2>&1 |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    log "  systemd-analyze security: $score"
    [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
}
check "systemd-analyze security --offline=yes rates the unit 2.0 or lower" security_ok

# -- started before it is configured: fails once, clearly, and stays down --
t0=$SECONDS
if ct systemctl start iot-amqpd.service >/dev/null 2>&1; then
    fail "start with the shipped config (no secret yet) fails"
else
    pass "start with the shipped config (no secret yet) fails"
fi
unconfigured_status() { status_text | grep '^invalid configuration: .*access-key-secret' >/dev/null; }
check "STATUS= names the config error" unconfigured_status
check "journalctl -x explains IOT_EVENT=config_invalid from the catalog" \
    wait_until 5 explained config_invalid "iot-amqpd --check-config"
log "  Status: $(status_text)"
sleep $((restart_sec + 3))  # the one fixed wait: proving that nothing happens
check "invalid config: exit status 78, not restarted after RestartSec" \
    ct_says "failed 78 0" sh -c 'echo $(systemctl is-active iot-amqpd.service) $(systemctl show -P ExecMainStatus iot-amqpd.service) $(systemctl show -P NRestarts iot-amqpd.service)'
ct systemctl reset-failed iot-amqpd.service
timing unconfigured-start "$t0"

# -- the emulator, as a transient service on the container's loopback --
ct systemd-run --quiet --unit=iot-emulator -p RuntimeDirectory=iot-emulator \
    /srv/iot-test/iot-amqpd-emulator --listen 127.0.0.1:0 \
    --cert /srv/iot-test/certs/server.pem --key /srv/iot-test/certs/server.key \
    --accounts /srv/iot-test/accounts.yaml --control /run/iot-emulator/ctl.sock \
    --port-file /run/iot-emulator/port || die "could not start the emulator"
port_known() { ct test -s /run/iot-emulator/port && ct test -S /run/iot-emulator/ctl.sock; }
wait_until 20 port_known || { ct journalctl -u iot-emulator --no-pager | tail -n 20; die "emulator did not come up"; }
emulator_port=$(ct cat /run/iot-emulator/port | tr -d '[:space:]')
log "emulator listening on 127.0.0.1:$emulator_port"
# The daemon connects to amqps://localhost (the certificate's name): as the
# service user, localhost must resolve to where the emulator listens and a TCP
# connect there must succeed. Otherwise every delivery check below would fail
# with `endpoint unreachable`, so say why once and stop.
localhost_reachable() {
    local addresses
    addresses=$(ct runuser -u iot-amqpd -- getent ahosts localhost | awk '{ print $1 }' | sort -u | tr '\n' ' ')
    if [ "$addresses" != "127.0.0.1 " ]; then
        log "  as iot-amqpd, localhost resolves to '${addresses}', want only 127.0.0.1;" \
            "/etc/hosts: $(ct stat -c '%a %U' /etc/hosts 2>&1), nsswitch: $(ct grep '^hosts:' /etc/nsswitch.conf 2>&1)"
        return 1
    fi
    ct runuser -u iot-amqpd -- timeout 5 bash -c 'exec 3<>"/dev/tcp/localhost/$1"' sh "$emulator_port" ||
        { log "  as iot-amqpd, no TCP connection to localhost:$emulator_port"; return 1; }
}
localhost_reachable || die "the daemon could not reach the emulator at localhost:$emulator_port in this container"
pass "as the service user, localhost resolves to 127.0.0.1 only and reaches the emulator"

# -- configure as the operator does: secret in a file, groups in the config --
# The test CA lives outside /etc/iot-amqpd, so that the purge check judges the
# package's own files only.
ct install -D -m 0644 /srv/iot-test/certs/ca.pem "$test_ca"
printf '%s' "$access_key_secret" |
    ct sh -c 'umask 027 && cat > /etc/iot-amqpd/access-key-secret && chgrp iot-amqpd /etc/iot-amqpd/access-key-secret'
write_config "$group_a"
check "config still 640 root:iot-amqpd after editing" file_is /etc/iot-amqpd/iot-amqpd.yaml 640 root:iot-amqpd
check_config_ok() {
    local out
    out=$(ct runuser -u iot-amqpd -- /usr/sbin/iot-amqpd --check-config 2>&1)
    log "  $out"
    grep -q '^OK: 1 consumer group' <<<"$out"
}
check "iot-amqpd --check-config as the service user: OK" check_config_ok

# -- start --
t0=$SECONDS
if ct systemctl enable --now iot-amqpd.service >/dev/null 2>&1 && is_active; then
    pass "systemctl enable --now: active"
else
    fail "systemctl enable --now: active"
    ct systemctl status --no-pager iot-amqpd.service | tail -n 25
fi
timing start "$t0"
check "systemctl status shows a STATUS= line" wait_until 10 has_status
status_out=$(ct systemctl status --no-pager iot-amqpd.service 2>&1)
grep -q '^ *Status: "' <<<"$status_out" && log "  $(grep '^ *Status: "' <<<"$status_out" | sed 's/^ *//')"

# -- messages in the journal --
t0=$SECONDS
publish "$group_id_a" 50 a-
check "50 published messages reach the journal exactly once" \
    delivered_once group-a a- 50 30
timing delivery "$t0"
fields_ok() {
    local entry field
    entry=$(ct journalctl -q --no-pager -o export -u iot-amqpd.service IOT_CONSUMER_GROUP=group-a IOT_MESSAGE_ID=a-3)
    for field in MESSAGE PRIORITY=6 SYSLOG_IDENTIFIER=iot-amqpd-msg IOT_CONSUMER_GROUP=group-a \
        "IOT_CONSUMER_GROUP_ID=$group_id_a" IOT_TOPIC IOT_MESSAGE_ID=a-3 IOT_GENERATE_TIME \
        IOT_CLIENT_ID IOT_PAYLOAD_ENCODING; do
        grep -aq "^$field" <<<"$entry" || { log "  field $field missing"; return 1; }
    done
}
check "a message entry carries the IOT_* fields" fields_ok
device_filter_ok() {
    local device entries others
    device=$(ct journalctl -q --no-pager -o export -u iot-amqpd.service IOT_CONSUMER_GROUP=group-a |
        grep -a -m 1 '^IOT_DEVICE_NAME=' | cut -d= -f2-)
    [ -n "$device" ] || { log "  no entry has IOT_DEVICE_NAME"; return 1; }
    entries=$(ct journalctl -q --no-pager -o export "IOT_DEVICE_NAME=$device" | grep -ac '^IOT_DEVICE_NAME=')
    others=$(ct journalctl -q --no-pager -o export "IOT_DEVICE_NAME=$device" | grep -a '^IOT_DEVICE_NAME=' |
        grep -avc "=$device\$")
    log "  journalctl IOT_DEVICE_NAME=$device: $entries entries, $others of other devices"
    [ "$entries" -ge 1 ] && [ "$others" -eq 0 ]
}
check "journalctl IOT_DEVICE_NAME=... finds one device's messages" device_filter_ok
metrics_readable() {  # as node_exporter would read it: another unprivileged user
    ct runuser -u nobody -- cat /run/iot-amqpd/metrics.prom 2>/dev/null |
        grep '^iot_amqpd_messages_written_total{group="group-a"} 50$' >/dev/null
}
check "metrics file in /run/iot-amqpd readable by other users, counting 50 written" wait_until 5 metrics_readable

# -- reload: add a group --
t0=$SECONDS
pid_before=$(main_pid)
connections_a=$(emu_stat "$group_id_a" connections_total)
write_config "$group_a
$group_b"
check "systemctl reload after adding a group succeeds" ct systemctl reload iot-amqpd.service
publish "$group_id_b" 20 b-
check "the new group's messages arrive after reload" \
    delivered_once group-b b- 20 30
check "reload kept the main process" test "$(main_pid)" = "$pid_before"
check "reload left group-a's connection alone" test "$(emu_stat "$group_id_a" connections_total)" = "$connections_a"
timing reload "$t0"

# -- reload with a broken file --
t0=$SECONDS
write_config "$group_a
$group_b
  - { name: group-a, consumer_group_id: DUPLICATE, heartbeat: 10s }"
if ct systemctl reload iot-amqpd.service >/dev/null 2>&1; then
    fail "systemctl reload fails on a broken config"
else
    pass "systemctl reload fails on a broken config"
fi
check "service still active after the failed reload" is_active
check "failed reload kept the main process" test "$(main_pid)" = "$pid_before"
publish "$group_id_a" 20 c-
check "messages still delivered after the failed reload" \
    delivered_once group-a c- 20 30
# The daemon's own transaction, without the unit's pre-check: SIGHUP with the broken file.
since=$(ct date '+%Y-%m-%d %H:%M:%S')
ct systemctl kill -s HUP --kill-who=main iot-amqpd.service
reload_failed_logged() {
    ct journalctl -q --no-pager -u iot-amqpd.service --since "$since" IOT_EVENT=reload_failed | grep . >/dev/null
}
check "SIGHUP with a broken file: reload_failed logged" wait_until 10 reload_failed_logged
check "journalctl -x explains IOT_EVENT=reload_failed from the catalog" \
    explained reload_failed "Subject: reload failed, the previous configuration keeps running"
check "journalctl MESSAGE_ID=<reload_failed's id> finds the reload_failed lines" found_by_id reload_failed
check "SIGHUP with a broken file: still active, same process" \
    ct_says "active $pid_before" sh -c 'echo $(systemctl is-active iot-amqpd.service) $(systemctl show -P MainPID iot-amqpd.service)'
publish "$group_id_b" 10 d-
check "SIGHUP with a broken file: groups keep delivering" \
    delivered_once group-b d- 10 30
write_config "$group_a
$group_b"
timing bad-reload "$t0"

# -- watchdog: a frozen daemon is killed and restarted; nothing is lost --
t0=$SECONDS
pid_before=$(main_pid)
restarts_before=$(ct systemctl show -P NRestarts iot-amqpd.service)
ct kill -STOP "$pid_before"
publish "$group_id_a" 30 w-
if wait_until $((watchdog_sec + restart_sec + 30)) active_with_new_pid "$pid_before"; then
    pass "watchdog: frozen daemon restarted within $((SECONDS - t0))s (WatchdogSec=${watchdog_sec}s, RestartSec=${restart_sec}s)"
else
    fail "watchdog: frozen daemon restarted"
    ct kill -CONT "$pid_before" 2>/dev/null
fi
watchdog_logged() { ct journalctl -q --no-pager -u iot-amqpd.service | grep 'Watchdog timeout' >/dev/null; }
check "watchdog: systemd logged the watchdog timeout" watchdog_logged
check "watchdog: NRestarts went up" test "$(ct systemctl show -P NRestarts iot-amqpd.service)" -gt "$restarts_before"
check "watchdog: messages published while frozen arrive exactly once after the restart" \
    delivered_once group-a w- 30 40
timing watchdog "$t0"

# -- metrics for Debian's node_exporter, with the shipped drop-in example --
# The packaged prometheus-node-exporter (its own unit, as user prometheus, on
# :9100 of the container's loopback) serves the daemon's counters from its
# textfile directory, once the operator's two steps let the daemon write there.
t0=$SECONDS
textfile_dir=/var/lib/prometheus/node-exporter
ct dpkg-statoverride --update --add root iot-amqpd 0775 "$textfile_dir"
ct install -D -m 0644 /usr/share/doc/iot-amqpd/examples/node-exporter.conf \
    /etc/systemd/system/iot-amqpd.service.d/node-exporter.conf
ct sed -i "s|textfile: /run/iot-amqpd/metrics.prom|textfile: $textfile_dir/iot-amqpd.prom|" /etc/iot-amqpd/iot-amqpd.yaml
ct systemctl daemon-reload
check "node-exporter.conf drop-in: restart succeeds" ct systemctl restart iot-amqpd.service
publish "$group_id_a" 5 n-
check "node-exporter.conf drop-in: messages delivered" delivered_once group-a n- 5 30
check "node-exporter.conf drop-in: $textfile_dir/iot-amqpd.prom 644 iot-amqpd:iot-amqpd" \
    wait_until 10 file_is "$textfile_dir/iot-amqpd.prom" 644 iot-amqpd:iot-amqpd
check "prometheus-node-exporter.service starts" ct systemctl start prometheus-node-exporter.service
scrape() {
    ct python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=5).read().decode())' 2>/dev/null
}
node_exporter_serves() {
    local text
    text=$(scrape) || return 1
    grep -x 'iot_amqpd_messages_written_total{group="group-a"} 5' <<<"$text" >/dev/null &&
        grep -x 'node_textfile_scrape_error 0' <<<"$text" >/dev/null
}
check "prometheus-node-exporter serves iot_amqpd_messages_written_total{group=\"group-a\"} 5, no scrape error" \
    wait_until 20 node_exporter_serves
no_metrics_failed() { ! ct journalctl -q --no-pager -u iot-amqpd.service IOT_EVENT=metrics_failed | grep . >/dev/null; }
check "node-exporter.conf drop-in: no metrics_failed logged" no_metrics_failed
ct systemctl stop prometheus-node-exporter.service
ct rm -f /etc/systemd/system/iot-amqpd.service.d/node-exporter.conf
ct sed -i "s|textfile: $textfile_dir/iot-amqpd.prom|textfile: /run/iot-amqpd/metrics.prom|" /etc/iot-amqpd/iot-amqpd.yaml
ct systemctl daemon-reload
timing node-exporter "$t0"

# -- the secret as a systemd credential, with the shipped drop-in example --
t0=$SECONDS
dropin=/etc/systemd/system/iot-amqpd.service.d/credentials.conf
ct install -D -m 0644 /usr/share/doc/iot-amqpd/examples/credentials.conf "$dropin"
printf '%s' "$access_key_secret" |
    ct sh -c 'install -d -m 0700 /etc/credstore && umask 077 && cat > /etc/credstore/iot-amqpd.access-key-secret'
ct rm -f /etc/iot-amqpd/access-key-secret
ct sed -i 's|access_key_secret_file: .*|access_key_secret_credential: access-key-secret|' /etc/iot-amqpd/iot-amqpd.yaml
ct systemctl daemon-reload
check "LoadCredential= drop-in: restart succeeds" ct systemctl restart iot-amqpd.service
publish "$group_id_a" 10 e-
check "LoadCredential= drop-in: messages delivered" delivered_once group-a e- 10 30
ct rm -rf "$(dirname "$dropin")" /etc/credstore
ct systemctl daemon-reload
timing credential "$t0"

# -- stop --
t0=$SECONDS
check "systemctl stop returns" ct systemctl stop iot-amqpd.service
check "stop is clean: inactive, Result=success, exit status 0" \
    ct_says "inactive success 0" sh -c 'echo $(systemctl is-active iot-amqpd.service) $(systemctl show -P Result iot-amqpd.service) $(systemctl show -P ExecMainStatus iot-amqpd.service)'
check "no iot-amqpd process left after stop" no_daemon_process
timing stop "$t0"

# -- purge --
t0=$SECONDS
if ct dpkg --purge iot-amqpd >"$stage/purge.log" 2>&1; then
    pass "dpkg --purge succeeds"
else
    cat "$stage/purge.log"
    fail "dpkg --purge succeeds"
fi
leftovers() {
    ct sh -c 'ls -d /lib/systemd/system/iot-amqpd.service /etc/iot-amqpd /run/iot-amqpd \
        /usr/lib/systemd/catalog/iot-amqpd.catalog \
        /etc/systemd/system/*.wants/iot-amqpd.service /usr/sbin/iot-amqpd \
        /var/lib/systemd/deb-systemd-helper-enabled/*iot-amqpd* 2>/dev/null'
}
left=$(leftovers)
check "purge leaves no unit, config, runtime dir or enablement link" test -z "$left"
[ -n "$left" ] && log "  left: $left"
check "purge leaves no iot-amqpd process" no_daemon_process
catalog_forgot() { catalog_knows auth_failed; [ $? -eq 1 ]; }  # listed no more, not a journalctl failure
check "purge: the trigger dropped the catalog entries (journalctl --list-catalog)" catalog_forgot
check "purge: systemd no longer knows the unit" ct_says not-found systemctl show -P LoadState iot-amqpd.service
check "purge: no failed units in the container" ct_says "" systemctl list-units --failed --plain --no-legend
timing purge "$t0"


# -- autopkgtest: debian/tests against both installed packages --
# The null runner tests this very system, which here is the throw-away
# container (so it qualifies for isolation-container); autopkgtest installs
# the two .debs itself, from the purged state above.
t0=$SECONDS
ct systemctl stop iot-emulator.service
if ct autopkgtest --no-built-binaries --output-dir /var/tmp/autopkgtest-out \
    /srv/iot-test/iot-amqpd.deb /srv/iot-test/iot-amqpd-emulator.deb /srv/iot-test/src/ -- null \
    >"$stage/autopkgtest.log" 2>&1; then
    autopkgtest_status=0
else
    autopkgtest_status=$?
fi
summary=$(ct cat /var/tmp/autopkgtest-out/summary 2>/dev/null)
# What the tests said they checked (their own lines: "ok: ...", counts).
grep -E '^(ok: |journal: |iot-amqpd(-emulator)? --)' "$stage/autopkgtest.log" | sed 's/^/    /'
log "  autopkgtest summary (exit status $autopkgtest_status):"
log "$summary" | sed 's/^/    /'
all_passed() {
    [ "$autopkgtest_status" -eq 0 ] || return 1
    for test in $(sed -n 's/^Tests://p' "$root/debian/tests/control" | tr ',' ' '); do
        grep -E "^$test +PASS" <<<"$summary" >/dev/null || { log "  $test did not pass"; return 1; }
    done
}
if all_passed; then
    pass "autopkgtest: every test in debian/tests/control passes against the installed packages"
else
    fail "autopkgtest: every test in debian/tests/control passes against the installed packages"
    tail -n 80 "$stage/autopkgtest.log"
fi
timing autopkgtest "$t0"
