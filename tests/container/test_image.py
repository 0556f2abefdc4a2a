#!/usr/bin/python3
"""The svidgate container image, run with podman on 127.0.0.1.

scripts/container-test.sh builds docker/Dockerfile as $SVIDGATE_IMAGE and
runs this script as root with CONTAINERS_CONF set. The container runs
with a read-only root file system, a named volume as its state
directory, the seccomp profile of docker/seccomp/allow-io-uring.py and
a bundle minted here with python3-jwcrypto. The tests verify tokens over
HTTP, run the image's HEALTHCHECK, check the user and the file system,
and stop a container with SIGTERM. One container takes its settings
from a mounted configuration file (`serve --config`) and must apply a
changed allow rule on SIGHUP, sent both from inside the container (as
`kubectl exec` does) and by podman.

Exit status 77 (skipped) when podman is not installed; with CI=true it
fails instead.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

SOURCE_DIR = os.environ.get(
    "SVIDGATE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
)
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "net"))
from test_server_blackbox import AUDIENCE, SPIFFE_ID, TRUST_DOMAIN, Credentials, skip_or_fail  # noqa: E402

IMAGE = os.environ.get("SVIDGATE_IMAGE", "localhost/svidgate:test")
PODMAN_TIMEOUT_SECONDS = 60
START_TIMEOUT_SECONDS = 30
HTTP_TIMEOUT_SECONDS = 5
STOP_LIMIT_SECONDS = 2.0
LOG_WAIT_SECONDS = 10
CONTAINER_PORT = 8080
CONTAINER_CONFIG = "/etc/svidgate/config/svidgate.conf"


def podman(*arguments, check=True):
    completed = subprocess.run(["podman", *arguments], capture_output=True, text=True,
                               timeout=PODMAN_TIMEOUT_SECONDS)
    if check and completed.returncode != 0:
        raise AssertionError(f"podman {' '.join(arguments)} failed with "
                             f"{completed.returncode}:\n{completed.stderr}")
    return completed


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(port, path, body=None):
    """Return (status, parsed JSON body) of one request to 127.0.0.1:port."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


SERVE_FLAGS = (
    "serve", "--listen", f"0.0.0.0:{CONTAINER_PORT}", "--workers", "2",
    "--bundle", f"{TRUST_DOMAIN}=/etc/svidgate/bundles/bundle.json",
    "--state-dir", "/var/lib/svidgate", "--audience", AUDIENCE,
)


