#!/usr/bin/python3
"""Black-box tests of svidload, the load generator of bench/compare.

Each test starts a small HTTP/1.1 server on 127.0.0.1 (a Python thread
that writes fixed response bytes, optionally after a delay) and runs
$SVIDLOAD_BIN against it with small, fixed bounds in time and count.
Latency checks are only lower bounds that the server's own sleep
guarantees, so a slow machine cannot fail them.

Exit status 77 (skipped) when the binary is missing; with CI=true that
fails instead.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SKIP_EXIT = 77
RUN_TIMEOUT_SECONDS = 60
OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"valid\":true}\n"


def skip_or_fail(reason):
    if os.environ.get("CI") == "true":
        print(f"FAIL: {reason} (CI=true, so this is not skipped)", file=sys.stderr)
        sys.exit(1)
    print(f"SKIP: {reason}", file=sys.stderr)
    sys.exit(SKIP_EXIT)


class FixedServer:
    """HTTP/1.1 server on 127.0.0.1 that sends `response` to every request
    after `delay` seconds, one request at a time per connection, and
    records each request's bytes."""

    def __init__(self, response, delay=0.0, close_after_response=False):
        self.response = response
        self.delay = delay
        self.close_after_response = close_after_response
        self.requests = []
        self.lock = threading.Lock()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)
        self.thread.start()

    def accept_loop(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.serve, args=(connection,), daemon=True).start()

    def read_request(self, connection, buffered):
        while b"\r\n\r\n" not in buffered:
            chunk = connection.recv(65536)
            if not chunk:
                return None, b""
            buffered += chunk
        head, rest = buffered.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = connection.recv(65536)
            if not chunk:
                return None, b""
            rest += chunk
        return head + b"\r\n\r\n" + rest[:length], rest[length:]

    def serve(self, connection):
        connection.settimeout(RUN_TIMEOUT_SECONDS)
        buffered = b""
        with connection:
            for _ in range(1000000):
                if self.stopping.is_set():
                    return
                try:
                    request, buffered = self.read_request(connection, buffered)
                except OSError:
                    return
                if request is None:
                    return
                with self.lock:
                    self.requests.append(request)
                if self.delay:
                    time.sleep(self.delay)
                try:
                    connection.sendall(self.response)
                except OSError:
                    return
                if self.close_after_response:
                    return

    def close(self):
        self.stopping.set()
        self.thread.join(timeout=2)
        self.listener.close()


