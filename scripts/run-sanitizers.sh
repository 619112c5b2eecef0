#!/usr/bin/env bash
# Runs the test suite under the sanitizers (DESIGN.md §10):
#   asan  build-asan, -DRUNTIME_CHECK=asan (ASan+UBSan): unit and integration tests
#   tsan  build-tsan, -DRUNTIME_CHECK=tsan: the threaded tests, i.e. the
#         integration tests (the daemon binary is the threaded part) and the unit
#         tests, some of which start the emulator's threads; suppressions only for
#         races inside the uninstrumented libqpid-proton (tests/tsan.supp)
#
#   scripts/run-sanitizers.sh [asan|tsan]...      default: both legs
#   scripts/run-sanitizers.sh --build-only [asan|tsan]...   only configure and build
#         (scripts/test.sh builds ahead this way, at low priority, while other
#         stages mostly wait; a lock per build dir keeps two builds apart)
#
# Sanitizer reports go to files (log_path), not stderr: the daemon's stderr is a
# journald stream in the integration tests, where a report would be lost. Any
# report fails the leg, as does any failing test. Reports are kept in
# <build dir>/sanitizer-logs/ and summarised at the end of each leg.
# Environment: SANITIZER_CTEST_ARGS adds ctest arguments (e.g. -R delivery).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

build_only=no
if [ "${1:-}" = --build-only ]; then
    build_only=yes
    shift
fi
legs=("$@")
[ ${#legs[@]} -eq 0 ] && legs=(asan tsan)
for leg in "${legs[@]}"; do
    case "$leg" in asan|tsan) ;; *) echo "usage: $0 [asan|tsan]..." >&2; exit 2 ;; esac
done

wanted_targets=(unit-tests integration-tests iot-amqpd iot-amqpd-emulator)

# Tests whose subject is meaningless under a sanitizer: peak RSS bounds (the
# sanitizers' shadow memory and quarantine multiply RSS by design).
# Timing-sensitive under the sanitizers' slowdown (they pass in the plain run):
#  - AbruptDrops checks that a drop caught messages in flight (a precondition),
#    which under ASan's slower daemon it sometimes does not;
#  - ResourceBounds.MemoryStaysBounded measures VmHWM, which ASan's quarantine inflates.
not_under_sanitizers='^ResourceBounds\.MemoryStaysBounded|^FaultConnection\.AbruptDropsRepeatedUnderLoad'
# Scenarios that spend their time waiting out the daemon's 30 s authentication
# backoff, and the vendor-sample fidelity check (Python against the emulator; no
# daemon code runs): under either sanitizer they add half a minute each. A refused
# authentication still runs under ASan in SecuritySecrets.*, and the backoff's
# arithmetic in the unit tests under both sanitizers.
waits_only='^Auth\.WrongSecretBacksOff|^FaultConnection\.Authentication|^fidelity\.'
# The TSan leg runs the unit tests and the scenarios that exercise the daemon's
# threads (supervisor + group threads: delivery, reconnects, reload, stop,
# watchdog, scale-out, daemon faults). It skips the scenarios that mostly wait
# (30 s auth backoffs, TLS refusals, journald faults, odd bodies, the harness's
# own tests): under TSan's 5-15x slowdown they would double CI time and add no
# thread interleavings the others lack. ASan+UBSan runs everything else.
# The SIGTERM-under-load drains (Stop.Sigterm*, FaultDaemon.Sigterm*) run here too: since the stop waits
# for the credit in flight and for journald to read what was written, they pass at TSan's speed.
not_under_tsan='^(Auth|Heartbeat|Harness[A-Za-z]*|Security[A-Za-z]*|Servers/Tls|TlsHostName|FaultJournald|Shapes/FaultJournald[A-Za-z]*|FaultMessages|ResourceBounds)\.|^FaultConnection\.Authentication|^fidelity\.'
# Tests that send SIGSEGV to the daemon on purpose and expect it to die by that
# signal. The sanitizers' SEGV handler would turn it into a report and exit 1,
# so these run in a pass of their own with handle_segv=0: a real crash still
# kills the daemon there and fails the test, only without a sanitizer stack.
deliberate_crash_tests='^SecuritySecrets\.NoCredentialInAnyOutputThroughFailureReloadTraceAndCrash$'
read -r -a extra_ctest_args <<< "${SANITIZER_CTEST_ARGS:-}"

# The targets of wanted_targets that this tree defines (the integration tests
# and the emulator exist only once their sources do).
existing_targets() {
    local build=$1 help
    help=$(cmake --build "$build" --target help 2>/dev/null)
    for target in "${wanted_targets[@]}"; do
        grep -qE "^\.\.\. $target( |$)" <<<"$help" && echo "$target"
    done
}

