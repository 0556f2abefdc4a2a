#!/usr/bin/env bash
# Installs the Debian 12 packages that svidgate needs to build, run and
# test, and does nothing when every one is already present.
#
# Usage: scripts/install-deps.sh [--test] [--container] [--bench]
#   --test       also installs what the test suite needs (cmocka, clang and
#                its runtime for libFuzzer, python3-jwcrypto, Google
#                Benchmark with g++ for the SVIDGATE_BENCH microbenchmarks,
#                nginx-light as the bundle endpoint of
#                tests/net/test_federation_fetch.py, yamllint for the
#                Kubernetes manifests and systemd for systemd-analyze).
#   --container  also installs podman, buildah, runc and debootstrap, which
#                scripts/container-test.sh uses to build a Debian base image
#                and to build and run docker/Dockerfile without a Docker
#                engine or a registry.
#   --bench      also installs what bench/compare needs: the peers'
#                toolchains (Node.js with npm, Go with Debian's golang-jwt,
#                libjwt), gnuplot for the latency plots and nginx-light for
#                the HTTP floor. The npm packages come from
#                bench/peers/*/package-lock.json through `npm ci`, which
#                bench/compare runs.
set -euo pipefail

packages=(
    build-essential cmake pkg-config ca-certificates
    liburing-dev libssl-dev openssl libjansson-dev libjemalloc-dev
    liburcu-dev libxxhash-dev libcurl4-openssl-dev
    curl python3 python3-cryptography
)
for group in "$@"; do
    case "$group" in
        --test)
            packages+=(
                libcmocka-dev clang libclang-rt-14-dev
                python3-jwcrypto libbenchmark-dev g++ nginx-light yamllint systemd
            )
            ;;
        --container)
            packages+=(podman buildah runc debootstrap)
            ;;
        --bench)
            packages+=(
                libbenchmark-dev g++ nginx-light gnuplot-nox
                golang-go golang-github-golang-jwt-jwt-dev libjwt-dev
                python3-jwcrypto util-linux procps
            )
            # Debian 12's nodejs is v18 with npm as its own package; a machine
            # with Node.js from elsewhere already has both, so only add them
            # where node is missing.
            if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
                packages+=(nodejs npm)
            fi
            ;;
        *)
            echo "install-deps: unknown option $group (expected --test, --container or --bench)" >&2
            exit 2
            ;;
    esac
done

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "installed" ]]; then
        missing+=("$package")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
