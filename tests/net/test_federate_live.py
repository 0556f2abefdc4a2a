#!/usr/bin/python3
"""`svidgate serve --federate` against nginx bundle endpoints.

nginx serves bundle files over TLS: https_web with the test web CA of
test_federation_fetch.py, and https_spiffe with its X.509-SVID server
certificate, whose CA a --bundle file bootstraps. Each test starts its own `svidgate serve` with
a 1 s refresh floor and bundles whose spiffe_refresh_hint is 1 s, then
changes the served file and checks what requests, GET /v1/bundles and
GET /readyz show. The early fetch tests use a 3600 s hint instead, so that
no scheduled fetch runs during them. Every wait and loop has a fixed bound.

Without nginx the script exits 77 (skipped), or fails when CI=true.
"""
import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_federation_fetch import (  # noqa: E402
    BUNDLE_MAX,
    ENDPOINT_ID,
    FEDERATED_TRUST_DOMAIN,
    NGINX,
    Nginx,
    b64url,
    make_pki,
)
from test_reload_live import bundle_text, make_key, sign_token, wait_for  # noqa: E402
from test_server_blackbox import (  # noqa: E402
    SOURCE_DIR,
    TRUST_DOMAIN,
    AUDIENCE,
    Connection,
    Server,
    request_bytes,
    skip_or_fail,
    verify_body,
)

# One refresh is 1 s (hint and floor) plus the fetch; allow several.
REFRESH_DEADLINE_SECONDS = 6.0
CLIENT_MAX_SECONDS = 30.0
CLIENT_MAX_REQUESTS = 100000
OTHER_TRUST_DOMAIN = "fed.test"
# A refresh hint that pushes the next scheduled fetch past every test.
LONG_HINT_SECONDS = 3600
EARLY_FETCH_DEADLINE_SECONDS = 2.0
LONG_BACKOFF_SECONDS = 120
# Well under the 30 s fetch timeout that stopping used to wait for.
STOP_CANCEL_SECONDS = 10
EARLY_REFRESH_MIN_SECONDS = 10
FLOOD_TOKENS = 200
FLOOD_MAX_SECONDS = 2.0
# --federate-stale-after and --federate-fetch-timeout of the tests that use them.
STALE_AFTER_SECONDS = 2
FETCH_TIMEOUT_SECONDS = 2


def served_bundle(keys, sequence, hint=1):
    document = json.loads(bundle_text(keys, sequence))
    document["spiffe_refresh_hint"] = hint
    return json.dumps(document)


def spiffe_bundle(ca_paths, keys, sequence, hint=1):
    """Return a bundle with the JWT `keys` and the X.509 authorities in the PEM files `ca_paths`."""
    document = json.loads(served_bundle(keys, sequence, hint))
    for path in ca_paths:
        with open(path, "rb") as pem:
            authority = x509.load_pem_x509_certificate(pem.read())
        numbers = authority.public_key().public_numbers()
        der = authority.public_bytes(serialization.Encoding.DER)
        document["keys"].append({
            "use": "x509-svid", "kty": "EC", "crv": "P-256", "x": b64url(numbers.x, 32),
            "y": b64url(numbers.y, 32), "x5c": [base64.b64encode(der).decode()],
        })
    return json.dumps(document)