# One paragraph per report file: what, the first frames and the summary line.
summarise_reports() {
    local dir=$1
    for report in "$dir"/*; do
        [ -f "$report" ] || continue
        echo "  --- $(basename "$report")"
        grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:' "$report" |
            sed 's/^==[0-9]*==//; s/^/    /'
        grep -m6 -E '^ +#[0-9]+ ' "$report" | sed -E 's/^ +/      /; s/ \(\/[^)]*\)$//'
        grep -m1 '^SUMMARY:' "$report" | sed 's/^/    /'
        local kinds
        kinds=$(grep -c -E 'ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error:' "$report")
        [ "$kinds" -gt 1 ] && echo "    ($kinds reports in this file)"
    done
}

run_leg() {
    local leg=$1 build="$top/build-$leg" logs
    local start
    start=$(date +%s)
    logs="$build/sanitizer-logs"
    echo
    echo "=== run-sanitizers: $leg in $build"

    mkdir -p "$build"
    # One build at a time per build dir (a build ahead may still be running).
    local lock
    exec {lock}>"$build/.build.lock"
    flock "$lock"
    # -O1: the sanitizers' recommended level, quicker to build than -O2, keeps asserts. -g1: the
    # function names and line tables a report's stack needs, without full debug info (faster to
    # compile and link; the sanitizer builds are most of CI's build time).
    if ! cmake -S "$top" -B "$build" -DRUNTIME_CHECK="$leg" -DIOT_WERROR=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
            >"$build/sanitizer-configure.log" 2>&1; then
        tail -30 "$build/sanitizer-configure.log" >&2
        echo "run-sanitizers: $leg: configure failed" >&2
        exec {lock}>&-
        return 1
    fi
    mapfile -t targets < <(existing_targets "$build")
    echo "run-sanitizers: $leg: building ${targets[*]}"
    if ! cmake --build "$build" -j2 --target "${targets[@]}" >"$build/sanitizer-build.log" 2>&1; then
        grep -E 'error|Error' "$build/sanitizer-build.log" | head -30 >&2
        echo "run-sanitizers: $leg: build failed (full log: $build/sanitizer-build.log)" >&2
        exec {lock}>&-
        return 1
    fi
    exec {lock}>&-
    local built
    built=$(date +%s)
    echo "run-sanitizers: $leg: built in $((built - start))s"
    [ "$build_only" = yes ] && return 0

    rm -rf "$logs"
    mkdir -p "$logs"
    # One log_path for every sanitizer: with ASan+UBSan the last one parsed wins.
    local common="log_path=$logs/report"
    local options_var options
    if [ "$leg" = asan ]; then
        options_var=ASAN_OPTIONS
        options="$common:detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"
    else
        # halt_on_error=0: report every race in one run; exitcode 66 still fails the process.
        options_var=TSAN_OPTIONS
        options="$common:suppressions=$top/tests/tsan.supp:halt_on_error=0:second_deadlock_stack=1:history_size=4"
    fi
    local -a env=("$options_var=$options" "UBSAN_OPTIONS=$common:print_stacktrace=1:halt_on_error=1")
    local -a crash_env=("$options_var=$options:handle_segv=0" "UBSAN_OPTIONS=$common:print_stacktrace=1:halt_on_error=1:handle_segv=0")

    # (The integration tests start a journald of their own, each in a private
    # mount namespace: see tests/support/journald.hpp.)

    local ctest_status=0 excluded="$not_under_sanitizers|$waits_only|$deliberate_crash_tests"
    [ "$leg" = tsan ] && excluded="$excluded|$not_under_tsan"
    env "${env[@]}" ctest --test-dir "$build" --output-on-failure -j2 -L 'unit|integration' \
        -E "$excluded" "${extra_ctest_args[@]}" \
        >"$build/sanitizer-ctest.log" 2>&1 || ctest_status=$?
    if [ "$leg" = asan ]; then
        env "${crash_env[@]}" ctest --test-dir "$build" --output-on-failure -L 'unit|integration' \
            -R "$deliberate_crash_tests" "${extra_ctest_args[@]}" \
            >>"$build/sanitizer-ctest.log" 2>&1 || ctest_status=$((ctest_status == 0 ? $? : ctest_status))
    fi
    grep -E '^[0-9]+% tests passed|tests? failed|\*\*\*Failed|\*\*\*Timeout|\*\*\*Exception|Not Run' "$build/sanitizer-ctest.log" |
        sed 's/^/  /'

    local reports
    reports=$(find "$logs" -type f | wc -l)
    echo "run-sanitizers: $leg: sanitizer reports:"
    summarise_reports "$logs"
    [ "$reports" -eq 0 ] && echo "  none"

    local status=ok
    if [ "$ctest_status" -ne 0 ] || [ "$reports" -ne 0 ]; then status=FAILED; fi
    echo "run-sanitizers: $leg: $status (ctest exit $ctest_status, $reports report files) in $(( $(date +%s) - start ))s wall" \
         "(build $((built - start))s, tests $(( $(date +%s) - built ))s); full ctest log: $build/sanitizer-ctest.log"
    [ "$status" = ok ]
}

overall_start=$(date +%s)
failed=()
for leg in "${legs[@]}"; do
    run_leg "$leg" || failed+=("$leg")
done
echo
if [ ${#failed[@]} -gt 0 ]; then
    echo "run-sanitizers: FAILED: ${failed[*]} (total $(( $(date +%s) - overall_start ))s)"
    exit 1
fi
echo "run-sanitizers: all legs passed (total $(( $(date +%s) - overall_start ))s)"
