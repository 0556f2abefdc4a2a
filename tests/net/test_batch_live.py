#!/usr/bin/python3
"""Black-box tests of POST /v1/jwt-svid/verify-batch on `svidgate serve --workers 2`.

Tokens are signed here with python3-cryptography (ES256, raw r||s), never
with svidgate's code. The main test sends 10,000 items of mixed verdicts
in one batch. Each result must match the verdict its item was built for
and what POST /v1/jwt-svid/verify returns for the same token and
audience, and /metrics must show that both workers verified chunks.
Every socket has a timeout and every loop a fixed bound.

Exit status 77 (skipped) when the binary is missing or the kernel refuses
io_uring; with CI=true those fail instead.
"""

import base64
import json
import os
import re
import sys
import tempfile
import time
import unittest

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import authlib  # noqa: E402  (needs the path above)
import test_server_blackbox as blackbox  # noqa: E402

BATCH_ITEMS = 10000
PIPELINE_DEPTH = 200
AUDIENCE = blackbox.AUDIENCE
SPIFFE_ID = blackbox.SPIFFE_ID


def read_batch_limits():
    """Return the numeric SG_BATCH_* values of core/limits.h and net/batch.h."""
    limits = {}
    for path in (("core", "limits.h"), ("net", "batch.h")):
        with open(os.path.join(blackbox.SOURCE_DIR, *path), encoding="utf-8") as header:
            text = header.read()
        for name, expression in re.findall(r"#define (SG_BATCH_\w+) ([0-9() *]+)$", text, re.M):
            value = 1
            for factor in expression.strip("() ").split("*"):
                value *= int(factor.strip())
            limits[name] = value
    return limits


LIMITS = read_batch_limits()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Signer:
    """An ES256 key, its SPIFFE bundle file, and JWT-SVIDs signed with it."""

    def __init__(self, folder):
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        entry = {
            "kty": "EC", "crv": "P-256", "kid": "k1", "use": "jwt-svid",
            "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big")),
        }
        self.bundle_path = os.path.join(folder, "bundle.json")
        with open(self.bundle_path, "w", encoding="utf-8") as bundle:
            json.dump({"keys": [entry], "spiffe_sequence": 1}, bundle)

    def token(self, serial, audience=(AUDIENCE,), exp_offset=600, kid="k1"):
        now = int(time.time())
        header = {"alg": "ES256", "kid": kid, "typ": "JWT"}
        claims = {"sub": f"{SPIFFE_ID}/{serial}", "aud": list(audience),
                  "exp": now + exp_offset, "iat": now - 10}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def token_with_bad_signature(self, serial):
        header, payload, signature = self.token(serial).split(".")
        raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
        raw[5] ^= 0x01
        return ".".join((header, payload, b64url(bytes(raw))))


# Items that are not verifiable as they stand, each with its expected malformed result.
MALFORMED_ITEMS = (
    12345,
    ["an", "array"],
    {"audience": AUDIENCE},
    {"token": 5},
    None,
)