def sign_federated_token(key):
    """Return a JWT-SVID of spiffe://fed.test/workload signed with `key`."""
    now = int(time.time())
    claims = {"sub": f"spiffe://{FEDERATED_TRUST_DOMAIN}/workload", "aud": [AUDIENCE],
              "iat": now, "exp": now + 600}
    token = jwt.JWT(header={"alg": "ES256", "kid": key.get("kid"), "typ": "JWT"}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


class FederatedServer(Server):
    """`svidgate serve` with the given flags; reuses Server's log reader and stop."""

    def __init__(self, *flags, workers=2):
        # pylint: disable=super-init-not-called
        binary = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
        if not os.access(binary, os.X_OK):
            skip_or_fail(f"svidgate binary {binary} not found; build it or set SVIDGATE_BIN")
        self.argv = [binary, "serve", "--listen", "127.0.0.1:0", "--workers", str(workers),
                     "--audience", AUDIENCE, "--federate-refresh-min", "1", *flags]
        self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        self.log = []
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        self.port = self._wait_for_port()

    def has_log_line(self, *words):
        return any(all(word in line for word in words) for line in list(self.log))


def get(port, method, path, body=None):
    connection = Connection(port)
    try:
        connection.send(request_bytes(method, path, body))
        return connection.read_response()
    finally:
        connection.close()


def verify(port, token):
    response = get(port, "POST", "/v1/jwt-svid/verify", verify_body(token))
    if response.status != 200:
        raise AssertionError(f"verify returned {response.status}: {response.body!r}")
    return response.json()


def federation_entry(port, trust_domain=TRUST_DOMAIN):
    response = get(port, "GET", "/v1/bundles")
    for entry in response.json()["trust_domains"]:
        if entry["trust_domain"] == trust_domain and entry["source"] == "federation":
            return entry
    raise AssertionError(f"no federation entry for {trust_domain}: {response.body!r}")


class FederateLiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if NGINX is None:
            skip_or_fail("nginx is not installed (Debian package nginx-light)")
        cls.directory = tempfile.mkdtemp(prefix="svidgate-federate-")
        cls.www = os.path.join(cls.directory, "www")
        os.mkdir(cls.www)
        cls.pki = make_pki(cls.directory)
        cls.nginx = Nginx(cls.directory, cls.pki)

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        shutil.rmtree(cls.directory, ignore_errors=True)

    def setUp(self):
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.stop()

    def serve(self, *flags):
        server = FederatedServer(*flags)
        self.servers.append(server)
        return server

    def publish(self, name, text):
        path = os.path.join(self.www, name)
        with open(path + ".tmp", "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(path + ".tmp", path)

    def spiffe_flags(self, name, pki, nginx, spiffe_id=ENDPOINT_ID):
        """--federate fed.test over https_spiffe, bootstrapped from the PKI's SPIFFE CA."""
        return ["--bundle", f"{FEDERATED_TRUST_DOMAIN}={pki.path('spiffe-ca.pem')}",
                "--federate", f"{FEDERATED_TRUST_DOMAIN}={nginx.url('spiffe', '/' + name)},"
                f"profile=https_spiffe,spiffe_id={spiffe_id}"]

    def federate_flag(self, name, trust_domain=TRUST_DOMAIN, nginx=None):
        url = (nginx or self.nginx).url("web", f"/{name}")
        return ["--federate", f"{trust_domain}={url},profile=https_web,"
                f"ca_file={self.pki.path('web-ca.pem')}"]

    def wait_for_entry(self, port, condition, what, trust_domain=TRUST_DOMAIN):
        entry, _ = wait_for(lambda: (lambda e: e if condition(e) else None)(
            federation_entry(port, trust_domain)), REFRESH_DEADLINE_SECONDS)
        self.assertIsNotNone(entry, f"timed out waiting for {what}: "
                                    f"{federation_entry(port, trust_domain)}")
        return entry

    def test_initial_fetch_verifies(self):
        key = make_key("initial")
        self.publish("initial.json", served_bundle([key], 1))
        server = self.serve(*self.federate_flag("initial.json"))
        self.wait_for_entry(server.port, lambda e: e["sequence"] == 1, "the first fetch")

        self.assertTrue(verify(server.port, sign_token(key))["valid"])
        entry = federation_entry(server.port)
        self.assertEqual(entry["profile"], "https_web")
        self.assertIsNone(entry["last_error"])
        self.assertIsNotNone(entry["last_success"])
        self.assertTrue(server.has_log_line("bundle fetch", "result=accepted", "sequence=1"))

    def test_rotation_under_traffic(self):
        old_key, new_key = make_key("old"), make_key("new")
        self.publish("rotation.json", served_bundle([old_key], 1))
        server = self.serve(*self.federate_flag("rotation.json"))
        self.wait_for_entry(server.port, lambda e: e["sequence"] == 1, "the first fetch")

        tokens = {"current": sign_token(old_key)}
        stop = threading.Event()
        counts = {"sent": 0, "failed": 0, "errors": []}

        def client():
            started = time.monotonic()
            while (not stop.is_set() and counts["sent"] < CLIENT_MAX_REQUESTS
                   and time.monotonic() - started < CLIENT_MAX_SECONDS):
                result = verify(server.port, tokens["current"])
                counts["sent"] += 1
                if not result["valid"]:
                    counts["failed"] += 1
                    counts["errors"].append(result.get("error"))

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        try:
            self.publish("rotation.json", served_bundle([old_key, new_key], 2))
            self.wait_for_entry(server.port, lambda e: e["sequence"] == 2, "the added key")
            tokens["current"] = sign_token(new_key)
            time.sleep(0.3)
            self.publish("rotation.json", served_bundle([new_key], 3))
            self.wait_for_entry(server.port, lambda e: e["sequence"] == 3, "the removed key")
            time.sleep(0.3)
        finally:
            stop.set()
            thread.join(CLIENT_MAX_SECONDS)

        print(f"rotation under traffic: {counts['sent']} requests, {counts['failed']} failed",
              file=sys.stderr)
        self.assertGreater(counts["sent"], 0)
        self.assertEqual(counts["failed"], 0, counts["errors"][:5])
        self.assertFalse(verify(server.port, sign_token(old_key))["valid"])

    def test_bad_responses_keep_bundle(self):
        key = make_key("kept")
        self.publish("kept.json", served_bundle([key], 5))
        server = self.serve(*self.federate_flag("kept.json"))
        self.wait_for_entry(server.port, lambda e: e["sequence"] == 5, "the first fetch")
        token = sign_token(key)

        self.publish("kept.json", "this is not JSON")
        entry = self.wait_for_entry(server.port, lambda e: e["last_error"], "the garbage error")
        self.assertEqual(entry["sequence"], 5)
        self.assertTrue(verify(server.port, token)["valid"])

        os.unlink(os.path.join(self.www, "kept.json"))
        entry = self.wait_for_entry(server.port, lambda e: "404" in (e["last_error"] or ""),
                                    "the 404 error")
        self.assertTrue(verify(server.port, token)["valid"])

        self.publish("kept.json", served_bundle([key], 3))
        entry = self.wait_for_entry(server.port, lambda e: e["rollbacks"] >= 1, "the rollback")
        self.assertIn("lower than the current 5", entry["last_error"])
        self.assertEqual(entry["sequence"], 5)
        self.assertTrue(verify(server.port, token)["valid"])
        self.assertTrue(server.has_log_line("bundle fetch", "result=rejected", "sequence=3"))

        other = make_key("same-sequence")
        self.publish("kept.json", served_bundle([key, other], 5))
        self.wait_for_entry(server.port, lambda e: e["last_error"] is None, "the same sequence")
        self.assertTrue(verify(server.port, sign_token(other))["valid"])
        self.assertTrue(server.has_log_line("without a new spiffe_sequence"))

    def test_endpoint_down_then_restart_from_state_dir(self):
        directory = tempfile.mkdtemp(prefix="svidgate-federate-down-")
        os.mkdir(os.path.join(directory, "www"))
        state_dir = os.path.join(directory, "state")
        os.mkdir(state_dir)
        key = make_key("down")
        with open(os.path.join(directory, "www", "down.json"), "w", encoding="utf-8") as file:
            file.write(served_bundle([key], 7))
        nginx = Nginx(directory, self.pki)
        try:
            flags = [*self.federate_flag("down.json", nginx=nginx), "--state-dir", state_dir]
            server = self.serve(*flags)
            self.wait_for_entry(server.port, lambda e: e["sequence"] == 7, "the first fetch")
            self.assertTrue(os.path.exists(os.path.join(state_dir, f"{TRUST_DOMAIN}.json")))

            nginx.stop()
            entry = self.wait_for_entry(server.port, lambda e: e["last_error"], "a failed fetch")
            self.assertEqual(entry["sequence"], 7)
            self.assertTrue(verify(server.port, sign_token(key))["valid"])
            self.assertEqual(server.stop()[0], 0)

            started = time.monotonic()
            restarted = self.serve(*flags)
            self.assertEqual(get(restarted.port, "GET", "/readyz").status, 200)
            self.assertLess(time.monotonic() - started, 5.0)
            self.assertTrue(verify(restarted.port, sign_token(key))["valid"])
            entry = federation_entry(restarted.port)
            self.assertTrue(entry["from_state_dir"])
            self.assertEqual(entry["sequence"], 7)
        finally:
            nginx.stop()
            shutil.rmtree(directory, ignore_errors=True)

    def test_restart_keeps_the_saved_bundle_age(self):
        """A restart reads the fetch time back from the saved file, so an
        old bundle whose endpoint is down is stale at once, yet verifies."""
        directory = tempfile.mkdtemp(prefix="svidgate-federate-age-")
        os.mkdir(os.path.join(directory, "www"))
        state_dir = os.path.join(directory, "state")
        os.mkdir(state_dir)
        key = make_key("aged")
        with open(os.path.join(directory, "www", "aged.json"), "w", encoding="utf-8") as file:
            file.write(served_bundle([key], 3))
        nginx = Nginx(directory, self.pki)
        try:
            flags = [*self.federate_flag("aged.json", nginx=nginx), "--state-dir", state_dir]
            server = self.serve(*flags)
            self.wait_for_entry(server.port, lambda e: e["sequence"] == 3, "the first fetch")
            saved = os.path.join(state_dir, f"{TRUST_DOMAIN}.json")
            before = os.stat(saved).st_mtime
            self.wait_for_entry(server.port, lambda e: e["fetches"] >= 3, "two more fetches")
            self.assertEqual(server.stop()[0], 0)
            self.assertGreater(os.stat(saved).st_mtime, before,
                                    "an unchanged fetch did not touch the saved file")
            nginx.stop()

            fetched_at = int(time.time()) - 1000
            os.utime(saved, (fetched_at, fetched_at))
            restarted = self.serve(*flags, "--federate-stale-after", "500")
            entry = federation_entry(restarted.port)
            self.assertEqual(entry["last_success"], fetched_at)
            self.assertTrue(entry["stale"])
            response = get(restarted.port, "GET", "/readyz")
            self.assertEqual(response.status, 503)
            stale = response.json()["stale_bundles"][0]
            self.assertGreaterEqual(stale["age_seconds"], 1000)
            self.assertTrue(verify(restarted.port, sign_token(key))["valid"])
        finally:
            nginx.stop()
            shutil.rmtree(directory, ignore_errors=True)

    def test_readyz_waits_for_every_trust_domain(self):
        key = make_key("local")
        local = os.path.join(self.directory, "local.json")
        with open(local, "w", encoding="utf-8") as file:
            file.write(bundle_text([key]))
        server = self.serve("--bundle", f"{TRUST_DOMAIN}={local}",
                            *self.federate_flag("later.json", OTHER_TRUST_DOMAIN))

        response = get(server.port, "GET", "/readyz")
        self.assertEqual(response.status, 503)
        self.assertEqual(response.json()["missing_bundles"], [OTHER_TRUST_DOMAIN])
        self.assertTrue(verify(server.port, sign_token(key))["valid"])

        self.publish("later.json", served_bundle([make_key("fed")], 1))
        status, _ = wait_for(lambda: get(server.port, "GET", "/readyz").status == 200,
                             REFRESH_DEADLINE_SECONDS)
        self.assertTrue(status, "GET /readyz did not become 200")

    def test_unknown_kid_fetches_early(self):
        old_key, new_key = make_key("early-old"), make_key("early-new")
        self.publish("early.json", served_bundle([old_key], 1, hint=LONG_HINT_SECONDS))
        server = self.serve(*self.federate_flag("early.json"))
        self.wait_for_entry(server.port, lambda e: e["sequence"] == 1, "the first fetch")

        # The next scheduled fetch is an hour away, so only an early fetch
        # can bring the new key within the deadline.
        self.publish("early.json", served_bundle([old_key, new_key], 2, hint=LONG_HINT_SECONDS))
        token = sign_token(new_key)
        first = verify(server.port, token)
        self.assertFalse(first["valid"])
        self.assertEqual(first["error"], "unknown_key")

        result, _ = wait_for(lambda: (lambda r: r if r["valid"] else None)(
            verify(server.port, token)), EARLY_FETCH_DEADLINE_SECONDS)
        self.assertIsNotNone(result, f"the token did not verify: {federation_entry(server.port)}")
        entry = federation_entry(server.port)
        self.assertEqual(entry["sequence"], 2)
        self.assertEqual(entry["fetches"], 2)
        self.assertTrue(server.has_log_line("bundle fetch", "reason=unknown_kid",
                                            "result=accepted", "sequence=2"))
        self.assertFalse(any(token in line for line in list(server.log)))

    def test_unknown_trust_domain_fetches_early(self):
        key = make_key("first")
        server = self.serve(*self.federate_flag("first.json"), "--federate-refresh-min",
                            str(LONG_BACKOFF_SECONDS))
        self.wait_for_entry(server.port, lambda e: e["failures"] >= 1, "the failed first fetch")

        # The endpoint returned 404, so the retry is at least half of
        # LONG_BACKOFF_SECONDS away: only an early fetch can bring the
        # bundle within the deadline.
        self.publish("first.json", served_bundle([key], 1, hint=LONG_HINT_SECONDS))
        token = sign_token(key)
        first = verify(server.port, token)
        self.assertFalse(first["valid"])
        self.assertEqual(first["error"], "unknown_trust_domain")

        result, _ = wait_for(lambda: (lambda r: r if r["valid"] else None)(
            verify(server.port, token)), EARLY_FETCH_DEADLINE_SECONDS)
        self.assertIsNotNone(result, f"the token did not verify: {federation_entry(server.port)}")
        self.assertEqual(federation_entry(server.port)["fetches"], 2)
        self.assertTrue(server.has_log_line("bundle fetch", "reason=unknown_trust_domain",
                                            "result=accepted", "sequence=1"))

    def test_random_kids_fetch_once(self):
        key = make_key("flood")
        self.publish("flood.json", served_bundle([key], 1, hint=LONG_HINT_SECONDS))
        server = self.serve(*self.federate_flag("flood.json"), "--federate-early-refresh-min",
                            str(EARLY_REFRESH_MIN_SECONDS))
        self.wait_for_entry(server.port, lambda e: e["sequence"] == 1, "the first fetch")

        tokens = [sign_token(make_key(os.urandom(8).hex())) for _ in range(FLOOD_TOKENS)]
        started = time.monotonic()
        rejected = 0
        for token in tokens:
            if time.monotonic() - started > FLOOD_MAX_SECONDS:
                break
            rejected += verify(server.port, token)["error"] == "unknown_key"
        elapsed = time.monotonic() - started
        time.sleep(0.5)  # lets a fetch the last request started be logged

        early_fetches = sum("reason=unknown_kid" in line for line in list(server.log))
        print(f"random kids: {rejected} rejected in {elapsed:.2f} s, "
              f"{early_fetches} early fetches", file=sys.stderr)
        self.assertEqual(rejected, FLOOD_TOKENS)
        self.assertLessEqual(elapsed, FLOOD_MAX_SECONDS + 1)
        self.assertEqual(early_fetches, 1)
        self.assertEqual(federation_entry(server.port)["fetches"], 2)

    def test_stale_endpoint_fails_readyz(self):
        directory = tempfile.mkdtemp(prefix="svidgate-federate-stale-")
        os.mkdir(os.path.join(directory, "www"))
        key = make_key("stale")
        with open(os.path.join(directory, "www", "stale.json"), "w", encoding="utf-8") as file:
            file.write(served_bundle([key], 1))
        nginx = Nginx(directory, self.pki)
        try:
            server = self.serve(*self.federate_flag("stale.json", nginx=nginx),
                                "--federate-stale-after", str(STALE_AFTER_SECONDS))
            entry = self.wait_for_entry(server.port, lambda e: e["sequence"] == 1,
                                        "the first fetch")
            self.assertFalse(entry["stale"])
            self.assertEqual(entry["stale_after_seconds"], STALE_AFTER_SECONDS)
            self.assertEqual(get(server.port, "GET", "/readyz").status, 200)

            nginx.stop()
            response, _ = wait_for(lambda: (lambda r: r if r.status == 503 else None)(
                get(server.port, "GET", "/readyz")), STALE_AFTER_SECONDS + REFRESH_DEADLINE_SECONDS)
            self.assertIsNotNone(response, "GET /readyz did not become 503")
            body = response.json()
            self.assertEqual(body["status"], "not_ready")
            self.assertEqual(body["missing_bundles"], [])
            self.assertEqual([item["trust_domain"] for item in body["stale_bundles"]],
                             [TRUST_DOMAIN])
            stale = body["stale_bundles"][0]
            self.assertGreater(stale["age_seconds"], STALE_AFTER_SECONDS)
            self.assertEqual(stale["stale_after_seconds"], STALE_AFTER_SECONDS)
            self.assertIsNotNone(stale["last_error"])
            self.assertTrue(federation_entry(server.port)["stale"])
            self.assertTrue(verify(server.port, sign_token(key))["valid"])

            nginx = Nginx(directory, self.pki, ports=nginx.ports)
            ready, _ = wait_for(lambda: get(server.port, "GET", "/readyz").status == 200,
                                REFRESH_DEADLINE_SECONDS)
            self.assertTrue(ready, f"GET /readyz did not become 200: "
                                   f"{get(server.port, 'GET', '/readyz').body!r}")
            self.assertFalse(federation_entry(server.port)["stale"])
        finally:
            nginx.stop()
            shutil.rmtree(directory, ignore_errors=True)

    def serve_good_bundle(self, name, *flags):
        """Serve `name` with a good bundle of sequence 4, start svidgate and wait for it."""
        key = make_key(name)
        self.publish(name, served_bundle([key], 4))
        server = self.serve(*self.federate_flag(name), *flags)
        self.wait_for_entry(server.port, lambda e: e["sequence"] == 4, "the first fetch")
        return server, sign_token(key)

    def assert_bundle_kept(self, server, token, error_fragment):
        entry = self.wait_for_entry(server.port,
                                    lambda e: error_fragment in (e["last_error"] or ""),
                                    f"a last_error with {error_fragment!r}")
        self.assertEqual(entry["sequence"], 4)
        self.assertTrue(entry["has_bundle"])
        self.assertTrue(verify(server.port, token)["valid"])

    def test_oversized_body_keeps_bundle(self):
        server, token = self.serve_good_bundle("oversized.json")
        self.publish("oversized.json", "{" + " " * BUNDLE_MAX + "}")
        self.assert_bundle_kept(server, token, f"larger than {BUNDLE_MAX} bytes")

    def test_slow_endpoint_keeps_bundle(self):
        server, token = self.serve_good_bundle("switchable.json", "--federate-fetch-timeout",
                                               str(FETCH_TIMEOUT_SECONDS))
        flag = os.path.join(self.www, "switch-slow")
        with open(flag, "w", encoding="utf-8"):
            pass
        try:
            started = time.monotonic()
            self.assert_bundle_kept(server, token, "timed out")
            self.assertLess(time.monotonic() - started, REFRESH_DEADLINE_SECONDS)
        finally:
            os.unlink(flag)

    def test_stop_cancels_a_slow_fetch(self):
        server, _ = self.serve_good_bundle("switchable.json")
        flag = os.path.join(self.www, "switch-slow")
        with open(flag, "w", encoding="utf-8"):
            pass
        try:
            # Fetches run every second, and with the flag each one trickles
            # its body at 1 byte/s against a 30 s fetch timeout.
            time.sleep(2.5)
            status, seconds = server.stop()
        finally:
            os.unlink(flag)
        self.assertEqual(status, 0)
        self.assertLess(seconds, STOP_CANCEL_SECONDS)
        self.assertTrue(server.has_log_line("bundle fetch", "result=failed",
                                            "cancelled because the server is stopping"))

    def test_redirect_to_http_keeps_bundle(self):
        server, token = self.serve_good_bundle("switchable.json")
        flag = os.path.join(self.www, "switch-redirect-http")
        with open(flag, "w", encoding="utf-8"):
            pass
        try:
            self.assert_bundle_kept(server, token, "does not use https")
        finally:
            os.unlink(flag)

    def test_spiffe_endpoint_rotates_its_ca(self):
        # A separate PKI, because the endpoint's certificate files are replaced.
        directory = tempfile.mkdtemp(prefix="svidgate-federate-spiffe-")
        os.mkdir(os.path.join(directory, "www"))
        pki = make_pki(directory)
        served = os.path.join(directory, "www", "fed.json")
        key = make_key("spiffe-jwt")

        def publish(ca_names, sequence):
            with open(served + ".tmp", "w", encoding="utf-8") as file:
                file.write(spiffe_bundle([pki.path(f"{name}.pem") for name in ca_names], [key],
                                         sequence))
            os.replace(served + ".tmp", served)

        publish(["spiffe-ca"], 1)
        nginx = Nginx(directory, pki)
        try:
            server = self.serve(*self.spiffe_flags("fed.json", pki, nginx))
            entry = self.wait_for_entry(server.port, lambda e: e["sequence"] == 1,
                                        "the first fetch", FEDERATED_TRUST_DOMAIN)
            self.assertEqual(entry["profile"], "https_spiffe")
            self.assertEqual(entry["peer_id"], ENDPOINT_ID)
            self.assertTrue(verify(server.port, sign_federated_token(key))["valid"])

            # Publish the new CA next to the old one, then let the endpoint
            # present an SVID of the new CA only.
            pki.ca("spiffe-ca-new", f"/O={FEDERATED_TRUST_DOMAIN}",
                   f"URI:spiffe://{FEDERATED_TRUST_DOMAIN}")
            pki.leaf("svid-new", "spiffe-ca-new", f"/O={FEDERATED_TRUST_DOMAIN}",
                     f"URI:{ENDPOINT_ID},IP:127.0.0.1")
            publish(["spiffe-ca", "spiffe-ca-new"], 2)
            self.wait_for_entry(server.port, lambda e: e["sequence"] == 2,
                                "the bundle with both CAs", FEDERATED_TRUST_DOMAIN)
            nginx.stop()
            for suffix in ("-chain.pem", ".key"):
                shutil.copyfile(pki.path(f"svid-new{suffix}"), pki.path(f"svid{suffix}"))
            publish(["spiffe-ca-new"], 3)
            nginx = Nginx(directory, pki, ports=nginx.ports)

            # The --bundle file holds only the old CA, so this fetch
            # succeeds only through the CA the endpoint published itself.
            entry = self.wait_for_entry(server.port, lambda e: e["sequence"] == 3,
                                        "the fetch from the rotated endpoint",
                                        FEDERATED_TRUST_DOMAIN)
            self.assertIsNone(entry["last_error"])
            self.assertEqual(entry["x509_authorities"], 1)
            self.assertTrue(verify(server.port, sign_federated_token(key))["valid"])
        finally:
            nginx.stop()
            shutil.rmtree(directory, ignore_errors=True)

    def test_spiffe_wrong_endpoint_id(self):
        key = make_key("spiffe-wrong-id")
        self.publish("spiffe-wrong.json",
                     spiffe_bundle([self.pki.path("spiffe-ca.pem")], [key], 1))
        expected = f"spiffe://{FEDERATED_TRUST_DOMAIN}/other"
        server = self.serve(*self.spiffe_flags("spiffe-wrong.json", self.pki, self.nginx,
                                               spiffe_id=expected))
        entry = self.wait_for_entry(server.port, lambda e: e["last_error"], "a failed fetch",
                                    FEDERATED_TRUST_DOMAIN)
        self.assertIn(f'presented SPIFFE ID "{ENDPOINT_ID}"', entry["last_error"])
        self.assertIn(f'expected "{expected}"', entry["last_error"])
        self.assertIsNone(entry["last_success"])
        self.assertFalse(verify(server.port, sign_federated_token(key))["valid"])


if __name__ == "__main__":
    unittest.main()
