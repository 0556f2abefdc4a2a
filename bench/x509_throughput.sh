#!/usr/bin/env bash
# Single-thread X.509-SVID chain verifications per second of
# `svidgate verify x509`, next to `openssl speed ecdsap256`, in one run.
#
# Chains are ECDSA P-256, made by the openssl command line:
#   two-level:   leaf <- root         (root in the bundle; 1 signature checked)
#   three-level: leaf <- intermediate <- root   (2 signatures checked)
# Every chain is one input file, as `verify x509` reads them.
#
# Usage: bench/x509_throughput.sh [COUNT]   (default 10000; needs build/svidgate)
set -euo pipefail

cd "$(dirname "$0")/.."
count=${1:-10000}
work=build/bench-x509
binary=build/svidgate

[[ -x "$binary" ]] || { echo "build svidgate first: cmake --preset release && cmake --build build" >&2; exit 2; }
rm -rf "$work"
mkdir -p "$work/two" "$work/three"

cat >"$work/ext.cnf" <<'CNF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectAltName = URI:spiffe://bench.example
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectAltName = URI:spiffe://bench.example/workload
CNF

make_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
make_key "$work/root.key"
openssl req -x509 -key "$work/root.key" -subj /O=root -days 2 -config "$work/ext.cnf" \
    -extensions ca -out "$work/root.pem" 2>/dev/null
make_key "$work/mid.key"
openssl req -new -key "$work/mid.key" -subj /O=intermediate -config "$work/ext.cnf" \
    -out "$work/mid.csr" 2>/dev/null
openssl x509 -req -in "$work/mid.csr" -CA "$work/root.pem" -CAkey "$work/root.key" -days 2 \
    -extfile "$work/ext.cnf" -extensions ca -out "$work/mid.pem" 2>/dev/null
make_key "$work/leaf.key"
openssl req -new -key "$work/leaf.key" -subj /O=leaf -config "$work/ext.cnf" \
    -out "$work/leaf.csr" 2>/dev/null
openssl x509 -req -in "$work/leaf.csr" -CA "$work/root.pem" -CAkey "$work/root.key" -days 1 \
    -extfile "$work/ext.cnf" -extensions leaf -out "$work/leaf-root.pem" 2>/dev/null
openssl x509 -req -in "$work/leaf.csr" -CA "$work/mid.pem" -CAkey "$work/mid.key" -days 1 \
    -extfile "$work/ext.cnf" -extensions leaf -out "$work/leaf-mid.pem" 2>/dev/null
cat "$work/leaf-root.pem" >"$work/chain-two.pem"
cat "$work/leaf-mid.pem" "$work/mid.pem" >"$work/chain-three.pem"
for i in $(seq 1 "$count"); do
    ln "$work/chain-two.pem" "$work/two/$i.pem"
    ln "$work/chain-three.pem" "$work/three/$i.pem"
done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "openssl: $(openssl version)"
echo

for shape in two three; do
    start=$(date +%s.%N)
    find "$work/$shape" -name '*.pem' -print0 | xargs -0 "$binary" verify x509 \
        --bundle "bench.example=$work/root.pem" >"$work/results-$shape.jsonl"
    end=$(date +%s.%N)
    valid=$(grep -c '"valid":true' "$work/results-$shape.jsonl" || true)
    [[ "$valid" -eq "$count" ]] || { echo "only $valid of $count $shape-level chains verified" >&2; exit 1; }
    awk -v n="$count" -v s="$start" -v e="$end" -v a="$shape" \
        'BEGIN { printf "svidgate verify x509, %s-level chain: %d chains in %.3f s = %.0f chains/s\n", a, n, e - s, n / (e - s) }'
done

echo
echo "openssl speed (one thread, 3 s):"
openssl speed -seconds 3 ecdsap256 2>/dev/null | grep -E '^ *sign|ecdsa \(nistp256\)'
