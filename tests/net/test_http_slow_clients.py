#!/usr/bin/python3
"""Slow clients and the connection cap against a real `svidgate serve`.

The slowloris test opens a few hundred connections that stay idle or
send a request one byte at a time, while a normal keep-alive client
sends requests. Every normal request must get its response, and each slow
connection must be dealt with at its deadline: 408 for an unfinished
head or body, a silent close for an idle connection. The server runs
with timeouts of a few seconds (hidden `serve` flags), so the test
takes seconds. Nothing here measures latency.

The cap test runs one worker with --max-connections 4 and checks that
a fifth connection gets 503 while the four keep working.

Every socket has a timeout, and every loop a bound in count and time.
"""

import os
import select
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_server_blackbox as blackbox  # noqa: E402

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
IDLE_TIMEOUT = 3
IDLE_CLIENTS = 120
SLOW_HEAD_CLIENTS = 100
SLOW_BODY_CLIENTS = 60

# The slowest deadline is the idle timeout; the server checks deadlines
# once a second, so every slow connection is dealt with well within this.
SLOW_PHASE_SECONDS = IDLE_TIMEOUT + 8
SEND_INTERVAL_SECONDS = 0.25
NORMAL_REQUEST_INTERVAL_SECONDS = 0.02
NORMAL_REQUESTS_MAX = 2000

SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 200
SLOW_BODY_HEAD = (b"POST /v1/jwt-svid/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Length: 1000\r\n\r\n")


class SlowClient:
    """A non-blocking connection that sends `trickle` a byte per round and keeps what it receives."""

    def __init__(self, port, kind, first=b"", trickle=b""):
        self.kind = kind
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=blackbox.SOCKET_TIMEOUT_SECONDS)
        if first:
            self.sock.sendall(first)
        self.sock.setblocking(False)
        self.trickle = trickle
        self.sent = 0
        self.received = b""
        self.closed = False

    def fileno(self):
        return self.sock.fileno()

    def done(self):
        return self.closed

    def send_one(self):
        if self.closed or self.sent >= len(self.trickle):
            return
        try:
            self.sent += self.sock.send(self.trickle[self.sent:self.sent + 1])
        except BlockingIOError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True

    def read(self):
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except ConnectionResetError:
            self.closed = True
            return
        if data:
            self.received += data
        else:
            self.closed = True

    def status(self):
        """The status of the response received, or None."""
        if not self.received.startswith(b"HTTP/1.1 "):
            return None
        return int(self.received[9:12])

    def close(self):
        self.sock.close()


class NormalClient(threading.Thread):
    """A keep-alive client that sends GET /healthz until its stop event is set, and counts 200s."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop_event = threading.Event()
        self.sent = 0
        self.answered = 0
        self.error = None

    def run(self):
        connection = blackbox.Connection(self.port)
        try:
            while not self.stop_event.is_set() and self.sent < NORMAL_REQUESTS_MAX:
                connection.send(blackbox.request_bytes("GET", "/healthz"))
                self.sent += 1
                if connection.read_response().status == 200:
                    self.answered += 1
                time.sleep(NORMAL_REQUEST_INTERVAL_SECONDS)
        except (OSError, ConnectionError) as error:
            self.error = error
        finally:
            connection.close()


class SlowlorisTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.credentials = blackbox.Credentials(self.folder.name)
        self.server = blackbox.Server(self.credentials, extra_args=(
            "--http-header-timeout", str(HEADER_TIMEOUT),
            "--http-body-timeout", str(BODY_TIMEOUT),
            "--http-idle-timeout", str(IDLE_TIMEOUT),
        ))
        self.clients = []

    def tearDown(self):
        for client in self.clients:
            client.close()
        self.server.stop()
        self.folder.cleanup()

    def open_slow_clients(self):
        port = self.server.port
        for _ in range(IDLE_CLIENTS):
            self.clients.append(SlowClient(port, "idle"))
        for _ in range(SLOW_HEAD_CLIENTS):
            self.clients.append(SlowClient(port, "head", trickle=SLOW_HEAD))
        for _ in range(SLOW_BODY_CLIENTS):
            self.clients.append(SlowClient(port, "body", first=SLOW_BODY_HEAD, trickle=b"x" * 1000))

    def run_slow_clients(self):
        """Trickle bytes and read responses until every slow client is closed or time is up."""
        deadline = time.monotonic() + SLOW_PHASE_SECONDS
        next_send = time.monotonic()
        while time.monotonic() < deadline:
            pending = [client for client in self.clients if not client.done()]
            if not pending:
                return
            if time.monotonic() >= next_send:
                for client in pending:
                    client.send_one()
                next_send = time.monotonic() + SEND_INTERVAL_SECONDS
            readable, _, _ = select.select(pending[:500], [], [], SEND_INTERVAL_SECONDS)
            for client in readable:
                client.read()

    def test_slow_clients_timed_out_normal_served(self):
        normal = NormalClient(self.server.port)
        self.open_slow_clients()
        normal.start()
        try:
            self.run_slow_clients()
        finally:
            normal.stop_event.set()
            normal.join(timeout=blackbox.SOCKET_TIMEOUT_SECONDS * 2)

        self.assertIsNone(normal.error, self.server.log_text())
        self.assertGreater(normal.sent, 0)
        self.assertEqual(normal.answered, normal.sent)

        for kind, status in (("idle", None), ("head", 408), ("body", 408)):
            clients = [client for client in self.clients if client.kind == kind]
            with self.subTest(kind):
                self.assertEqual([client for client in clients if not client.closed], [],
                                 f"{kind} connections still open after {SLOW_PHASE_SECONDS} s")
                self.assertEqual(sorted({client.status() for client in clients}, key=str), [status])
        self.assertIsNone(self.server.process.poll())


class ConnectionCapTest(unittest.TestCase):
    CAP = 4

    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.credentials = blackbox.Credentials(self.folder.name)
        self.server = blackbox.Server(self.credentials, workers=1,
                                      extra_args=("--max-connections", str(self.CAP)))
        self.connections = []

    def tearDown(self):
        for connection in self.connections:
            connection.close()
        self.server.stop()
        self.folder.cleanup()

    def connect(self):
        connection = blackbox.Connection(self.server.port)
        self.connections.append(connection)
        return connection

    def healthz(self, connection):
        connection.send(blackbox.request_bytes("GET", "/healthz"))
        return connection.read_response().status

    def test_over_cap_gets_503(self):
        served = [self.connect() for _ in range(self.CAP)]
        for connection in served:
            self.assertEqual(self.healthz(connection), 200)

        extra = self.connect()
        extra.send(blackbox.request_bytes("GET", "/healthz"))
        response = extra.read_response()
        self.assertEqual(response.status, 503)
        self.assertEqual(response.json()["error"], "unavailable")
        self.assertEqual(response.header("retry-after"), "1")
        self.assertEqual(response.header("connection"), "close")
        self.assertTrue(extra.closed_by_server())

        for connection in served:
            self.assertEqual(self.healthz(connection), 200)

        # Once one connection closes, a new one is served again.
        served[0].close()
        self.connections.remove(served[0])
        status = None
        for _ in range(50):
            connection = self.connect()
            status = self.healthz(connection)
            if status == 200:
                break
            time.sleep(0.1)
        self.assertEqual(status, 200)

        deadline = time.monotonic() + 3
        while "refused_503=" not in self.server.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn('msg="connection limit reached" worker=0 refused_503=1', self.server.log_text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
