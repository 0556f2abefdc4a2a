#!/usr/bin/python3
"""docker/systemd/svidgate.service against systemd-analyze and the binary.

systemd-analyze verify must accept the unit without a warning once its
ExecStart names the built binary. The unit must use Type=notify with a
watchdog long enough for the workers' one-second loop tick, run
`serve --config` on a file in its ConfigurationDirectory, and carry the
hardening directives. The sample docker/systemd/svidgate.conf must pass
--check-config and keep its state directory in the unit's
StateDirectory. The unit's ExecReload commands, run against a server
started with that file, must send SIGHUP for a valid file and fail
without sending it for an invalid one.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "net"))
from test_server_blackbox import TRUST_DOMAIN, Credentials  # noqa: E402
from test_k8s_manifests import ArgvServer  # noqa: E402

SOURCE_DIR = os.environ.get(
    "SVIDGATE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
)
BINARY = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
UNIT = os.path.join(SOURCE_DIR, "docker", "systemd", "svidgate.service")
SAMPLE_CONFIG = os.path.join(SOURCE_DIR, "docker", "systemd", "svidgate.conf")
INSTALLED_BINARY = "/usr/local/bin/svidgate"
INSTALLED_CONFIG = "/etc/svidgate/svidgate.conf"
LOG_WAIT_SECONDS = 10
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


def read_unit_entries():
    """Return the (key, value) pairs of the unit in order, with continuation lines joined."""
    with open(UNIT, encoding="utf-8") as unit:
        text = unit.read().replace("\\\n", " ")
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "[")):
            continue
        key, value = line.split("=", 1)
        entries.append((key, value))
    return entries


def read_unit():
    """Return {key: value} of the unit, where a key given twice keeps its last value."""
    return dict(read_unit_entries())


def read_sample_config():
    """Return {key: [values]} of docker/systemd/svidgate.conf."""
    values = {}
    with open(SAMPLE_CONFIG, encoding="utf-8") as config:
        for line in config:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def write_local_config(folder, credentials, extra=""):
    """Write the sample config for a run on 127.0.0.1 with a minted bundle, and return its path."""
    state = os.path.join(folder, "state")
    os.makedirs(state, exist_ok=True)
    replacements = {
        "listen": "127.0.0.1:0",
        "bundle": f"{TRUST_DOMAIN}={credentials.bundle_path}",
        "state-dir": state,
    }
    lines = []
    with open(SAMPLE_CONFIG, encoding="utf-8") as config:
        for line in config:
            key = line.split("=", 1)[0].strip()
            if "=" in line and not line.startswith("#") and key in replacements:
                line = f"{key} = {replacements[key]}\n"
            lines.append(line)
    path = os.path.join(folder, "svidgate.conf")
    with open(path, "w", encoding="utf-8") as target:
        target.write("".join(lines) + extra)
    return path


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

    def test_reload_checks_then_signals(self):
        reloads = [value for key, value in read_unit_entries() if key == "ExecReload"]
        self.assertEqual(len(reloads), 2, reloads)
        self.assertEqual(shlex.split(reloads[0]),
                         [*self.exec_start, "--check-config"])
        self.assertEqual(reloads[1], "/bin/kill -HUP $MAINPID")

    def test_exec_start_reads_config(self):
        self.assertEqual(self.exec_start, [INSTALLED_BINARY, "serve", "--config", INSTALLED_CONFIG])
        self.assertEqual(os.path.dirname(INSTALLED_CONFIG),
                         f"/etc/{self.unit['ConfigurationDirectory']}")

    def test_exec_start_uses_real_flags(self):
        self.assertEqual(self.exec_start[:2], [INSTALLED_BINARY, "serve"])
        completed = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True,
                                   timeout=30)
        known = set(FLAG.findall(completed.stdout + completed.stderr))
        for flag in [arg for arg in self.exec_start if arg.startswith("--")]:
            with self.subTest(flag=flag):
                self.assertIn(flag, known)

    def test_state_directory_matches(self):
        self.assertEqual(read_sample_config()["state-dir"],
                         [f"/var/lib/{self.unit['StateDirectory']}"])

    def test_sample_config_listens_on_loopback(self):
        self.assertEqual(read_sample_config()["listen"], ["127.0.0.1:8080"])

    def test_sample_config_passes_check(self):
        with tempfile.TemporaryDirectory() as folder:
            config = write_local_config(folder, Credentials(folder))
            completed = subprocess.run([BINARY, "serve", "--config", config, "--check-config"],
                                       capture_output=True, text=True, timeout=30)
        self.assertEqual(completed.returncode, 0, completed.stderr)

    def run_exec_reload(self, pid, config):
        """Run the unit's ExecReload commands as systemd does, and return their exit statuses.

        systemd runs them in order and stops at the first that fails.
        """
        statuses = []
        for key, value in read_unit_entries():
            if key != "ExecReload":
                continue
            command = value.replace("$MAINPID", str(pid)).replace(INSTALLED_CONFIG, config)
            command = command.replace(INSTALLED_BINARY, os.path.abspath(BINARY))
            completed = subprocess.run(shlex.split(command), capture_output=True, text=True,
                                       timeout=30)
            statuses.append(completed.returncode)
            if completed.returncode != 0:
                break
        return statuses

    def wait_for_log(self, server, seen, message):
        deadline = time.monotonic() + LOG_WAIT_SECONDS
        while time.monotonic() < deadline:
            if any(f'msg="{message}"' in line for line in server.log[seen:]):
                return True
            time.sleep(0.05)
        return False

    def test_exec_reload_on_running_server(self):
        with tempfile.TemporaryDirectory() as folder:
            credentials = Credentials(folder)
            config = write_local_config(folder, credentials)
            server = ArgvServer([BINARY, "serve", "--config", config])
            try:
                seen = len(server.log)
                write_local_config(folder, credentials, "leeway = 10\n")
                self.assertEqual(self.run_exec_reload(server.process.pid, config), [0, 0])
                self.assertTrue(self.wait_for_log(server, seen, "configuration reloaded"),
                                server.log_text())

                seen = len(server.log)
                write_local_config(folder, credentials, "leeway = ten\n")
                statuses = self.run_exec_reload(server.process.pid, config)
                self.assertEqual(len(statuses), 1, "SIGHUP was sent for an invalid file")
                self.assertNotEqual(statuses[0], 0)
                self.assertEqual(server.process.poll(), None)
            finally:
                status, _ = server.stop()
            self.assertEqual(status, 0, server.log_text())
            self.assertFalse(any("configuration reload" in line for line in server.log[seen:]),
                             server.log_text())

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
