#!/usr/bin/env bash
# The full test suite, as CI runs it (.ci/run calls this): installs what it
# needs, then runs each stage and reports them all (each integration test runs
# a journald of its own). Exits non-zero if any stage failed.
#
#   scripts/test.sh                 every stage
#   scripts/test.sh build unit      only the named stages (see `stages` below)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
all_stages=(gates build unit integration sanitizers fuzz package)
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=("${all_stages[@]}")

if [ "$(id -u)" -eq 0 ]; then
    scripts/install-deps.sh || exit 1
fi

stage_gates() { [ -x scripts/lint.sh ] && scripts/lint.sh; }
stage_build() {
    cmake -S . -B build -DIOT_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j2
}
stage_unit() { ctest --test-dir build --output-on-failure -L unit -j2; }
stage_integration() { ctest --test-dir build --output-on-failure -L integration; }
stage_sanitizers() { scripts/run-sanitizers.sh; }
stage_fuzz() { scripts/run-fuzzers.sh "${FUZZ_SECONDS:-30}"; }
stage_package() { packaging/build-deb.sh && packaging/test-systemd-package.sh; }

passed=0
failed=0
failed_names=()
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
    echo "=================== $stage: $result in $(( $(date +%s) - start ))s ==================="
done

echo
[ $failed -gt 0 ] && echo "failed stages: ${failed_names[*]}"
echo "stages: $passed passed, $failed failed"
[ $failed -eq 0 ]
