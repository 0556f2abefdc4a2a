#!/usr/bin/python3
"""docker/systemd/svidgate.service against systemd-analyze and the binary.

systemd-analyze verify must accept the unit without a warning once its
ExecStart names the built binary. The unit must use Type=notify with a
watchdog long enough for the workers' one-second loop tick, pass only
flags that `svidgate serve --help` lists, keep its state directory where
--state-dir points, and carry the hardening directives.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.environ.get(
    "SVIDGATE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
)
BINARY = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
UNIT = os.path.join(SOURCE_DIR, "docker", "systemd", "svidgate.service")
INSTALLED_BINARY = "/usr/local/bin/svidgate"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# A worker's loop turns at least once a second (its tick), and pings go
# out every WatchdogSec/2 only after every worker turned, so WatchdogSec
# below 4 s could miss a ping on an idle server.
WATCHDOG_MIN_SECONDS = 4
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "DynamicUser": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
}


def read_unit():
    """Return {key: value} of the unit, with continuation lines joined."""
    with open(UNIT, encoding="utf-8") as unit:
        text = unit.read().replace("\\\n", " ")
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "[")):
            continue
        key, value = line.split("=", 1)
        settings[key] = value
    return settings


def seconds(value):
    match = re.fullmatch(r"(\d+)(s|min)?", value)
    if match is None:
        raise ValueError(f"unexpected time span {value!r}")
    return int(match.group(1)) * (60 if match.group(2) == "min" else 1)


class SystemdUnitTest(unittest.TestCase):
    def setUp(self):
        self.unit = read_unit()
        self.exec_start = shlex.split(self.unit["ExecStart"])

    def test_notify_and_watchdog(self):
        self.assertEqual(self.unit["Type"], "notify")
        self.assertEqual(self.unit["NotifyAccess"], "main")
        self.assertGreaterEqual(seconds(self.unit["WatchdogSec"]), WATCHDOG_MIN_SECONDS)
        self.assertEqual(self.unit["KillSignal"], "SIGTERM")
        self.assertIn("-HUP", self.unit["ExecReload"])

    def test_exec_start_uses_real_flags(self):
        self.assertEqual(self.exec_start[:2], [INSTALLED_BINARY, "serve"])
        completed = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True,
                                   timeout=30)
        known = set(FLAG.findall(completed.stdout + completed.stderr))
        for flag in [arg for arg in self.exec_start if arg.startswith("--")]:
            with self.subTest(flag=flag):
                self.assertIn(flag, known)

    def test_state_directory_matches(self):
        index = self.exec_start.index("--state-dir")
        self.assertEqual(self.exec_start[index + 1], f"/var/lib/{self.unit['StateDirectory']}")

    def test_hardening_directives(self):
        for key, value in HARDENING.items():
            with self.subTest(directive=key):
                self.assertEqual(self.unit.get(key), value)
        self.assertIn("io_uring_setup", self.unit["SystemCallFilter"])
        self.assertIn("@system-service", self.unit["SystemCallFilter"])

    def test_systemd_analyze_verify(self):
        if shutil.which("systemd-analyze") is None:
            self.fail("systemd-analyze is not installed (scripts/install-deps.sh --test)")
        with open(UNIT, encoding="utf-8") as unit:
            text = unit.read().replace(INSTALLED_BINARY, os.path.abspath(BINARY))
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "svidgate.service")
            with open(path, "w", encoding="utf-8") as copy:
                copy.write(text)
            # --man=no: the man page is not installed on the test machine.
            completed = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                                       capture_output=True, text=True, timeout=60)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        # systemd-analyze reports unknown or invalid settings as warnings
        # with status 0, so any output is a failure.
        self.assertEqual(completed.stderr.strip(), "")


if __name__ == "__main__":
    if not os.access(BINARY, os.X_OK):
        print(f"FAIL: svidgate binary {BINARY} not found; build it or set SVIDGATE_BIN",
              file=sys.stderr)
        sys.exit(1)
    unittest.main()