def build_items(signer):
    """Return (items, expected error per item, (token, audience) per item or None)."""
    items, expected, singles = [], [], []
    for i in range(BATCH_ITEMS):
        kind = i % 10
        if kind <= 3:
            token = signer.token(i)
            item, error, single = token, "none", (token, None)
        elif kind == 4:
            token = signer.token(i, exp_offset=-3600)
            item, error, single = token, "expired", (token, None)
        elif kind == 5:
            token = signer.token_with_bad_signature(i)
            item, error, single = token, "bad_signature", (token, None)
        elif kind == 6:
            token = signer.token(i, kid="k-unknown")
            item, error, single = token, "unknown_key", (token, None)
        elif kind == 7:
            token = signer.token(i)
            item = {"token": token, "audience": "other-service"}
            error, single = "audience_mismatch", (token, "other-service")
        elif kind == 8:
            token = signer.token(i, audience=("special",))
            item = {"token": token, "audience": ["unrelated", "special"]}
            error, single = "none", (token, ["unrelated", "special"])
        else:
            item = MALFORMED_ITEMS[(i // 10) % len(MALFORMED_ITEMS)]
            error, single = "malformed", None
        items.append(item)
        expected.append(error)
        singles.append(single)
    return items, expected, singles


def parse_batch_chunks(text):
    """Return {worker: chunks} from svidgate_batch_chunks_total samples."""
    return {int(worker): int(value) for worker, value in
            re.findall(r'^svidgate_batch_chunks_total\{worker="(\d+)"\} (\d+)$', text, re.M)}


class BatchTest(unittest.TestCase):
    """Batches against one two-worker server that runs for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory()
        cls.signer = Signer(cls.folder.name)
        cls.server = blackbox.Server(cls.signer, workers=2)

    @classmethod
    def tearDownClass(cls):
        status, _ = cls.server.stop()
        cls.folder.cleanup()
        # A sanitizer build exits non-zero on a leak or race it found.
        if status != 0:
            raise AssertionError(f"svidgate exited with {status}:\n{cls.server.log_text()}")

    def setUp(self):
        self.connections = []

    def tearDown(self):
        for connection in self.connections:
            connection.close()

    def connect(self):
        connection = blackbox.Connection(self.server.port)
        self.connections.append(connection)
        return connection

    def exchange(self, data):
        connection = self.connect()
        connection.send(data)
        return connection.read_response()

    def batch(self, document):
        body = json.dumps(document).encode()
        return self.exchange(blackbox.request_bytes("POST", "/v1/jwt-svid/verify-batch", body))

    def metrics_text(self):
        response = self.exchange(blackbox.request_bytes("GET", "/metrics"))
        self.assertEqual(response.status, 200)
        return response.body.decode()

    def single_results(self, singles):
        """POST each (token, audience) to /v1/jwt-svid/verify, pipelined, in order."""
        connection = self.connect()
        results = []
        pending = [single for single in singles if single is not None]
        for start in range(0, len(pending), PIPELINE_DEPTH):
            group = pending[start:start + PIPELINE_DEPTH]
            connection.send(b"".join(
                blackbox.request_bytes("POST", "/v1/jwt-svid/verify",
                                       blackbox.verify_body(token, audience))
                for token, audience in group))
            for _ in group:
                response = connection.read_response()
                self.assertEqual(response.status, 200, response.body)
                results.append(response.json())
        return iter(results)

    def assert_error(self, response, status, code):
        self.assertEqual(response.status, status, response.body)
        self.assertEqual(response.json()["error"], code)
        self.assertTrue(response.json()["message"])

    # -- The large mixed batch --

    def test_ten_thousand_mixed_items(self):
        items, expected, singles = build_items(self.signer)
        chunks_before = parse_batch_chunks(self.metrics_text())

        response = self.batch({"audience": AUDIENCE, "tokens": items})
        self.assertEqual(response.status, 200, response.body[:300])
        self.assertEqual(response.header("content-type"), "application/json")
        results = response.json()["results"]
        self.assertEqual(len(results), BATCH_ITEMS)

        single = self.single_results(singles)
        for index, (result, error) in enumerate(zip(results, expected)):
            with self.subTest(index=index, expected=error):
                if error == "none":
                    self.assertIs(result["valid"], True, result)
                else:
                    self.assertIs(result["valid"], False, result)
                    self.assertEqual(result["error"], error)
                    self.assertTrue(result["message"])
                if singles[index] is not None:
                    self.assertEqual(result, next(single))

        chunks_after = parse_batch_chunks(self.metrics_text())
        spread = {worker: chunks_after[worker] - chunks_before.get(worker, 0)
                  for worker in chunks_after}
        self.assertEqual(sorted(spread), [0, 1])
        self.assertEqual(sum(spread.values()), -(-BATCH_ITEMS // LIMITS["SG_BATCH_CHUNK_ITEMS"]))
        self.assertGreater(spread[0], 0, spread)
        self.assertGreater(spread[1], 0, spread)

    # -- Small batches, audiences and order --

    def test_small_batch_uses_server_audience(self):
        token = self.signer.token("small")
        response = self.batch({"tokens": [token, "not-a-jwt"]})
        self.assertEqual(response.status, 200, response.body)
        results = response.json()["results"]
        self.assertIs(results[0]["valid"], True, results[0])
        self.assertEqual(results[1]["error"], "malformed")

    def test_item_audience_overrides_request(self):
        token = self.signer.token("override", audience=("b",))
        response = self.batch({"audience": "a", "tokens": [token, {"token": token, "audience": "b"}]})
        results = response.json()["results"]
        self.assertEqual(results[0]["error"], "audience_mismatch")
        self.assertIs(results[1]["valid"], True, results[1])

    def test_item_with_empty_audience_malformed(self):
        token = self.signer.token("empty")
        response = self.batch({"tokens": [{"token": token, "audience": []}]})
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.json()["results"][0]["error"], "malformed")

    def test_empty_batch(self):
        response = self.batch({"tokens": []})
        self.assertEqual(response.status, 200, response.body)
        self.assertEqual(response.json(), {"results": []})

    def test_spread_batch_then_pipelined_request(self):
        # The response to a spread batch still leaves before the next request's.
        items = [self.signer.token(f"p{i}") for i in range(300)]
        body = json.dumps({"tokens": items}).encode()
        connection = self.connect()
        connection.send(blackbox.request_bytes("POST", "/v1/jwt-svid/verify-batch", body) +
                        blackbox.request_bytes("GET", "/healthz"))
        first = connection.read_response()
        self.assertEqual(first.status, 200)
        self.assertEqual(len(first.json()["results"]), 300)
        self.assertEqual(connection.read_response().json(), {"status": "ok"})

    def test_spread_batch_with_connection_close(self):
        items = [self.signer.token(f"c{i}") for i in range(200)]
        body = json.dumps({"tokens": items}).encode()
        connection = self.connect()
        connection.send(blackbox.request_bytes("POST", "/v1/jwt-svid/verify-batch", body,
                                               headers=["Connection: close"]))
        response = connection.read_response()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("connection"), "close")
        self.assertEqual(len(response.json()["results"]), 200)
        self.assertTrue(connection.closed_by_server())

    def test_client_gone_mid_batch(self):
        # Closing before the response cancels the job; the server keeps serving.
        items = [self.signer.token(f"g{i}") for i in range(2000)]
        body = json.dumps({"tokens": items}).encode()
        for _ in range(3):
            connection = blackbox.Connection(self.server.port)
            connection.send(blackbox.request_bytes("POST", "/v1/jwt-svid/verify-batch", body))
            connection.close()
        response = self.exchange(blackbox.request_bytes("GET", "/healthz"))
        self.assertEqual(response.status, 200)
        self.assertIsNone(self.server.process.poll())

    def test_stop_with_batch_in_flight(self):
        # SIGTERM while chunks are queued: the server exits cleanly, and a
        # sanitizer build finds no leak of the job.
        with tempfile.TemporaryDirectory() as folder:
            signer = Signer(folder)
            server = blackbox.Server(signer, workers=2)
            items = [signer.token(f"s{i}") for i in range(3000)]
            body = json.dumps({"tokens": items}).encode()
            connection = blackbox.Connection(server.port)
            try:
                connection.send(blackbox.request_bytes("POST", "/v1/jwt-svid/verify-batch", body))
                time.sleep(0.05)
                status, _ = server.stop()
            finally:
                connection.close()
        self.assertEqual(status, 0, server.log_text())
        self.assertIn('msg="stopped"', server.log_text())

    def test_one_worker_verifies_in_chunks(self):
        # With one worker a large batch still goes through the queue, a few
        # chunks per loop turn, so that worker keeps serving other requests.
        with tempfile.TemporaryDirectory() as folder:
            signer = Signer(folder)
            server = blackbox.Server(signer, workers=1)
            try:
                count = LIMITS["SG_BATCH_CHUNK_ITEMS"] * 3 + 1
                items = [signer.token(f"o{i}") for i in range(count)]
                connection = blackbox.Connection(server.port)
                connection.send(blackbox.request_bytes(
                    "POST", "/v1/jwt-svid/verify-batch", json.dumps({"tokens": items}).encode()))
                results = connection.read_response().json()["results"]
                connection.send(blackbox.request_bytes("GET", "/metrics"))
                chunks = parse_batch_chunks(connection.read_response().body.decode())
                connection.close()
            finally:
                status, _ = server.stop()
        self.assertEqual(status, 0, server.log_text())
        self.assertEqual(len(results), count)
        self.assertTrue(all(result["valid"] for result in results))
        self.assertEqual(chunks, {0: 4})

    # -- Whole-request errors and limits --

    def test_not_json_400(self):
        response = self.exchange(blackbox.request_bytes("POST", "/v1/jwt-svid/verify-batch",
                                                        b'{"tokens": [}'))
        self.assert_error(response, 400, "bad_request")

    def test_missing_tokens_400(self):
        self.assert_error(self.batch({"audience": AUDIENCE}), 400, "bad_request")

    def test_tokens_not_array_400(self):
        self.assert_error(self.batch({"tokens": "abc"}), 400, "bad_request")

    def test_duplicate_tokens_member_400(self):
        body = b'{"tokens": [], "tokens": ["x"]}'
        response = self.exchange(blackbox.request_bytes("POST", "/v1/jwt-svid/verify-batch", body))
        self.assert_error(response, 400, "bad_request")

    def test_invalid_request_audience_400(self):
        self.assert_error(self.batch({"audience": "", "tokens": ["x"]}), 400, "bad_request")

    def test_items_at_limit_accepted(self):
        response = self.batch({"tokens": ["x"] * LIMITS["SG_BATCH_ITEMS_MAX"]})
        self.assertEqual(response.status, 200, response.body[:200])
        self.assertEqual(len(response.json()["results"]), LIMITS["SG_BATCH_ITEMS_MAX"])

    def test_items_over_limit_400(self):
        response = self.batch({"tokens": ["x"] * (LIMITS["SG_BATCH_ITEMS_MAX"] + 1)})
        self.assert_error(response, 400, "bad_request")
        self.assertIn(str(LIMITS["SG_BATCH_ITEMS_MAX"]), response.json()["message"])

    def test_body_at_limit_accepted(self):
        prefix = b'{"tokens": ["x"]'
        body = prefix + b" " * (LIMITS["SG_BATCH_BODY_MAX"] - len(prefix) - 1) + b"}"
        self.assertEqual(len(body), LIMITS["SG_BATCH_BODY_MAX"])
        response = self.exchange(blackbox.request_bytes("POST", "/v1/jwt-svid/verify-batch", body))
        self.assertEqual(response.status, 200, response.body)

    def test_body_over_limit_413(self):
        too_large = LIMITS["SG_BATCH_BODY_MAX"] + 1
        connection = self.connect()
        connection.send(blackbox.request_bytes("POST", "/v1/jwt-svid/verify-batch",
                                               headers=[f"Content-Length: {too_large}"]))
        self.assert_error(connection.read_response(), 413, "content_too_large")

    def test_batch_body_size_not_allowed_elsewhere(self):
        # Only the batch route takes bodies past the general limit.
        size = blackbox.LIMITS["SG_HTTP_BODY_MAX"] + 1
        connection = self.connect()
        connection.send(blackbox.request_bytes("POST", "/v1/jwt-svid/verify",
                                               headers=[f"Content-Length: {size}"]))
        self.assert_error(connection.read_response(), 413, "content_too_large")


class PolicyBatchTest(unittest.TestCase):
    """Batch items under an --allow policy, verified on both workers."""

    def test_policy_applies_to_items(self):
        with tempfile.TemporaryDirectory() as folder:
            signer = Signer(folder)
            server = authlib.AuthServer(
                "--workers", "2", "--bundle", f"{blackbox.TRUST_DOMAIN}={signer.bundle_path}",
                "--audience", AUDIENCE, "--allow", f"* {SPIFFE_ID}/a/*")
            try:
                tokens = [signer.token(f"{'a' if i % 2 == 0 else 'b'}/{i}") for i in range(200)]
                before = server.request("GET", "/metrics").body.decode()
                response = server.request("POST", "/v1/jwt-svid/verify-batch",
                                          body=json.dumps({"tokens": tokens}).encode())
                after = server.request("GET", "/metrics").body.decode()
                singles = [server.request("POST", "/v1/jwt-svid/verify",
                                          body=blackbox.verify_body(token)).json()
                           for token in tokens[:6]]
            finally:
                status, _ = server.stop()
        self.assertEqual(status, 0, server.log_text())
        self.assertEqual(response.status, 200, response.body[:200])
        results = response.json()["results"]
        for index, result in enumerate(results):
            with self.subTest(index=index):
                if index % 2 == 0:
                    self.assertIs(result["valid"], True, result)
                else:
                    self.assertEqual(result["error"], "policy_denied")
        self.assertEqual(results[:6], singles)
        for decision in ("allowed", "denied"):
            with self.subTest(decision=decision):
                pattern = rf'^svidgate_policy_decisions_total\{{decision="{decision}"\}} (\d+)$'
                grown = (int(re.search(pattern, after, re.M).group(1)) -
                         int(re.search(pattern, before, re.M).group(1)))
                self.assertEqual(grown, 100)


if __name__ == "__main__":
    unittest.main(verbosity=2)
