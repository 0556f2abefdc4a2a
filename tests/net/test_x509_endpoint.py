#!/usr/bin/python3
"""POST /v1/x509-svid/verify against a real `svidgate serve` on 127.0.0.1.

Chains are made by the openssl command line inside the test, so they do
not depend on svidgate's code. The server's bundle is a SPIFFE bundle
whose x509-svid entry carries the test CA in `x5c`. Covers the JSON body
(base64 DER, leaf first), the PEM body, a broken chain, a foreign trust
domain and the 400 answers for bodies that cannot be read.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_server_blackbox import Connection, Server, request_bytes  # noqa: E402

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
subjectAltName = URI:spiffe://example.org/web
[leaf_other_td]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectAltName = URI:spiffe://other.test/web
[leaf_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature
subjectAltName = URI:spiffe://example.org/web
"""


def openssl(*arguments):
    subprocess.run(["openssl", *arguments], check=True, capture_output=True, timeout=60)


class Chains:
    """A CA for example.org and leaves it signed, in a temporary folder."""

    def __init__(self, folder):
        self.folder = folder
        self.config = self.path("extensions.cnf")
        with open(self.config, "w") as file:
            file.write(OPENSSL_EXTENSIONS)
        self.ca = self.make_ca("ca")
        self.leaf = self.make_leaf("leaf", "leaf")
        self.leaf_other_td = self.make_leaf("leaf-other", "leaf_other_td")
        self.leaf_ca = self.make_leaf("leaf-ca", "leaf_ca")
        self.bundle_path = self.path("bundle.json")
        with open(self.bundle_path, "w") as file:
            json.dump({"keys": [{"use": "x509-svid", "x5c": [self.der_base64(self.ca)]}]}, file)

    def path(self, name):
        return os.path.join(self.folder, name)

    def make_ca(self, name):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.path(name + ".key"), "-subj", "/O=svidgate test CA", "-days", "2",
                "-config", self.config, "-extensions", "ca", "-out", self.path(name + ".pem"))
        return self.path(name + ".pem")

    def make_leaf(self, name, section):
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.path(name + ".key"), "-subj", "/O=svidgate test leaf",
                "-config", self.config, "-out", self.path(name + ".csr"))
        openssl("x509", "-req", "-in", self.path(name + ".csr"), "-CA", self.ca,
                "-CAkey", self.path("ca.key"), "-days", "1", "-extfile", self.config,
                "-extensions", section, "-out", self.path(name + ".pem"))
        return self.path(name + ".pem")

    @staticmethod
    def der_base64(pem_path):
        der = subprocess.run(["openssl", "x509", "-in", pem_path, "-outform", "DER"],
                             check=True, capture_output=True, timeout=60).stdout
        return base64.b64encode(der).decode("ascii")

    @staticmethod
    def pem_text(*paths):
        return b"".join(open(path, "rb").read() for path in paths)


class X509EndpointTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="svidgate-x509-endpoint-")
        cls.chains = Chains(cls.folder.name)
        cls.server = Server(cls.chains)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.folder.cleanup()

    def post(self, body, headers=None):
        connection = Connection(self.server.port)
        try:
            connection.send(request_bytes("POST", "/v1/x509-svid/verify", body, headers))
            return connection.read_response()
        finally:
            connection.close()

    def post_chain(self, *pem_paths):
        body = json.dumps({"chain": [self.chains.der_base64(path) for path in pem_paths]})
        return self.post(body.encode("ascii"))

    def test_json_chain_valid(self):
        response = self.post_chain(self.chains.leaf, self.chains.ca)
        self.assertEqual(response.status, 200)
        result = response.json()
        self.assertIs(result["valid"], True, result)
        self.assertEqual(result["spiffe_id"], "spiffe://example.org/web")
        self.assertEqual(result["trust_domain"], "example.org")
        self.assertIsInstance(result["expires_at"], int)

    def test_json_leaf_only_valid(self):
        result = self.post_chain(self.chains.leaf).json()
        self.assertIs(result["valid"], True, result)

    def test_pem_body_valid(self):
        response = self.post(self.chains.pem_text(self.chains.leaf, self.chains.ca),
                             ["Content-Type: application/x-pem-file"])
        self.assertEqual(response.status, 200)
        self.assertIs(response.json()["valid"], True, response.body)

    def test_pem_content_type_with_parameter(self):
        response = self.post(self.chains.pem_text(self.chains.leaf),
                             ["Content-Type: Application/X-PEM-File; charset=us-ascii"])
        self.assertIs(response.json()["valid"], True, response.body)

    def test_leaf_not_first_invalid(self):
        result = self.post_chain(self.chains.ca, self.chains.leaf).json()
        self.assertEqual(result["error"], "leaf_not_svid", result)

    def test_ca_leaf_rejected(self):
        result = self.post_chain(self.chains.leaf_ca).json()
        self.assertEqual(result["error"], "leaf_not_svid", result)

    def test_other_trust_domain_unknown(self):
        result = self.post_chain(self.chains.leaf_other_td).json()
        self.assertEqual(result["error"], "unknown_trust_domain", result)

    def test_bad_base64_malformed(self):
        response = self.post(b'{"chain": ["not base64!"]}')
        self.assertEqual(response.status, 200)
        self.assertEqual(response.json()["error"], "malformed")

    def test_trailing_bytes_malformed(self):
        der = base64.b64decode(self.chains.der_base64(self.chains.leaf)) + b"\0"
        body = json.dumps({"chain": [base64.b64encode(der).decode("ascii")]}).encode("ascii")
        self.assertEqual(self.post(body).json()["error"], "malformed")

    def test_empty_chain_malformed(self):
        self.assertEqual(self.post(b'{"chain": []}').json()["error"], "malformed")

    def test_too_many_certificates_malformed(self):
        body = json.dumps({"chain": [self.chains.der_base64(self.chains.leaf)] * 9})
        self.assertEqual(self.post(body.encode("ascii")).json()["error"], "malformed")

    def test_pem_without_certificate_malformed(self):
        response = self.post(b"not pem", ["Content-Type: application/x-pem-file"])
        self.assertEqual(response.status, 200)
        self.assertEqual(response.json()["error"], "malformed")

    def test_body_without_chain_400(self):
        response = self.post(b'{"certs": []}')
        self.assertEqual(response.status, 400)
        self.assertEqual(response.json()["error"], "bad_request")

    def test_chain_element_not_string_400(self):
        self.assertEqual(self.post(b'{"chain": [1]}').status, 400)

    def test_not_json_400(self):
        self.assertEqual(self.post(b"-----BEGIN CERTIFICATE-----").status, 400)

    def test_get_405(self):
        connection = Connection(self.server.port)
        try:
            connection.send(request_bytes("GET", "/v1/x509-svid/verify"))
            response = connection.read_response()
        finally:
            connection.close()
        self.assertEqual(response.status, 405)
        self.assertEqual(response.header("allow"), "POST")


if __name__ == "__main__":
    unittest.main()
