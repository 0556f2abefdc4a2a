#!/usr/bin/python3
"""Edge cases found by attacking `svidgate verify jwt`, kept as regressions.

Each test pins one behaviour: a message that quotes a long multi-byte
kid stays valid JSON, an RSA signature must be exactly as long as the
modulus, a kid claimed by a second (even unusable) entry is ambiguous,
and a bundle path that is not a regular file is refused without blocking.
Tokens and keys come from tests/tools/mint.py, independent of svidgate.
"""
import os
import tempfile
import unittest

import harness
from harness import mint

NOW = 1_800_000_000
TD = "example.org"
SUB = "spiffe://example.org/workload"
AUD = "svc"


class EdgeCases(harness.VerifierTestCase):
    audiences = (AUD,)
    now = NOW

    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.TemporaryDirectory(prefix="svidgate-edge-")
        cls.ec_key = mint.generate_key("P-256")
        cls.rsa_key = mint.generate_key("RSA-2048")
        cls.bundle_path = cls.write_bundle("main.json", [
            mint.public_jwk(cls.ec_key, kid="ec"),
            mint.public_jwk(cls.rsa_key, kid="rsa"),
        ])

    @classmethod
    def tearDownClass(cls):
        cls.directory.cleanup()

    @classmethod
    def write_bundle(cls, name, entries):
        path = os.path.join(cls.directory.name, name)
        with open(path, "w") as file:
            file.write(mint.compact_json(mint.bundle(entries)))
        return path

    @property
    def bundles(self):
        return {TD: self.bundle_path}

    def token(self, alg, kid, key, **options):
        claims = mint.svid_claims(SUB, [AUD], NOW + 600, iat=NOW)
        return mint.encode_token(key, {"alg": alg, "kid": kid, "typ": "JWT"}, claims, **options)

    def test_unknown_multibyte_kid_message(self):
        # 120 two-byte characters overflow the 256-byte message; the cut
        # must fall between characters, or the result is not valid JSON.
        kid = "\u00e9" * 120
        result = self.assert_rejected(self.token("ES256", kid, self.ec_key), "unknown_key")
        self.assertTrue(result["message"].startswith("trust domain"), result)

    def test_rsa_signature_leading_zero_dropped(self):
        # A signature whose first byte is zero must not also verify with
        # that byte removed (RFC 8017: exactly k octets). PSS signatures
        # are randomised, so sign until one starts with 0x00; the chance
        # that 5000 tries all miss is about e^-19.
        for _ in range(5000):
            token = self.token("PS256", "rsa", self.rsa_key)
            signature = mint.b64url_decode(token.rsplit(".", 1)[1])
            if signature[0] == 0:
                break
        else:
            self.fail("no PS256 signature with a leading zero byte in 5000 tries")
        self.assert_valid(token)
        short = token.rsplit(".", 1)[0] + "." + mint.b64url(signature[1:])
        self.assert_rejected(short, "bad_signature")

    def test_rs256_signature_too_long(self):
        token = self.token("RS256", "rsa", self.rsa_key)
        signature = mint.b64url_decode(token.rsplit(".", 1)[1])
        padded = token.rsplit(".", 1)[0] + "." + mint.b64url(b"\0" + signature)
        self.assert_rejected(padded, "bad_signature")

    def test_duplicate_kid_with_unusable_entry(self):
        # The second entry cannot be used (a symmetric key), but it still
        # makes the kid ambiguous, so the good key with that kid is dropped.
        path = self.write_bundle("dup-oct.json", [
            mint.public_jwk(self.ec_key, kid="ec"),
            {"kty": "oct", "use": "jwt-svid", "kid": "ec", "k": "c2VjcmV0"},
        ])
        self.assert_rejected(self.token("ES256", "ec", self.ec_key), "unknown_key",
                             bundles={TD: path})

    def test_duplicate_kid_with_wit_entry(self):
        path = self.write_bundle("dup-wit.json", [
            mint.public_jwk(self.ec_key, kid="ec"),
            mint.public_jwk(mint.generate_key("P-256"), kid="ec", use="wit-svid"),
        ])
        self.assert_rejected(self.token("ES256", "ec", self.ec_key), "unknown_key",
                             bundles={TD: path})

    def test_bundle_path_is_fifo(self):
        fifo = os.path.join(self.directory.name, "bundle.fifo")
        os.mkfifo(fifo)
        run = self.verify(self.token("ES256", "ec", self.ec_key), bundles={TD: fifo})
        self.assertEqual(run.returncode, 2, run.describe())
        self.assertIn("not a regular file", run.stderr, run.describe())


if __name__ == "__main__":
    harness.binary_path()
    unittest.main()
