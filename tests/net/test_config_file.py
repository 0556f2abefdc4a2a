#!/usr/bin/python3
"""`svidgate serve --config FILE`: syntax, errors with file:line, flag
override rules, keys reaching the server, and the shipped example file.

Parsing cases run `serve --check-config`; override and federation cases
start a real server on 127.0.0.1 and check its responses.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from authlib import (  # noqa: E402
    AUDIENCE, SOURCE_DIR, TRUST_DOMAIN, AuthServer, Credentials, svidgate_binary,
)

WEB_ID = "spiffe://example.org/web"


class ConfigFileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="svidgate-config-")
        cls.credentials = Credentials(cls.folder.name)
        cls.bundle_line = f"bundle = {TRUST_DOMAIN}={cls.credentials.bundle_path}\n"

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def write(self, text, name="svidgate.conf"):
        path = os.path.join(self.folder.name, name)
        mode = "wb" if isinstance(text, bytes) else "w"
        with open(path, mode) as file:
            file.write(text)
        return path

    def check(self, text, *flags):
        path = self.write(text)
        return subprocess.run([svidgate_binary(), "serve", "--config", path, "--check-config",
                               *flags], capture_output=True, timeout=30, check=False, text=True)

    def assert_error_at(self, text, line, words):
        completed = self.check(text)
        self.assertEqual(completed.returncode, 2, completed.stderr)
        path = os.path.join(self.folder.name, "svidgate.conf")
        self.assertIn(f"{path}:{line}: ", completed.stderr)
        self.assertIn(words, completed.stderr)

    # ---- Syntax --------------------------------------------------------

    def test_valid_file_checks(self):
        text = ("# a comment\n\n   # indented comment\n" + self.bundle_line +
                "listen = 127.0.0.1:0\r\nworkers=1\n\taudience =  gateway  \n"
                "allow = gateway /admin spiffe://example.org/ops\n"
                "allow = * spiffe://example.org/*\npolicy-mode = dry-run\nleeway = 5\n")
        completed = self.check(text)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertIn("configuration is valid", completed.stdout)

    def test_check_loads_bundle_files(self):
        missing = os.path.join(self.folder.name, "missing.json")
        completed = self.check(f"bundle = {TRUST_DOMAIN}={missing}\n")
        self.assertEqual(completed.returncode, 2, completed.stderr)
        self.assertIn(missing, completed.stderr)

        broken = os.path.join(self.folder.name, "broken.json")
        with open(broken, "w", encoding="utf-8") as file:
            file.write('{"keys": [')
        completed = self.check(f"bundle = {TRUST_DOMAIN}={broken}\n")
        self.assertEqual(completed.returncode, 2, completed.stderr)
        self.assertIn(broken, completed.stderr)

    def test_check_parses_listen_address(self):
        for address in ("127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1", "127.0.0.1:-1",
                        "bogus:zz"):
            with self.subTest(address=address):
                completed = self.check(self.bundle_line + f"listen = {address}\n")
                self.assertEqual(completed.returncode, 2, completed.stdout)
                self.assertIn(f"invalid listen address '{address}'", completed.stderr)

    def test_unknown_key(self):
        self.assert_error_at(self.bundle_line + "\nlistne = 127.0.0.1:0\n", 3,
                             'unknown key "listne"')

    def test_command_keys_not_allowed(self):
        self.assert_error_at(self.bundle_line + "config = other.conf\n", 2, 'unknown key "config"')

    def test_bad_value(self):
        self.assert_error_at(self.bundle_line + "workers = many\n", 2,
                             'invalid value of key "workers"')

    def test_single_key_twice(self):
        self.assert_error_at(self.bundle_line + "leeway = 1\nleeway = 2\n", 3,
                             'key "leeway" is given twice')

    def test_line_without_equals(self):
        self.assert_error_at("listen 127.0.0.1:0\n", 1, 'expected "key = value"')

    def test_uppercase_key(self):
        self.assert_error_at("Listen = 127.0.0.1:0\n", 1, 'expected "key = value"')

    def test_empty_value(self):
        self.assert_error_at(self.bundle_line + "audience =   \n", 2, 'key "audience" has no value')

    def test_invalid_utf8(self):
        self.assert_error_at((self.bundle_line + "audience = caf\xe9\n").encode("latin-1"), 2,
                             "not valid UTF-8")

    def test_byte_order_mark_named(self):
        self.assert_error_at(("\ufeff" + self.bundle_line).encode("utf-8"), 1, "byte order mark")

    def test_control_byte(self):
        self.assert_error_at(self.bundle_line + "audience = a\x01b\n", 2, "control character")

    def test_line_length_limit(self):
        value = "a" * (4096 - len("audience = "))
        completed = self.check(self.bundle_line + f"audience = {value}\n")
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assert_error_at(self.bundle_line + f"audience = {value}a\n", 2, "maximum is 4096")

    def test_file_size_limit(self):
        comment = "#" * 1023 + "\n"
        at_limit = self.bundle_line + comment * ((1024 * 1024 - len(self.bundle_line)) // 1024)
        at_limit += "#" * (1024 * 1024 - len(at_limit))
        self.assertEqual(self.check(at_limit).returncode, 0)
        self.assert_error_at(at_limit + "#", 0, "maximum is 1048576")

    def test_bad_allow_rule(self):
        self.assert_error_at(self.bundle_line + "allow = gateway spiffe://Example.org/x\n", 2,
                             'invalid value of key "allow"')

    def test_bad_policy_mode(self):
        self.assert_error_at(self.bundle_line + "policy-mode = audit\n", 2,
                             "must be enforce or dry-run")

    def test_missing_file(self):
        completed = subprocess.run([svidgate_binary(), "serve", "--config", "/nonexistent/x.conf"],
                                   capture_output=True, timeout=30, check=False, text=True)
        self.assertEqual(completed.returncode, 2)
        self.assertIn("/nonexistent/x.conf: cannot open", completed.stderr)

    def test_file_needs_trust_source(self):
        completed = self.check("listen = 127.0.0.1:0\n")
        self.assertEqual(completed.returncode, 2)
        self.assertIn("at least one --bundle", completed.stderr)

    def test_shipped_example_parses(self):
        # The example's bundle path is an installed one; --check-config
        # loads bundle files, so the test points it at a bundle of its own.
        example = os.path.join(SOURCE_DIR, "docs", "svidgate.conf.example")
        with open(example, encoding="utf-8") as file:
            text = file.read()
        installed = "=/etc/svidgate/example.org.bundle.json\n"
        self.assertIn(installed, text)
        completed = self.check(text.replace(installed, f"={self.credentials.bundle_path}\n"))
        self.assertEqual(completed.returncode, 0, completed.stderr)

    # ---- Override rules, on a running server ---------------------------

    def listening_workers(self, server):
        line = next(line for line in server.log if 'msg="listening"' in line)
        return int(re.search(r"workers=(\d+)", line).group(1))

    def auth_status(self, server, audience):
        token = self.credentials.token(WEB_ID, audience=(audience,))
        return server.request("GET", "/v1/auth", [f"Authorization: Bearer {token}"]).status

    def test_flags_override_file(self):
        path = self.write(self.bundle_line + "workers = 1\naudience = from-file\n"
                          "audience = also-from-file\n", "override.conf")
        server = AuthServer("--config", path, "--workers", "2", "--audience", "from-cli")
        try:
            self.assertEqual(self.listening_workers(server), 2)
            self.assertEqual(self.auth_status(server, "from-cli"), 200)
            self.assertEqual(self.auth_status(server, "from-file"), 401)
            self.assertEqual(self.auth_status(server, "also-from-file"), 401)
        finally:
            server.stop()

    def test_file_values_apply(self):
        path = self.write(self.bundle_line + "workers = 1\naudience = from-file\n"
                          "allow = from-file spiffe://example.org/other\n", "plain.conf")
        server = AuthServer("--config", path)
        try:
            self.assertEqual(self.listening_workers(server), 1)
            self.assertEqual(self.auth_status(server, "from-file"), 403)
        finally:
            server.stop()

    def test_allow_flag_replaces_file_list(self):
        path = self.write(self.bundle_line + f"audience = {AUDIENCE}\n"
                          "allow = * spiffe://example.org/other\n", "allow.conf")
        server = AuthServer("--config", path, "--allow", f"* {WEB_ID}")
        try:
            self.assertEqual(self.auth_status(server, AUDIENCE), 200)
        finally:
            server.stop()

    def test_federate_in_file(self):
        # The endpoint port is closed: the refresher's fetch fails, but
        # the trust domain is configured and reported.
        path = self.write(self.bundle_line + "federate = fed.test=https://127.0.0.1:9/b.json\n"
                          "federate-fetch-timeout = 1\n", "federate.conf")
        server = AuthServer("--config", path, "--workers", "1")
        try:
            bundles = json.loads(server.request("GET", "/v1/bundles").body)
            sources = {entry["trust_domain"]: entry for entry in bundles["trust_domains"]}
            self.assertEqual(sources["fed.test"]["source"], "federation")
            self.assertEqual(sources["fed.test"]["url"], "https://127.0.0.1:9/b.json")
            self.assertEqual(sources[TRUST_DOMAIN]["source"], "file")
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
