#!/usr/bin/env bash
# Builds docker/Dockerfile with podman and tests the image on 127.0.0.1
# (tests/container/test_image.py). Runs as root, as CI does: it installs
# podman if needed, creates the Debian base image locally on first use
# (no registry is reachable) and prints the image size.
#
# Usage: scripts/container-test.sh
#   SVIDGATE_IMAGE  tag to build and test (default localhost/svidgate:test)
set -euo pipefail

cd "$(dirname "$0")/.."
image=${SVIDGATE_IMAGE:-localhost/svidgate:test}

if [[ $(id -u) -ne 0 ]]; then
    echo "container-test: run as root (podman here needs it)" >&2
    exit 1
fi

scripts/install-deps.sh --test --container
# crun fails on the CI machines' cgroup layout and podman's default
# open-files limit is not permitted there; docker/podman-ci.conf sets both.
export CONTAINERS_CONF="$PWD/docker/podman-ci.conf"

scripts/container-base-image.sh

started=$(date +%s)
podman build --format docker --file docker/Dockerfile --tag "$image" . >/tmp/svidgate-image-build.log 2>&1 || {
    tail -n 40 /tmp/svidgate-image-build.log
    echo "container-test: podman build failed; the full log is /tmp/svidgate-image-build.log" >&2
    exit 1
}
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "container-test: built $image in $(($(date +%s) - started)) s, size $((size / 1000000)) MB ($size bytes)"

SVIDGATE_IMAGE="$image" /usr/bin/python3 tests/container/test_image.py -v
