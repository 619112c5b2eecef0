#!/usr/bin/env bash
# The full test suite, as CI runs it (.ci/run calls this): installs what it
# needs, then runs each stage and reports them all (each integration test runs
# a journald of its own). Exits non-zero if any stage failed.
#
#   scripts/test.sh                 every stage (what CI runs)
#   scripts/test.sh --quick         build, unit, integration: the quick check
#   scripts/test.sh build unit      only the named stages (see `all_stages` below)
#
# Stages: gates (format, clang-tidy, cppcheck), build, unit, integration (on
# this machine), systemd (the integration tests again, inside a booted Debian 12
# container with systemd as PID 1), sanitizers (ASan+UBSan, TSan), fuzz,
# package (the .debs, lintian, install and run under systemd in a container,
# then the autopkgtests of debian/tests in that container; then three such
# hosts on one consumer group uploading their journals to a collector
# container, packaging/test-multi-host.sh).
# When a container stage is selected and its cached rootfs is missing, the
# rootfs is debootstrapped in the background from the start (network and disk
# bound, beside the CPU-bound build), so the container stages find it ready.
# Once the build stage has passed, the sanitizer and fuzzing builds (the
# suite's biggest CPU cost) start in the background at the lowest CPU priority
# (nice 19): they use what the mostly waiting test stages leave idle and yield
# to them otherwise; the sanitizers and fuzz stages then find their builds done
# or wait for them (one build per build dir at a time).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
all_stages=(gates build unit integration soak systemd sanitizers fuzz package)
quick_stages=(build unit integration)
stages=()
for arg in "$@"; do
    case "$arg" in
        --quick) stages+=("${quick_stages[@]}") ;;
        -h|--help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *)
            if [[ " ${all_stages[*]} " != *" $arg "* ]]; then
                echo "test.sh: unknown stage '$arg' (stages: ${all_stages[*]}; or --quick)" >&2
                exit 2
            fi
            stages+=("$arg")
            ;;
    esac
done
[ ${#stages[@]} -eq 0 ] && stages=("${all_stages[@]}")

suite_start=$(date +%s)
if [ "$(id -u)" -eq 0 ]; then
    scripts/install-deps.sh || exit 1
fi

# The container stages' rootfs, prepared ahead in the background (see above).
rootfs_job=
if [ "$(id -u)" -eq 0 ] && [[ " ${stages[*]} " =~ " "(systemd|package)" " ]]; then
    (
        . packaging/nspawn-container.sh
        [ -x "$rootfs/usr/lib/systemd/systemd" ] && exit 0
        mkdir -p "$cache"
        echo "rootfs: preparing $rootfs in the background (log: $cache/prepare.log)"
        exec packaging/nspawn-container.sh prepare "${container_base_packages[@]}" >"$cache/prepare.log" 2>&1
    ) &
    rootfs_job=$!
fi

stage_gates() { [ -x scripts/lint.sh ] && scripts/lint.sh; }
stage_build() {
    cmake -S . -B build -DIOT_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j2
}
stage_unit() { ctest --test-dir build --output-on-failure -L unit -j2; }
stage_integration() { ctest --test-dir build --output-on-failure -L integration; }
# Two minutes of the soak (tests/soak/soak_test.cpp), its table printed either way; bench/soak.sh runs the hour.
stage_soak() { ctest --test-dir build --verbose -L soak | grep -E '\[ soak \]|tests passed|tests failed|Failure|FAILED|Expected|Which is'; return "${PIPESTATUS[0]}"; }
stage_systemd() { scripts/test-in-systemd-container.sh -L integration; }
stage_sanitizers() { scripts/run-sanitizers.sh; }
stage_fuzz() { scripts/run-fuzzers.sh "${FUZZ_SECONDS:-30}"; }
# The multi-host test runs even when the single-host one failed: they check different things.
stage_package() {
    packaging/build-deb.sh || return 1
    local single=0 multi=0
    packaging/test-systemd-package.sh || single=$?
    packaging/test-multi-host.sh || multi=$?
    [ "$single" -eq 0 ] && [ "$multi" -eq 0 ]
}

# The sanitizer and fuzzing builds, ahead of their stages (see above).
ahead_job=
build_ahead() {
    local commands=()
    [[ " ${stages[*]} " == *" sanitizers "* ]] && commands+=("scripts/run-sanitizers.sh --build-only")
    [[ " ${stages[*]} " == *" fuzz "* ]] && commands+=("scripts/run-fuzzers.sh --build-only")
    [ ${#commands[@]} -gt 0 ] || return 0
    echo "building ahead at nice 19: ${commands[*]} (log: build/build-ahead.log)"
    nice -n 19 bash -c "$(printf '%s; ' "${commands[@]}")" </dev/null >build/build-ahead.log 2>&1 &
    ahead_job=$!
}

passed=0
failed=0
failed_names=()
times=()
for stage in "${stages[@]}"; do
    echo
    echo "=================== stage: $stage ==================="
    start=$(date +%s)
    if "stage_$stage"; then
        result=ok
        passed=$((passed + 1))
    else
        result=FAILED
        failed=$((failed + 1))
        failed_names+=("$stage")
    fi
    seconds=$(( $(date +%s) - start ))
    times+=("$(printf '%-11s %-6s %5ss' "$stage" "$result" "$seconds")")
    echo "=================== $stage: $result in ${seconds}s ==================="
    [ "$stage" = build ] && [ "$result" = ok ] && build_ahead
done
echo
echo "stage times (total $(( $(date +%s) - suite_start ))s):"
printf '  %s\n' "${times[@]}"

# Never leave the background rootfs job behind (it ends on its own; a stage
# that needed it waited for its lock).
[ -n "$rootfs_job" ] && wait "$rootfs_job"
[ -n "$ahead_job" ] && wait "$ahead_job"

echo
[ $failed -gt 0 ] && echo "failed stages: ${failed_names[*]}"
echo "stages: $passed passed, $failed failed"
[ $failed -eq 0 ]
