#!/usr/bin/python3
"""svidgate behind a real nginx with auth_request, on 127.0.0.1.

nginx runs in the foreground with a temporary prefix and three
servers:
  - "gateway": plain HTTP, `auth_request /_svid` in front of the upstream,
    passing the Bearer token and X-Original-URI;
  - "mtls": TLS with `ssl_verify_client optional_no_ca`, passing the
    client certificate as X-SSL-Client-Cert ($ssl_client_escaped_cert);
  - "upstream": a static location that returns a marker body with the
    X-Spiffe-Id that auth_request_set copied from svidgate's response.
The gateway servers replace X-Forwarded-Client-Cert and X-SSL-Client-Cert
in the sub-request, as the README tells operators to, so a client cannot
send its own.

On Debian 12, nginx-light (scripts/install-deps.sh --test) installs the
nginx 1.22 package, whose binary has the auth_request and ssl modules.
Without nginx the script exits 77 (skipped), or fails when CI=true.
"""

import http.client
import os
import ssl
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from authlib import (  # noqa: E402
    AUDIENCE, TRUST_DOMAIN, AuthServer, Credentials, openssl, url_encoded_pem,
)
from test_federation_fetch import NGINX, NginxProcess, free_port  # noqa: E402
from test_server_blackbox import skip_or_fail  # noqa: E402

HTTP_TIMEOUT_SECONDS = 10
SERVERS = ("gateway", "mtls", "upstream")
WEB_ID = "spiffe://example.org/web"
MTLS_ID = "spiffe://example.org/mtls-client"
DENIED_ID = "spiffe://example.org/denied"
MARKER = "upstream-marker"


def auth_location(name, svidgate_port, client_cert):
    return f"""
        location = /{name} {{
            internal;
            proxy_pass http://127.0.0.1:{svidgate_port}/v1/auth;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Forwarded-Client-Cert "";
            proxy_set_header X-SSL-Client-Cert {client_cert};
        }}"""


def protected_location(ports, auth):
    return f"""
        location / {{
            auth_request /{auth};
            auth_request_set $spiffe_id $upstream_http_x_spiffe_id;
            proxy_set_header X-Spiffe-Id $spiffe_id;
            proxy_pass http://127.0.0.1:{ports["upstream"]};
        }}"""


def nginx_config(directory, ports, svidgate_port, server_cert, server_key):
    return textwrap.dedent(f"""\
        pid {directory}/nginx.pid;
        error_log {directory}/error.log info;
        events {{ worker_connections 64; }}
        http {{
            access_log off;
            client_body_temp_path {directory}/client_body;
            proxy_temp_path {directory}/proxy;
            fastcgi_temp_path {directory}/fastcgi;
            uwsgi_temp_path {directory}/uwsgi;
            scgi_temp_path {directory}/scgi;
            server {{
                listen 127.0.0.1:{ports["gateway"]};
                {protected_location(ports, "_svid")}
                {auth_location("_svid", svidgate_port, '""')}
            }}
            server {{
                listen 127.0.0.1:{ports["mtls"]} ssl;
                ssl_certificate {server_cert};
                ssl_certificate_key {server_key};
                ssl_verify_client optional_no_ca;
                {protected_location(ports, "_svid_mtls")}
                {auth_location("_svid_mtls", svidgate_port, "$ssl_client_escaped_cert")}
            }}
            server {{
                listen 127.0.0.1:{ports["upstream"]};
                location / {{
                    default_type text/plain;
                    return 200 "{MARKER} id=$http_x_spiffe_id uri=$request_uri";
                }}
            }}
        }}
    """)


def start_nginx(directory, svidgate_port, server_cert, server_key):
    ports = {name: free_port() for name in SERVERS}
    config = nginx_config(directory, ports, svidgate_port, server_cert, server_key)
    return NginxProcess(directory, config, ports, SERVERS)


class NginxAuthRequestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if NGINX is None:
            skip_or_fail("nginx is not installed (scripts/install-deps.sh --test installs it)")
        cls.folder = tempfile.TemporaryDirectory(prefix="svidgate-nginx-auth-")
        folder = cls.folder.name
        cls.credentials = Credentials(folder)
        cls.mtls_leaf = cls.credentials.make_leaf("mtls", MTLS_ID)
        cls.denied_leaf = cls.credentials.make_leaf("denied", DENIED_ID)
        cls.server_cert = os.path.join(folder, "server.pem")
        cls.server_key = os.path.join(folder, "server.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", cls.server_key, "-subj", "/CN=127.0.0.1", "-days", "2",
                "-addext", "subjectAltName=IP:127.0.0.1", "-out", cls.server_cert)
        cls.svidgate = AuthServer("--workers", "1", "--bundle",
                                  f"{TRUST_DOMAIN}={cls.credentials.bundle_path}",
                                  "--audience", AUDIENCE, "--allow", f"* {WEB_ID} {MTLS_ID}",
                                  "--allow", f"* /admin {MTLS_ID}")
        try:
            cls.nginx = start_nginx(folder, cls.svidgate.port, cls.server_cert, cls.server_key)
        except Exception:
            cls.svidgate.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        cls.svidgate.stop()
        cls.folder.cleanup()

    def get(self, path="/app/page?q=1", headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.nginx.ports["gateway"],
                                                timeout=HTTP_TIMEOUT_SECONDS)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def get_mtls(self, cert=None, key=None, headers=None):
        context = ssl.create_default_context(cafile=self.server_cert)
        if cert is not None:
            context.load_cert_chain(cert, key)
        connection = http.client.HTTPSConnection("127.0.0.1", self.nginx.ports["mtls"],
                                                 context=context, timeout=HTTP_TIMEOUT_SECONDS)
        try:
            connection.request("GET", "/secure", headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def bearer(self, spiffe_id):
        return {"Authorization": f"Bearer {self.credentials.token(spiffe_id)}"}

    def test_valid_token_reaches_upstream(self):
        status, body = self.get(headers=self.bearer(WEB_ID))
        self.assertEqual(status, 200, self.nginx.error_log())
        self.assertIn(MARKER, body)
        self.assertIn(f"id={WEB_ID}", body)
        self.assertIn("uri=/app/page?q=1", body)

    def test_invalid_token_401(self):
        headers = {"Authorization": f"Bearer {self.credentials.forged_token(WEB_ID)}"}
        status, body = self.get(headers=headers)
        self.assertEqual(status, 401)
        self.assertNotIn(MARKER, body)

    def test_missing_token_401(self):
        status, body = self.get()
        self.assertEqual(status, 401)
        self.assertNotIn(MARKER, body)

    def test_denied_id_403(self):
        status, body = self.get(headers=self.bearer(DENIED_ID))
        self.assertEqual(status, 403)
        self.assertNotIn(MARKER, body)

    def test_client_forwarded_cert_header_ignored(self):
        # A client without a token sends a valid certificate in a header;
        # the gateway blanks both headers in the sub-request.
        headers = {"X-SSL-Client-Cert": url_encoded_pem(self.mtls_leaf),
                   "X-Forwarded-Client-Cert": f"Cert={url_encoded_pem(self.mtls_leaf)}"}
        status, _ = self.get(headers=headers)
        self.assertEqual(status, 401)

    def test_path_rule_denies_admin(self):
        status, body = self.get("/admin/users", headers=self.bearer(WEB_ID))
        self.assertEqual(status, 403)
        self.assertNotIn(MARKER, body)

    def test_client_forwarded_uri_ignored(self):
        # nginx sets X-Original-URI and passes this client header on to svidgate.
        headers = {**self.bearer(WEB_ID), "X-Forwarded-Uri": "/app"}
        status, body = self.get("/admin/users", headers=headers)
        self.assertEqual(status, 403)
        self.assertNotIn(MARKER, body)

    def test_fragment_does_not_escape_path_rule(self):
        # nginx routes /admin#x as /admin, and $request_uri keeps "#x".
        status, body = self.get("/admin#x", headers=self.bearer(WEB_ID))
        self.assertEqual(status, 403)
        self.assertNotIn(MARKER, body)

    def test_mtls_client_certificate_200(self):
        status, body = self.get_mtls(self.mtls_leaf, self.credentials.path("mtls.key"))
        self.assertEqual(status, 200, self.nginx.error_log())
        self.assertIn(MARKER, body)
        self.assertIn(f"id={MTLS_ID}", body)

    def test_mtls_without_certificate_401(self):
        status, body = self.get_mtls()
        self.assertEqual(status, 401)
        self.assertNotIn(MARKER, body)

    def test_mtls_denied_certificate_403(self):
        status, _ = self.get_mtls(self.denied_leaf, self.credentials.path("denied.key"))
        self.assertEqual(status, 403)

    def test_mtls_client_header_replaced(self):
        headers = {"X-SSL-Client-Cert": url_encoded_pem(self.mtls_leaf)}
        status, _ = self.get_mtls(headers=headers)
        self.assertEqual(status, 401)


if __name__ == "__main__":
    unittest.main()
