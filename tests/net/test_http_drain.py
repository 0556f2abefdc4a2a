#!/usr/bin/python3
"""SIGTERM while `svidgate serve` is under load.

Several clients send pipelined batches of requests on keep-alive
connections. While they run, the test sends SIGTERM and checks that:
no response is cut off (every response that started arrives whole),
new connections are refused while the server drains, a request that
was under way at the signal still gets its response (with "Connection:
close"), an idle keep-alive connection is closed, and the process
exits 0 within the drain timeout.

Every socket has a timeout and every loop a bound in count and time.
"""

import os
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_server_blackbox as blackbox  # noqa: E402

DRAIN_TIMEOUT = 5
HEADER_TIMEOUT = 4
LOAD_CLIENTS = 6
BATCH = 4
LOAD_SECONDS_MAX = 15
BATCHES_MAX = 5000
LOAD_BEFORE_SIGNAL_SECONDS = 1.0
PAUSE_IN_BATCH_SECONDS = 0.02


class LoadClient(threading.Thread):
    """Sends batches of pipelined requests on one connection until the server closes it."""

    def __init__(self, port, token):
        super().__init__(daemon=True)
        self.port = port
        self.batch = (blackbox.request_bytes("GET", "/healthz") * (BATCH - 1)
                      + blackbox.request_bytes("POST", "/v1/jwt-svid/verify",
                                               blackbox.verify_body(token)))
        self.answered = 0
        self.bad_answers = []
        self.cut_off = None   # bytes of a response that never completed
        self.last_close = None
        self.error = None

    def run(self):
        deadline = time.monotonic() + LOAD_SECONDS_MAX
        connection = blackbox.Connection(self.port)
        try:
            for _ in range(BATCHES_MAX):
                if time.monotonic() > deadline:
                    self.error = "the connection was not closed within the load time"
                    return
                if not self.send_batch(connection):
                    return
        finally:
            connection.close()

    def send_batch(self, connection):
        """Send one batch and read its responses; False once the server has closed.

        The batch goes out in two parts with a pause in the middle of the
        last request, so that a signal often finds that request under way.
        """
        middle = len(self.batch) - 20
        try:
            connection.send(self.batch[:middle])
            time.sleep(PAUSE_IN_BATCH_SECONDS)
            connection.send(self.batch[middle:])
        except (BrokenPipeError, ConnectionResetError):
            return False
        for _ in range(BATCH):
            try:
                response = connection.read_response()
            except (ConnectionError, OSError):
                if connection.buffer:
                    self.cut_off = connection.buffer
                return False
            self.answered += 1
            if response.status != 200:
                self.bad_answers.append(response.status)
            if response.header("connection") == "close":
                self.last_close = self.answered
                return False
        return True


class SigtermUnderLoadTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.credentials = blackbox.Credentials(self.folder.name)
        self.server = blackbox.Server(self.credentials, extra_args=(
            "--drain-timeout", str(DRAIN_TIMEOUT),
            "--http-header-timeout", str(HEADER_TIMEOUT),
        ))
        self.sockets = []

    def tearDown(self):
        for sock in self.sockets:
            sock.close()
        if self.server.process.poll() is None:
            self.server.stop()
        self.folder.cleanup()

    def connect_raw(self):
        sock = socket.create_connection(("127.0.0.1", self.server.port),
                                        timeout=blackbox.SOCKET_TIMEOUT_SECONDS)
        self.sockets.append(sock)
        return sock

    def wait_for_exit(self, signalled):
        """Wait for the server to exit; return (exit status, seconds since the signal)."""
        status = self.server.process.wait(timeout=DRAIN_TIMEOUT + 5)
        seconds = time.monotonic() - signalled
        self.server.reader.join(timeout=5)
        self.server.process.stderr.close()
        return status, seconds

    def assert_connect_refused(self):
        with self.assertRaises(ConnectionRefusedError):
            self.connect_raw()

    def test_sigterm_under_load(self):
        idle = blackbox.Connection(self.server.port)
        idle.send(blackbox.request_bytes("GET", "/healthz"))
        self.assertEqual(idle.read_response().status, 200)

        # A request under way at the signal: its head is half sent.
        partial = blackbox.Connection(self.server.port)
        partial.send(b"GET /healthz HTTP/1.1\r\n")

        clients = [LoadClient(self.server.port, self.credentials.token()) for _ in range(LOAD_CLIENTS)]
        for client in clients:
            client.start()
        time.sleep(LOAD_BEFORE_SIGNAL_SECONDS)

        signalled = time.monotonic()
        self.server.process.send_signal(signal.SIGTERM)

        # The server stays up for the partial request, but takes no new connection.
        time.sleep(0.5)
        self.assertIsNone(self.server.process.poll(), self.server.log_text())
        self.assert_connect_refused()
        self.assertTrue(idle.closed_by_server())

        partial.send(b"Host: 127.0.0.1\r\n\r\n")
        response = partial.read_response()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("connection"), "close")
        self.assertTrue(partial.closed_by_server())

        for client in clients:
            client.join(timeout=LOAD_SECONDS_MAX + 5)
        status, exit_seconds = self.wait_for_exit(signalled)
        idle.close()
        partial.close()

        self.assertEqual(status, 0, self.server.log_text())
        self.assertLess(exit_seconds, DRAIN_TIMEOUT + 2)
        for index, client in enumerate(clients):
            with self.subTest(client=index):
                self.assertFalse(client.is_alive())
                self.assertIsNone(client.error)
                self.assertIsNone(client.cut_off, "a response was cut off")
                self.assertEqual(client.bad_answers, [])
                self.assertGreater(client.answered, 0)

        # A client whose last request was under way at the signal got its
        # response with "Connection: close".
        self.assertTrue(any(client.last_close is not None for client in clients))
        self.assertIn('msg="stopping" signal=SIGTERM', self.server.log_text())
        self.assertIn('msg="draining" worker=0 connections=', self.server.log_text())
        self.assertIn('msg="draining" worker=1 connections=', self.server.log_text())
        self.assertIn('msg="drained" connections=', self.server.log_text())
        self.assertIn("closed_at_deadline=0", self.server.log_text())
        self.assertIn('msg="stopped"', self.server.log_text())

    def test_drain_deadline_closes_stragglers(self):
        """A connection that never completes its request is closed at the drain deadline."""
        straggler = blackbox.Connection(self.server.port)
        straggler.send(b"POST /v1/jwt-svid/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Content-Length: 100\r\n\r\n")
        time.sleep(0.2)
        signalled = time.monotonic()
        self.server.process.send_signal(signal.SIGTERM)
        status, exit_seconds = self.wait_for_exit(signalled)
        straggler.close()

        self.assertEqual(status, 0, self.server.log_text())
        self.assertGreaterEqual(exit_seconds, DRAIN_TIMEOUT - 1)
        self.assertLess(exit_seconds, DRAIN_TIMEOUT + 2)
        self.assertIn("closed_at_deadline=1", self.server.log_text())

    def test_second_sigterm_exits_cleanly(self):
        """A SIGTERM during the drain is taken, not left to kill the process at the end."""
        straggler = blackbox.Connection(self.server.port)
        straggler.send(b"POST /v1/jwt-svid/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Content-Length: 100\r\n\r\n")
        time.sleep(0.2)
        signalled = time.monotonic()
        self.server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        self.server.process.send_signal(signal.SIGTERM)
        status, _ = self.wait_for_exit(signalled)
        straggler.close()

        self.assertEqual(status, 0, self.server.log_text())
        self.assertIn('msg="stopped"', self.server.log_text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
