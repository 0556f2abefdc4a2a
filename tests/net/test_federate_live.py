#!/usr/bin/python3
"""`svidgate serve --federate` against nginx bundle endpoints.

nginx serves bundle files over TLS (https_web, with the test CA of
test_federation_fetch.py). Each test starts its own `svidgate serve` with
a 1 s refresh floor and bundles whose spiffe_refresh_hint is 1 s, then
changes the served file and checks what requests, GET /v1/bundles and
GET /readyz show. The early fetch tests use a 3600 s hint instead, so that
no scheduled fetch runs during them. Every wait and loop has a fixed bound.

Without nginx the script exits 77 (skipped), or fails when CI=true.
"""
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_federation_fetch import NGINX, Nginx, make_pki  # noqa: E402
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
EARLY_REFRESH_MIN_SECONDS = 10
FLOOD_TOKENS = 200
FLOOD_MAX_SECONDS = 2.0


def served_bundle(keys, sequence, hint=1):
    document = json.loads(bundle_text(keys, sequence))
    document["spiffe_refresh_hint"] = hint
    return json.dumps(document)


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

    def federate_flag(self, name, trust_domain=TRUST_DOMAIN, nginx=None):
        url = (nginx or self.nginx).url("web", f"/{name}")
        return ["--federate", f"{trust_domain}={url},profile=https_web,"
                f"ca_file={self.pki.path('web-ca.pem')}"]

    def wait_for_entry(self, port, condition, what):
        entry, _ = wait_for(lambda: (lambda e: e if condition(e) else None)(
            federation_entry(port)), REFRESH_DEADLINE_SECONDS)
        self.assertIsNotNone(entry, f"timed out waiting for {what}: {federation_entry(port)}")
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


if __name__ == "__main__":
    unittest.main()
