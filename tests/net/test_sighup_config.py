#!/usr/bin/python3
"""SIGHUP reloads the --config file on a running server.

Under load: client threads on keep-alive connections send /v1/auth
requests while the policy in the file changes and SIGHUP arrives. No
connection may drop, every request gets a response, and every request
sent after the "configuration reloaded" log line sees the new policy.
Each client sends at most MAX_REQUESTS requests within LOAD_SECONDS.

Also: a file that no longer parses keeps the running configuration, a
key that needs a restart is named in a warning, and audience and leeway
changes apply live.
"""

import os
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from authlib import AUDIENCE, TRUST_DOMAIN, AuthServer, Credentials  # noqa: E402
from test_server_blackbox import Connection, request_bytes  # noqa: E402

CLIENTS = 4
MAX_REQUESTS = 4000
LOAD_SECONDS = 30
AFTER_RELOAD_REQUESTS = 50
LOG_WAIT_SECONDS = 10
NEW_ID = "spiffe://example.org/newcomer"


class Client(threading.Thread):
    """Sends /v1/auth on one keep-alive connection and records (sent_at, status)."""

    def __init__(self, port, token, stop):
        super().__init__(daemon=True)
        self.port = port
        self.request = request_bytes("GET", "/v1/auth", None, [f"Authorization: Bearer {token}"])
        self.stop_event = stop
        self.responses = []
        self.error = None

    def run(self):
        connection = Connection(self.port)
        deadline = time.monotonic() + LOAD_SECONDS
        try:
            while (not self.stop_event.is_set() and len(self.responses) < MAX_REQUESTS and
                   time.monotonic() < deadline):
                sent_at = time.monotonic()
                connection.send(self.request)
                response = connection.read_response()
                self.responses.append((sent_at, response.status))
                if response.header("connection") == "close":
                    raise ConnectionError("the server closed a keep-alive connection")
        except (OSError, ConnectionError) as error:
            self.error = error
        finally:
            connection.close()


class SighupConfigTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory(prefix="svidgate-sighup-")
        self.credentials = Credentials(self.folder.name)
        self.path = os.path.join(self.folder.name, "svidgate.conf")
        self.base = (f"bundle = {TRUST_DOMAIN}={self.credentials.bundle_path}\n"
                     f"workers = 2\naudience = {AUDIENCE}\n")
        self.write("allow = * spiffe://example.org/web\n")
        self.server = AuthServer("--config", self.path)

    def tearDown(self):
        self.server.stop()
        self.folder.cleanup()

    def write(self, extra):
        temporary = self.path + ".new"
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(self.base + extra)
        os.replace(temporary, self.path)

    def reload(self, message):
        """Send SIGHUP and return the monotonic time the log line `message` appeared."""
        seen = len(self.server.log)
        self.server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + LOG_WAIT_SECONDS
        while time.monotonic() < deadline:
            if any(message in line for line in self.server.log[seen:]):
                return time.monotonic()
            time.sleep(0.01)
        self.fail(f"no {message!r} log line after SIGHUP:\n{self.server.log_text()}")

    def auth_status(self, spiffe_id, audience=AUDIENCE, lifetime=600):
        token = self.credentials.token(spiffe_id, audience=(audience,), lifetime=lifetime)
        return self.server.request("GET", "/v1/auth", [f"Authorization: Bearer {token}"]).status

    def test_reload_under_load(self):
        stop = threading.Event()
        token = self.credentials.token(NEW_ID)
        clients = [Client(self.server.port, token, stop) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        while min(len(client.responses) for client in clients) < 20 and \
                all(client.is_alive() for client in clients):
            time.sleep(0.01)

        self.write(f"allow = * spiffe://example.org/web {NEW_ID}\n")
        reloaded_at = self.reload('msg="configuration reloaded"')
        deadline = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < deadline and any(
                client.is_alive() and
                sum(sent > reloaded_at for sent, _ in client.responses) < AFTER_RELOAD_REQUESTS
                for client in clients):
            time.sleep(0.01)
        stop.set()
        for client in clients:
            client.join(timeout=LOAD_SECONDS)

        for index, client in enumerate(clients):
            with self.subTest(client=index):
                self.assertIsNone(client.error)
                statuses = [status for _, status in client.responses]
                self.assertEqual(statuses[0], 403)
                self.assertEqual(set(statuses), {403, 200})
                # One switch from 403 to 200 and never back.
                first_allowed = statuses.index(200)
                self.assertEqual(set(statuses[first_allowed:]), {200})
                after = [status for sent, status in client.responses if sent > reloaded_at]
                self.assertGreaterEqual(len(after), AFTER_RELOAD_REQUESTS)
                self.assertEqual(set(after), {200})

    def test_bad_file_keeps_running_config(self):
        self.write("allow = * spiffe://example.org/web\nallow = *\n")
        self.reload('msg="configuration reload failed"')
        failed = [line for line in self.server.log_text().splitlines()
                  if 'msg="configuration reload failed"' in line]
        self.assertEqual(len(failed), 1)
        # The reason is a value of the key=value line, not a loose line beside it.
        self.assertIn(' error="', failed[0])
        self.assertIn(f"{self.path}:5: invalid value", failed[0])
        self.assertEqual(self.auth_status("spiffe://example.org/web"), 200)
        self.assertEqual(self.auth_status(NEW_ID), 403)

    def test_restart_key_named(self):
        self.base = self.base.replace("workers = 2", "workers = 1")
        self.write(f"allow = * {NEW_ID}\n")
        self.reload('msg="configuration reloaded"')
        warning = [line for line in self.server.log if "needs a restart" in line]
        self.assertEqual(len(warning), 1, self.server.log_text())
        self.assertIn('keys="workers"', warning[0])
        # The rest of the file applied.
        self.assertEqual(self.auth_status(NEW_ID), 200)

    def test_audience_and_leeway_live(self):
        self.assertEqual(self.auth_status("spiffe://example.org/web", audience="new-aud"), 401)
        self.assertEqual(self.auth_status("spiffe://example.org/web", lifetime=-10), 200)
        self.base = self.base.replace(f"audience = {AUDIENCE}", "audience = new-aud")
        self.write("allow = * spiffe://example.org/web\nleeway = 0\n")
        self.reload('msg="configuration reloaded"')
        self.assertEqual(self.auth_status("spiffe://example.org/web", audience="new-aud"), 200)
        self.assertEqual(self.auth_status("spiffe://example.org/web"), 401)
        self.assertEqual(self.auth_status("spiffe://example.org/web", audience="new-aud",
                                          lifetime=-10), 401)

    def test_lower_leeway_applies_to_cached_token(self):
        # The token expired 10 s ago: valid with the default leeway (30 s), and
        # cached as valid until exp + 30 s.
        token = self.credentials.token("spiffe://example.org/web", lifetime=-10)
        headers = [f"Authorization: Bearer {token}"]
        for _ in range(4):
            self.assertEqual(self.server.request("GET", "/v1/auth", headers).status, 200)
        self.write("allow = * spiffe://example.org/web\nleeway = 0\n")
        self.reload('msg="configuration reloaded"')
        for _ in range(4):
            response = self.server.request("GET", "/v1/auth", headers)
            self.assertEqual(response.status, 401)
            self.assertEqual(response.header("x-svid-error"), "expired")

    def test_removing_policy(self):
        self.assertEqual(self.auth_status(NEW_ID), 403)
        self.write("")
        self.reload('msg="configuration reloaded"')
        self.assertEqual(self.auth_status(NEW_ID), 200)


if __name__ == "__main__":
    unittest.main()
