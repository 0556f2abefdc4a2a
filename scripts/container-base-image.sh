#!/usr/bin/env bash
# Builds the Debian 12 base image that docker/Dockerfile names
# (docker.io/library/debian:bookworm) without a registry: debootstrap
# --variant=minbase from the Debian mirror that apt on this machine uses,
# imported with `podman import`. Does nothing when the image exists.
#
# Usage: scripts/container-base-image.sh   (as root; needs podman and debootstrap)
set -euo pipefail

image=docker.io/library/debian:bookworm

if podman image exists "$image"; then
    exit 0
fi

# The first deb822 URIs line, or else the first `deb` line of the
# one-line format, names the mirror.
mirror=$(grep -hs -m1 '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' || true)
if [[ -z "$mirror" ]]; then
    mirror=$(grep -hs -m1 '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
        awk '{print $2}' || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d /var/tmp/svidgate-bookworm.XXXXXX)
trap 'rm -rf "$root"' EXIT

echo "container-base-image: debootstrap bookworm from $mirror (takes a few minutes)" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
# debootstrap writes the mirror into the image's sources.list, so apt inside
# the build stage uses the same mirror; its caches are not part of the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "container-base-image: imported $image" >&2
