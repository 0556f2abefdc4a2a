#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test of svidgate:
#   1. the release build (build/) and its whole ctest suite;
#   2. the same suite under AddressSanitizer and UndefinedBehaviorSanitizer
#      (build-asan/);
#   3. the concurrent code (cache, trust snapshots, the server) under
#      ThreadSanitizer (build-tsan/);
#   4. the libFuzzer targets (build-fuzz/): every seed corpus replayed,
#      then each target fuzzed for SVIDGATE_FUZZ_SECONDS (default 30);
#   5. the container image: docker/Dockerfile built and run with podman
#      (scripts/container-test.sh). It needs root; without root it is
#      skipped with a message, unless CI=true, where it fails instead.
#   6. `bench/compare --quick`: every benchmark contender and workload
#      once with tiny sizes, to show that they run. Its numbers are not
#      judged; set SVIDGATE_SKIP_BENCH=1 to leave it out.
# Exits non-zero on the first failing stage.
set -euo pipefail

cd "$(dirname "$0")/.."
fuzz_seconds=${SVIDGATE_FUZZ_SECONDS:-30}
jobs=$(nproc)

scripts/install-deps.sh --test
if [[ "${SVIDGATE_SKIP_BENCH:-0}" != 1 ]]; then
    scripts/install-deps.sh --bench
fi

stage() {
    printf '\n=== %s ===\n' "$1"
}

stage "release build and tests"
cmake --preset release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

stage "ASan+UBSan build and tests"
cmake --preset asan >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"

stage "ThreadSanitizer: cache, snapshots, the server, its watchdog and its drain"
cmake --preset tsan >/dev/null
cmake --build build-tsan -j"$jobs"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs" \
    -R 'cache/|snapshot|publisher|server_blackbox|x509_endpoint|sd_notify|http_drain'

stage "fuzz targets: corpus replay and ${fuzz_seconds} s of fuzzing each"
cmake --preset fuzz >/dev/null
cmake --build build-fuzz -j"$jobs"
ctest --test-dir build-fuzz --output-on-failure -R '^fuzz/'
for target in build-fuzz/fuzz_*; do
    name=$(basename "$target")
    corpus="tests/fuzz/corpus/${name#fuzz_}"
    scratch=$(mktemp -d)
    echo "fuzzing $name for ${fuzz_seconds} s"
    # New inputs go to the scratch folder, so the checked-in corpus stays as it is.
    if ! "$target" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="$scratch/" "$scratch" "$corpus" >"$scratch/log" 2>&1; then
        tail -n 40 "$scratch/log"
        echo "FAIL: $name found a crash; the input is in $scratch" >&2
        exit 1
    fi
    grep -E 'DONE' "$scratch/log" | tail -n 1
    rm -rf "$scratch"
done

stage "container image built and run with podman"
if [[ $(id -u) -eq 0 ]]; then
    scripts/container-test.sh
elif [[ "${CI:-}" == "true" ]]; then
    echo "FAIL: the container stage needs root to run podman (CI=true)" >&2
    exit 1
else
    echo "SKIP: the container stage needs root to run podman; run scripts/container-test.sh as root"
fi

if [[ "${SVIDGATE_SKIP_BENCH:-0}" != 1 ]]; then
    stage "benchmarks: bench/compare --quick (runs only, numbers not judged)"
    bench/compare --quick
fi

stage "all stages passed"
