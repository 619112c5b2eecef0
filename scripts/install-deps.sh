#!/bin/sh
# Installs what building, testing, packaging and the demo need, from Debian 12's
# own packages. Idempotent; needs root. Skips apt entirely when all are present.
#
# rabbitmq-server is installed only for the tests' private broker
# (tests/support/private_rabbitmq.*), which runs its own node from a temporary
# directory. Installing it must not start the system node: a policy-rc.d that
# answers 101 ("action forbidden") keeps invoke-rc.d/deb-systemd-invoke from
# starting it during that apt-get, and a unit we installed is then disabled so
# it does not start at the next boot either. A rabbitmq-server that was already
# installed (a developer's system node) is left as it is. prometheus-node-exporter
# is installed the same way, for the test that runs its own node_exporter on a
# loopback port (tests/integration/node_exporter_test.cpp).
set -eu

packages="build-essential cmake pkg-config git openssl
libqpid-proton-cpp12-dev libqpid-proton11-dev python3-qpid-proton
libssl-dev libsystemd-dev libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
googletest libgtest-dev systemd
clang clang-14 libclang-rt-14-dev clang-format clang-tidy cppcheck
debhelper devscripts lintian fakeroot
systemd-container debootstrap iproute2"
# erlang-base comes with rabbitmq-server and brings epmd's own units.
service_packages="rabbitmq-server erlang-base prometheus-node-exporter"
# The systemd units of a package above, disabled when we installed it.
units_of() {
    case "$1" in
        rabbitmq-server) echo rabbitmq-server.service ;;
        erlang-base) echo epmd.socket epmd.service ;;
        prometheus-node-exporter) echo prometheus-node-exporter.service ;;
    esac
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=""
for p in $packages; do
    installed "$p" || missing="$missing $p"
done
missing_services=""
for p in $service_packages; do
    installed "$p" || missing_services="$missing_services $p"
done
[ -z "$missing$missing_services" ] && exit 0

[ "$(id -u)" -eq 0 ] || { echo "install-deps: run as root to install:$missing$missing_services" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
if [ -n "$missing_services" ]; then
    # A policy-rc.d that is already there (container images ship one that
    # forbids everything) is neither replaced nor removed.
    policy=/usr/sbin/policy-rc.d
    created_policy=""
    if [ ! -e "$policy" ]; then
        created_policy=yes
        # Removed however this script ends (an interrupted apt-get included).
        trap 'rm -f "$policy"' EXIT
        trap 'exit 130' INT TERM
        printf '#!/bin/sh\n# install-deps.sh: no service starts while it installs packages\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
    fi
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing_services
    if [ -n "$created_policy" ]; then
        rm -f "$policy"
        trap - EXIT INT TERM
    fi
    # systemctl edits the unit's symlinks with or without systemd as PID 1.
    if command -v systemctl >/dev/null; then
        for p in $missing_services; do
            # shellcheck disable=SC2046
            systemctl disable --quiet $(units_of "$p") 2>/dev/null || true
        done
    fi
fi
