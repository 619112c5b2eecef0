#!/bin/bash
# Several hosts, one collector: three containers run the installed .deb on one
# consumer group of the emulator, each forwards its journal with
# systemd-journal-upload over TLS to a fourth container running
# systemd-journal-remote, configured as README.md's "Scaling beyond one host"
# says. Under a steady stream one host's daemon is killed with SIGKILL (its
# unit restarts it) and the collector is stopped for a while, then started
# again (the uploaders resume from their cursors). At the end the collector's
# journal must hold every published messageId, each with its _HOSTNAME; every
# duplicate is counted with its cause, and one without a known cause fails.
#
#   packaging/test-multi-host.sh [path/to/iot-amqpd_*.deb]
#
# The network: one network namespace this script makes (held by a `sleep` in
# it, killed on exit), shared by the four containers and by nothing else: they
# reach each other over its loopback, the host's network is not involved. The
# collector's name resolves to 127.0.1.10 in each container's /etc/hosts, and
# the emulator (the cloud's stand-in) listens there too, in the collector's
# container. Each container keeps its own host name, so _HOSTNAME differs.
#
# Environment:
#   IOT_TEST_CACHE, DEBIAN_MIRROR: see packaging/nspawn-container.sh
#   MULTI_HOST_COUNT (12000), MULTI_HOST_RATE (200 msg/s): the stream
set -uo pipefail
umask 022

root=$(cd "$(dirname "$0")/.." && pwd)
deb=${1:-}
if [ -z "$deb" ]; then
    deb=$(ls -t "$root"/dist/iot-amqpd_*_amd64.deb 2>/dev/null | head -n 1)
fi
emulator_deb=$(dirname "$deb")/$(basename "$deb" | sed 's/^iot-amqpd_/iot-amqpd-emulator_/')

count=${MULTI_HOST_COUNT:-12000}
rate=${MULTI_HOST_RATE:-200}
collector=iot-collector
hosts=(iot-host-1 iot-host-2 iot-host-3)
victim=iot-host-2
collector_address=127.0.1.10
group_name=fleet
group_id=CG_FLEET
access_key_id=LTAI5tMultiHostTest01
access_key_secret=multi-host-secret-not-real
instance_id=iot-multihost
id_prefix=mh-

started_at=$SECONDS
stage=
holder=

# shellcheck source=packaging/package-test-common.sh
. "$root/packaging/package-test-common.sh"
# shellcheck source=packaging/nspawn-container.sh
. "$root/packaging/nspawn-container.sh"

on() {  # on CONTAINER COMMAND...: COMMAND inside CONTAINER
    use_container "$1"
    ct "${@:2}"
}

# The test CA as the trusted one, and the certificate and key made for CERT
# where ROLE (journal-remote or journal-upload) reads them, as README.md's recipe puts them.
install_tls() {  # install_tls CONTAINER CERT ROLE
    on "$1" sh -c "install -D -m 0644 /srv/iot-test/tls/ca.pem /etc/ssl/ca/trusted.pem &&
        install -D -m 0644 /srv/iot-test/tls/$2.pem /etc/ssl/certs/$3.pem &&
        install -D -m 0600 /srv/iot-test/tls/$2.key /etc/ssl/private/$3.pem"
}

required_packages() {
    deb_dependencies "$deb" "$emulator_deb"
    printf '%s\n' "${container_base_packages[@]}"
}

dump_state() {
    local name
    for name in "${hosts[@]}"; do
        log "---- $name: iot-amqpd and systemd-journal-upload ----"
        on "$name" journalctl -q --no-pager -n 15 -o short-monotonic -u iot-amqpd.service -u systemd-journal-upload.service \
            SYSLOG_IDENTIFIER=iot-amqpd + SYSLOG_IDENTIFIER=systemd-journal-upload
    done
    log "---- $collector: systemd-journal-remote and the emulator ----"
    on "$collector" journalctl -q --no-pager -n 20 -o short-monotonic -u systemd-journal-remote.service -u iot-emulator.service
    log "emulator: $(emu_summary)"
}

