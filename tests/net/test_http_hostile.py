#!/usr/bin/python3
"""Hostile and chunked HTTP/1.1 requests against a real `svidgate serve`.

Each malformed, oversized or smuggling-shaped request is sent on a
connection of its own. The test checks the exact status and error code
that docs/INTERFACE.md lists, that the response closes the connection,
and that the server still responds to a normal request afterwards. The
chunked tests send JWT-SVIDs minted with python3-jwcrypto in chunked
bodies to POST /v1/jwt-svid/verify.

The server helpers come from test_server_blackbox.py. Every socket has
a timeout; no loop runs longer than its list of cases.
"""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_server_blackbox as blackbox  # noqa: E402

LIMITS = blackbox.LIMITS
HOST = "Host: 127.0.0.1\r\n"


def chunked(body, sizes):
    """Encode `body` as chunks of the given sizes (the rest in one more), plus the last chunk."""
    out = b""
    at = 0
    for size in sizes:
        piece = body[at:at + size]
        at += len(piece)
        if piece:
            out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    if at < len(body):
        out += b"%x\r\n" % (len(body) - at) + body[at:] + b"\r\n"
    return out + b"0\r\n\r\n"


def chunked_head(path="/v1/jwt-svid/verify", extra=""):
    return (f"POST {path} HTTP/1.1\r\n{HOST}Transfer-Encoding: chunked\r\n{extra}\r\n").encode()


def post_head(extra):
    return f"POST /v1/jwt-svid/verify HTTP/1.1\r\n{HOST}{extra}\r\n".encode()


