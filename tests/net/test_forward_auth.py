#!/usr/bin/python3
"""Black-box tests of /v1/auth, the forward-auth endpoint, on 127.0.0.1.

Covers the three credential sources (Bearer, Envoy XFCC Cert= and
Chain=, X-SSL-Client-Cert), their order, the audience sources, the
response headers and Cache-Control bounds, the Envoy ext_authz and
Traefik forwardAuth request shapes replayed byte for byte, and the
policy in enforce and dry-run modes, also on the JSON verify endpoint.
"""

import json
import os
import re
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from authlib import (  # noqa: E402
    AUDIENCE, REFRESH_HINT_SECONDS, TRUST_DOMAIN, AuthServer, Credentials, url_encoded_pem,
)
from test_server_blackbox import verify_body  # noqa: E402

WEB_ID = "spiffe://example.org/web"
OPS_ID = "spiffe://example.org/ops"
DEEP_ID = "spiffe://example.org/ns/prod/api"


def bearer(token):
    return f"Authorization: Bearer {token}"


class ForwardAuthTest(unittest.TestCase):
    """A server without a policy: every verified ID is admitted."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="svidgate-forward-auth-")
        cls.credentials = Credentials(cls.folder.name)
        cls.leaf = cls.credentials.make_leaf("web", WEB_ID)
        cls.leaf_under_intermediate = cls.credentials.make_leaf("deep", DEEP_ID, "intermediate")
        cls.server = AuthServer("--workers", "2", "--bundle",
                                f"{TRUST_DOMAIN}={cls.credentials.bundle_path}",
                                "--audience", AUDIENCE)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.folder.cleanup()

    def auth(self, headers, path="/v1/auth", method="GET", body=None):
        return self.server.request(method, path, headers, body)

    def assert_admitted(self, response, spiffe_id):
        self.assertEqual(response.status, 200, response.headers)
        self.assertEqual(response.header("x-spiffe-id"), spiffe_id)
        self.assertEqual(response.header("x-spiffe-trust-domain"), TRUST_DOMAIN)
        self.assertEqual(response.body, b"")

    def assert_rejected(self, response, status, code):
        self.assertEqual(response.status, status, response.headers)
        self.assertEqual(response.header("x-svid-error"), code)
        self.assertEqual(response.header("cache-control"), "no-store")
        self.assertIsNone(response.header("x-spiffe-id"))
        self.assertEqual(response.body, b"")
        if status == 401:
            self.assertEqual(response.header("www-authenticate"), 'Bearer error="invalid_token"')

    def max_age(self, response):
        match = re.fullmatch(r"private, max-age=(\d+)", response.header("cache-control") or "")
        self.assertIsNotNone(match, response.header("cache-control"))
        return int(match.group(1))

    # ---- Bearer --------------------------------------------------------

    def test_bearer_valid_200(self):
        response = self.auth([bearer(self.credentials.token(WEB_ID))])
        self.assert_admitted(response, WEB_ID)

    def test_bearer_scheme_case_insensitive(self):
        response = self.auth([f"Authorization: bEaReR {self.credentials.token(WEB_ID)}"])
        self.assert_admitted(response, WEB_ID)

    def test_bearer_bad_signature_401(self):
        response = self.auth([bearer(self.credentials.forged_token(WEB_ID))])
        self.assert_rejected(response, 401, "bad_signature")

    def test_bearer_garbage_401_malformed(self):
        self.assert_rejected(self.auth(["Authorization: Bearer not-a-jwt"]), 401, "malformed")

    def test_missing_credential_401(self):
        self.assert_rejected(self.auth([]), 401, "missing_credential")

    def test_basic_authorization_not_a_credential(self):
        response = self.auth(["Authorization: Basic dXNlcjpwYXNz"])
        self.assert_rejected(response, 401, "missing_credential")

    def test_two_authorization_headers_malformed(self):
        token = self.credentials.token(WEB_ID)
        response = self.auth([bearer(token), bearer(token)])
        self.assert_rejected(response, 401, "malformed")
        response = self.auth(["Authorization: Basic dXNlcjpwYXNz", bearer(token),
                              f"X-SSL-Client-Cert: {url_encoded_pem(self.leaf)}"])
        self.assert_rejected(response, 401, "malformed")

    def test_any_method_accepted(self):
        token = self.credentials.token(WEB_ID)
        for method, body in (("POST", b""), ("PUT", b"x"), ("DELETE", None), ("OPTIONS", None)):
            with self.subTest(method=method):
                response = self.auth([bearer(token)], method=method, body=body)
                self.assert_admitted(response, WEB_ID)

    def test_auth_prefix_is_segment_bound(self):
        response = self.auth([bearer(self.credentials.token(WEB_ID))], path="/v1/authx")
        self.assertEqual(response.status, 404)

    def test_token_not_logged(self):
        token = self.credentials.forged_token(WEB_ID)
        self.auth([bearer(token)])
        signature = token.rsplit(".", 1)[1]
        self.assertNotIn(signature, self.server.log_text())

    # ---- Audience ------------------------------------------------------

    def test_audience_default_from_flag(self):
        token = self.credentials.token(WEB_ID, audience=("other",))
        self.assert_rejected(self.auth([bearer(token)]), 401, "audience_mismatch")

    def test_audience_from_header(self):
        token = self.credentials.token(WEB_ID, audience=("other",))
        response = self.auth([bearer(token), "X-Svid-Audience: other"])
        self.assert_admitted(response, WEB_ID)

    def test_audience_header_replaces_default(self):
        token = self.credentials.token(WEB_ID)
        response = self.auth([bearer(token), "X-Svid-Audience: other"])
        self.assert_rejected(response, 401, "audience_mismatch")

    def test_audience_from_query(self):
        token = self.credentials.token(WEB_ID, audience=("spiffe://example.org/gw",))
        response = self.auth([bearer(token)],
                             path="/v1/auth?x=1&audience=spiffe%3A%2F%2Fexample.org%2Fgw")
        self.assert_admitted(response, WEB_ID)

    def test_header_wins_over_query(self):
        token = self.credentials.token(WEB_ID, audience=("from-query",))
        response = self.auth([bearer(token), "X-Svid-Audience: from-header"],
                             path="/v1/auth?audience=from-query")
        self.assert_rejected(response, 401, "audience_mismatch")

    def test_query_of_original_request_ignored(self):
        # /v1/auth/<path>?audience=... is the client's own query under Envoy.
        token = self.credentials.token(WEB_ID, audience=("chosen-by-client",))
        response = self.auth([bearer(token)], path="/v1/auth/app?audience=chosen-by-client")
        self.assert_rejected(response, 401, "audience_mismatch")

    # ---- Cache-Control -------------------------------------------------

    def test_max_age_bounded_by_token_expiry(self):
        response = self.auth([bearer(self.credentials.token(WEB_ID, lifetime=60))])
        self.assert_admitted(response, WEB_ID)
        self.assertLessEqual(self.max_age(response), 60)
        self.assertGreaterEqual(self.max_age(response), 55)

    def test_max_age_bounded_by_refresh_hint(self):
        response = self.auth([bearer(self.credentials.token(WEB_ID, lifetime=3600))])
        self.assertEqual(self.max_age(response), REFRESH_HINT_SECONDS)

    def test_max_age_same_from_cache(self):
        token = self.credentials.token(WEB_ID, lifetime=50)
        first = self.max_age(self.auth([bearer(token)]))
        second = self.max_age(self.auth([bearer(token)]))
        self.assertLessEqual(second, first)
        self.assertGreaterEqual(second, first - 2)

    def test_max_age_zero_inside_leeway(self):
        # Expired 5 s ago, inside the 30 s leeway: valid, but never cacheable.
        token = self.credentials.token(WEB_ID, lifetime=-5)
        response = self.auth([bearer(token)])
        self.assert_admitted(response, WEB_ID)
        self.assertEqual(self.max_age(response), 0)

    # ---- X.509 from gateways ------------------------------------------

    def test_xfcc_cert_valid(self):
        header = f'x-forwarded-client-cert: Hash=ab12;Cert="{url_encoded_pem(self.leaf)}"'
        self.assert_admitted(self.auth([header]), WEB_ID)

    def test_xfcc_chain_with_intermediate(self):
        chain = url_encoded_pem(self.leaf_under_intermediate, self.credentials.intermediate)
        header = f'x-forwarded-client-cert: By=spiffe://example.org/gw;Chain="{chain}";' \
                 f'URI={DEEP_ID}'
        self.assert_admitted(self.auth([header]), DEEP_ID)

    def test_xfcc_chain_preferred_over_cert(self):
        leaf = url_encoded_pem(self.leaf_under_intermediate)
        chain = url_encoded_pem(self.leaf_under_intermediate, self.credentials.intermediate)
        header = f"x-forwarded-client-cert: Cert={leaf};Chain={chain}"
        self.assert_admitted(self.auth([header]), DEEP_ID)

    def test_xfcc_cert_without_intermediate_401(self):
        header = f"x-forwarded-client-cert: Cert={url_encoded_pem(self.leaf_under_intermediate)}"
        self.assert_rejected(self.auth([header]), 401, "chain_invalid")

    def test_xfcc_last_element_used(self):
        good = url_encoded_pem(self.leaf)
        header = f'x-forwarded-client-cert: Cert="{good}",By=spiffe://example.org/gw;Hash=00'
        self.assert_rejected(self.auth([header]), 401, "malformed")
        header = f'x-forwarded-client-cert: Hash=00,Cert="{good}";URI={WEB_ID}'
        self.assert_admitted(self.auth([header]), WEB_ID)

    def test_xfcc_malformed_401(self):
        for value in ('Cert="unterminated', "Cert=%zz", "Hash=1;Subject=\"CN=a\"", "Cert"):
            with self.subTest(value=value):
                response = self.auth([f"x-forwarded-client-cert: {value}"])
                self.assert_rejected(response, 401, "malformed")

    def test_xfcc_other_trust_domain(self):
        leaf = self.credentials.make_leaf("foreign", "spiffe://other.test/web")
        header = f"x-forwarded-client-cert: Cert={url_encoded_pem(leaf)}"
        self.assert_rejected(self.auth([header]), 401, "unknown_trust_domain")

    def test_ssl_client_cert_valid(self):
        header = f"X-SSL-Client-Cert: {url_encoded_pem(self.leaf)}"
        self.assert_admitted(self.auth([header]), WEB_ID)

    def test_ssl_client_cert_max_age(self):
        response = self.auth([f"X-SSL-Client-Cert: {url_encoded_pem(self.leaf)}"])
        self.assertEqual(self.max_age(response), REFRESH_HINT_SECONDS)

    def test_ssl_client_cert_garbage_401(self):
        self.assert_rejected(self.auth(["X-SSL-Client-Cert: not%20pem"]), 401, "malformed")

    def test_invalid_bearer_not_passed_over(self):
        headers = [bearer(self.credentials.forged_token(WEB_ID)),
                   f"x-forwarded-client-cert: Cert={url_encoded_pem(self.leaf)}",
                   f"X-SSL-Client-Cert: {url_encoded_pem(self.leaf)}"]
        self.assert_rejected(self.auth(headers), 401, "bad_signature")

    def test_empty_bearer_not_passed_over(self):
        for value in ("Bearer", "bearer ", "Bearer    "):
            with self.subTest(value=value):
                headers = [f"Authorization: {value}",
                           f"X-SSL-Client-Cert: {url_encoded_pem(self.leaf)}"]
                self.assert_rejected(self.auth(headers), 401, "malformed")

    def test_invalid_xfcc_not_passed_over(self):
        headers = ["x-forwarded-client-cert: Cert=%zz",
                   f"X-SSL-Client-Cert: {url_encoded_pem(self.leaf)}"]
        self.assert_rejected(self.auth(headers), 401, "malformed")

    # ---- Gateway request shapes, byte for byte -------------------------

    def test_envoy_ext_authz_shape(self):
        # Envoy 1.2x ext_authz HTTP service with path_prefix /v1/auth and
        # forward_client_cert_details SANITIZE_SET: the original path is
        # appended, header names are lowercase.
        cert = url_encoded_pem(self.leaf)
        raw = (
            "GET /v1/auth/api/items?limit=5 HTTP/1.1\r\n"
            "host: shop.example\r\n"
            "x-forwarded-client-cert: By=spiffe://example.org/envoy;"
            "Hash=1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988;"
            f'Cert="{cert}";Subject="O=svidgate test leaf";URI={WEB_ID}\r\n'
            "x-envoy-expected-rq-timeout-ms: 200\r\n"
            "x-envoy-internal: true\r\n"
            "x-forwarded-proto: https\r\n"
            "x-request-id: 7c1a5c0e-5b32-4a7d-9a0b-1f4f8c1e2d3a\r\n"
            "content-length: 0\r\n"
            "\r\n"
        ).encode("ascii")
        self.assert_admitted(self.server.raw(raw), WEB_ID)

    def test_traefik_forward_auth_shape(self):
        # Traefik v2/v3 forwardAuth: a GET to the configured address with
        # the client's headers and X-Forwarded-*.
        token = self.credentials.token(WEB_ID)
        raw = (
            "GET /v1/auth HTTP/1.1\r\n"
            "Host: 127.0.0.1:8080\r\n"
            "User-Agent: curl/7.88.1\r\n"
            "Accept: */*\r\n"
            f"Authorization: Bearer {token}\r\n"
            "X-Forwarded-For: 203.0.113.7\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "X-Forwarded-Method: GET\r\n"
            "X-Forwarded-Port: 443\r\n"
            "X-Forwarded-Proto: https\r\n"
            "X-Forwarded-Server: traefik-5d8c7b9f4-2kq8x\r\n"
            "X-Forwarded-Uri: /api/items?limit=5\r\n"
            "X-Real-Ip: 203.0.113.7\r\n"
            "Accept-Encoding: gzip\r\n"
            "\r\n"
        ).encode("ascii")
        self.assert_admitted(self.server.raw(raw), WEB_ID)


class PolicyAudienceTest(unittest.TestCase):
    """Allow rules bind to the audiences a token was verified for, not to
    every audience the request names."""

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="svidgate-policy-aud-")
        cls.credentials = Credentials(cls.folder.name)
        cls.server = AuthServer("--workers", "1", "--bundle",
                                f"{TRUST_DOMAIN}={cls.credentials.bundle_path}",
                                "--audience", "payments", "--audience", "reports",
                                "--allow", f"payments {WEB_ID}")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.folder.cleanup()

    def auth_status(self, token):
        return self.server.request("GET", "/v1/auth", [bearer(token)]).status

    def test_rule_of_other_audience_denies(self):
        token = self.credentials.token(WEB_ID, audience=("reports",))
        # The cache serves the second request.
        self.assertEqual([self.auth_status(token) for _ in range(2)], [403, 403])

    def test_rule_of_token_audience_admits(self):
        token = self.credentials.token(WEB_ID, audience=("payments",))
        self.assertEqual([self.auth_status(token) for _ in range(2)], [200, 200])

    def test_verify_endpoint_binds_audience(self):
        token = self.credentials.token(WEB_ID, audience=("reports",))
        body = verify_body(token, ["payments", "reports"])
        for _ in range(2):
            result = json.loads(self.server.request("POST", "/v1/jwt-svid/verify",
                                                    body=body).body)
            self.assertFalse(result["valid"])
            self.assertEqual(result["error"], "policy_denied")


class PolicyTest(unittest.TestCase):
    """A server with allow rules, in enforce mode and in dry-run mode."""

    RULES = (
        f"{AUDIENCE} {WEB_ID} spiffe://example.org/ns/*",
        f"{AUDIENCE} /admin {OPS_ID}",
        "* spiffe://example.org/any-audience",
    )

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="svidgate-policy-")
        cls.credentials = Credentials(cls.folder.name)
        flags = ["--workers", "1", "--bundle", f"{TRUST_DOMAIN}={cls.credentials.bundle_path}",
                 "--audience", AUDIENCE]
        for rule in cls.RULES:
            flags += ["--allow", rule]
        cls.server = AuthServer(*flags)
        cls.dry_run = AuthServer(*flags, "--policy-mode", "dry-run")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dry_run.stop()
        cls.folder.cleanup()

    def status(self, spiffe_id, path="/v1/auth", headers=(), server=None):
        token = self.credentials.token(spiffe_id)
        response = (server or self.server).request("GET", path, [bearer(token), *headers])
        return response.status, response.header("x-svid-error")

    def test_exact_id_allowed(self):
        self.assertEqual(self.status(WEB_ID), (200, None))

    def test_id_prefix_allowed(self):
        self.assertEqual(self.status(DEEP_ID), (200, None))

    def test_other_id_denied_403(self):
        self.assertEqual(self.status("spiffe://example.org/intruder"), (403, "policy_denied"))

    def test_prefix_is_segment_bound(self):
        self.assertEqual(self.status("spiffe://example.org/ns"), (403, "policy_denied"))
        self.assertEqual(self.status("spiffe://example.org/nsx/a"), (403, "policy_denied"))

    def test_path_rule_by_envoy_suffix(self):
        self.assertEqual(self.status(OPS_ID, "/v1/auth/admin/users"), (200, None))
        self.assertEqual(self.status(WEB_ID, "/v1/auth/admin/users"), (403, "policy_denied"))
        self.assertEqual(self.status(OPS_ID, "/v1/auth/administrator"), (403, "policy_denied"))
        self.assertEqual(self.status(WEB_ID, "/v1/auth/administrator"), (200, None))

    def test_path_rule_by_forwarded_uri(self):
        self.assertEqual(self.status(OPS_ID, headers=["X-Forwarded-Uri: /admin?x=1"]), (200, None))
        self.assertEqual(self.status(WEB_ID, headers=["X-Forwarded-Uri: /admin"]),
                         (403, "policy_denied"))

    def test_path_rule_by_original_uri(self):
        self.assertEqual(self.status(OPS_ID, headers=["X-Original-URI: /admin/x"]), (200, None))
        self.assertEqual(self.status(OPS_ID, headers=["X-Original-URI: /home"]),
                         (403, "policy_denied"))

    def test_ambiguous_path_denied(self):
        self.assertEqual(self.status(WEB_ID, headers=["X-Original-URI: /x/../admin"]),
                         (403, "policy_denied"))
        self.assertEqual(self.status(WEB_ID, headers=["X-Original-URI: /%61dmin"]),
                         (403, "policy_denied"))

    def test_fragment_path_denied(self):
        # nginx cuts "#x" off before routing to /admin, but $request_uri keeps it.
        self.assertEqual(self.status(WEB_ID, headers=["X-Original-URI: /admin#x"]),
                         (403, "policy_denied"))
        self.assertEqual(self.status(WEB_ID, headers=["X-Forwarded-Uri: /admin#x"]),
                         (403, "policy_denied"))

    def test_path_parameter_denied(self):
        # Servlet containers route /admin;x=1 to /admin.
        self.assertEqual(self.status(WEB_ID, headers=["X-Original-URI: /admin;x=1"]),
                         (403, "policy_denied"))
        self.assertEqual(self.status(WEB_ID, headers=["X-Original-URI: /admin;/x"]),
                         (403, "policy_denied"))

    def test_client_forwarded_uri_denied(self):
        # nginx sets X-Original-URI but passes a client's own X-Forwarded-Uri on.
        headers = ["X-Forwarded-Uri: /home", "X-Original-URI: /admin"]
        self.assertEqual(self.status(WEB_ID, headers=headers), (403, "policy_denied"))

    def test_duplicate_path_header_denied(self):
        for name in ("X-Forwarded-Uri", "X-Original-URI"):
            with self.subTest(name=name):
                headers = [f"{name}: /home", f"{name}: /admin"]
                self.assertEqual(self.status(WEB_ID, headers=headers), (403, "policy_denied"))

    def test_agreeing_path_headers_allowed(self):
        headers = ["X-Forwarded-Uri: /admin?a=1", "X-Original-URI: /admin?b=2"]
        self.assertEqual(self.status(OPS_ID, headers=headers), (200, None))
        self.assertEqual(self.status(WEB_ID, headers=headers), (403, "policy_denied"))

    def test_star_audience_rule(self):
        token = self.credentials.token("spiffe://example.org/any-audience", audience=("x",))
        response = self.server.request("GET", "/v1/auth", [bearer(token), "X-Svid-Audience: x"])
        self.assertEqual(response.status, 200)

    def test_audience_bound_rule(self):
        token = self.credentials.token(WEB_ID, audience=("x",))
        response = self.server.request("GET", "/v1/auth", [bearer(token), "X-Svid-Audience: x"])
        self.assertEqual((response.status, response.header("x-svid-error")),
                         (403, "policy_denied"))

    def test_invalid_credential_still_401(self):
        token = self.credentials.forged_token(WEB_ID)
        response = self.server.request("GET", "/v1/auth", [bearer(token)])
        self.assertEqual(response.status, 401)

    def test_json_verify_denied(self):
        token = self.credentials.token("spiffe://example.org/intruder")
        result = self.server.request("POST", "/v1/jwt-svid/verify", body=verify_body(token)).json()
        self.assertIs(result["valid"], False)
        self.assertEqual(result["error"], "policy_denied")
        self.assertNotIn("spiffe_id", result)

    def test_json_verify_allowed(self):
        token = self.credentials.token(WEB_ID)
        for _ in range(2):  # the cache serves the second response
            result = self.server.request("POST", "/v1/jwt-svid/verify",
                                         body=verify_body(token)).json()
            self.assertIs(result["valid"], True, result)

    def test_json_verify_path_rules_ignored(self):
        # OPS_ID is admitted only under /admin, and the JSON API has no path.
        token = self.credentials.token(OPS_ID)
        result = self.server.request("POST", "/v1/jwt-svid/verify", body=verify_body(token)).json()
        self.assertEqual(result.get("error"), "policy_denied")

    def test_dry_run_admits_and_logs(self):
        intruder = "spiffe://example.org/dry-run-intruder"
        self.assertEqual(self.status(intruder, server=self.dry_run), (200, None))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and intruder not in self.dry_run.log_text():
            time.sleep(0.05)
        line = [line for line in self.dry_run.log if intruder in line]
        self.assertEqual(len(line), 1, self.dry_run.log_text())
        self.assertIn("event=policy_would_deny", line[0])
        self.assertIn(f"spiffe_id={intruder}", line[0])

    def test_dry_run_json_valid(self):
        token = self.credentials.token("spiffe://example.org/dry-run-json")
        result = self.dry_run.request("POST", "/v1/jwt-svid/verify", body=verify_body(token))
        self.assertIs(result.json()["valid"], True)


if __name__ == "__main__":
    unittest.main()
