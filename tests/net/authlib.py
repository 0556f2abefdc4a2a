"""Shared pieces of the forward-auth tests: credentials and a server.

The PKI is made by the openssl command line and tokens by
python3-jwcrypto, never by svidgate's own code. The bundle of
example.org carries one ES256 JWT authority and the test CA as its X.509
authority, with a spiffe_refresh_hint, so one bundle serves every
credential source of /v1/auth.
"""

import base64
import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.parse

from jwcrypto import jwk, jwt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_server_blackbox import (  # noqa: E402
    SOURCE_DIR, Connection, Server, request_bytes, skip_or_fail,
)

TRUST_DOMAIN = "example.org"
AUDIENCE = "gateway"
REFRESH_HINT_SECONDS = 120

OPENSSL_EXTENSIONS = """
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectAltName = URI:spiffe://example.org
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectAltName = URI:${ENV::SVID_ID}
"""


def openssl(*arguments, spiffe_id="spiffe://example.org/unused"):
    """Run the openssl CLI; `spiffe_id` fills the leaf section's URI SAN."""
    subprocess.run(["openssl", *arguments], check=True, capture_output=True, timeout=60,
                   env=dict(os.environ, SVID_ID=spiffe_id))


class Credentials:
    """A CA, an intermediate, X.509-SVIDs, a JWT key and their bundle file."""

    def __init__(self, folder):
        self.folder = folder
        self.config = self.path("extensions.cnf")
        with open(self.config, "w", encoding="ascii") as file:
            file.write(OPENSSL_EXTENSIONS)
        self.ca = self._make_ca("ca", None)
        self.intermediate = self._make_ca("intermediate", "ca")
        self.key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
        self.bundle_path = self.path("bundle.json")
        jwt_entry = json.loads(self.key.export_public())
        jwt_entry["use"] = "jwt-svid"
        x509_entry = {"use": "x509-svid", "x5c": [self._der_base64(self.ca)]}
        with open(self.bundle_path, "w", encoding="ascii") as file:
            json.dump({"keys": [jwt_entry, x509_entry], "spiffe_sequence": 1,
                       "spiffe_refresh_hint": REFRESH_HINT_SECONDS}, file)

    def path(self, name):
        return os.path.join(self.folder, name)

    def _make_ca(self, name, issuer):
        key, pem = self.path(name + ".key"), self.path(name + ".pem")
        if issuer is None:
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-subj", f"/O=svidgate test {name}", "-days", "2",
                    "-config", self.config, "-extensions", "ca", "-out", pem)
            return pem
        csr = self.path(name + ".csr")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-subj", f"/O=svidgate test {name}", "-config", self.config,
                "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", self.path(issuer + ".pem"),
                "-CAkey", self.path(issuer + ".key"), "-days", "2", "-extfile", self.config,
                "-extensions", "ca", "-out", pem)
        return pem

    def make_leaf(self, name, spiffe_id, issuer="ca"):
        """Mint an X.509-SVID for `spiffe_id` signed by `issuer`; return its PEM path."""
        key, csr, pem = (self.path(name + suffix) for suffix in (".key", ".csr", ".pem"))
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-subj", "/O=svidgate test leaf", "-config", self.config,
                "-out", csr, spiffe_id=spiffe_id)
        openssl("x509", "-req", "-in", csr, "-CA", self.path(issuer + ".pem"),
                "-CAkey", self.path(issuer + ".key"), "-days", "1", "-extfile", self.config,
                "-extensions", "leaf", "-out", pem, spiffe_id=spiffe_id)
        return pem

    @staticmethod
    def _der_base64(pem_path):
        der = subprocess.run(["openssl", "x509", "-in", pem_path, "-outform", "DER"],
                             check=True, capture_output=True, timeout=60).stdout
        return base64.b64encode(der).decode("ascii")

    def token(self, spiffe_id, audience=(AUDIENCE,), lifetime=600, key=None):
        now = int(time.time())
        claims = {"sub": spiffe_id, "aud": list(audience), "exp": now + lifetime, "iat": now}
        signed = jwt.JWT(header={"alg": "ES256", "kid": "k1", "typ": "JWT"}, claims=claims)
        signed.make_signed_token(key or self.key)
        return signed.serialize()

    def forged_token(self, spiffe_id):
        """A well-formed token signed by a key outside the bundle, with kid k1."""
        return self.token(spiffe_id, key=jwk.JWK.generate(kty="EC", crv="P-256", kid="k1"))


def pem_text(*paths):
    text = b""
    for path in paths:
        with open(path, "rb") as file:
            text += file.read()
    return text


def url_encoded_pem(*paths):
    """URL-encode PEM as Envoy and nginx $ssl_client_escaped_cert do: every reserved byte."""
    return urllib.parse.quote(pem_text(*paths), safe="")


def svidgate_binary():
    binary = os.environ.get("SVIDGATE_BIN") or os.path.join(SOURCE_DIR, "build", "svidgate")
    if not os.access(binary, os.X_OK):
        skip_or_fail(f"svidgate binary {binary} not found; build it or set SVIDGATE_BIN")
    return binary


class AuthServer(Server):
    """`svidgate serve` with any flags after `serve`; reuses Server's log reader and stop."""

    def __init__(self, *flags):
        # pylint: disable=super-init-not-called
        self.argv = [svidgate_binary(), "serve", "--listen", "127.0.0.1:0", *flags]
        self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        self.log = []
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        self.port = self._wait_for_port()

    def request(self, method, path, headers=None, body=None):
        connection = Connection(self.port)
        try:
            connection.send(request_bytes(method, path, body, headers))
            return connection.read_response()
        finally:
            connection.close()

    def raw(self, data):
        """Send raw request bytes on a new connection; return the response."""
        connection = Connection(self.port)
        try:
            connection.send(data)
            return connection.read_response()
        finally:
            connection.close()
