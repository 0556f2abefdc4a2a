#!/usr/bin/python3
"""go-spiffe v2.8.1 test cases, replayed through `svidgate verify jwt`.

JwtSvidCases recreates the ParseAndValidate table of go-spiffe's
svid/jwtsvid/svid_test.go with keys of our own, because go-spiffe builds
its tokens at run time. The bundle of trust domain "trustdomain" has
authority1 (ECDSA P-384) and authority2 (RSA-2048). Tokens have typ JWT,
sub spiffe://trustdomain/host, iss issuer, aud ["audience"], exp now+60 s
and iat now, and authority1 signs them with ES384. go-spiffe's ParseInsecure table
has no counterpart: svidgate never returns an unverified token.

BundleFileCases loads go-spiffe's bundle test files (spiffebundle,
jwtbundle and x509bundle testdata) as `--bundle` files. Their JWT keys
come without private keys, so a token signed by our own key under one
of their kids must fail with bad_signature: the kid was found, so the
entry loaded. A kid that was not loaded fails with unknown_key.

Where svidgate deliberately differs from go-spiffe, the test asserts
svidgate's behaviour and says why. The files come from
$SVIDGATE_VECTORS/go-spiffe; when that folder is absent the script exits
with 77 (skipped), or fails when CI=true.
"""

import hashlib
import hmac
import os
import tempfile

import harness
from harness import mint

NOW = 1_800_000_000
TRUST_DOMAIN = "trustdomain"
SUBJECT = "spiffe://trustdomain/host"
AUDIENCE = "audience"

VECTORS = (os.environ.get("SVIDGATE_VECTORS") or os.environ.get("SVIDGATE_VECTORS_DEFAULT")
           or os.path.join(harness.SOURCE_DIR, "..", "shared", "vectors"))
GO_SPIFFE = os.path.join(VECTORS, "go-spiffe")

# sha256 of each file as published in go-spiffe v2.8.1
# (commit e9973f6314a3fa0e36eb1f00fbfe37bdc1554b96), so a changed copy fails loudly.
FILE_SHA256 = {
    "bundle/spiffebundle/testdata/spiffebundle_valid_1.json":
        "01b25d98c128cc4e4e8c53d0d86803512e7326f8183240c84b55c36799ec4b9c",
    "bundle/spiffebundle/testdata/spiffebundle_valid_2.json":
        "bbd40739699af24a2872d14959720184527e7f96e273066ea978d4e7ccdb75c7",
    "bundle/spiffebundle/testdata/spiffebundle_valid_with_wit.json":
        "26269dde78d748af11ae60d484479f4480fba6eba04fad6c55705feab98a6a71",
    "bundle/spiffebundle/testdata/spiffebundle_missing_kid.json":
        "580dc46f9f19b9fb4d93080b07d66070a933ba1ca77a3e627d063f774cd699f6",
    "bundle/spiffebundle/testdata/spiffebundle_no_keys.json":
        "40ad0de1754edd3f33e77742a849e63fe5282f74d5a286a3a861d4de3de81c3f",
    "bundle/spiffebundle/testdata/spiffebundle_multiple_x509.json":
        "6a00682747937715cf3e94731dc590a42c66ef8e044aca1d73c16bdb91d9e9e6",
    "bundle/jwtbundle/testdata/jwks_valid_1.json":
        "e3081fb9d8de92b3752967b7e717565d531b54b65cbcd9a49474fcc6ef0f2904",
    "bundle/jwtbundle/testdata/jwks_valid_2.json":
        "8e92238f352c61b1a3e4e3228fea7d3def5597e4ee26077fdd457587b68233ee",
    "bundle/jwtbundle/testdata/jwks_missing_kid.json":
        "6636665c43bbb99612df067ebd981b7bb45c4d84585b26190fe5b692d38a2778",
    "bundle/x509bundle/testdata/cert.pem":
        "1df53513ad65cce09d60f8fdd2ef59875b1699441674bedcd8a1c77d83a15c1c",
    "bundle/x509bundle/testdata/certs.pem":
        "7e3c143fd4c2e9e7a70f43214a3c71084db79a452cb954b14ab842ae2128f383",
    "bundle/x509bundle/testdata/empty.pem":
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "bundle/x509bundle/testdata/not-pem.pem":
        "22458a57c544cf9a2eb16bd301b00b1ecf2029d8e38621b2bffb909887f9a406",
    "bundle/x509bundle/testdata/corrupted.pem":
        "c6e2653e3dbd4627a229e15b9c0c645f1568fb1b08f0398f94094eb195cd6ae1",
    "bundle/x509bundle/testdata/key.pem":
        "f09c068861c7e7b8543fa4ed75eed80eb6fdd4dfb2052c63d29fe522ddfd467e",
}

