#!/usr/bin/python3
"""Black-box tests of `svidgate serve` over raw sockets on 127.0.0.1.

The script mints its own ES256 key, SPIFFE bundle and JWT-SVIDs with
python3-jwcrypto, starts `$SVIDGATE_BIN serve --listen 127.0.0.1:0
--workers 2`, reads the bound port from the "listening" log line and
talks HTTP/1.1 to it byte for byte. Every socket has a timeout and
every loop a fixed bound.

Exit status 77 (skipped) when the binary is missing or the kernel
refuses io_uring; with CI=true those fail instead.
"""

import base64
import json
import os
import platform
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from jwcrypto import jwk, jwt

SKIP_EXIT = 77
SOCKET_TIMEOUT_SECONDS = 10
START_TIMEOUT_SECONDS = 20
STOP_TIMEOUT_SECONDS = 2
TRUST_DOMAIN = "example.org"
SPIFFE_ID = "spiffe://example.org/workload"
AUDIENCE = "gateway"

SOURCE_DIR = os.environ.get(
    "SVIDGATE_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
)


def skip_or_fail(reason):
    """Exit 77 with "SKIP: reason", or 1 with "FAIL: reason" under CI=true."""
    if os.environ.get("CI") == "true":
        print(f"FAIL: {reason} (CI=true, so this is not skipped)", file=sys.stderr)
        sys.exit(1)
    print(f"SKIP: {reason}", file=sys.stderr)
    sys.exit(SKIP_EXIT)


def read_limits():
    """Return the SG_HTTP_* limits from core/limits.h, so the test follows the header."""
    path = os.path.join(SOURCE_DIR, "core", "limits.h")
    with open(path, encoding="utf-8") as header:
        text = header.read()
    limits = {}
    for name, expression in re.findall(r"#define (SG_HTTP_\w+) (.+)", text):
        value = 1
        for factor in expression.strip("() ").split("*"):
            value *= int(factor.strip())
        limits[name] = value
    return limits


LIMITS = read_limits()


# ---- Credentials -----------------------------------------------------------


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Credentials:
    """An ES256 signing key, its SPIFFE bundle file and tokens signed with it."""

    def __init__(self, folder):
        self.key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
        entry = json.loads(self.key.export_public())
        entry["use"] = "jwt-svid"
        self.bundle_path = os.path.join(folder, "bundle.json")
        with open(self.bundle_path, "w", encoding="utf-8") as bundle:
            json.dump({"keys": [entry], "spiffe_sequence": 1}, bundle)

    def token(self, audience=(AUDIENCE,), lifetime=600):
        now = int(time.time())
        claims = {"sub": SPIFFE_ID, "aud": list(audience), "exp": now + lifetime, "iat": now}
        signed = jwt.JWT(header={"alg": "ES256", "kid": "k1", "typ": "JWT"}, claims=claims)
        signed.make_signed_token(self.key)
        return signed.serialize()

    def token_with_bad_signature(self):
        header, payload, signature = self.token().split(".")
        raw = bytearray(b64url_decode(signature))
        raw[0] ^= 0x01
        return ".".join((header, payload, b64url_encode(bytes(raw))))


# A Python program that installs a seccomp filter failing io_uring_setup(2)
# with EPERM, then executes its arguments: the state of a host where
# io_uring is disabled. x86_64 only: the filter matches the x86_64 number.
SECCOMP_WRAPPER = r"""
import ctypes, os, sys

class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte),
                ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
BPF_LD_W_ABS, BPF_JMP_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, EPERM = 0x7FFF0000, 0x00050000, 1
NR_IO_URING_SETUP = 425

program = (SockFilter * 4)(
    SockFilter(BPF_LD_W_ABS, 0, 0, 0),  # the syscall number
    SockFilter(BPF_JMP_JEQ_K, 0, 1, NR_IO_URING_SETUP),
    SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM),
    SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
)
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    sys.exit(99)
if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(SockFprog(4, program)), 0, 0) != 0:
    sys.exit(99)
os.execv(sys.argv[1], sys.argv[1:])
"""


# ---- The server process ----------------------------------------------------


