#!/usr/bin/env bash
# The daemon's main job, end to end, without a cloud account: builds
# iot-amqpd and the bundled cloud emulator, starts the emulator on loopback
# (TLS with a throw-away CA, SASL PLAIN with signature checks), runs the daemon
# in the foreground against it, publishes a steady stream of sample device
# messages of several topic kinds, and shows each one as it lands in the
# journal with its IOT_* fields (or as JSON Lines when no journald can run).
# Ctrl-C stops everything it started.
#
# As root it runs in a mount namespace of its own with a journald of its own
# (tests/tools/with_private_journald.cpp): the machine's journald, its
# configuration and its journal are left alone, and the demo's journal, on a
# tmpfs, is gone when the demo ends. Without root the messages are printed as
# JSON Lines.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
rate=${DEMO_RATE:-2}          # messages per second
build=${BUILD_DIR:-build}

if [ -z "${IOT_DEMO_PRIVATE_JOURNALD:-}" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        scripts/install-deps.sh
    fi
    echo "== building (cmake, $build/)"
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" -j2 --target iot-amqpd iot-amqpd-emulator with-private-journald >/dev/null
    if [ "$(id -u)" -eq 0 ]; then
        echo "== a journald of the demo's own, in a private mount namespace (the machine's is left alone)"
        IOT_DEMO_PRIVATE_JOURNALD=1 exec "$build/tests/with-private-journald" -- "$0" "$@"
    fi
fi

work=$(mktemp -d /tmp/iot-amqpd-demo.XXXXXX)
pids=()
cleanup() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
    echo
    echo "== demo stopped"
}
trap cleanup INT TERM EXIT

echo "== test certificates and accounts in $work"
tests/support/make-test-certs.sh "$work" >/dev/null
head -c 24 /dev/urandom | base64 | tr -d '\n/+=' > "$work/access-key-secret"
chmod 600 "$work/access-key-secret"
cat > "$work/accounts.yaml" <<YAML
instance_id: iot-06z00demo
consumer_groups: [DEMOGROUP1]
accounts:
  - access_key_id: LTAI5tDEMOKEY0001
    access_key_secret: "$(cat "$work/access-key-secret")"
    consumer_groups: [DEMOGROUP1]
YAML

output=journald
if [ -z "${IOT_DEMO_PRIVATE_JOURNALD:-}" ]; then
    output=stdout
    echo "== not root, so no journald of the demo's own: messages are printed as JSON Lines"
fi

"$build/iot-amqpd-emulator" --listen 127.0.0.1:0 --cert "$work/server.pem" --key "$work/server.key" \
    --accounts "$work/accounts.yaml" --control "$work/ctl.sock" --port-file "$work/port" \
    --log-file "$work/emulator.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "emulator did not start; see $work/emulator.log" >&2; exit 1; }
port=$(cat "$work/port")

cat > "$work/iot-amqpd.yaml" <<YAML
defaults:
  endpoint: amqps://localhost:$port
  access_key_id: LTAI5tDEMOKEY0001
  access_key_secret_file: $work/access-key-secret
  iot_instance_id: iot-06z00demo
  tls: { ca_file: $work/ca.pem }
consumer_groups:
  - name: demo
    consumer_group_id: DEMOGROUP1
output:
  type: $output
  syslog_identifier: iot-amqpd-demo
YAML
echo "== config: $work/iot-amqpd.yaml"
"$build/iot-amqpd" --check-config -c "$work/iot-amqpd.yaml"

if [ "$output" = journald ]; then
    echo "== device messages as journal entries (journalctl SYSLOG_IDENTIFIER=iot-amqpd-demo):"
    journalctl -f -n 0 SYSLOG_IDENTIFIER=iot-amqpd-demo -o verbose \
        --output-fields=MESSAGE,IOT_TOPIC,IOT_MESSAGE_ID,IOT_PRODUCT_KEY,IOT_DEVICE_NAME,IOT_CLIENT_ID,IOT_PAYLOAD_ENCODING &
    pids+=($!)
fi

# A steady stream cycling through every topic kind of the protocol notes.
"$build/iot-amqpd-emulator" ctl --control "$work/ctl.sock" \
    publish group=DEMOGROUP1 count=1000000 rate="$rate" kind=mixed id_prefix=demo- devices=5 >/dev/null

echo "== iot-amqpd running in the foreground (its own log below); Ctrl-C to stop"
"$build/iot-amqpd" -c "$work/iot-amqpd.yaml" --log-target stderr &
pids+=($!)
wait "${pids[-1]}"