# The jwt-svid kids of the spiffebundle files.
KID_1 = "C6vs25welZOx6WksNYfbMfiw9l96pMnD"
KID_2 = "gHTCunJbefYtnZnTctd84xeRWyMrEsWD"
VALID_2_KIDS = ("IRsID4VIM3T11TsK43Ny1DgCD5UNWhva", "qjwWkiMpkHzIxsSrAsLxSZ2WZ8AyMESx",
                "uNhqAaPI7NDn7IHOsa2ac1BF4O5qGxjZ", "y3UHKFp0WqPpG7gVr3FKieiEzwH8fTMm",
                "mbrcuIaIUUapdCCmhQon4xJSicDmAVfK", "cHPeHMMEtvTeSMBc20DzPPhkF41BN2WJ")
WIT_KIDS = ("uNhqAaPI7NDn7IHOsa2ac1BF4O5qGxjZ", "y3UHKFp0WqPpG7gVr3FKieiEzwH8fTMm")

KEYS = {}
_TEMPORARY = None


def setUpModule():
    global _TEMPORARY
    _TEMPORARY = tempfile.TemporaryDirectory(prefix="svidgate-go-spiffe-")
    KEYS["authority1"] = mint.generate_key("P-384")
    KEYS["authority2"] = mint.generate_key("RSA-2048")
    KEYS["impostor"] = mint.generate_key("P-384")
    KEYS["p256"] = mint.generate_key("P-256")
    document = mint.bundle([mint.public_jwk(KEYS["authority1"], kid="authority1"),
                            mint.public_jwk(KEYS["authority2"], kid="authority2")])
    path = os.path.join(_TEMPORARY.name, "trustdomain.json")
    with open(path, "w", encoding="utf-8") as file:
        file.write(mint.compact_json(document))
    KEYS["bundle_path"] = path


def tearDownModule():
    _TEMPORARY.cleanup()


def svid(*, kid="authority1", key=None, alg="ES384", header=None, claims=None, drop=()):
    """Mint a token as go-spiffe's tests do; drop lists the claims to leave out."""
    full_header = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        full_header["kid"] = kid
    full_header.update(header or {})
    full_claims = {"sub": SUBJECT, "iss": "issuer", "exp": NOW + 60, "aud": [AUDIENCE],
                   "iat": NOW}
    full_claims.update(claims or {})
    for name in drop:
        full_claims.pop(name)
    return mint.encode_token(key or KEYS["authority1"], full_header, full_claims, alg=alg)


