#!/bin/bash
# Fidelity check: the vendor's own sample client (tests/fidelity/aliyun_amqp_sample.py,
# the Python 2.7 sample ported to Python 3) against the emulator program on loopback.
#   1. it receives what was published, over TLS verified against the test CA;
#   2. a wrong AccessKey secret is refused (amqp:unauthorized-access);
#   3. heartbeat=20 (10000 ms on the wire) is refused (amqp:invalid-field, code 9601);
#   4. strict mode refuses a replayed timestamp (the same SAMPLE_TIMESTAMP twice).
# Usage: run-fidelity.sh PATH/TO/iot-amqpd-emulator
set -euo pipefail

emulator=${1:?usage: $0 iot-amqpd-emulator}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/iot-fidelity.XXXXXX")
emulator_pid=

cleanup() {
    if [ -n "$emulator_pid" ] && kill -0 "$emulator_pid" 2>/dev/null; then
        kill -TERM "$emulator_pid"
        timeout 10 tail --pid="$emulator_pid" -f /dev/null || kill -KILL "$emulator_pid"
    fi
    if [ "${failed:-0}" = 1 ]; then
        echo "---- emulator log"; cat "$work/emulator.log" 2>/dev/null || true
        for f in "$work"/sample.*.log; do [ -e "$f" ] && { echo "---- $f"; tail -20 "$f"; }; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() { failed=1; echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

if ! "$python" -c 'import proton; assert proton.SSL.present()' 2>/dev/null; then
    echo "SKIP: /usr/bin/python3 has no qpid-proton with SSL (apt-get install python3-qpid-proton)"
    exit 0
fi

bash "$here/../support/make-test-certs.sh" "$work/certs"
access_key=LTAI5tFidelity01
secret="fidelity-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
instance=iot-06z00fidelity
cat >"$work/accounts.yaml" <<YAML
instance_id: $instance
consumer_groups: [CG1]
accounts:
  - access_key_id: $access_key
    access_key_secret: "$secret"
    consumer_groups: [CG1]
YAML

start_emulator() {  # extra emulator args...
    rm -f "$work/port" "$work/ctl.sock"
    "$emulator" --listen 127.0.0.1:0 --cert "$work/certs/server.pem" --key "$work/certs/server.key" \
        --accounts "$work/accounts.yaml" --control "$work/ctl.sock" --port-file "$work/port" \
        --log-file "$work/emulator.log" "$@" &
    emulator_pid=$!
    for _ in $(seq 1 150); do
        [ -s "$work/port" ] && [ -S "$work/ctl.sock" ] && break
        kill -0 "$emulator_pid" 2>/dev/null || fail "emulator exited at start"
        sleep 0.1
    done
    [ -s "$work/port" ] || fail "emulator wrote no port file within 15 s"
    port=$(cat "$work/port")
}

stop_emulator() {
    kill -TERM "$emulator_pid"
    timeout 10 tail --pid="$emulator_pid" -f /dev/null || fail "emulator did not stop on SIGTERM"
    wait "$emulator_pid" || fail "emulator exited with status $? on SIGTERM"
    emulator_pid=
}

ctl() { "$emulator" ctl --control "$work/ctl.sock" --timeout 20s "$@"; }

# stat KEY [CLIENT]: a counter of group CG1 (or of one client id in it).
stat() {
    ctl stats | "$python" -c '
import json, sys
g = json.load(sys.stdin)["groups"]["CG1"]
print(g["clients"][sys.argv[2]][sys.argv[1]] if len(sys.argv) > 2 else g[sys.argv[1]])' "$@"
}

run_sample() {  # name expected max_seconds [VAR=value...]
    local name=$1 expected=$2 max=$3
    shift 3
    set +e
    env AMQP_HOST=localhost AMQP_PORT="$port" AMQP_CA_FILE="$work/certs/ca.pem" ACCESS_KEY_ID="$access_key" \
        ACCESS_KEY_SECRET="$secret" CONSUMER_GROUP_ID=CG1 CLIENT_ID=fidelity-client IOT_INSTANCE_ID="$instance" \
        SAMPLE_EXPECT_MESSAGES="$expected" SAMPLE_MAX_SECONDS="$max" "$@" \
        timeout $((max + 30)) "$python" "$here/aliyun_amqp_sample.py" >"$work/sample.$name.log" 2>&1
    sample_status=$?
    set -e
}

# 1. Messages arrive over verified TLS and are accepted.
start_emulator
ctl publish group=CG1 count=5 id_prefix=fid- kind=mixed >/dev/null
run_sample receive 5 30
[ "$sample_status" = 0 ] || fail "sample exited $sample_status instead of receiving 5 messages"
for n in 1 2 3 4 5; do
    grep -q "message_id=fid-$n," "$work/sample.receive.log" || fail "message fid-$n not printed by the sample"
done
for _ in $(seq 1 50); do [ "$(stat accepted)" = 5 ] && break; sleep 0.1; done
[ "$(stat accepted)" = 5 ] || fail "emulator counted $(stat accepted) accepted, expected 5"
pass "sample received and accepted 5 messages over verified TLS"

# 2. A wrong secret is refused at SASL.
run_sample wrong-secret 1 4 ACCESS_KEY_SECRET=not-the-secret
[ "$sample_status" != 0 ] || fail "sample with a wrong secret succeeded"
grep -q "amqp:unauthorized-access" "$work/sample.wrong-secret.log" || fail "no amqp:unauthorized-access in the sample log"
[ "$(stat auth_failures)" -ge 1 ] || fail "emulator counted no auth failure"
if grep -q "$secret" "$work/emulator.log"; then fail "the emulator log contains the secret"; fi
pass "wrong secret refused ($(stat auth_failures) attempts, sample retried with its default backoff)"

# 3. heartbeat=20 puts 10000 ms on the wire: below the 30000 ms floor.
run_sample heartbeat 1 4 SAMPLE_HEARTBEAT=20
[ "$sample_status" != 0 ] || fail "sample with heartbeat=20 succeeded"
grep -q "amqp:invalid-field" "$work/sample.heartbeat.log" || fail "no amqp:invalid-field in the sample log"
grep -q "code=9601" "$work/emulator.log" || fail "emulator logged no 9601"
pass "heartbeat=20 refused with amqp:invalid-field (9601)"
stop_emulator

# 4. Strict mode: the second run replays the first run's timestamp.
start_emulator --strict
timestamp=$(date +%s%3N)
ctl publish group=CG1 count=1 id_prefix=strict- >/dev/null
run_sample strict-first 1 30 SAMPLE_TIMESTAMP="$timestamp"
[ "$sample_status" = 0 ] || fail "strict mode refused a fresh timestamp"
ctl publish group=CG1 count=1 id_prefix=replay- >/dev/null
run_sample strict-replay 1 4 SAMPLE_TIMESTAMP="$timestamp"
[ "$sample_status" != 0 ] || fail "strict mode accepted a replayed timestamp"
grep -q "amqp:unauthorized-access" "$work/sample.strict-replay.log" || fail "replay not refused as unauthorized-access"
[ "$(stat stale_timestamps fidelity-client)" -ge 1 ] || fail "no stale timestamp counted for the client"
[ "$(stat last_timestamp fidelity-client)" = "$timestamp" ] || fail "last_timestamp is not the first run's"
pass "strict mode refused the replayed timestamp"
stop_emulator
echo "fidelity: all checks passed"