class Container:
    """One detached svidgate container with its bundle folder and state volume.

    `serve_args` follow the image name, and `volumes` are more --volume values.
    """

    def __init__(self, folder, seccomp_profile, name, serve_args=SERVE_FLAGS, volumes=()):
        self.name = name
        self.volume = f"{name}-state"
        self.port = free_port()
        podman("volume", "create", self.volume)
        extra = [argument for volume in volumes for argument in ("--volume", volume)]
        podman(
            "run", "--detach", "--name", name, "--read-only",
            "--security-opt", f"seccomp={seccomp_profile}",
            "--volume", f"{folder}:/etc/svidgate/bundles:ro",
            "--volume", f"{self.volume}:/var/lib/svidgate",
            *extra,
            "--publish", f"127.0.0.1:{self.port}:{CONTAINER_PORT}",
            IMAGE, *serve_args,
        )
        self._wait_for_listening()

    def logs(self):
        return podman("logs", self.name, check=False).stderr

    def _wait_for_listening(self):
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if 'msg="listening"' in self.logs():
                return
            state = podman("inspect", "--format", "{{.State.Status}}", self.name).stdout.strip()
            if state == "exited":
                break
            time.sleep(0.2)
        logs = self.logs()
        self.remove()
        raise AssertionError(f"the container did not start listening:\n{logs}")

    def exit_code(self):
        return int(podman("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout)

    def remove(self):
        podman("rm", "--force", self.name, check=False)
        podman("volume", "rm", "--force", self.volume, check=False)


class ContainerFixture(unittest.TestCase):
    serve_args = SERVE_FLAGS

    @classmethod
    def prepare(cls):
        """Write more files into cls.folder before the container starts, and return more volumes."""
        return ()

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory()
        os.chmod(cls.folder.name, 0o755)  # the container's user 10001 reads the bundle
        cls.credentials = Credentials(cls.folder.name)
        os.chmod(cls.credentials.bundle_path, 0o644)
        cls.seccomp = os.path.join(cls.folder.name, "seccomp.json")
        subprocess.run(
            ["/usr/bin/python3", os.path.join(SOURCE_DIR, "docker", "seccomp", "allow-io-uring.py"),
             "--output", cls.seccomp], check=True, timeout=PODMAN_TIMEOUT_SECONDS,
        )
        volumes = cls.prepare()
        cls.container = Container(cls.folder.name, cls.seccomp,
                                  f"svidgate-test-{os.getpid()}-{cls.__name__.lower()}",
                                  cls.serve_args, volumes)

    @classmethod
    def tearDownClass(cls):
        cls.container.remove()
        cls.folder.cleanup()


class ServingTest(ContainerFixture):
    def verify(self, token):
        body = json.dumps({"token": token}).encode()
        return http(self.container.port, "/v1/jwt-svid/verify", body)

    def test_valid_token_verified(self):
        status, result = self.verify(self.credentials.token())
        self.assertEqual(status, 200)
        self.assertTrue(result["valid"], result)
        self.assertEqual(result["spiffe_id"], SPIFFE_ID)

    def test_bad_signature_rejected(self):
        status, result = self.verify(self.credentials.token_with_bad_signature())
        self.assertEqual(status, 200)
        self.assertFalse(result["valid"])
        self.assertEqual(result["error"], "bad_signature")

    def test_healthz_and_readyz(self):
        self.assertEqual(http(self.container.port, "/healthz"), (200, {"status": "ok"}))
        status, ready = http(self.container.port, "/readyz")
        self.assertEqual(status, 200)
        self.assertEqual(ready["status"], "ready")

    def test_image_healthcheck_passes(self):
        configured = podman("image", "inspect", "--format", "{{json .Config.Healthcheck}}",
                            IMAGE).stdout
        self.assertIn("/healthz", configured)
        completed = podman("healthcheck", "run", self.container.name, check=False)
        self.assertEqual(completed.returncode, 0, completed.stdout + completed.stderr)

    def test_runs_as_non_root(self):
        self.assertEqual(podman("image", "inspect", "--format", "{{.Config.User}}",
                                IMAGE).stdout.strip(), "10001:10001")
        self.assertEqual(podman("exec", self.container.name, "id", "-u").stdout.strip(), "10001")

    def test_root_file_system_read_only(self):
        touched = podman("exec", self.container.name, "touch", "/usr/local/bin/probe",
                         check=False)
        self.assertNotEqual(touched.returncode, 0)
        self.assertIn("Read-only file system", touched.stderr)

    def test_state_directory_writable(self):
        podman("exec", self.container.name, "touch", "/var/lib/svidgate/probe")

    def test_runtime_stage_has_no_toolchain(self):
        for tool in ("cc", "cmake", "pkg-config"):
            with self.subTest(tool=tool):
                found = podman("run", "--rm", "--entrypoint", "/bin/sh", IMAGE, "-c",
                               f"command -v {tool}", check=False)
                self.assertNotEqual(found.returncode, 0, f"{tool} is in the runtime image")


class ConfigFileTest(ContainerFixture):
    """A container that takes every setting from a mounted svidgate.conf."""

    serve_args = ("serve", "--config", CONTAINER_CONFIG)
    admitted = f"allow = * {SPIFFE_ID}\n"
    excluded = f"allow = * spiffe://{TRUST_DOMAIN}/someone-else\n"

    @classmethod
    def prepare(cls):
        # The folder is mounted, not the file, because a bind mount of one
        # file keeps the old inode when a rename replaces the file.
        cls.config_folder = os.path.join(cls.folder.name, "config")
        os.mkdir(cls.config_folder)
        os.chmod(cls.config_folder, 0o755)
        cls.write_config(cls.admitted)
        return (f"{cls.config_folder}:{os.path.dirname(CONTAINER_CONFIG)}:ro",)

    @classmethod
    def write_config(cls, policy):
        """Replace svidgate.conf by a rename, as editors and the kubelet do."""
        text = (f"listen = 0.0.0.0:{CONTAINER_PORT}\n"
                "workers = 2\n"
                f"bundle = {TRUST_DOMAIN}=/etc/svidgate/bundles/bundle.json\n"
                "state-dir = /var/lib/svidgate\n"
                f"audience = {AUDIENCE}\n" + policy)
        path = os.path.join(cls.config_folder, os.path.basename(CONTAINER_CONFIG))
        with open(path + ".new", "w", encoding="utf-8") as config:
            config.write(text)
        os.chmod(path + ".new", 0o644)
        os.replace(path + ".new", path)

    def verify(self):
        body = json.dumps({"token": self.credentials.token()}).encode()
        return http(self.container.port, "/v1/jwt-svid/verify", body)

    def reload(self, send):
        """Call `send` to deliver SIGHUP and wait for the "configuration reloaded" line."""
        seen = self.container.logs().count('msg="configuration reloaded"')
        send()
        deadline = time.monotonic() + LOG_WAIT_SECONDS
        while time.monotonic() < deadline:
            if self.container.logs().count('msg="configuration reloaded"') > seen:
                return
            time.sleep(0.1)
        self.fail(f"no configuration reloaded line after SIGHUP:\n{self.container.logs()}")

    def test_config_file_serves(self):
        status, result = self.verify()
        self.assertEqual(status, 200)
        self.assertTrue(result["valid"], result)
        self.assertEqual(result["spiffe_id"], SPIFFE_ID)
        self.assertEqual(http(self.container.port, "/readyz")[0], 200)

    def test_sighup_applies_allow_rule(self):
        try:
            self.write_config(self.excluded)
            # kubectl exec has only the container's tools, so bash's kill
            # builtin signals svidgate, which is PID 1.
            self.reload(lambda: podman("exec", self.container.name, "/bin/bash", "-c",
                                       "kill -HUP 1"))
            status, result = self.verify()
            self.assertEqual(status, 200)
            self.assertFalse(result["valid"], result)
            self.assertEqual(result["error"], "policy_denied")
        finally:
            self.write_config(self.admitted)
            self.reload(lambda: podman("kill", "--signal", "HUP", self.container.name))
        status, result = self.verify()
        self.assertTrue(result["valid"], result)


class StopTest(ContainerFixture):
    def test_sigterm_stops_within_two_seconds(self):
        started = time.monotonic()
        podman("kill", "--signal", "TERM", self.container.name)
        podman("wait", self.container.name)
        seconds = time.monotonic() - started

        self.assertLess(seconds, STOP_LIMIT_SECONDS, self.container.logs())
        self.assertEqual(self.container.exit_code(), 0, self.container.logs())
        self.assertIn('msg="stopped"', self.container.logs())


if __name__ == "__main__":
    if shutil.which("podman") is None:
        skip_or_fail("podman is not installed (scripts/install-deps.sh --container)")
    if os.geteuid() != 0:
        skip_or_fail("the container test runs podman as root")
    unittest.main()
