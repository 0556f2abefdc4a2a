#!/usr/bin/python3
"""Write a seccomp profile that allows io_uring, from a runtime's default one.

svidgate serves through io_uring, which the default seccomp profiles of
podman (containers-common), Docker 25 and later, and containerd reject
with ENOSYS or EPERM. This script copies such a profile and appends one
rule that allows io_uring_setup, io_uring_enter and io_uring_register,
so every other rule of the runtime's profile stays as it is.

    allow-io-uring.py [--input /usr/share/containers/seccomp.json] --output svidgate-seccomp.json
"""

import argparse
import json
import sys

IO_URING_SYSCALLS = ["io_uring_setup", "io_uring_enter", "io_uring_register"]


def allow_io_uring(profile):
    """Return `profile` with io_uring allowed; raise ValueError when it is not a profile."""
    if not isinstance(profile, dict) or not isinstance(profile.get("syscalls"), list):
        raise ValueError("the input is not a seccomp profile: it has no \"syscalls\" list")
    profile["syscalls"].append({"names": IO_URING_SYSCALLS, "action": "SCMP_ACT_ALLOW"})
    return profile


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default="/usr/share/containers/seccomp.json",
                        help="the runtime's default profile (default: podman's)")
    parser.add_argument("--output", required=True, help="where to write the new profile")
    arguments = parser.parse_args()

    try:
        with open(arguments.input, encoding="utf-8") as source:
            profile = allow_io_uring(json.load(source))
    except (OSError, ValueError) as error:
        print(f"allow-io-uring: reading {arguments.input} failed: {error}", file=sys.stderr)
        return 2

    with open(arguments.output, "w", encoding="utf-8") as target:
        json.dump(profile, target, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
