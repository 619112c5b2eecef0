#!/usr/bin/env bash
# Shared by packaging/test-systemd-package.sh and packaging/test-multi-host.sh
# (sourced, not run): the PASS/FAIL report both print and count, and the
# packages a set of .debs needs. Source it before packaging/nspawn-container.sh,
# which expects log and die.

passed=0
failed=0

log() { printf '%s\n' "$*"; }
pass() { passed=$((passed + 1)); log "PASS: $1"; }
fail() { failed=$((failed + 1)); log "FAIL: $1"; }
check() {  # check NAME COMMAND...: PASS when COMMAND succeeds
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
die() { log "FAIL: $*"; failed=$((failed + 1)); exit 1; }

# The Depends of these .debs, resolved on this host (first alternative, no
# versions, a virtual package as the one providing it: real_package, from
# packaging/nspawn-container.sh), one a line.
deb_dependencies() {  # deb_dependencies DEB...
    local deb
    for deb in "$@"; do
        dpkg-deb -f "$deb" Depends
        echo ,
    done | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' |
        grep -v '^$' | while read -r name; do real_package "$name"; done
}