class JwtSvidCases(harness.VerifierTestCase):
    """svid/jwtsvid ParseAndValidate."""

    audiences = (AUDIENCE,)
    now = NOW

    @property
    def bundles(self):
        return {TRUST_DOMAIN: KEYS["bundle_path"]}

    def test_success(self):
        result = self.assert_valid(svid())
        self.assertEqual(result["spiffe_id"], SUBJECT)
        self.assertEqual(result["trust_domain"], TRUST_DOMAIN)
        self.assertEqual(result["audience"], [AUDIENCE])
        self.assertEqual(result["expires_at"], NOW + 60)
        self.assertEqual(result["claims"], {"sub": SUBJECT, "iss": "issuer", "exp": NOW + 60,
                                            "aud": [AUDIENCE], "iat": NOW})

    def test_success_rs256(self):
        self.assert_valid(svid(kid="authority2", key=KEYS["authority2"], alg="RS256"))

    def test_no_audience(self):
        # go-spiffe's success case passes no expected audience and skips the
        # check. svidgate never verifies without one: a usage error.
        arguments = harness.verify_arguments(self.bundles, [], NOW)
        self.assert_usage_error(arguments, (svid() + "\n").encode(), mention="audience")

    def test_malformed(self):
        self.assert_rejected("invalid token", "malformed")

    def test_unsupported_alg(self):
        # go-spiffe's HS256 case: the well-known jwt.io example token.
        header = mint.b64url(mint.compact_json({"alg": "HS256", "typ": "JWT"}))
        payload = mint.b64url(mint.compact_json(
            {"sub": "1234567890", "name": "John Doe", "iat": 1516239022}))
        digest = hmac.new(b"your-256-bit-secret", f"{header}.{payload}".encode(),
                          hashlib.sha256).digest()
        self.assert_rejected(f"{header}.{payload}.{mint.b64url(digest)}", "unsupported_alg")

    def test_missing_subject(self):
        # go-spiffe: "token missing subject claim". No sub, no SPIFFE ID.
        self.assert_rejected(svid(drop=("sub",)), "invalid_spiffe_id")

    def test_missing_expiration(self):
        self.assert_rejected(svid(drop=("exp",)), "malformed")

    def test_expired(self):
        self.assert_rejected(svid(claims={"exp": NOW - 60}), "expired")

    def test_unexpected_audience(self):
        self.assert_rejected(svid(), "audience_mismatch", audiences=("another",))

    def test_invalid_subject(self):
        self.assert_rejected(svid(claims={"sub": "invalid subject"}), "invalid_spiffe_id")

    def test_missing_key_id(self):
        self.assert_rejected(svid(kid=None), "missing_kid")

    def test_no_bundle(self):
        token = svid(kid="noAuthority", claims={"sub": "spiffe://another.domain/host"})
        self.assert_rejected(token, "unknown_trust_domain")

    def test_no_authority(self):
        self.assert_rejected(svid(kid="noKey"), "unknown_key")

    def test_mismatched_authority(self):
        # go-spiffe: an RS256 token by authority2 under authority1's kid
        # fails as a cryptographic error. svidgate checks alg against the
        # key type first (RFC 7518 section 3): RS256 cannot use a P-384 key.
        token = svid(kid="authority1", key=KEYS["authority2"], alg="RS256")
        self.assert_rejected(token, "unsupported_alg")

    def test_mismatched_same_type(self):
        # The same situation with a key of the right type is a bad signature.
        token = svid(kid="authority1", key=KEYS["impostor"])
        self.assert_rejected(token, "bad_signature")

    def test_invalid_typ(self):
        self.assert_rejected(svid(header={"typ": "invalid"}), "malformed")


