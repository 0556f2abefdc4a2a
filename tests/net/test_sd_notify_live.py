#!/usr/bin/python3
"""The systemd readiness protocol of `svidgate serve` against a real socket.

The test binds an AF_UNIX datagram socket, runs `svidgate serve` with
NOTIFY_SOCKET (and WATCHDOG_USEC) pointing at it, and checks what arrives:
READY=1 only once the "listening" line is written, WATCHDOG=1 pings at
about half of WATCHDOG_USEC, and STOPPING=1 on SIGTERM. With a bundle that
cannot be loaded, no READY=1 arrives at all.

Exit status 77 (skipped) when the binary is missing or the kernel refuses
io_uring; with CI=true those fail instead.
"""

import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_server_blackbox import AUDIENCE, SOURCE_DIR, TRUST_DOMAIN, Credentials, skip_or_fail  # noqa: E402

START_TIMEOUT_SECONDS = 20
STOP_TIMEOUT_SECONDS = 5
WATCHDOG_USEC = 3_000_000
LISTENING = re.compile(r'msg="listening" addr=127\.0\.0\.1:\d+ ')


def binary_path():
    binary = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
    if not os.access(binary, os.X_OK):
        skip_or_fail(f"svidgate binary {binary} not found; build it or set SVIDGATE_BIN")
    return binary