class SvidloadTest(unittest.TestCase):
    def setUp(self):
        self.binary = os.environ.get("SVIDLOAD_BIN", "")
        if not os.access(self.binary, os.X_OK):
            skip_or_fail(f"SVIDLOAD_BIN={self.binary!r} is not an executable")
        self.work = tempfile.TemporaryDirectory()
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.close()
        self.work.cleanup()

    def server(self, response=OK_RESPONSE, delay=0.0, close_after_response=False):
        server = FixedServer(response, delay, close_after_response)
        self.servers.append(server)
        return server

    def corpus(self, lines):
        path = os.path.join(self.work.name, "corpus.txt")
        with open(path, "w", encoding="ascii") as corpus:
            corpus.write("\n".join(lines) + "\n")
        return path

    def run_load(self, port, *arguments):
        """Run svidload and return (exit status, parsed JSON result)."""
        json_path = os.path.join(self.work.name, "result.json")
        if os.path.exists(json_path):
            os.unlink(json_path)
        command = [self.binary, "--url", f"http://127.0.0.1:{port}/v1/jwt-svid/verify",
                   "--json", json_path, *arguments]
        completed = subprocess.run(command, capture_output=True, text=True,
                                   timeout=RUN_TIMEOUT_SECONDS, check=False)
        result = None
        if os.path.exists(json_path):
            with open(json_path, encoding="utf-8") as result_file:
                result = json.load(result_file)
        return completed.returncode, result, completed

    def test_request_count_bound(self):
        server = self.server()
        status, result, _ = self.run_load(server.port, "--corpus", self.corpus(["a.b.c", "d.e.f"]),
                                          "--connections", "4", "--requests", "200",
                                          "--duration", "30", "--expect-body", '"valid":true')
        self.assertEqual(status, 0)
        self.assertEqual(result["completed"], 200)
        self.assertEqual(len(server.requests), 200)
        self.assertEqual(result["unexpected_body"], 0)
        self.assertGreater(result["latency_us"]["max"], 0)

    def test_token_request_bytes(self):
        server = self.server()
        status, _, _ = self.run_load(server.port, "--corpus", self.corpus(["tok.en.1"]),
                                     "--audience", "bench", "--connections", "1",
                                     "--requests", "1", "--duration", "10")
        self.assertEqual(status, 0)
        request = server.requests[0]
        self.assertTrue(request.startswith(b"POST /v1/jwt-svid/verify HTTP/1.1\r\n"))
        self.assertIn(f"Host: 127.0.0.1:{server.port}\r\n".encode(), request)
        self.assertTrue(request.endswith(b'\r\n\r\n{"token":"tok.en.1","audience":"bench"}'))

    def test_bearer_request_bytes(self):
        server = self.server()
        status, _, _ = self.run_load(server.port, "--kind", "bearer", "--corpus",
                                     self.corpus(["tok.en.2"]), "--audience", "bench",
                                     "--connections", "1", "--requests", "1", "--duration", "10")
        self.assertEqual(status, 0)
        request = server.requests[0]
        self.assertTrue(request.startswith(b"GET /v1/jwt-svid/verify HTTP/1.1\r\n"))
        self.assertIn(b"Authorization: Bearer tok.en.2\r\n", request)
        self.assertIn(b"X-Svid-Audience: bench\r\n", request)

    def test_batch_request_bytes(self):
        server = self.server()
        status, _, _ = self.run_load(server.port, "--kind", "batch", "--batch-size", "3",
                                     "--corpus", self.corpus(["t1", "t2", "t3", "t4"]),
                                     "--audience", "bench", "--connections", "1",
                                     "--requests", "2", "--duration", "10")
        self.assertEqual(status, 0)
        bodies = [request.split(b"\r\n\r\n", 1)[1] for request in server.requests]
        self.assertEqual(json.loads(bodies[0]), {"audience": "bench", "tokens": ["t1", "t2", "t3"]})
        self.assertEqual(json.loads(bodies[1]), {"audience": "bench", "tokens": ["t4", "t1", "t2"]})

    def test_unexpected_body_counted(self):
        server = self.server()
        status, result, _ = self.run_load(server.port, "--corpus", self.corpus(["x"]),
                                          "--requests", "10", "--connections", "1",
                                          "--expect-body", '"valid":false')
        self.assertEqual(status, 1)
        self.assertEqual(result["unexpected_body"], 10)

    def test_unexpected_status_counted(self):
        server = self.server(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
        status, result, _ = self.run_load(server.port, "--corpus", self.corpus(["x"]),
                                          "--requests", "10", "--connections", "1")
        self.assertEqual(status, 1)
        self.assertEqual(result["unexpected_status"], 10)

    def test_chunked_response_invalid(self):
        server = self.server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        status, result, completed = self.run_load(server.port, "--corpus", self.corpus(["x"]),
                                                  "--requests", "5", "--connections", "1",
                                                  "--duration", "2")
        self.assertEqual(status, 1)
        self.assertGreater(result["invalid_responses"], 0)
        self.assertEqual(result["completed"], 0)
        self.assertIn("Transfer-Encoding is not supported", completed.stdout)

    def test_no_server_fails(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        status, _, completed = self.run_load(port, "--corpus", self.corpus(["x"]),
                                             "--requests", "5", "--duration", "5")
        self.assertEqual(status, 2)
        self.assertIn("no response", completed.stderr)

    def test_invalid_url_rejected(self):
        completed = subprocess.run([self.binary, "--url", "http://localhost:80/", "--kind", "get"],
                                   capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
                                   check=False)
        self.assertEqual(completed.returncode, 2)
        self.assertIn("--url must be", completed.stderr)

    def test_unsafe_token_rejected(self):
        completed = subprocess.run([self.binary, "--url", "http://127.0.0.1:1/x", "--corpus",
                                    self.corpus(['a"b'])], capture_output=True, text=True,
                                   timeout=RUN_TIMEOUT_SECONDS, check=False)
        self.assertEqual(completed.returncode, 2)
        self.assertIn("invalid byte", completed.stderr)

    def test_open_loop_measures_from_due_time(self):
        """Drive one connection at 100 requests/s for 1 s against a server
        that takes 50 ms per request. Requests queue behind each other,
        so latency from the due time grows to hundreds of milliseconds.
        The same server in a closed loop shows about 50 ms. Every due
        request is recorded, with a response or without."""
        server = self.server(delay=0.05)
        status, result, _ = self.run_load(server.port, "--corpus", self.corpus(["x"]),
                                          "--connections", "1", "--rate", "100",
                                          "--duration", "1")
        self.assertEqual(status, 0)
        answered = result["completed"]
        self.assertLessEqual(answered, 21)
        self.assertEqual(answered + result["unfinished"], 100)
        # The k-th response cannot arrive before (k + 1) * 50 ms, and its
        # request was due at k * 10 ms, so the median is far above 50 ms.
        self.assertGreaterEqual(result["latency_us"]["p50"], 200000)
        self.assertGreaterEqual(result["latency_us"]["max"], 500000)

        status, closed, _ = self.run_load(server.port, "--corpus", self.corpus(["x"]),
                                          "--connections", "1", "--duration", "1")
        self.assertEqual(status, 0)
        self.assertGreaterEqual(closed["latency_us"]["p50"], 50000)
        self.assertLessEqual(closed["completed"], 21)

    def test_open_loop_survives_closing_server(self):
        """A server that closes every connection after one response, without
        `Connection: close`, makes idle connections break and reconnect
        while they wait for their next due request."""
        server = self.server(close_after_response=True)
        status, result, completed = self.run_load(server.port, "--corpus", self.corpus(["x"]),
                                                  "--connections", "4", "--rate", "200",
                                                  "--duration", "1")
        self.assertIsNotNone(result, completed.stderr[-3000:])
        self.assertIn(status, (0, 1))
        self.assertGreater(result["completed"], 0)
        self.assertGreater(result["connection_errors"], 0)
        self.assertLessEqual(result["completed"] + result["unfinished"], 200)

    def test_percentile_table_written(self):
        server = self.server()
        table = os.path.join(self.work.name, "latency.dat")
        status, result, _ = self.run_load(server.port, "--corpus", self.corpus(["x"]),
                                          "--requests", "100", "--connections", "2",
                                          "--percentiles", table)
        self.assertEqual(status, 0)
        with open(table, encoding="ascii") as data:
            rows = [line.split() for line in data if not line.startswith("#")]
        self.assertGreater(len(rows), 5)
        percentiles = [float(row[1]) for row in rows]
        self.assertEqual(percentiles, sorted(percentiles))
        self.assertEqual(int(rows[-1][2]), result["completed"])

    def test_server_cpu_reported(self):
        server = self.server()
        status, result, _ = self.run_load(server.port, "--corpus", self.corpus(["x"]),
                                          "--requests", "100", "--server-pid", str(os.getpid()),
                                          "--rss-interval", "0.1")
        self.assertEqual(status, 0)
        self.assertGreaterEqual(result["server_cpu_seconds"], 0)
        self.assertGreater(result["rss_kib"]["start"], 0)
        self.assertGreater(len(result["rss_kib"]["samples"]), 0)


if __name__ == "__main__":
    unittest.main()