cleanup() {
    local status=$?
    if [ "$failed" -gt 0 ] && [ "${#container_names[@]}" -gt 0 ]; then dump_state 2>&1 | cut -c1-400; fi
    shutdown_containers
    if [ -n "$holder" ]; then
        kill "$holder" 2>/dev/null
        wait "$holder" 2>/dev/null
    fi
    [ -n "$stage" ] && rm -rf "$stage"
    log "TIME: total $((SECONDS - started_at))s"
    log "multi-host-test: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$status" -eq 0 ] && exit 0
    exit 1
}

# ---- the emulator --------------------------------------------------------------
emu() { on "$collector" /srv/iot-test/iot-amqpd-emulator ctl --control /run/iot-emulator/ctl.sock "$@"; }
emu_stat() {  # emu_stat KEY: one counter of the group from the emulator's stats
    emu stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["groups"][sys.argv[1]][sys.argv[2]])' "$group_id" "$1"
}
emu_summary() {
    emu stats | python3 -c 'import json, sys
g = json.load(sys.stdin)["groups"][sys.argv[1]]
print(" ".join(f"{k}={g[k]}" for k in ("published", "delivered", "accepted", "in_flight", "queued", "redelivered",
                                        "requeued_on_loss", "ack_timeouts", "connections", "connections_total")))' "$group_id"
}
accepted_at_least() { [ "$(emu_stat accepted)" -ge "$1" ]; }
connections_are() { [ "$(emu_stat connections)" -eq "$1" ]; }
# The client ids the emulator saw: one per host, from the default `%H-%g`.
client_ids() {
    emu stats | python3 -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin)["groups"][sys.argv[1]]["clients"])))' "$group_id"
}

# ---- the hosts -----------------------------------------------------------------
main_pid() { on "$1" systemctl show -P MainPID iot-amqpd.service; }
restarted() {  # restarted HOST OLD_PID: active again under another PID
    local pid
    pid=$(main_pid "$1")
    [ "$(on "$1" systemctl is-active iot-amqpd.service)" = active ] && [ "$pid" != 0 ] && [ "$pid" != "$2" ]
}
upload_restarts() { on "$1" systemctl show -P NRestarts systemd-journal-upload.service; }

# ---- the collector's journal ---------------------------------------------------
# One line per entry of the group: messageId, host, the sender's PID, the
# sender's own timestamp and boot (an entry uploaded twice repeats all four;
# a message written twice differs in the timestamp).
collected_entries() {
    on "$collector" journalctl -D /var/log/journal/remote -q --no-pager -o json \
        --output-fields=IOT_MESSAGE_ID,_HOSTNAME,_PID "IOT_CONSUMER_GROUP=$group_name" |
        python3 -c 'import json, sys
for line in sys.stdin:
    e = json.loads(line)
    mid = e.get("IOT_MESSAGE_ID")
    if isinstance(mid, str) and mid.startswith(sys.argv[1]):
        print(mid, e.get("_HOSTNAME"), e.get("_PID"), e["__REALTIME_TIMESTAMP"], e["_BOOT_ID"])' "$id_prefix"
}
collected_distinct() { collected_entries | cut -d' ' -f1 | sort -u | wc -l; }
collected_all() { [ "$(collected_distinct)" -ge "$count" ]; }
collector_up() { on "$collector" systemctl is-active systemd-journal-remote.socket >/dev/null; }

# ---- the test ------------------------------------------------------------------
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" -eq 0 ] || die "must run as root"
for tool in debootstrap systemd-nspawn nsenter unshare ip dpkg-deb python3 tar openssl findmnt; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[ -n "$deb" ] && [ -f "$deb" ] || die "no .deb (run packaging/build-deb.sh or pass its path)"
[ -f "$emulator_deb" ] || die "no $emulator_deb beside the daemon's .deb (packaging/build-deb.sh builds both)"
log "packages: $deb $emulator_deb; $count messages at $rate msg/s"

mapfile -t packages < <(required_packages)
prepare_rootfs "${packages[@]}"

stage=$(mktemp -d /var/tmp/iot-amqpd-multihost.XXXXXX)
cp "$deb" "$stage/iot-amqpd.deb"
dpkg-deb --fsys-tarfile "$emulator_deb" | tar -xO ./usr/bin/iot-amqpd-emulator >"$stage/iot-amqpd-emulator" ||
    die "no usr/bin/iot-amqpd-emulator in $emulator_deb"
