#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, ASan+UBSan) in build-fuzz and
# runs each for a bounded time on a copy of its seed corpus, so CI never grows
# the repository's corpus. Fails if any target crashed, hung, leaked or ran
# out of memory, and prints one summary line per target.
#
#   scripts/run-fuzzers.sh [SECONDS_EACH]      default 30
#   scripts/run-fuzzers.sh --build-only        only configure and build (scripts/test.sh
#                                              builds ahead this way; one build per dir at a time)
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_TARGETS (space-separated
# subset). Findings are kept in $FUZZ_BUILD_DIR/fuzz-findings/<target>/ with the
# command that reproduces each; full logs in $FUZZ_BUILD_DIR/fuzz-logs/.
set -euo pipefail

build_only=no
if [ "${1:-}" = --build-only ]; then
    build_only=yes
    shift
fi
seconds=${1:-30}
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || { echo "usage: $0 [SECONDS_EACH]" >&2; exit 2; }

top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
read -r -a targets <<< "${FUZZ_TARGETS:-fuzz_config fuzz_topic_username fuzz_message_format fuzz_cloud_describe}"
findings_root="$build/fuzz-findings"
logs="$build/fuzz-logs"

command -v clang++ >/dev/null || { echo "run-fuzzers: clang++ not found (scripts/install-deps.sh)" >&2; exit 1; }

echo "run-fuzzers: building ${targets[*]} in $build"
build_start=$(date +%s)
mkdir -p "$build"
exec {lock}>"$build/.build.lock"
flock "$lock"
# IOT_WERROR stays off here: clang warns about things GCC does not, and the
# GCC build (scripts/test.sh) is the one that enforces warnings as errors.
CC=clang CXX=clang++ cmake -S "$top" -B "$build" -DIOT_FUZZ=ON -DIOT_BUILD_TESTS=OFF -DIOT_WERROR=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1 ||
    { tail -40 "$build/fuzz-build.log" >&2; echo "run-fuzzers: build failed" >&2; exit 1; }
exec {lock}>&-
echo "run-fuzzers: built in $(( $(date +%s) - build_start ))s"
[ "$build_only" = yes ] && exit 0

work=$(mktemp -d "${TMPDIR:-/tmp}/iot-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$findings_root"
mkdir -p "$logs"

# Prints why an input fails: the invariant or sanitizer line of a re-run.
failure_reason() {
    local binary=$1 input=$2
    "$binary" -timeout=10 -rss_limit_mb=2048 "$input" </dev/null 2>&1 |
        grep -m1 -E 'invariant broken|ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:' |
        sed 's/^==[0-9]*==//' || true
}

failed_targets=()
summaries=()
for target in "${targets[@]}"; do
    binary="$build/tests/fuzz/$target"
    seeds="$top/tests/fuzz/corpus/$target"
    corpus="$work/$target/corpus"
    artifacts="$work/$target/artifacts"
    log="$logs/$target.log"
    mkdir -p "$corpus" "$artifacts"
    [ -d "$seeds" ] && cp -R "$seeds/." "$corpus/"
    seed_count=$(find "$corpus" -type f | wc -l)
    options=(-rss_limit_mb=2048 -timeout=10 -artifact_prefix="$artifacts/")
    [ -f "$top/tests/fuzz/$target.dict" ] && options+=(-dict="$top/tests/fuzz/$target.dict")
    start=$(date +%s)

    # 1. Every seed once. A seed that fails is a finding; it is set aside so
    #    the timed run can still explore (fork mode's start-up merge would
    #    otherwise skip a crashing seed without saving it).
    : >"$log"
    for _ in $(seq 1 "$seed_count"); do
        if "$binary" "${options[@]}" -runs=0 "$corpus" </dev/null >>"$log" 2>&1; then break; fi
        found=$(ls -t "$artifacts" 2>/dev/null | head -1)
        [ -n "$found" ] || { echo "run-fuzzers: $target failed to start, see $log" >&2; break; }
        hash=${found#*-}
        for seed in "$corpus"/*; do
            [ "$(sha1sum <"$seed" | cut -d' ' -f1)" = "$hash" ] && rm -f "$seed"
        done
    done

    # 2. The timed run. Fork mode keeps fuzzing after a finding (each is saved
    #    to $artifacts), so one known bug does not hide the next.
    "$binary" "${options[@]}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$seconds" "$corpus" </dev/null >>"$log" 2>&1 || echo "run-fuzzers: $target exited with $?" >>"$log"
    elapsed=$(( $(date +%s) - start ))

    # Fork mode's last progress line: "#N: cov: C ft: F corp: K exec/s E oom/timeout/crash: a/b/c time: Ts ..."
    stats=$(grep -E '^#[0-9]+: cov: ' "$log" | tail -1 || true)
    execs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$stats")
    coverage=$(sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+) exec\/s:? ([0-9]+).*/cov \1, features \2, corpus \3, \4 exec\/s/p' <<<"$stats")
    findings=$(find "$artifacts" -type f | wc -l)
    status=ok
    if [ "$findings" -gt 0 ] || [ -z "$stats" ] || grep -q "^run-fuzzers: $target exited" "$log"; then
        status=FAILED
        failed_targets+=("$target")
    fi
    line=$(printf '%-20s %-6s %3ss  %s execs, %s (seeds %s), findings %s' "$target" "$status" "$elapsed" \
        "${execs:-0}" "${coverage:-no progress line}" "$seed_count" "$findings")
    summaries+=("$line")
    echo "$line"

    if [ "$findings" -gt 0 ]; then
        mkdir -p "$findings_root/$target"
        cp "$artifacts"/* "$findings_root/$target/"
        shown=0
        for artifact in "$findings_root/$target"/*; do
            shown=$((shown + 1))
            if [ "$shown" -gt 5 ]; then
                echo "    ... and $((findings - 5)) more in $findings_root/$target/"
                break
            fi
            echo "    $(basename "$artifact"): $(failure_reason "$binary" "$artifact")"
            echo "      reproduce: $binary $artifact"
        done
    fi
done

echo
echo "run-fuzzers: summary (${seconds}s each; logs in $logs)"
printf '  %s\n' "${summaries[@]}"
if [ ${#failed_targets[@]} -gt 0 ]; then
    echo "run-fuzzers: FAILED: ${failed_targets[*]}"
    exit 1
fi
echo "run-fuzzers: all targets passed"
