#!/usr/bin/python3
"""go-spiffe v2.8.1 X.509-SVID test cases, replayed through `svidgate verify x509`.

VerifyCases recreates the Verify and ParseAndVerify tables of go-spiffe's
svid/x509svid/verify_test.go. go-spiffe builds those certificates at run
time, so this file builds its own with the cryptography library: CA1 of
domain1.test and CA2 of domain2.test are self-signed P-256 CAs with
cA=TRUE and no keyUsage, and leaf1 (spiffe://domain1.test/workload) has
keyUsage digitalSignature only, no basicConstraints and no EKU. Every
certificate is valid for one hour. go-spiffe makes its broken leaves by
editing the parsed certificate without signing it again. Here each one
is a real certificate signed by CA1, so only the SPIFFE rule it breaks
can reject it.

StaticFileCases feeds the PEM files of svid/x509svid/testdata and
bundle/x509bundle/testdata to svidgate, with the clock pinned because the
certificates have expired: 2020-03-24T14:30:00Z for the ECDSA family
(SPIRE-issued leaves) and 2021-01-01T00:00:00Z for the RSA family. Every
RSA-family certificate is self-signed with the same key, so the bundle is
the file's own first certificate, and the SPIFFE leaf rules decide. The
ECDSA family's bundle is the intermediate of good-leaf-and-intermediate.pem,
which is not self-signed.

go-spiffe's Parse cases that check a private key against the leaf have no
counterpart, because a verifier is never given the private key. Where svidgate
deliberately differs from go-spiffe, the test asserts svidgate's
behaviour and says why. The files come from $SVIDGATE_VECTORS/go-spiffe;
when that folder is absent the script exits with 77 (skipped), or fails
when CI=true.
"""

import base64
import calendar
import datetime
import hashlib
import os
import re
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import harness

VECTORS = (os.environ.get("SVIDGATE_VECTORS") or os.environ.get("SVIDGATE_VECTORS_DEFAULT")
           or os.path.join(harness.SOURCE_DIR, "..", "shared", "vectors"))
GO_SPIFFE = os.path.join(VECTORS, "go-spiffe")
SVID_DATA = "svid/x509svid/testdata/"
BUNDLE_DATA = "bundle/x509bundle/testdata/"

# sha256 of each file as published in go-spiffe v2.8.1
# (commit e9973f6314a3fa0e36eb1f00fbfe37bdc1554b96), so a changed copy fails loudly.
FILE_SHA256 = {
    SVID_DATA + "corrupt-cert.pem":
        "cd1d33d479a24ccdaa5858ee39f88177adba91dfd6d52dd6e711b766ef677938",
    SVID_DATA + "corrupt-key.pem":
        "387c3ab81b62cf6b40bda95aa8ee9507422cf9d5ef4b5dd3b58fc9e916df55fb",
    SVID_DATA + "good-cert-and-key.pem":
        "6611fa6149b3c9b6d902351413dad73357447adf7711880f11a05473227582bd",
    SVID_DATA + "good-key-and-cert.pem":
        "80ccba82f9c2061fce355b6658abbba52e83dac92ab03776390b508297c9fa32",
    SVID_DATA + "good-leaf-and-intermediate.pem":
        "a9a22da62de6793d8c870bd67566d1ecadd9877af7f3402fca4e8ab002f73a4e",
    SVID_DATA + "good-leaf-only.pem":
        "7a596ec59c911c473ded739aba9fa1cac4599515e37287898b24aeab726fcfed",
    SVID_DATA + "key-pkcs8-ecdsa.pem":
        "a06ac6cb9892d5125e9f31dc156be66395497666cd73460f8b2a065edeacd706",
    SVID_DATA + "key-pkcs8-rsa.pem":
        "372c9967d229e0e3e478639b6757dd4c7363b2149f404d6a4190a95a1a46416a",
    SVID_DATA + "not-pem":
        "a6215daf60acd04a096cf03e8d39f5b0be334ec79c4fbe8e9a8ec92b9aac9f0a",
    SVID_DATA + "wrong-intermediate-no-ca.pem":
        "732bf503a8df529f8574cb3a246ecc96575e8d66ebcc16c3bbe91dc6f044a8b5",
    SVID_DATA + "wrong-intermediate-no-key-cert-sign.pem":
        "28c55c4d53e2ae32a91ba504c532e4c887f0eab2bd8ead2755a4f042bf3d8c03",
    SVID_DATA + "wrong-leaf-ca-true.pem":
        "7c537fa61910e0aeca8b3337e3e33256918bf3a1fb386372120ca6d36e4b907d",
    SVID_DATA + "wrong-leaf-cert-sign.pem":
        "7bc7cb8172220720959844892da132729a531977cb63e0e2a212fc0967302743",
    SVID_DATA + "wrong-leaf-crl-sign.pem":
        "221927b4c6fb8d05379b03d0d5d52249c2b95b6739d7b3f68a04c9b7947ee2c1",
    SVID_DATA + "wrong-leaf-empty-id.pem":
        "a417fd1baa39cc397d05d59d6c7dc388e3bdb6db78fb02c6044f5f2b9aa376ae",
    SVID_DATA + "wrong-leaf-no-digital-signature.pem":
        "56c568b67f19bdbb925e08280cbb10b8fd8d7145f67cb318f8ce0f358f32ad71",
    BUNDLE_DATA + "cert.pem":
        "1df53513ad65cce09d60f8fdd2ef59875b1699441674bedcd8a1c77d83a15c1c",
    BUNDLE_DATA + "certs.pem":
        "7e3c143fd4c2e9e7a70f43214a3c71084db79a452cb954b14ab842ae2128f383",
    BUNDLE_DATA + "corrupted.pem":
        "c6e2653e3dbd4627a229e15b9c0c645f1568fb1b08f0398f94094eb195cd6ae1",
    BUNDLE_DATA + "empty.pem":
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    BUNDLE_DATA + "key.pem":
        "f09c068861c7e7b8543fa4ed75eed80eb6fdd4dfb2052c63d29fe522ddfd467e",
    BUNDLE_DATA + "not-pem.pem":
        "22458a57c544cf9a2eb16bd301b00b1ecf2029d8e38621b2bffb909887f9a406",
    "bundle/spiffebundle/testdata/spiffebundle_valid_1.json":
        "01b25d98c128cc4e4e8c53d0d86803512e7326f8183240c84b55c36799ec4b9c",
}