class NotifiedServer:
    """A `svidgate serve` process with NOTIFY_SOCKET bound by this test.

    Events are recorded in arrival order as ("log", line) or
    ("notify", message). Before each datagram is recorded, every byte
    already in the stderr pipe is read, so a log line written before
    the datagram was sent is always recorded before it.
    """

    def __init__(self, folder, bundle_path, abstract=False, extra_env=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"@svidgate-notify-{os.getpid()}-{time.monotonic_ns()}"
            self.sock.bind("\0" + name[1:])
        else:
            name = os.path.join(folder, "notify.sock")
            self.sock.bind(name)
        env = dict(os.environ, NOTIFY_SOCKET=name)
        env.update(extra_env or {})
        argv = [
            binary_path(), "serve", "--listen", "127.0.0.1:0", "--workers", "2",
            "--bundle", f"{TRUST_DOMAIN}={bundle_path}", "--audience", AUDIENCE,
        ]
        self.process = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.set_blocking(self.process.stderr.fileno(), False)
        self.partial = b""
        self.events = []
        self.stderr_closed = False

    def _drain_stderr(self):
        while not self.stderr_closed:
            try:
                chunk = os.read(self.process.stderr.fileno(), 65536)
            except BlockingIOError:
                return
            if not chunk:
                self.stderr_closed = True
                return
            self.partial += chunk
            *lines, self.partial = self.partial.split(b"\n")
            self.events.extend(("log", line.decode("utf-8", "replace")) for line in lines)

    def _drain_datagrams(self):
        while select.select([self.sock], [], [], 0)[0]:
            self.events.append(("notify", self.sock.recv(4096).decode("utf-8", "replace")))

    def pump(self, seconds):
        """Record events for up to `seconds`, or until the process exits."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            watched = [self.sock] + ([] if self.stderr_closed else [self.process.stderr])
            ready, _, _ = select.select(watched, [], [], max(0.0, deadline - time.monotonic()))
            if self.sock in ready:
                message = self.sock.recv(4096).decode("utf-8", "replace")
                self._drain_stderr()
                self.events.append(("notify", message))
            elif ready:
                self._drain_stderr()
            if self.stderr_closed:
                # The process closed stderr, so it is exiting; reap it.
                try:
                    self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    pass
                self._drain_datagrams()
                return

    def pump_until(self, predicate, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not predicate():
            self.pump(0.2)
            if self.process.poll() is not None and self.stderr_closed:
                break
        return predicate()

    def notifications(self):
        return [text for kind, text in self.events if kind == "notify"]

    def log_text(self):
        return "\n".join(text for kind, text in self.events if kind == "log")

    def index_of(self, predicate):
        for index, event in enumerate(self.events):
            if predicate(event):
                return index
        return -1

    def stop(self):
        """Send SIGTERM and return the exit status; kills after a timeout."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self.pump(0.5)
        self.process.stderr.close()
        self.sock.close()
        return status

    def skip_if_unsupported(self):
        if self.process.poll() is not None and "io_uring" in self.log_text():
            skip_or_fail(f"the kernel does not provide what svidgate needs: {self.log_text()}")


def has_ready(server):
    return any("READY=1" in text.split("\n") for text in server.notifications())


class NotifyTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.credentials = Credentials(self.folder.name)

    def tearDown(self):
        self.folder.cleanup()

    def test_ready_watchdog_stopping(self):
        server = NotifiedServer(
            self.folder.name, self.credentials.bundle_path,
            extra_env={"WATCHDOG_USEC": str(WATCHDOG_USEC)},
        )
        try:
            server.pump_until(lambda: has_ready(server), START_TIMEOUT_SECONDS)
            server.skip_if_unsupported()
            self.assertTrue(has_ready(server), f"no READY=1; log:\n{server.log_text()}")

            listening = server.index_of(lambda e: e[0] == "log" and LISTENING.search(e[1]))
            ready = server.index_of(lambda e: e[0] == "notify" and "READY=1" in e[1].split("\n"))
            self.assertGreaterEqual(listening, 0, server.events)
            self.assertLess(listening, ready, server.events)
            ready_message = server.notifications()[0]
            self.assertIn("STATUS=serving on 127.0.0.1:", ready_message)

            # Pings come every WATCHDOG_USEC / 2 = 1.5 s while the workers
            # turn their loops (a worker tick is once a second); three pings
            # within 8 s leave room for a skipped check.
            server.pump_until(lambda: server.notifications().count("WATCHDOG=1") >= 3, 8)
            self.assertGreaterEqual(server.notifications().count("WATCHDOG=1"), 3, server.events)
            self.assertIn("watchdog enabled", server.log_text())
            self.assertNotIn("STOPPING=1", "\n".join(server.notifications()))
        finally:
            status = server.stop()

        self.assertEqual(status, 0, server.log_text())
        stopping = [text for text in server.notifications() if "STOPPING=1" in text.split("\n")]
        self.assertEqual(len(stopping), 1, server.events)
        stopping_at = server.index_of(lambda e: e[0] == "notify" and "STOPPING=1" in e[1])
        stopping_log = server.index_of(lambda e: e[0] == "log" and 'msg="stopping"' in e[1])
        self.assertLess(stopping_log, stopping_at, server.events)

    def test_abstract_socket_without_watchdog(self):
        server = NotifiedServer(self.folder.name, self.credentials.bundle_path, abstract=True)
        try:
            server.pump_until(lambda: has_ready(server), START_TIMEOUT_SECONDS)
            server.skip_if_unsupported()
            self.assertTrue(has_ready(server), f"no READY=1; log:\n{server.log_text()}")
            server.pump(2.0)
            self.assertNotIn("WATCHDOG=1", server.notifications())
        finally:
            self.assertEqual(server.stop(), 0, server.log_text())

    def test_watchdog_for_other_pid_is_ignored(self):
        server = NotifiedServer(
            self.folder.name, self.credentials.bundle_path,
            extra_env={"WATCHDOG_USEC": str(WATCHDOG_USEC), "WATCHDOG_PID": "1"},
        )
        try:
            server.pump_until(lambda: has_ready(server), START_TIMEOUT_SECONDS)
            server.skip_if_unsupported()
            self.assertTrue(has_ready(server), f"no READY=1; log:\n{server.log_text()}")
            server.pump(3.5)
            self.assertNotIn("WATCHDOG=1", server.notifications())
        finally:
            self.assertEqual(server.stop(), 0, server.log_text())

    def test_unloadable_bundle_never_ready(self):
        missing = os.path.join(self.folder.name, "missing.json")
        server = NotifiedServer(self.folder.name, missing)
        try:
            server.pump(START_TIMEOUT_SECONDS)
            self.assertIsNotNone(server.process.poll(), "serve kept running without its bundle")
            self.assertNotEqual(server.process.returncode, 0)
            self.assertFalse(has_ready(server), server.events)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