# (name, request bytes, status, error code). A status per docs/INTERFACE.md.
HOSTILE_CASES = [
    # Malformed request lines.
    ("no target or version", b"GET\r\n\r\n", 400, "bad_request"),
    ("double space", b"GET  /healthz HTTP/1.1\r\n" + HOST.encode() + b"\r\n", 400, "bad_request"),
    ("trailing word", b"GET /healthz HTTP/1.1 x\r\n" + HOST.encode() + b"\r\n", 400, "bad_request"),
    ("lowercase version", b"GET /healthz http/1.1\r\n" + HOST.encode() + b"\r\n", 400, "bad_request"),
    ("NUL in target", b"GET /he\x00althz HTTP/1.1\r\n" + HOST.encode() + b"\r\n", 400, "bad_request"),
    ("HTTP/2.0", b"GET /healthz HTTP/2.0\r\n" + HOST.encode() + b"\r\n", 505,
     "http_version_not_supported"),
    ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\n\r\n", 400, "bad_request"),
    ("bare LF", b"GET /healthz HTTP/1.1\n" + HOST.encode() + b"\n", 400, "bad_request"),
    ("bare CR", b"GET /healthz HTTP/1.1\r\nX-A: b\rc\r\n" + HOST.encode() + b"\r\n", 400,
     "bad_request"),
    ("obsolete folding", b"GET /healthz HTTP/1.1\r\n" + HOST.encode() + b"X-A: b\r\n c\r\n\r\n",
     400, "bad_request"),
    # Oversized parts.
    ("request line too long",
     b"GET /" + b"a" * LIMITS["SG_HTTP_URI_MAX"] + b" HTTP/1.1\r\n" + HOST.encode() + b"\r\n",
     414, "uri_too_long"),
    ("head too large",
     b"GET /healthz HTTP/1.1\r\n" + HOST.encode() + b"X-Pad: "
     + b"p" * LIMITS["SG_HTTP_HEADER_BYTES_MAX"] + b"\r\n\r\n",
     431, "header_fields_too_large"),
    ("too many headers",
     b"GET /healthz HTTP/1.1\r\n" + HOST.encode()
     + b"".join(b"X-%d: v\r\n" % i for i in range(LIMITS["SG_HTTP_HEADER_COUNT_MAX"])) + b"\r\n",
     431, "header_fields_too_large"),
    ("Content-Length too large",
     post_head(f"Content-Length: {LIMITS['SG_HTTP_BODY_MAX'] + 1}\r\n"), 413, "content_too_large"),
    ("chunk larger than the body limit",
     chunked_head() + b"%x\r\n" % (LIMITS["SG_HTTP_BODY_MAX"] + 1), 413, "content_too_large"),
    ("chunks add up past the body limit",
     chunked_head() + (b"%x\r\n" % (LIMITS["SG_HTTP_BODY_MAX"] // 2) + b"x" * (LIMITS["SG_HTTP_BODY_MAX"] // 2)
                       + b"\r\n") * 3,
     413, "content_too_large"),
    ("chunk-size line too long",
     chunked_head() + b"1;e=" + b"v" * LIMITS["SG_HTTP_CHUNK_LINE_MAX"] + b"\r\nx\r\n0\r\n\r\n",
     400, "bad_request"),
    ("trailers too large",
     chunked_head() + b"0\r\nX-T: " + b"t" * LIMITS["SG_HTTP_HEADER_BYTES_MAX"] + b"\r\n\r\n",
     431, "header_fields_too_large"),
    # Framing that a proxy and svidgate could read differently.
    ("POST without length", post_head(""), 411, "length_required"),
    ("Content-Length with Transfer-Encoding",
     post_head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + b"0\r\n\r\n", 400,
     "bad_request"),
    ("Transfer-Encoding before Content-Length",
     post_head("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n") + b"0\r\n\r\n", 400,
     "bad_request"),
    ("unknown coding before chunked", post_head("Transfer-Encoding: gzip, chunked\r\n"), 501,
     "not_implemented"),
    ("xchunked", post_head("Transfer-Encoding: xchunked\r\n"), 400, "bad_request"),
    ("chunked then identity", post_head("Transfer-Encoding: chunked, identity\r\n"), 400,
     "bad_request"),
    ("chunked twice in one line", post_head("Transfer-Encoding: chunked, chunked\r\n"), 400,
     "bad_request"),
    ("Transfer-Encoding twice",
     post_head("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), 400,
     "bad_request"),
    ("quoted chunked", post_head('Transfer-Encoding: "chunked"\r\n'), 400, "bad_request"),
    ("vertical tab before chunked", post_head("Transfer-Encoding: \x0bchunked\r\n"), 400,
     "bad_request"),
    ("space before colon", post_head("Transfer-Encoding : chunked\r\n"), 400, "bad_request"),
    ("chunked in HTTP/1.0",
     b"POST /v1/jwt-svid/verify HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
     "bad_request"),
    ("Content-Length with plus sign", post_head("Content-Length: +5\r\n") + b"hello", 400,
     "bad_request"),
    ("negative Content-Length", post_head("Content-Length: -5\r\n"), 400, "bad_request"),
    ("Content-Length with inner space", post_head("Content-Length: 5 5\r\n"), 400, "bad_request"),
    ("Content-Length list", post_head("Content-Length: 5, 5\r\n") + b"hello", 400, "bad_request"),
    ("Content-Length twice",
     post_head("Content-Length: 5\r\nContent-Length: 5\r\n") + b"hello", 400, "bad_request"),
    ("chunk size overflows 64 bits", chunked_head() + b"10000000000000005\r\nhello\r\n0\r\n\r\n",
     413, "content_too_large"),
    ("chunk size with junk", chunked_head() + b"5x\r\nhello\r\n0\r\n\r\n", 400, "bad_request"),
    ("chunk size with sign", chunked_head() + b"+5\r\nhello\r\n0\r\n\r\n", 400, "bad_request"),
    ("chunk size 0x prefix", chunked_head() + b"0x5\r\nhello\r\n0\r\n\r\n", 400, "bad_request"),
    ("chunk size with space", chunked_head() + b" 5\r\nhello\r\n0\r\n\r\n", 400, "bad_request"),
    ("bare LF after chunk size", chunked_head() + b"5\nhello\r\n0\r\n\r\n", 400, "bad_request"),
    ("bare LF after chunk data", chunked_head() + b"5\r\nhello\n0\r\n\r\n", 400, "bad_request"),
    ("chunk longer than its size", chunked_head() + b"3\r\nhello\r\n0\r\n\r\n", 400, "bad_request"),
    ("bare LF in trailer", chunked_head() + b"0\r\nX-A: b\n\r\n", 400, "bad_request"),
]

# A second request hidden behind the first: the server must never respond to it.
SMUGGLED = b"GET /smuggled HTTP/1.1\r\n" + HOST.encode() + b"\r\n"


class HostileRequestTest(unittest.TestCase):
    """Every hostile request gets its status, a close, and the server lives on."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory()
        cls.credentials = blackbox.Credentials(cls.folder.name)
        cls.server = blackbox.Server(cls.credentials)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.folder.cleanup()

    def exchange(self, data):
        """Send `data` on a new connection; return the response and whether the server closed."""
        connection = blackbox.Connection(self.server.port)
        try:
            connection.send(data)
            response = connection.read_response()
            closed = connection.closed_by_server()
        finally:
            connection.close()
        return response, closed

    def assert_server_answers(self):
        connection = blackbox.Connection(self.server.port)
        try:
            connection.send(blackbox.request_bytes("GET", "/healthz"))
            self.assertEqual(connection.read_response().status, 200)
        finally:
            connection.close()
        self.assertIsNone(self.server.process.poll(), self.server.log_text())

    def test_hostile_requests_rejected(self):
        for name, data, status, code in HOSTILE_CASES:
            with self.subTest(name):
                response, closed = self.exchange(data)
                self.assertEqual(response.status, status)
                self.assertEqual(response.json()["error"], code)
                self.assertEqual(response.header("connection"), "close")
                self.assertTrue(closed, "the connection stays open after the error")
                self.assert_server_answers()

    def test_hostile_requests_hide_nothing(self):
        """A request smuggled behind a rejected one never gets a response."""
        for name, data, status, _ in HOSTILE_CASES:
            if data.startswith(b"POST") and status == 400:
                with self.subTest(name):
                    response, closed = self.exchange(data + SMUGGLED)
                    self.assertEqual(response.status, status)
                    self.assertTrue(closed, "a response followed the error")

    def test_chunked_trailing_space_is_chunked(self):
        """OWS around a field value is not part of it (RFC 9110), so this is plain chunked."""
        token = self.credentials.token()
        body = blackbox.verify_body(token)
        connection = blackbox.Connection(self.server.port)
        try:
            connection.send(post_head("Transfer-Encoding: chunked \r\n") + chunked(body, [10])
                            + SMUGGLED)
            first = connection.read_response()
            second = connection.read_response()
        finally:
            connection.close()
        self.assertEqual(first.status, 200)
        self.assertTrue(first.json()["valid"])
        self.assertEqual(second.status, 404)


class ChunkedVerifyTest(unittest.TestCase):
    """POST /v1/jwt-svid/verify with chunked bodies, end to end."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory()
        cls.credentials = blackbox.Credentials(cls.folder.name)
        cls.server = blackbox.Server(cls.credentials)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.folder.cleanup()

    def setUp(self):
        self.connection = blackbox.Connection(self.server.port)

    def tearDown(self):
        self.connection.close()

    def test_chunked_token_verifies(self):
        body = blackbox.verify_body(self.credentials.token())
        self.connection.send(chunked_head() + chunked(body, [1, 7, 100]))
        response = self.connection.read_response()
        self.assertEqual(response.status, 200)
        self.assertTrue(response.json()["valid"], response.body)
        self.assertEqual(response.json()["spiffe_id"], blackbox.SPIFFE_ID)

    def test_chunked_bad_signature_invalid(self):
        body = blackbox.verify_body(self.credentials.token_with_bad_signature())
        self.connection.send(chunked_head() + chunked(body, [64]))
        response = self.connection.read_response()
        self.assertEqual(response.status, 200)
        self.assertFalse(response.json()["valid"])

    def test_chunked_with_extensions_and_trailers(self):
        body = blackbox.verify_body(self.credentials.token())
        half = len(body) // 2
        encoded = (b"%x;name=value\r\n" % half + body[:half] + b"\r\n"
                   + b'%x ; q="a b"\r\n' % (len(body) - half) + body[half:] + b"\r\n"
                   + b"0\r\nX-Checksum: none\r\n\r\n")
        self.connection.send(chunked_head() + encoded)
        response = self.connection.read_response()
        self.assertEqual(response.status, 200)
        self.assertTrue(response.json()["valid"])

    def test_chunked_byte_at_a_time(self):
        body = blackbox.verify_body(self.credentials.token())
        for byte in chunked_head() + chunked(body, [50, 50]):
            self.connection.send(bytes([byte]))
        response = self.connection.read_response()
        self.assertEqual(response.status, 200)
        self.assertTrue(response.json()["valid"])

    def test_chunked_then_pipelined(self):
        body = blackbox.verify_body(self.credentials.token())
        request = chunked_head() + chunked(body, [30])
        self.connection.send(request + request + blackbox.request_bytes("GET", "/healthz"))
        for _ in range(2):
            response = self.connection.read_response()
            self.assertEqual(response.status, 200)
            self.assertTrue(response.json()["valid"])
        self.assertEqual(self.connection.read_response().json(), {"status": "ok"})

    def test_chunked_expect_continue(self):
        body = blackbox.verify_body(self.credentials.token())
        self.connection.send(chunked_head(extra="Expect: 100-continue\r\n"))
        interim = self.connection.read_response_without_body()
        self.assertEqual(interim.status, 100)
        self.connection.send(chunked(body, [40]))
        response = self.connection.read_response()
        self.assertEqual(response.status, 200)
        self.assertTrue(response.json()["valid"])

    def test_chunked_body_at_limit_accepted(self):
        """A body of exactly SG_HTTP_BODY_MAX bytes in 64 KiB chunks reaches the route."""
        prefix = b'{"token": "' + self.credentials.token().encode() + b'", "pad": "'
        body = prefix + b" " * (LIMITS["SG_HTTP_BODY_MAX"] - len(prefix) - 2) + b'"}'
        self.assertEqual(len(body), LIMITS["SG_HTTP_BODY_MAX"])
        self.connection.send(chunked_head() + chunked(body, [65536] * 16))
        response = self.connection.read_response()
        self.assertEqual(response.status, 200)
        self.assertTrue(response.json()["valid"], response.body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