# Verification times of the static files (the certificates have expired).
ECDSA_FAMILY_NOW = calendar.timegm((2020, 3, 24, 14, 30, 0))
RSA_FAMILY_NOW = calendar.timegm((2021, 1, 1, 0, 0, 0))
WORKLOAD_1 = "spiffe://example.org/workload-1"

# Issue time of the run-time certificates, which are verified a minute later.
ISSUED_AT = 1_800_000_000
RUNTIME_NOW = ISSUED_AT + 60
VALIDITY_SECONDS = 3600
LEAF1_ID = "spiffe://domain1.test/workload"

KEYS = {}
CERTS = {}
PATHS = {}
_TEMPORARY = None


def vector(relative):
    """Return the path of a go-spiffe file after checking its sha256."""
    path = os.path.join(GO_SPIFFE, relative)
    with open(path, "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()
    if digest != FILE_SHA256[relative]:
        raise AssertionError(f"{path} changed: sha256 {digest}, expected {FILE_SHA256[relative]}")
    return path


def read_vector(relative):
    with open(vector(relative), "rb") as file:
        return file.read()


def certificate_blocks(pem_bytes):
    """Return the CERTIFICATE blocks of PEM text, each ending with a newline."""
    pattern = rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----"
    return [block + b"\n" for block in re.findall(pattern, pem_bytes, re.S)]


def certificate_pem(der):
    """Wrap der in a CERTIFICATE PEM block without parsing it."""
    encoded = base64.b64encode(der).decode("ascii")
    lines = [encoded[i:i + 64] for i in range(0, len(encoded), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def write_file(name, data):
    path = os.path.join(_TEMPORARY.name, name)
    with open(path, "wb") as file:
        file.write(data.encode("ascii") if isinstance(data, str) else data)
    return path


def utc_datetime(unix_seconds):
    return datetime.datetime.fromtimestamp(unix_seconds, tz=datetime.timezone.utc)


def pem(certificate):
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def make_ca(key, common_name):
    """Return a self-signed CA as go-spiffe's test CA is: cA=TRUE, no keyUsage."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(utc_datetime(ISSUED_AT))
            .not_valid_after(utc_datetime(ISSUED_AT + VALIDITY_SECONDS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))


def key_usage(digital_signature=True, key_cert_sign=False, crl_sign=False):
    return x509.KeyUsage(digital_signature=digital_signature, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=key_cert_sign, crl_sign=crl_sign, encipher_only=False,
                         decipher_only=False)


def make_svid(ca, ca_key, uris=(LEAF1_ID,), *, is_ca=False, usage=None):
    """Return a leaf as go-spiffe's CreateX509SVID makes it, with the given changes.

    uris are the URI SANs (none means no SAN extension). is_ca adds
    basicConstraints cA=TRUE; usage replaces keyUsage digitalSignature.
    """
    key = KEYS["leaf"]
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                           "go-spiffe case")]))
               .issuer_name(ca.subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(utc_datetime(ISSUED_AT))
               .not_valid_after(utc_datetime(ISSUED_AT + VALIDITY_SECONDS))
               .add_extension(usage or key_usage(), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_key.public_key()), critical=False))
    if uris:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri) for uri in uris]),
            critical=False)
    if is_ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                        critical=True)
    return builder.sign(ca_key, hashes.SHA256())


def setUpModule():
    global _TEMPORARY
    _TEMPORARY = tempfile.TemporaryDirectory(prefix="svidgate-go-spiffe-x509-")
    for name in ("ca1", "ca2", "example-ca", "leaf"):
        KEYS[name] = ec.generate_private_key(ec.SECP256R1())
    CERTS["ca1"] = make_ca(KEYS["ca1"], "CA1")
    CERTS["ca2"] = make_ca(KEYS["ca2"], "CA2")
    CERTS["example-ca"] = make_ca(KEYS["example-ca"], "example.org CA")
    CERTS["leaf1"] = make_svid(CERTS["ca1"], KEYS["ca1"])
    PATHS["ca1"] = write_file("ca1.pem", pem(CERTS["ca1"]))
    PATHS["ca2"] = write_file("ca2.pem", pem(CERTS["ca2"]))
    PATHS["example-ca"] = write_file("example-ca.pem", pem(CERTS["example-ca"]))
    PATHS["no-authorities"] = write_file("no-authorities.json", '{"keys": []}')

    svid_pem = read_vector(SVID_DATA + "good-leaf-and-intermediate.pem")
    PATHS["ecdsa-intermediate"] = write_file("ecdsa-intermediate.pem",
                                             certificate_blocks(svid_pem)[1])


def tearDownModule():
    _TEMPORARY.cleanup()


class VerifyCases(harness.X509VerifierTestCase):
    """svid/x509svid/verify_test.go: TestVerify and TestParseAndVerify."""

    now = RUNTIME_NOW

    @property
    def bundles(self):
        return {"domain1.test": PATHS["ca1"]}

    def leaf(self, **changes):
        return pem(make_svid(CERTS["ca1"], KEYS["ca1"], **changes))

    def test_empty_chain(self):
        self.assert_rejected("", "malformed")

    def test_empty_bundle(self):
        # go-spiffe passes a bundle source with no trust domain at all.
        # svidgate needs at least one --bundle, so CA1 is loaded under another
        # name. Bundles are found by trust domain name, never by content.
        self.assert_rejected(pem(CERTS["leaf1"]), "unknown_trust_domain",
                             bundles={"unrelated.test": PATHS["ca1"]})

    def test_nil_bundle(self):
        self.assert_usage_error(harness.x509_verify_arguments({}, RUNTIME_NOW),
                                pem(CERTS["leaf1"]).encode(), mention="bundle")

    def test_no_roots(self):
        # A bundle of domain1.test without X.509 authorities.
        self.assert_rejected(pem(CERTS["leaf1"]), "chain_invalid",
                             bundles={"domain1.test": PATHS["no-authorities"]})

    def test_no_roots_for_leaf_domain(self):
        self.assert_rejected(pem(CERTS["leaf1"]), "unknown_trust_domain",
                             bundles={"domain2.test": PATHS["ca2"]})

    def test_bad_leaf_id(self):
        self.assert_rejected(self.leaf(uris=("sparfe://domain1.test/workload",)),
                             "invalid_spiffe_id")

    def test_verification_fails(self):
        # CA2's certificate loaded as the bundle of domain1.test.
        self.assert_rejected(pem(CERTS["leaf1"]), "chain_invalid",
                             bundles={"domain1.test": PATHS["ca2"], "domain2.test": PATHS["ca1"]})

    def test_no_uri_san(self):
        self.assert_rejected(self.leaf(uris=()), "leaf_not_svid")

    def test_more_than_one_uri_san(self):
        self.assert_rejected(self.leaf(uris=(LEAF1_ID, LEAF1_ID)), "leaf_not_svid")

    def test_leaf_is_ca(self):
        self.assert_rejected(self.leaf(is_ca=True), "leaf_not_svid")

    def test_leaf_key_cert_sign(self):
        self.assert_rejected(self.leaf(usage=key_usage(key_cert_sign=True)), "leaf_not_svid")

    def test_leaf_crl_sign(self):
        self.assert_rejected(self.leaf(usage=key_usage(crl_sign=True)), "leaf_not_svid")

    def test_expired(self):
        # go-spiffe verifies at NotAfter + 1 s with no leeway. svidgate allows
        # 30 s of clock skew by default, so the same second passes unless the
        # leeway is 0.
        not_after = ISSUED_AT + VALIDITY_SECONDS
        self.assert_rejected(pem(CERTS["leaf1"]), "expired", now=not_after + 1, leeway=0)
        self.assert_valid(pem(CERTS["leaf1"]), now=not_after + 1)
        self.assert_rejected(pem(CERTS["leaf1"]), "expired", now=not_after + 31)

    def test_success(self):
        self.assert_valid(pem(CERTS["leaf1"]), spiffe_id=LEAF1_ID, trust_domain="domain1.test",
                          expires_at=ISSUED_AT + VALIDITY_SECONDS)

    def test_parse_and_verify(self):
        der = CERTS["leaf1"].public_bytes(serialization.Encoding.DER)
        self.assert_valid(certificate_pem(der), spiffe_id=LEAF1_ID)

    def test_parse_and_verify_corrupted(self):
        # The first byte changed from 0x30 (SEQUENCE) to 0x27.
        der = CERTS["leaf1"].public_bytes(serialization.Encoding.DER)
        self.assert_rejected(certificate_pem(b"\x27" + der[1:]), "malformed")

    def test_root_path_leaf(self):
        # The root-path case of svid_test.go (Parse), built at run time there
        # too: a leaf of spiffe://example.org. go-spiffe's Verify accepts such
        # a leaf, but svidgate rejects it, as X.509-SVID section 5.2 requires.
        leaf = make_svid(CERTS["example-ca"], KEYS["example-ca"], uris=("spiffe://example.org",))
        self.assert_rejected(pem(leaf), "leaf_not_svid",
                             bundles={"example.org": PATHS["example-ca"]})


class StaticFileCases(harness.X509VerifierTestCase):
    """svid/x509svid/svid_test.go files, verified as presented chains."""

    def assert_rsa_family(self, name, code=None, expires_at=None):
        """Verify an RSA-family file with its own first certificate as the bundle."""
        data = read_vector(SVID_DATA + name)
        bundle = write_file(f"bundle-{name}", certificate_blocks(data)[0])
        options = {"bundles": {"example.org": bundle}, "now": RSA_FAMILY_NOW}
        if code is None:
            return self.assert_valid(data, spiffe_id=WORKLOAD_1, trust_domain="example.org",
                                     expires_at=expires_at, **options)
        return self.assert_rejected(data, code, **options)

    def ecdsa_options(self, bundle=None):
        return {"bundles": {"example.org": bundle or PATHS["ecdsa-intermediate"]},
                "now": ECDSA_FAMILY_NOW}

    def test_good_leaf_only(self):
        # The RSA-family leaf is self-signed, and it verifies as the bundle's
        # own authority. Go's Verify also accepts a leaf found in its root pool.
        self.assert_rsa_family("good-leaf-only.pem",
                               expires_at=calendar.timegm((2025, 3, 29, 19, 0, 37)))

    def test_good_leaf_and_intermediate(self):
        # The intermediate is the only authority and is not self-signed.
        self.assert_valid(read_vector(SVID_DATA + "good-leaf-and-intermediate.pem"),
                          spiffe_id=WORKLOAD_1, trust_domain="example.org",
                          expires_at=calendar.timegm((2020, 3, 24, 15, 7, 40)),
                          **self.ecdsa_options())

    def test_good_leaf_without_intermediate(self):
        leaf = certificate_blocks(read_vector(SVID_DATA + "good-leaf-and-intermediate.pem"))[0]
        self.assert_valid(leaf, spiffe_id=WORKLOAD_1, **self.ecdsa_options())

    def test_good_chain_with_its_key(self):
        data = (read_vector(SVID_DATA + "good-leaf-and-intermediate.pem")
                + read_vector(SVID_DATA + "key-pkcs8-ecdsa.pem"))
        self.assert_valid(data, spiffe_id=WORKLOAD_1, **self.ecdsa_options())

    def test_good_chain_with_other_key(self):
        # go-spiffe's Parse rejects this pair because the key does not match
        # the leaf. A verifier never checks a private key, so the block is skipped.
        data = (read_vector(SVID_DATA + "good-leaf-and-intermediate.pem")
                + read_vector(SVID_DATA + "key-pkcs8-rsa.pem"))
        self.assert_valid(data, spiffe_id=WORKLOAD_1, **self.ecdsa_options())

    def test_cert_and_key_blocks_in_either_order(self):
        # The leaf's issuing CA is not among the files, so these chains do not
        # build to the ECDSA intermediate. With the leaf itself as the
        # authority they verify, because a bundle certificate need not be
        # self-signed. Block order must not change either verdict.
        expires_at = calendar.timegm((2020, 3, 24, 15, 13, 51))
        for name in ("good-cert-and-key.pem", "good-key-and-cert.pem"):
            with self.subTest(file=name):
                data = read_vector(SVID_DATA + name)
                self.assert_rejected(data, "chain_invalid", **self.ecdsa_options())
                leaf_bundle = write_file(f"leaf-of-{name}", certificate_blocks(data)[0])
                self.assert_valid(data, spiffe_id=WORKLOAD_1, expires_at=expires_at,
                                  **self.ecdsa_options(leaf_bundle))

    def test_key_as_chain(self):
        self.assert_rejected(read_vector(SVID_DATA + "key-pkcs8-rsa.pem"), "malformed",
                             **self.ecdsa_options())

    def test_not_pem(self):
        self.assert_rejected(read_vector(SVID_DATA + "not-pem"), "malformed",
                             **self.ecdsa_options())

    def test_corrupt_key_as_chain(self):
        self.assert_rejected(read_vector(SVID_DATA + "corrupt-key.pem"), "malformed",
                             **self.ecdsa_options())

    def test_corrupt_cert(self):
        self.assert_rejected(read_vector(SVID_DATA + "corrupt-cert.pem"), "malformed",
                             **self.ecdsa_options())

    def test_not_der_encoded(self):
        # ParseRaw's "not-DER-encoded" bytes, inside a CERTIFICATE block.
        self.assert_rejected(certificate_pem(b"not-DER-encoded"), "malformed",
                             **self.ecdsa_options())

    def test_wrong_leaf_empty_id(self):
        self.assert_rsa_family("wrong-leaf-empty-id.pem", "leaf_not_svid")

    def test_wrong_leaf_ca_true(self):
        self.assert_rsa_family("wrong-leaf-ca-true.pem", "leaf_not_svid")

    def test_wrong_leaf_no_digital_signature(self):
        # go-spiffe's Verify does not check digitalSignature. svidgate does,
        # as go-spiffe's Parse does (X.509-SVID section 4.3).
        self.assert_rsa_family("wrong-leaf-no-digital-signature.pem", "leaf_not_svid")

    def test_wrong_leaf_cert_sign(self):
        self.assert_rsa_family("wrong-leaf-cert-sign.pem", "leaf_not_svid")

    def test_wrong_leaf_crl_sign(self):
        self.assert_rsa_family("wrong-leaf-crl-sign.pem", "leaf_not_svid")

    def test_wrong_intermediate_no_ca(self):
        self.assert_wrong_intermediate("wrong-intermediate-no-ca.pem")

    def test_wrong_intermediate_no_key_cert_sign(self):
        self.assert_wrong_intermediate("wrong-intermediate-no-key-cert-sign.pem")

    def assert_wrong_intermediate(self, name):
        # The leaf is good-leaf-only.pem, which is self-signed, so OpenSSL
        # needs no intermediate to build a path to it. The second certificate
        # is still presented as a signing certificate. It must be a CA allowed
        # to sign, as go-spiffe's Parse requires, so the chain fails with
        # either certificate as the bundle.
        data = read_vector(SVID_DATA + name)
        blocks = certificate_blocks(data)
        self.assertEqual(len(blocks), 2)
        for index, block in enumerate(blocks):
            with self.subTest(bundle=f"certificate {index} of {name}"):
                bundle = write_file(f"bundle-{index}-{name}", block)
                self.assert_rejected(data, "chain_invalid", bundles={"example.org": bundle},
                                     now=RSA_FAMILY_NOW)


class X509BundleFileCases(harness.X509VerifierTestCase):
    """bundle/x509bundle/testdata files, as `--bundle` files and as chains."""

    now = ECDSA_FAMILY_NOW

    def chain(self):
        return read_vector(SVID_DATA + "good-leaf-and-intermediate.pem")

    def assert_bundle_loads_without_issuer(self, path):
        """Assert that the bundle loads (exit 1, not 2) but contains no issuer of the chain."""
        self.assert_rejected(self.chain(), "chain_invalid", bundles={"example.org": path})

    def assert_bundle_rejected(self, path):
        arguments = harness.x509_verify_arguments({"example.org": path}, ECDSA_FAMILY_NOW)
        self.assert_usage_error(arguments, self.chain())

    def test_cert_pem(self):
        # One v1 self-signed RSA-768 certificate: it loads but signs nothing here.
        self.assert_bundle_loads_without_issuer(vector(BUNDLE_DATA + "cert.pem"))

    def test_certs_pem(self):
        self.assert_bundle_loads_without_issuer(vector(BUNDLE_DATA + "certs.pem"))

    def test_certs_pem_with_issuer(self):
        # The two legacy certificates do not stop a third authority from working.
        with open(PATHS["ecdsa-intermediate"], "rb") as file:
            intermediate = file.read()
        path = write_file("certs-and-intermediate.pem",
                          read_vector(BUNDLE_DATA + "certs.pem") + intermediate)
        self.assert_valid(self.chain(), spiffe_id=WORKLOAD_1, bundles={"example.org": path})

    def test_spiffe_bundle_json(self):
        # The x509-svid entry of spiffebundle_valid_1.json (the P-384 CA of
        # spiffe://local, subject key identifier 87:A5:F3:57...) is the
        # self-signed root that issued the ECDSA family's intermediate, so
        # the chain verifies to it. The bundle's jwt-svid key plays no part.
        path = vector("bundle/spiffebundle/testdata/spiffebundle_valid_1.json")
        self.assert_valid(self.chain(), spiffe_id=WORKLOAD_1, bundles={"example.org": path},
                          expires_at=calendar.timegm((2020, 3, 24, 15, 7, 40)))

    def test_spiffe_bundle_json_without_intermediate(self):
        # Without the intermediate the leaf cannot reach that root.
        leaf = certificate_blocks(self.chain())[0]
        path = vector("bundle/spiffebundle/testdata/spiffebundle_valid_1.json")
        self.assert_rejected(leaf, "chain_invalid", bundles={"example.org": path})

    def test_corrupted_as_bundle(self):
        # 48 bytes follow the certificate's DER SEQUENCE. Go rejects the file,
        # while `openssl x509` would read it.
        self.assert_bundle_rejected(vector(BUNDLE_DATA + "corrupted.pem"))

    def test_corrupted_as_chain(self):
        self.assert_rejected(read_vector(BUNDLE_DATA + "corrupted.pem"), "malformed",
                             bundles={"example.org": PATHS["ecdsa-intermediate"]})

    def test_empty_as_bundle(self):
        # go-spiffe loads an empty file as an empty bundle. svidgate treats a
        # bundle file without a certificate as a configuration error.
        self.assert_bundle_rejected(vector(BUNDLE_DATA + "empty.pem"))

    def test_empty_as_chain(self):
        self.assert_rejected(read_vector(BUNDLE_DATA + "empty.pem"), "malformed",
                             bundles={"example.org": PATHS["ecdsa-intermediate"]})

    def test_not_pem_as_bundle(self):
        self.assert_bundle_rejected(vector(BUNDLE_DATA + "not-pem.pem"))

    def test_not_pem_as_chain(self):
        self.assert_rejected(read_vector(BUNDLE_DATA + "not-pem.pem"), "malformed",
                             bundles={"example.org": PATHS["ecdsa-intermediate"]})

    def test_key_as_bundle(self):
        # go-spiffe skips the PRIVATE KEY block and loads an empty bundle.
        self.assert_bundle_rejected(vector(BUNDLE_DATA + "key.pem"))

    def test_key_as_chain(self):
        self.assert_rejected(read_vector(BUNDLE_DATA + "key.pem"), "malformed",
                             bundles={"example.org": PATHS["ecdsa-intermediate"]})


if __name__ == "__main__":
    if not os.path.isdir(GO_SPIFFE):
        harness.skip_or_fail(f"go-spiffe vectors folder {GO_SPIFFE} is missing; "
                             "set SVIDGATE_VECTORS to the folder that contains go-spiffe/")
    harness.main()
