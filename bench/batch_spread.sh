#!/usr/bin/env bash
# Wall time of one POST /v1/jwt-svid/verify-batch of 10,000 unique ES256
# tokens, first with `svidgate serve --workers 1`, then with one worker
# per CPU. The verification cache is off, so every item is verified in
# full. The difference shows what spreading a batch gains on this host.
#
# Usage: bench/batch_spread.sh [ROUNDS]   (default 5 batches per server)
# Needs build/svidgate, curl and python3-cryptography.
set -euo pipefail

cd "$(dirname "$0")/.."
rounds=${1:-5}
work=build/bench-batch
binary=$PWD/build/svidgate
port=${SVIDGATE_BENCH_PORT:-18481}

command -v curl >/dev/null || { echo "curl is missing: apt-get install curl" >&2; exit 2; }
[[ -x "$binary" ]] || { echo "build svidgate first" >&2; exit 2; }
mkdir -p "$work"
if [[ ! -s "$work/tokens-ES256.txt" ]] || [[ $(wc -l <"$work/tokens-ES256.txt") -ne 10000 ]]; then
    /usr/bin/python3 bench/make_tokens.py "$work" ES256 10000
fi
/usr/bin/python3 -c '
import json, sys
tokens = [line.strip() for line in open(sys.argv[1]) if line.strip()]
json.dump({"audience": "bench", "tokens": tokens}, open(sys.argv[2], "w"))
' "$work/tokens-ES256.txt" "$work/batch.json"

run() {
    local workers=$1 server
    "$binary" serve --listen "127.0.0.1:$port" --workers "$workers" --cache-entries 0 \
        --bundle "bench.example=$work/bundle-ES256.json" 2>"$work/serve-$workers.log" &
    server=$!
    sleep 0.5
    for ((round = 1; round <= rounds; round++)); do
        curl -sS --max-time 60 -o /dev/null -w '%{http_code} %{time_total}\n' \
            --data-binary "@$work/batch.json" "http://127.0.0.1:$port/v1/jwt-svid/verify-batch"
    done | awk -v w="$workers" '
        $1 != 200 { print "the batch request failed with HTTP status " $1 >"/dev/stderr"; failed = 1 }
        { sum += $2; n++; if (min == "" || $2 < min) min = $2 }
        END { if (!failed) printf "workers=%-3d batches=%d  mean %.3f s  best %.3f s  %.0f items/s (best)\n", w, n, sum / n, min, 10000 / min }'
    curl -sS --max-time 5 "http://127.0.0.1:$port/metrics" | grep '^svidgate_batch_chunks_total' | sed 's/^/         /'
    kill "$server"
    wait "$server" 2>/dev/null || true
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
run 1
run "$(nproc)"
