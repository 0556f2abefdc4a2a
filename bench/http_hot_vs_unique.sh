#!/usr/bin/env bash
# Server CPU time per request over HTTP: a hot set of 100 ES256 tokens
# (answered from the verification cache) against 100,000 unique ES256
# tokens (each verified in full), with `svidgate serve --workers 1` on one
# core and wrk on the other, in one run.
#
# Usage: bench/http_hot_vs_unique.sh [SECONDS]   (default 10 per workload)
# Needs build/svidgate and wrk (apt-get install wrk).
set -euo pipefail

cd "$(dirname "$0")/.."
seconds=${1:-10}
work=build/bench-http
binary=$PWD/build/svidgate
port=${SVIDGATE_BENCH_PORT:-18480}

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
[[ -x "$binary" ]] || { echo "build svidgate first" >&2; exit 2; }
mkdir -p "$work"
if [[ ! -s "$work/tokens-ES256.txt" ]] || [[ $(wc -l <"$work/tokens-ES256.txt") -ne 100000 ]]; then
    /usr/bin/python3 bench/corpus.py jwt --alg ES256 --count 100000 --hot 0 "$work"
fi
head -n 100 "$work/tokens-ES256.txt" >"$work/hot.txt"

"$binary" serve --listen "127.0.0.1:$port" --workers 1 --audience bench \
    --bundle "bench.example=$work/bundle-ES256.json" --cache-entries 200000 \
    2>"$work/serve.log" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
sleep 0.5

# CPU seconds (user + system) the server has used so far.
cpu_seconds() {
    awk -v ticks="$(getconf CLK_TCK)" '{ printf "%.4f", ($14 + $15) / ticks }' "/proc/$server/stat"
}

run() {
    local name=$1 tokens=$2 before after requests
    before=$(cpu_seconds)
    TOKENS=$tokens wrk -t1 -c32 -d"${seconds}s" --latency -s bench/verify.lua \
        "http://127.0.0.1:$port" >"$work/wrk-$name.txt"
    after=$(cpu_seconds)
    requests=$(awk '/requests in/ { print $1 }' "$work/wrk-$name.txt")
    awk -v n="$requests" -v b="$before" -v a="$after" -v name="$name" -v s="$seconds" \
        'BEGIN { printf "%-8s %9d requests  %8.0f req/s  server CPU %.2f us/request\n", name, n, n / s, (a - b) * 1e6 / n }'
    grep -E 'Latency|99%|not valid' "$work/wrk-$name.txt" | sed 's/^/         /'
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
# Warm the cache with the hot set, then measure both workloads.
TOKENS=$work/hot.txt wrk -t1 -c4 -d1s -s bench/verify.lua "http://127.0.0.1:$port" >/dev/null
run hot "$work/hot.txt"
run unique "$work/tokens-ES256.txt"