def vector(relative):
    """Return the path of a go-spiffe file after checking its sha256."""
    path = os.path.join(GO_SPIFFE, relative)
    with open(path, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    if digest != FILE_SHA256[relative]:
        raise AssertionError(f"{path} changed: sha256 {digest}, expected {FILE_SHA256[relative]}")
    return path


class BundleFileCases(harness.VerifierTestCase):
    """bundle/spiffebundle, bundle/jwtbundle and bundle/x509bundle test files."""

    audiences = (AUDIENCE,)
    now = NOW

    def token(self, kid):
        claims = {"sub": "spiffe://example.org/host", "aud": [AUDIENCE], "exp": NOW + 60}
        return mint.encode_token(KEYS["p256"], {"alg": "ES256", "kid": kid, "typ": "JWT"}, claims)

    def assert_kid_codes(self, relative, expected):
        """Verify one token per kid against the file; expected maps kid to code."""
        run = self.verify(*(self.token(kid) for kid in expected),
                          bundles={"example.org": vector(relative)})
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 1, "the bundle must load" + run.describe())
        self.assertEqual([result.get("error") for result in run.results], list(expected.values()),
                         run.describe())

    def assert_bundle_rejected(self, relative_or_path):
        path = relative_or_path if os.path.isabs(relative_or_path) else vector(relative_or_path)
        arguments = harness.verify_arguments({"example.org": path}, [AUDIENCE], NOW)
        self.assert_usage_error(arguments, (self.token(KID_1) + "\n").encode())

    def test_spiffe_valid_1(self):
        self.assert_kid_codes("bundle/spiffebundle/testdata/spiffebundle_valid_1.json",
                              {KID_1: "bad_signature", KID_2: "unknown_key"})

    def test_spiffe_valid_2(self):
        expected = {kid: "bad_signature" for kid in VALID_2_KIDS}
        expected[KID_1] = "unknown_key"
        self.assert_kid_codes("bundle/spiffebundle/testdata/spiffebundle_valid_2.json", expected)

    def test_spiffe_with_wit(self):
        # wit-svid keys are not JWT-SVID keys: svidgate skips them.
        expected = {kid: "bad_signature" for kid in VALID_2_KIDS[:2]}
        expected.update({kid: "unknown_key" for kid in WIT_KIDS})
        self.assert_kid_codes("bundle/spiffebundle/testdata/spiffebundle_valid_with_wit.json",
                              expected)

    def test_spiffe_missing_kid(self):
        # go-spiffe rejects the whole bundle. svidgate skips the kid-less
        # jwt-svid entry and keeps the X.509 authority, because the bundle
        # spec says to ignore entries that fail validation.
        self.assert_kid_codes("bundle/spiffebundle/testdata/spiffebundle_missing_kid.json",
                              {KID_1: "unknown_key"})

    def test_spiffe_no_keys(self):
        self.assert_bundle_rejected("bundle/spiffebundle/testdata/spiffebundle_no_keys.json")

    def test_spiffe_multiple_x509(self):
        # go-spiffe rejects an x509-svid entry with two x5c values; svidgate
        # uses the first (X509-SVID section 6.2), so the bundle loads.
        self.assert_kid_codes("bundle/spiffebundle/testdata/spiffebundle_multiple_x509.json",
                              {KID_1: "bad_signature"})

    def test_missing_file(self):
        self.assert_bundle_rejected(os.path.join(GO_SPIFFE, "bundle", "no-such-bundle.json"))

    def test_jwks_valid_1(self):
        # A plain JWK Set has no `use` members. go-spiffe's jwtbundle loads
        # it; as a SPIFFE bundle every entry lacks the required `use`, so
        # svidgate skips them all.
        self.assert_kid_codes("bundle/jwtbundle/testdata/jwks_valid_1.json",
                              {KID_1: "unknown_key"})

    def test_jwks_valid_2(self):
        self.assert_kid_codes("bundle/jwtbundle/testdata/jwks_valid_2.json",
                              {KID_1: "unknown_key", KID_2: "unknown_key"})

    def test_jwks_missing_kid(self):
        # go-spiffe rejects this set; svidgate skips entries without `use`.
        self.assert_kid_codes("bundle/jwtbundle/testdata/jwks_missing_kid.json",
                              {KID_1: "unknown_key"})

    def test_pem_cert(self):
        # X.509 authorities only: no JWT-SVID key for any kid.
        self.assert_kid_codes("bundle/x509bundle/testdata/cert.pem", {KID_1: "unknown_key"})

    def test_pem_certs(self):
        self.assert_kid_codes("bundle/x509bundle/testdata/certs.pem", {KID_1: "unknown_key"})

    def test_pem_empty(self):
        # go-spiffe loads an empty file as an empty X.509 bundle; svidgate
        # treats a bundle file without a certificate as a configuration error.
        self.assert_bundle_rejected("bundle/x509bundle/testdata/empty.pem")

    def test_pem_not_pem(self):
        self.assert_bundle_rejected("bundle/x509bundle/testdata/not-pem.pem")

    def test_pem_corrupted(self):
        # 48 bytes follow the certificate's DER SEQUENCE: Go rejects it.
        self.assert_bundle_rejected("bundle/x509bundle/testdata/corrupted.pem")

    def test_pem_key_only(self):
        # go-spiffe skips the PRIVATE KEY block and loads an empty bundle.
        self.assert_bundle_rejected("bundle/x509bundle/testdata/key.pem")


if __name__ == "__main__":
    if not os.path.isdir(GO_SPIFFE):
        harness.skip_or_fail(f"go-spiffe vectors folder {GO_SPIFFE} is missing; "
                             "set SVIDGATE_VECTORS to the folder that contains go-spiffe/")
    harness.main()
