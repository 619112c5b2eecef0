#!/bin/sh
# Installs what building, testing, packaging and the demo need, from Debian 12's
# own packages. Idempotent; needs root. Skips apt entirely when all are present.
set -eu

packages="build-essential cmake pkg-config git openssl
libqpid-proton-cpp12-dev libqpid-proton11-dev python3-qpid-proton
libssl-dev libsystemd-dev libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
googletest libgtest-dev systemd
clang clang-14 libclang-rt-14-dev clang-format clang-tidy cppcheck
debhelper devscripts lintian fakeroot
systemd-container debootstrap iproute2"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "install-deps: run as root to install:$missing" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