class Server:
    """One `svidgate serve` process, its port and its collected log lines."""

    def __init__(self, credentials, workers=2, extra_args=()):
        binary = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
        if not os.access(binary, os.X_OK):
            skip_or_fail(f"svidgate binary {binary} not found; build it or set SVIDGATE_BIN")
        self.argv = [
            binary, "serve", "--listen", "127.0.0.1:0", "--workers", str(workers),
            "--bundle", f"{TRUST_DOMAIN}={credentials.bundle_path}", "--audience", AUDIENCE,
            *extra_args,
        ]
        self.process = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.lines = queue.Queue()
        self.log = []
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        self.port = self._wait_for_port()

    def _read_log(self):
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def _wait_for_port(self):
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                self._handle_early_exit()
            match = re.search(r'msg="listening" addr=127\.0\.0\.1:(\d+) ', line)
            if match:
                return int(match.group(1))
        self.stop()
        raise AssertionError(f"no listening line within {START_TIMEOUT_SECONDS} s: {self.log}")

    def _handle_early_exit(self):
        status = self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        text = "\n".join(self.log)
        if status == 2 and "io_uring" in text:
            skip_or_fail(f"the kernel does not provide what svidgate needs: {text}")
        raise AssertionError(f"svidgate serve exited with {status} before listening:\n{text}")

    def log_text(self):
        return "\n".join(self.log)

    def stop(self, signal_number=signal.SIGTERM):
        """Send the signal; return (exit status, seconds it took to exit)."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal_number)
        try:
            status = self.process.wait(timeout=STOP_TIMEOUT_SECONDS + 3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        seconds = time.monotonic() - started
        self.reader.join(timeout=STOP_TIMEOUT_SECONDS)
        self.process.stderr.close()
        return status, seconds


# ---- HTTP over raw sockets -------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lowercase name -> list of values
        self.body = body

    def header(self, name):
        values = self.headers.get(name.lower(), [])
        return values[0] if values else None

    def json(self):
        return json.loads(self.body)


class Connection:
    """A client socket that reads responses one at a time, for pipelining."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_SECONDS)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def read_response(self):
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        length = int(headers.get("content-length", ["0"])[0])
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Response(status, headers, body)

    def read_response_without_body(self):
        """Read a response to HEAD: the head only, ignoring Content-Length."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        return Response(int(lines[0].split(" ", 2)[1]), headers, b"")

    def closed_by_server(self):
        """True when the server closes the connection with nothing more to read."""
        if self.buffer:
            return False
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


def request_bytes(method, path, body=None, headers=None, version="HTTP/1.1"):
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1"]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    lines.extend(headers or [])
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


def verify_body(token, audience=None):
    document = {"token": token}
    if audience is not None:
        document["audience"] = audience
    return json.dumps(document).encode("utf-8")


# ---- Tests -----------------------------------------------------------------


class ServerTest(unittest.TestCase):
    """Requests against one server that runs for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory()
        cls.credentials = Credentials(cls.folder.name)
        cls.server = Server(cls.credentials)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.folder.cleanup()

    def setUp(self):
        self.connections = []

    def tearDown(self):
        for connection in self.connections:
            connection.close()

    def connect(self):
        connection = Connection(self.server.port)
        self.connections.append(connection)
        return connection

    def exchange(self, data):
        connection = self.connect()
        connection.send(data)
        return connection.read_response()

    def verify(self, token, audience=None):
        return self.exchange(request_bytes("POST", "/v1/jwt-svid/verify", verify_body(token, audience)))

    def assert_error(self, response, status, code):
        self.assertEqual(response.status, status, response.body)
        self.assertEqual(response.header("content-type"), "application/json")
        self.assertEqual(response.json()["error"], code)
        self.assertTrue(response.json()["message"])

    # -- Verification --

    def test_valid_token_is_valid(self):
        response = self.verify(self.credentials.token(), AUDIENCE)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("content-type"), "application/json")
        result = response.json()
        self.assertIs(result["valid"], True, result)
        self.assertEqual(result["spiffe_id"], SPIFFE_ID)
        self.assertEqual(result["trust_domain"], TRUST_DOMAIN)

    def test_bad_signature_is_invalid(self):
        response = self.verify(self.credentials.token_with_bad_signature(), AUDIENCE)
        self.assertEqual(response.status, 200)
        result = response.json()
        self.assertIs(result["valid"], False)
        self.assertEqual(result["error"], "bad_signature")

    def test_audience_defaults_to_flag(self):
        response = self.verify(self.credentials.token())
        self.assertEqual(response.status, 200)
        self.assertIs(response.json()["valid"], True, response.body)

    def test_audience_array_any_match(self):
        response = self.verify(self.credentials.token(), ["other", AUDIENCE])
        self.assertIs(response.json()["valid"], True, response.body)

    def test_audience_mismatch_is_invalid(self):
        response = self.verify(self.credentials.token(), "someone-else")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.json()["error"], "audience_mismatch")

    def test_empty_audience_array_400(self):
        self.assert_error(self.verify(self.credentials.token(), []), 400, "bad_request")

    def test_malformed_json_400(self):
        body = b'{"token": "a.b.c", '
        self.assert_error(self.exchange(request_bytes("POST", "/v1/jwt-svid/verify", body)),
                          400, "bad_request")

    def test_missing_token_400(self):
        body = json.dumps({"audience": AUDIENCE}).encode()
        self.assert_error(self.exchange(request_bytes("POST", "/v1/jwt-svid/verify", body)),
                          400, "bad_request")

    def test_token_not_string_400(self):
        body = json.dumps({"token": 42}).encode()
        self.assert_error(self.exchange(request_bytes("POST", "/v1/jwt-svid/verify", body)),
                          400, "bad_request")

    def test_duplicate_token_member_400(self):
        token = self.credentials.token()
        body = f'{{"token": "{token}", "token": "x.y.z"}}'.encode()
        response = self.exchange(request_bytes("POST", "/v1/jwt-svid/verify", body))
        self.assert_error(response, 400, "bad_request")
        self.assertNotIn(token.encode(), response.body)

    def test_error_body_omits_token(self):
        token = self.credentials.token()
        body = f'{{"token": "{token}" "audience": 1}}'.encode()
        response = self.exchange(request_bytes("POST", "/v1/jwt-svid/verify", body))
        self.assert_error(response, 400, "bad_request")
        for part in token.split("."):
            self.assertNotIn(part.encode(), response.body)

    # -- Routing --

    def test_healthz_200(self):
        response = self.exchange(request_bytes("GET", "/healthz"))
        self.assertEqual(response.status, 200)
        self.assertEqual(response.json(), {"status": "ok"})

    def test_healthz_head_has_no_body(self):
        connection = self.connect()
        connection.send(request_bytes("HEAD", "/healthz") + request_bytes("GET", "/healthz"))
        head = connection.read_response_without_body()
        self.assertEqual(head.status, 200)
        self.assertEqual(head.header("content-length"), "15")
        self.assertEqual(connection.read_response().json(), {"status": "ok"})

    def test_unknown_path_404(self):
        self.assert_error(self.exchange(request_bytes("GET", "/v1/nothing")), 404, "not_found")

    def test_wrong_method_405_with_allow(self):
        response = self.exchange(request_bytes("GET", "/v1/jwt-svid/verify"))
        self.assert_error(response, 405, "method_not_allowed")
        self.assertEqual(response.header("allow"), "POST")

    # -- Request limits and framing --

    def test_post_without_length_411(self):
        response = self.exchange(request_bytes("POST", "/v1/jwt-svid/verify"))
        self.assert_error(response, 411, "length_required")

    def test_body_too_large_413(self):
        too_large = LIMITS["SG_HTTP_BODY_MAX"] + 1
        connection = self.connect()
        connection.send(request_bytes("POST", "/v1/jwt-svid/verify",
                                      headers=[f"Content-Length: {too_large}"]))
        response = connection.read_response()
        self.assert_error(response, 413, "content_too_large")
        self.assertEqual(response.header("connection"), "close")
        self.assertTrue(connection.closed_by_server())

    def test_body_at_limit_accepted(self):
        prefix = verify_body(self.credentials.token())[:-1]
        body = prefix + b" " * (LIMITS["SG_HTTP_BODY_MAX"] - len(prefix) - 1) + b"}"
        self.assertEqual(len(body), LIMITS["SG_HTTP_BODY_MAX"])
        response = self.exchange(request_bytes("POST", "/v1/jwt-svid/verify", body))
        self.assertIs(response.json()["valid"], True, response.body)

    def test_concurrent_large_bodies(self):
        prefix = verify_body(self.credentials.token())[:-1]
        body = prefix + b" " * (LIMITS["SG_HTTP_BODY_MAX"] - len(prefix) - 1) + b"}"
        data = request_bytes("POST", "/v1/jwt-svid/verify", body)
        connections = [self.connect() for _ in range(16)]
        senders = [threading.Thread(target=c.send, args=(data,)) for c in connections]
        for sender in senders:
            sender.start()
        results = [c.read_response().json()["valid"] for c in connections]
        for sender in senders:
            sender.join(timeout=SOCKET_TIMEOUT_SECONDS)
        self.assertEqual(results, [True] * len(connections))

    def test_unread_pipelining_disconnected(self):
        # A client that pipelines far more than the server buffers, and reads
        # nothing, is disconnected; other clients are still served.
        connection = self.connect()
        request = request_bytes("GET", "/healthz")
        batch = request * (64 * 1024 // len(request))
        sent = 0
        with self.assertRaises((BrokenPipeError, ConnectionResetError)):
            for _ in range(256):
                connection.send(batch)
                sent += len(batch)
        self.assertGreater(sent, 0)
        self.assertEqual(self.exchange(request_bytes("GET", "/healthz")).status, 200)

    def test_uri_too_long_414(self):
        path = "/" + "a" * LIMITS["SG_HTTP_URI_MAX"]
        self.assert_error(self.exchange(request_bytes("GET", path)), 414, "uri_too_long")

    def test_headers_too_large_431(self):
        padding = "p" * LIMITS["SG_HTTP_HEADER_BYTES_MAX"]
        response = self.exchange(request_bytes("GET", "/healthz", headers=[f"X-Pad: {padding}"]))
        self.assert_error(response, 431, "header_fields_too_large")

    def test_too_many_headers_431(self):
        headers = [f"X-{i}: v" for i in range(LIMITS["SG_HTTP_HEADER_COUNT_MAX"])]
        response = self.exchange(request_bytes("GET", "/healthz", headers=headers))
        self.assert_error(response, 431, "header_fields_too_large")

    def test_bare_lf_400(self):
        response = self.exchange(b"GET /healthz HTTP/1.1\nHost: a\n\n")
        self.assert_error(response, 400, "bad_request")

    def test_content_length_with_chunked_400(self):
        response = self.exchange(request_bytes(
            "POST", "/v1/jwt-svid/verify", b"0\r\n\r\n", headers=["Transfer-Encoding: chunked"]))
        self.assert_error(response, 400, "bad_request")

    def test_http2_version_505(self):
        response = self.exchange(b"GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n")
        self.assert_error(response, 505, "http_version_not_supported")

    # -- Connections --

    def test_keep_alive_serves_several_requests(self):
        connection = self.connect()
        token = self.credentials.token()
        for i in range(6):
            if i % 2 == 0:
                connection.send(request_bytes("GET", "/healthz"))
                self.assertEqual(connection.read_response().status, 200)
            else:
                connection.send(request_bytes("POST", "/v1/jwt-svid/verify", verify_body(token)))
                self.assertIs(connection.read_response().json()["valid"], True)

    def test_pipelined_requests_answered_in_order(self):
        connection = self.connect()
        connection.send(
            request_bytes("GET", "/healthz")
            + request_bytes("POST", "/v1/jwt-svid/verify", verify_body(self.credentials.token()))
            + request_bytes("GET", "/missing")
        )
        first = connection.read_response()
        second = connection.read_response()
        third = connection.read_response()
        self.assertEqual(first.json(), {"status": "ok"})
        self.assertEqual(second.json()["spiffe_id"], SPIFFE_ID)
        self.assertEqual(third.status, 404)

    def test_pipelined_many_requests_in_order(self):
        count = 200
        connection = self.connect()
        batch = b"".join(request_bytes("GET", f"/healthz?n={i}") if i % 2 == 0
                         else request_bytes("GET", f"/missing/{i}") for i in range(count))
        connection.send(batch)
        statuses = [connection.read_response().status for _ in range(count)]
        self.assertEqual(statuses, [200 if i % 2 == 0 else 404 for i in range(count)])

    def test_request_split_byte_by_byte(self):
        connection = self.connect()
        data = request_bytes("POST", "/v1/jwt-svid/verify", verify_body(self.credentials.token()))
        for i in range(len(data)):
            connection.send(data[i:i + 1])
            if i % 16 == 0:
                time.sleep(0.001)
        self.assertIs(connection.read_response().json()["valid"], True)

    def test_expect_continue_interim_response(self):
        connection = self.connect()
        body = verify_body(self.credentials.token())
        head = request_bytes("POST", "/v1/jwt-svid/verify", headers=[
            f"Content-Length: {len(body)}", "Expect: 100-continue"])
        connection.send(head)
        self.assertEqual(connection.read_response().status, 100)
        connection.send(body)
        self.assertIs(connection.read_response().json()["valid"], True)

    def test_connection_close_honoured(self):
        connection = self.connect()
        connection.send(request_bytes("GET", "/healthz", headers=["Connection: close"]))
        response = connection.read_response()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("connection"), "close")
        self.assertTrue(connection.closed_by_server())

    def test_http10_closes_by_default(self):
        connection = self.connect()
        connection.send(b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertEqual(connection.read_response().status, 200)
        self.assertTrue(connection.closed_by_server())

    def test_http10_keep_alive(self):
        connection = self.connect()
        for _ in range(2):
            connection.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            response = connection.read_response()
            self.assertEqual(response.status, 200)
            self.assertEqual(response.header("connection"), "keep-alive")

    def test_many_connections(self):
        count = 200
        connections = [self.connect() for _ in range(count)]
        for connection in connections:
            connection.send(request_bytes("GET", "/healthz"))
        statuses = [connection.read_response().status for connection in connections]
        self.assertEqual(statuses, [200] * count)

    def test_client_half_close_still_answered(self):
        connection = self.connect()
        connection.send(request_bytes("GET", "/healthz") + request_bytes("GET", "/healthz"))
        connection.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(connection.read_response().status, 200)
        self.assertEqual(connection.read_response().status, 200)
        self.assertTrue(connection.closed_by_server())


class ServeFlagsTest(unittest.TestCase):
    """`svidgate serve` rejects bad flags with exit status 2 before it listens."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory()
        cls.credentials = Credentials(cls.folder.name)
        cls.binary = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
        if not os.access(cls.binary, os.X_OK):
            skip_or_fail(f"svidgate binary {cls.binary} not found; build it or set SVIDGATE_BIN")

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def serve(self, *arguments):
        bundle = f"{TRUST_DOMAIN}={self.credentials.bundle_path}"
        argv = [self.binary, "serve", "--listen", "127.0.0.1:0", "--bundle", bundle, *arguments]
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=START_TIMEOUT_SECONDS, check=False)

    def assert_usage_error(self, completed, words):
        self.assertEqual(completed.returncode, 2, completed.stderr)
        self.assertIn(words, completed.stderr.decode())

    def test_help_exits_zero(self):
        completed = self.serve("--help")
        self.assertEqual(completed.returncode, 0)
        self.assertIn(b"--listen HOST:PORT", completed.stdout)

    def test_unknown_flag_exits_2(self):
        self.assert_usage_error(self.serve("--no-such-flag"), "--no-such-flag")

    def test_missing_value_exits_2(self):
        self.assert_usage_error(self.serve("--workers"), "--workers")

    def test_workers_zero_exits_2(self):
        self.assert_usage_error(self.serve("--workers", "0"), "--workers")

    def test_leeway_negative_exits_2(self):
        self.assert_usage_error(self.serve("--leeway", "-1"), "--leeway")

    def test_positional_argument_exits_2(self):
        self.assert_usage_error(self.serve("extra"), "extra")

    def test_bad_listen_address_exits_2(self):
        self.assert_usage_error(self.serve("--listen", "127.0.0.1:99999"), "127.0.0.1:99999")

    def test_missing_bundle_file_exits_2(self):
        missing = os.path.join(self.folder.name, "missing.json")
        self.assert_usage_error(self.serve("--bundle", f"other.org={missing}"), "missing.json")

    def test_no_bundle_exits_2(self):
        argv = [self.binary, "serve", "--listen", "127.0.0.1:0"]
        completed = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=START_TIMEOUT_SECONDS, check=False)
        self.assert_usage_error(completed, "--bundle TD=PATH or --federate TD=URL")

    def test_missing_config_file_exits_2(self):
        self.assert_usage_error(self.serve("--config", "x"), "x: cannot open the configuration file")

    def test_bad_federate_exits_2(self):
        cases = (
            ("x", "TRUST_DOMAIN=URL"),
            ("fed.test=http://127.0.0.1/b.json", "https"),
            ("fed.test=https://127.0.0.1/b.json,profile=ftp", "profile"),
            ("fed.test=https://127.0.0.1/b.json,profile=https_spiffe", "needs spiffe_id"),
            ("fed.test=https://127.0.0.1/b.json,spiffe_id=spiffe://fed.test/x", "https_spiffe"),
            ("fed.test=https://127.0.0.1/b.json,profile=https_spiffe,"
             "spiffe_id=spiffe://other.test/x", "needs a --bundle"),
            ("fed.test=https://127.0.0.1/b.json,colour=red", "unknown option"),
        )
        for value, words in cases:
            with self.subTest(value=value):
                self.assert_usage_error(self.serve("--federate", value), words)

    def test_state_dir_missing_exits_2(self):
        self.assert_usage_error(self.serve("--state-dir", "/nonexistent/state"),
                                "--state-dir /nonexistent/state is not a writable folder")

    def test_bad_cache_entries_exits_2(self):
        for value in ("x", "-1", "67108865"):
            with self.subTest(value=value):
                self.assert_usage_error(self.serve("--cache-entries", value), "--cache-entries")


    @unittest.skipUnless(platform.machine() == "x86_64", "the seccomp filter is x86_64-only")
    def test_io_uring_blocked_exits_2(self):
        bundle = f"{TRUST_DOMAIN}={self.credentials.bundle_path}"
        argv = ["/usr/bin/python3", "-c", SECCOMP_WRAPPER, self.binary, "serve",
                "--listen", "127.0.0.1:0", "--bundle", bundle]
        completed = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=START_TIMEOUT_SECONDS, check=False)
        if completed.returncode == 99:
            self.skipTest("installing a seccomp filter failed")
        self.assert_usage_error(completed, "io_uring_setup failed: Operation not permitted")
        self.assertIn("/proc/sys/kernel/io_uring_disabled", completed.stderr.decode())
        self.assertNotIn('msg="listening"', completed.stderr.decode())


class ServerStopTest(unittest.TestCase):
    """Stopping a server, each test with a server of its own."""

    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.credentials = Credentials(self.folder.name)
        self.server = Server(self.credentials)

    def tearDown(self):
        self.server.stop()
        self.folder.cleanup()

    def test_sigterm_exits_zero_within_2s(self):
        idle = Connection(self.server.port)
        try:
            idle.send(request_bytes("GET", "/healthz"))
            self.assertEqual(idle.read_response().status, 200)
            status, seconds = self.server.stop()
        finally:
            idle.close()
        self.assertEqual(status, 0, self.server.log_text())
        self.assertLess(seconds, STOP_TIMEOUT_SECONDS)
        self.assertIn('msg="stopped"', self.server.log_text())

    def test_sigint_exits_zero(self):
        status, seconds = self.server.stop(signal.SIGINT)
        self.assertEqual(status, 0, self.server.log_text())
        self.assertLess(seconds, STOP_TIMEOUT_SECONDS)
        self.assertIn('msg="stopping" signal=SIGINT', self.server.log_text())

    def test_log_never_contains_token(self):
        token = self.credentials.token()
        connection = Connection(self.server.port)
        try:
            for body in (verify_body(token), f'{{"token": "{token}"'.encode()):
                connection.send(request_bytes("POST", "/v1/jwt-svid/verify", body))
                connection.read_response()
        finally:
            connection.close()
        self.server.stop()
        for part in token.split("."):
            self.assertNotIn(part, self.server.log_text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
