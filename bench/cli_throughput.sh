#!/usr/bin/env bash
# Single-thread throughput of `svidgate verify jwt` over 10,000 unique ES256
# and 10,000 unique RS256 tokens, next to `openssl speed` for the same
# primitives, measured in one run on one machine.
#
# Usage: bench/cli_throughput.sh [COUNT]   (default 10000; needs build/svidgate)
set -euo pipefail

cd "$(dirname "$0")/.."
count=${1:-10000}
work=build/bench-cli
binary=build/svidgate

[[ -x "$binary" ]] || { echo "build svidgate first: cmake --preset release && cmake --build build" >&2; exit 2; }
mkdir -p "$work"

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "openssl: $(openssl version)"
echo

for alg in ES256 RS256; do
    if [[ ! -s "$work/tokens-$alg.txt" ]] || [[ $(wc -l <"$work/tokens-$alg.txt") -ne $count ]]; then
        /usr/bin/python3 bench/corpus.py jwt --alg "$alg" --count "$count" --hot 0 "$work"
    fi
    start=$(date +%s.%N)
    "$binary" verify jwt --bundle "bench.example=$work/bundle-$alg.json" --audience bench \
        "$work/tokens-$alg.txt" >"$work/results-$alg.jsonl"
    end=$(date +%s.%N)
    valid=$(grep -c '"valid":true' "$work/results-$alg.jsonl" || true)
    [[ "$valid" -eq "$count" ]] || { echo "only $valid of $count $alg tokens verified" >&2; exit 1; }
    awk -v n="$count" -v s="$start" -v e="$end" -v a="$alg" \
        'BEGIN { printf "svidgate verify jwt %s: %d tokens in %.3f s = %.0f verifications/s\n", a, n, e - s, n / (e - s) }'
done

echo
echo "openssl speed (one thread, 3 s per primitive):"
openssl speed -seconds 3 ecdsap256 rsa2048 2>/dev/null | grep -E '^ *(sign|[0-9]+ bits)|ecdsa \(nistp256\)|^rsa 2048'