chmod 0755 "$stage/iot-amqpd-emulator"

# Test certificates as an operator would have them: one CA; the collector's
# server certificate for its name (the emulator, on the same container, uses it
# too); one client certificate per sender, its CN the host name, which
# systemd-journal-remote names the host's journal file after.
mkdir -p "$stage/tls"
(
    cd "$stage/tls" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 7 -subj "/CN=iot-amqpd multi-host test CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -keyout ca.key -out ca.pem || exit 1
    sign() {  # sign NAME EXTENDED_KEY_USAGE [SAN]
        openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" || return 1
        { printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
          printf 'extendedKeyUsage=%s\n' "$2"
          [ -n "${3:-}" ] && printf 'subjectAltName=%s\n' "$3"; } >"$1.ext"
        openssl x509 -req -sha256 -days 7 -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
            -extfile "$1.ext" -out "$1.pem"
    }
    sign collector serverAuth DNS:collector || exit 1
    for name in "${hosts[@]}"; do sign "$name" clientAuth || exit 1; done
) >"$stage/tls.log" 2>&1 || { cat "$stage/tls.log"; die "making the test certificates failed"; }
cat >"$stage/accounts.yaml" <<EOF
instance_id: $instance_id
consumer_groups: [$group_id]
accounts:
  - access_key_id: $access_key_id
    access_key_secret: $access_key_secret
    consumer_groups: [$group_id]
EOF
for name in "$collector" "${hosts[@]}"; do echo "$name" >"$stage/hostname.$name"; done
chmod -R go+rX "$stage"
chmod 0600 "$stage"/tls/*.key

# The private network: a namespace of its own, loopback up, held by a process
# that the EXIT trap kills (no name under /run/netns to leave behind).
unshare --net sleep infinity &
holder=$!
netns_ready() { [ "$(readlink "/proc/$holder/ns/net")" != "$(readlink /proc/self/ns/net)" ]; }
wait_until 10 netns_ready || die "no network namespace"
nsenter --net="/proc/$holder/ns/net" ip link set lo up || die "could not bring up the namespace's loopback"

t0=$SECONDS
for name in "$collector" "${hosts[@]}"; do
    # systemd in the container takes its host name from /etc/hostname (the
    # rootfs has the host's), not from -M.
    boot_container "$name" "$stage/console.$name.log" --network-namespace-path="/proc/$holder/ns/net" \
        --bind-ro="$stage:/srv/iot-test" --bind-ro="$stage/hostname.$name:/etc/hostname"
    on "$name" sh -c "echo '$collector_address	collector' >>/etc/hosts"
done
timing boot-all "$t0"
host_names_ok() {
    local name got
    for name in "$collector" "${hosts[@]}"; do
        got=$(on "$name" hostname)
        [ "$got" = "$name" ] || { log "  $name: hostname is '$got'"; return 1; }
    done
}
check "four containers on one private network, each with its own host name" host_names_ok

# -- the collector, configured as README.md says --
t0=$SECONDS
install_tls "$collector" collector journal-remote
on "$collector" mkdir -p /etc/systemd/journal-remote.conf.d /etc/systemd/system/systemd-journal-remote.service.d
on "$collector" sh -c 'cat >/etc/systemd/journal-remote.conf.d/iot-amqpd.conf' <<'EOF'
[Remote]
SplitMode=host
ServerKeyFile=/run/credentials/systemd-journal-remote.service/journal-remote.key
ServerCertificateFile=/etc/ssl/certs/journal-remote.pem
TrustedCertificateFile=/etc/ssl/ca/trusted.pem
EOF
on "$collector" sh -c 'cat >/etc/systemd/system/systemd-journal-remote.service.d/iot-amqpd.conf' <<'EOF'
[Service]
LoadCredential=journal-remote.key:/etc/ssl/private/journal-remote.pem
EOF
on "$collector" systemctl daemon-reload
check "collector: systemd-journal-remote.socket enabled and listening" \
    on "$collector" systemctl enable --now systemd-journal-remote.socket

on "$collector" systemd-run --quiet --unit=iot-emulator -p RuntimeDirectory=iot-emulator \
    /srv/iot-test/iot-amqpd-emulator --listen "$collector_address:0" \
    --cert /srv/iot-test/tls/collector.pem --key /srv/iot-test/tls/collector.key \
    --accounts /srv/iot-test/accounts.yaml --control /run/iot-emulator/ctl.sock \
    --port-file /run/iot-emulator/port || die "could not start the emulator"
port_known() { on "$collector" test -s /run/iot-emulator/port && on "$collector" test -S /run/iot-emulator/ctl.sock; }
wait_until 20 port_known || die "emulator did not come up"
emulator_port=$(on "$collector" cat /run/iot-emulator/port | tr -d '[:space:]')
log "emulator listening on $collector_address:$emulator_port (collector:$emulator_port)"
timing collector "$t0"

# -- the senders: the .deb, one consumer group, the journal kept and uploaded --
t0=$SECONDS
for name in "${hosts[@]}"; do
    on "$name" dpkg -i /srv/iot-test/iot-amqpd.deb >"$stage/dpkg.$name.log" 2>&1 || { cat "$stage/dpkg.$name.log"; die "$name: dpkg -i failed"; }
    on "$name" install -D -m 0644 /srv/iot-test/tls/ca.pem /usr/local/share/iot-amqpd-test/ca.pem
    printf '%s' "$access_key_secret" |
        on "$name" sh -c 'umask 027 && cat > /etc/iot-amqpd/access-key-secret && chgrp iot-amqpd /etc/iot-amqpd/access-key-secret'
    on "$name" sh -c 'cat > /etc/iot-amqpd/iot-amqpd.yaml' <<EOF
defaults:
  endpoint: amqps://collector:$emulator_port
  access_key_id: $access_key_id
  access_key_secret_file: /etc/iot-amqpd/access-key-secret
  iot_instance_id: $instance_id
  tls: { ca_file: /usr/local/share/iot-amqpd-test/ca.pem, verify_hostname: true }
  reconnect: { initial_delay: 200ms, max_delay: 2s }
consumer_groups:
  - { name: $group_name, consumer_group_id: $group_id }
EOF
    install_tls "$name" "$name" journal-upload
    on "$name" mkdir -p /etc/systemd/journald.conf.d /etc/systemd/journal-upload.conf.d \
        /etc/systemd/system/systemd-journal-upload.service.d
    on "$name" sh -c 'cat >/etc/systemd/journald.conf.d/iot-amqpd.conf' <<'EOF'
[Journal]
Storage=persistent
SystemMaxUse=1G
EOF
    on "$name" sh -c 'cat >/etc/systemd/journal-upload.conf.d/iot-amqpd.conf' <<'EOF'
[Upload]
URL=https://collector:19532
ServerKeyFile=/run/credentials/systemd-journal-upload.service/journal-upload.key
ServerCertificateFile=/etc/ssl/certs/journal-upload.pem
TrustedCertificateFile=/etc/ssl/ca/trusted.pem
EOF
    on "$name" sh -c 'cat >/etc/systemd/system/systemd-journal-upload.service.d/iot-amqpd.conf' <<'EOF'
[Unit]
StartLimitIntervalSec=0
[Service]
LoadCredential=journal-upload.key:/etc/ssl/private/journal-upload.pem
Restart=always
RestartSec=5s
EOF
    on "$name" systemctl daemon-reload
    on "$name" systemctl restart systemd-journald.service
    on "$name" systemctl enable --now iot-amqpd.service >/dev/null 2>&1 || { dump_state; die "$name: iot-amqpd did not start"; }
    on "$name" systemctl enable --now systemd-journal-upload.service >/dev/null 2>&1 ||
        { dump_state; die "$name: systemd-journal-upload did not start"; }
done
timing senders "$t0"
check "the three daemons hold one connection each to the consumer group" wait_until 30 connections_are 3
clients=$(client_ids)
log "  client ids: $clients"
distinct_clients() {
    local name
    for name in "${hosts[@]}"; do [[ " $clients " == *" $name-"* ]] || return 1; done
}
check "client ids differ per host (%H-%g)" distinct_clients
uploading_from_all() {
    local hosts_seen
    hosts_seen=$(on "$collector" journalctl -D /var/log/journal/remote -F _HOSTNAME 2>/dev/null | sort | tr '\n' ' ')
    [ "$hosts_seen" = "${hosts[*]} " ]
}
check "the collector receives each sender's journal over TLS" wait_until 60 uploading_from_all
# TLS as the uploader relies on it: the collector's certificate verifies
# against the test CA for the name `collector`, and not against the system's
# CAs. The client side is another matter: systemd 252's journal-remote takes
# uploads without a client certificate, TrustedCertificateFile= or not
# (systemd issue #4092), so the test records what it does rather than
# asserting it (README.md says to limit who reaches port 19532).
upload_probe() {  # upload_probe HOST with|without|untrusted: the HTTP status, or the TLS error
    on "$1" python3 - "$2" "$1" <<'PY'
import http.client, ssl, sys, time
if sys.argv[1] == "untrusted":
    context = ssl.create_default_context()
else:
    context = ssl.create_default_context(cafile="/etc/ssl/ca/trusted.pem")
if sys.argv[1] == "with":
    context.load_cert_chain("/etc/ssl/certs/journal-upload.pem", "/etc/ssl/private/journal-upload.pem")
entry = (f"__REALTIME_TIMESTAMP={time.time_ns() // 1000}\n__MONOTONIC_TIMESTAMP=1\n"
         f"_BOOT_ID=00000000000000000000000000000001\nMESSAGE=probe {sys.argv[1]} client certificate\n"
         f"_HOSTNAME={sys.argv[2]}\n\n").encode()
try:
    c = http.client.HTTPSConnection("collector", 19532, context=context, timeout=10)
    c.request("POST", "/upload", entry, {"Content-Type": "application/vnd.fdo.journal"})
    print(c.getresponse().status)
except (ssl.SSLError, OSError) as e:
    print(type(e).__name__)
PY
}
probe_with=$(upload_probe "${hosts[0]}" with)
probe_untrusted=$(upload_probe "${hosts[0]}" untrusted)
probe_without=$(upload_probe "${hosts[0]}" without)
log "  uploads from ${hosts[0]}: with its client certificate $probe_with; verifying the collector" \
    "against the system's CAs instead of the test CA $probe_untrusted; without a client certificate" \
    "$probe_without (202: accepted, systemd issue #4092)"
check "TLS: the collector, verified as \`collector\` by the test CA, accepts an upload with the host's certificate" \
    test "$probe_with" = 202
check "TLS: the collector's certificate does not verify against the system's CAs, only the test CA" \
    test "$probe_untrusted" = SSLCertVerificationError

# -- the stream, a kill and a collector outage in it --
t0=$SECONDS
emu publish "group=$group_id" "count=$count" kind=mixed "id_prefix=$id_prefix" "rate=$rate" >/dev/null ||
    die "publish failed"
log "publishing $count messages at $rate msg/s"

wait_until 60 accepted_at_least $((count / 5)) || die "the stream did not start: $(emu_summary)"
killed_pid=$(main_pid "$victim")
restarts_before=$(on "$victim" systemctl show -P NRestarts iot-amqpd.service)
# Frozen first, so that the kill finds messages delivered to it and not yet
# acknowledged, by construction: the daemon acknowledges within milliseconds,
# and a bare kill mostly finds none. The other two acknowledge theirs at once,
# so what stays in flight is the frozen daemon's.
on "$victim" systemctl kill -s STOP iot-amqpd.service
in_flight_at_least() { [ "$(emu_stat in_flight)" -ge "$1" ]; }
wait_until 20 in_flight_at_least 10 || log "  (fewer than 10 messages in flight to the frozen daemon: $(emu_summary))"
requeued_before=$(emu_stat requeued_on_loss)
kill_time_us=$(on "$victim" date +%s%6N)
on "$victim" systemctl kill -s KILL iot-amqpd.service
log "  t=$((SECONDS - t0))s: $victim's iot-amqpd (PID $killed_pid) killed with SIGKILL; $(emu_summary)"
if wait_until 30 restarted "$victim" "$killed_pid"; then
    pass "$victim: the unit restarted the killed daemon after RestartSec ($((SECONDS - t0))s into the stream)"
else
    fail "$victim: the unit restarted the killed daemon"
fi
requeued_by_kill() { [ "$(emu_stat requeued_on_loss)" -gt "$requeued_before" ]; }
check "the cloud redelivers what the killed daemon left unacknowledged" wait_until 20 requeued_by_kill
check "$victim: NRestarts went up by one" test "$(on "$victim" systemctl show -P NRestarts iot-amqpd.service)" -eq $((restarts_before + 1))

wait_until 90 accepted_at_least $((count * 2 / 5)) || die "the stream stalled: $(emu_summary)"
upload_restarts_before=()
for name in "${hosts[@]}"; do upload_restarts_before+=("$(upload_restarts "$name")"); done
on "$collector" systemctl stop systemd-journal-remote.socket systemd-journal-remote.service
outage_started=$SECONDS
log "  t=$((SECONDS - t0))s: collector stopped (systemd-journal-remote.socket and .service); $(emu_summary)"
# The outage lasts until every uploader has failed at least once and another
# fifth of the stream has been written on the senders.
every_upload_failed() {
    local i
    for i in "${!hosts[@]}"; do
        [ "$(upload_restarts "${hosts[i]}")" -gt "${upload_restarts_before[i]}" ] || return 1
    done
}
check "collector down: every uploader fails and is restarted by its drop-in" wait_until 60 every_upload_failed
wait_until 90 accepted_at_least $((count * 3 / 5)) || die "the stream stalled: $(emu_summary)"
on "$collector" systemctl start systemd-journal-remote.socket
outage_end_us=$(on "$collector" date +%s%6N)
outage=$((SECONDS - outage_started))
log "  t=$((SECONDS - t0))s: collector started again after ${outage}s; $(emu_summary)"
check "collector: socket listening again" collector_up

all_accepted() { [ "$(emu_stat accepted)" -ge "$count" ] && [ "$(emu_stat in_flight)" -eq 0 ]; }
check "the emulator saw all $count messages accepted" wait_until 120 all_accepted
stream_seconds=$((SECONDS - t0))
log "  t=${stream_seconds}s: stream done; $(emu_summary)"
t1=$SECONDS
if wait_until 180 collected_all; then
    pass "the collector holds every published messageId ($((SECONDS - t1))s after the last was accepted)"
else
    fail "the collector holds every published messageId: $(collected_distinct) of $count after 180s"
fi
timing stream "$t0"

# -- the count, from the collector's journal --
collected_entries >"$stage/collected.txt"
log "  host shares (entries per _HOSTNAME on the collector):"
cut -d' ' -f2 "$stage/collected.txt" | sort | uniq -c | sed 's/^/    /'
# Each duplicate's cause: the same sender entry twice (identical host, PID,
# timestamp and boot) was uploaded twice; two different sender entries mean
# the message was written twice, which the cloud's redelivery explains only if
# one of them was written by the killed daemon before the kill.
python3 - "$stage/collected.txt" "$count" "$id_prefix" "$victim" "$killed_pid" "$kill_time_us" "$outage_end_us" \
    >"$stage/verdict.txt" <<'EOF'
import collections, sys
path, count, prefix, victim, killed_pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
kill_time, outage_end = int(sys.argv[6]), int(sys.argv[7])
by_id = collections.defaultdict(list)
for line in open(path):
    mid, host, pid, ts, boot = line.split()
    by_id[mid].append((host, pid, int(ts), boot))
expected = {f"{prefix}{i}" for i in range(1, count + 1)}
entries = sum(len(v) for v in by_id.values())
missing = len(expected - set(by_id))
unexpected = len(set(by_id) - expected)
uploaded_twice = uploaded_twice_other = written_twice_kill = written_twice_other = 0
resent = collections.Counter()
unexplained = []
for mid, copies in by_id.items():
    distinct = set(copies)
    for copy in distinct:
        extra = copies.count(copy) - 1
        if extra == 0:
            continue
        # An uploader sends an entry again only when it resumes from its
        # cursor, which happens after a failed upload: the outage.
        if copy[2] <= outage_end:
            uploaded_twice += extra
            resent[copy[0]] += extra
        else:
            uploaded_twice_other += extra
            unexplained.append(f"{mid}: {copy[0]} PID {copy[1]} at {copy[2]} uploaded {extra + 1} times after the outage")
    if len(distinct) > 1:
        writes = sorted(distinct, key=lambda c: c[2])
        first = writes[0]
        if first[0] == victim and first[1] == killed_pid and first[2] <= kill_time:
            written_twice_kill += len(distinct) - 1
        else:
            written_twice_other += len(distinct) - 1
            unexplained.append(f"{mid}: " + ", ".join(f"{h} PID {p} at {t}" for h, p, t, _ in writes))
hosts = collections.Counter(c[0] for v in by_id.values() for c in v)
print(f"published={count} collected_entries={entries} distinct={len(by_id)} missing={missing} unexpected={unexpected}")
print(f"duplicates={entries - len(by_id)} written_twice_after_kill={written_twice_kill} "
      f"uploaded_twice={uploaded_twice} unexplained={written_twice_other + uploaded_twice_other}")
print("causes: written_twice_after_kill = written by the killed daemon, not acknowledged before the kill, "
      "redelivered by the cloud and written again; uploaded_twice = one sender entry sent again by "
      "systemd-journal-upload when it resumed from its saved cursor after the collector outage")
print("hosts=" + ",".join(f"{h}:{n}" for h, n in sorted(hosts.items())))
print("uploaded_twice_by_host=" + ",".join(f"{h}:{n}" for h, n in sorted(resent.items())))
for line in unexplained[:10]:
    print("unexplained: " + line)
sys.exit(0 if missing == 0 and unexpected == 0 and not unexplained else 1)
EOF
verdict=$?
sed 's/^/  /' "$stage/verdict.txt"
check "every published messageId on the collector once at least, every duplicate with its cause" test "$verdict" -eq 0
every_host_has_share() {
    local name
    for name in "${hosts[@]}"; do
        [ "$(awk -v h="$name" '$2 == h' "$stage/collected.txt" | wc -l)" -gt 0 ] || return 1
    done
}
check "each of the three hosts wrote a share, with its _HOSTNAME" every_host_has_share
victim_after_restart() { awk -v h="$victim" -v p="$killed_pid" '$2 == h && $3 != p' "$stage/collected.txt" | grep . >/dev/null; }
check "$victim wrote messages again after its restart" victim_after_restart
log "  emulator: $(emu_summary)"

# -- the operator's queries, as README.md gives them --
device=$(on "$collector" journalctl -D /var/log/journal/remote -q --no-pager -n 1 -o json \
    --output-fields=IOT_DEVICE_NAME "IOT_CONSUMER_GROUP=$group_name" |
    python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["IOT_DEVICE_NAME"])')
by_device() {
    local n
    n=$(on "$collector" journalctl -D /var/log/journal/remote -q --no-pager -o cat "IOT_DEVICE_NAME=$device" | wc -l)
    log "  journalctl -D /var/log/journal/remote IOT_DEVICE_NAME=$device: $n entries"
    [ "$n" -gt 0 ]
}
check "journalctl -D /var/log/journal/remote IOT_DEVICE_NAME=… finds a device's messages" by_device
# SplitMode=host: one file per sender, which systemd 252 names after the
# sender's address (here the one loopback all share), not its certificate.
log "  /var/log/journal/remote: $(on "$collector" ls /var/log/journal/remote | tr '\n' ' ')"
# The senders' journal per message, for sizing SystemMaxUse= (README.md).
bytes_per_entry() {
    on "${hosts[0]}" sh -c 'du -sb /var/log/journal | cut -f1; journalctl -q --no-pager -o export --output-fields=_PID | grep -c "^__CURSOR="' |
        { read -r bytes; read -r entries; echo $((bytes / entries)); }
}
log "  sender journal on ${hosts[0]}: $(bytes_per_entry) bytes per entry (disk use / entries)"
log "RESULT: $(head -n 2 "$stage/verdict.txt" | tr '\n' ' ')requeued_on_loss=$(emu_stat requeued_on_loss) stream=${stream_seconds}s outage=${outage}s"
