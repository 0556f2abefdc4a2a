#!/usr/bin/python3
"""X.509-SVID verification rules, tested through `svidgate verify x509`.

Every chain is made inside the test by the openssl command line, so it
shares no code with svidgate. Each test breaks one rule of the
X.509-SVID standard or of RFC 5280 path validation and asserts the exact
error code of the interface contract. The default chains verify, so a
rejection test fails when svidgate stops enforcing its rule.

Certificates are issued with `openssl ca`, the one OpenSSL 3.0 command
that sets arbitrary notBefore and notAfter dates, so every validity
window is a fixed date and the clock is pinned with --now.

OpenSSL behaviour these tests rely on (checked with OpenSSL 3.0):
- A URI name constraint applies to the host of the URI. "example.org"
  permits exactly that host, and ".example.org" permits only hosts below
  it, not example.org itself (RFC 5280 section 4.2.1.10).
- X509_cmp_time() counts a certificate as expired at the second of its
  notAfter. RFC 5280 section 4.1.2.5 makes notAfter inclusive, so these
  tests expect a chain to verify at exactly notAfter plus the leeway.
"""

import base64
import calendar
import os
import shutil
import subprocess
import tempfile
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import harness

TD = "example.org"
OTHER_TD = "other.test"
LEAF_ID = "spiffe://example.org/workload"
OPENSSL_TIMEOUT_SECONDS = 60


def utc(year, month, day, hour=0, minute=0, second=0):
    """Return the Unix time of a UTC date."""
    return calendar.timegm((year, month, day, hour, minute, second))


NOW = utc(2027, 1, 1)
ROOT_VALIDITY = (utc(2020, 1, 1), utc(2040, 1, 1))
INTERMEDIATE_VALIDITY = (utc(2021, 1, 1), utc(2034, 1, 1))
LEAF_VALIDITY = (utc(2026, 1, 1), utc(2030, 1, 1))

CA_EXTENSIONS = {
    "basicConstraints": "critical,CA:TRUE",
    "keyUsage": "critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier": "hash",
    "authorityKeyIdentifier": "keyid",
    "subjectAltName": "URI:spiffe://example.org",
}
LEAF_EXTENSIONS = {
    "basicConstraints": "critical,CA:FALSE",
    "keyUsage": "critical,digitalSignature",
    "extendedKeyUsage": "serverAuth,clientAuth",
    "subjectKeyIdentifier": "hash",
    "authorityKeyIdentifier": "keyid",
    "subjectAltName": "URI:" + LEAF_ID,
}

# `openssl ca` needs a configuration with a certificate database. The
# policy keeps the O and CN of each request and checks nothing else.
CA_CONFIG = """\
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = issued
serial = serial
default_md = sha256
policy = keep_names
unique_subject = no
email_in_dn = no
copy_extensions = none
[keep_names]
organizationName = optional
commonName = optional
"""


def extensions(base, changes=None):
    """Return a copy of base with changes applied; a value of None removes that extension."""
    result = dict(base)
    for name, value in (changes or {}).items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def openssl_date(unix_seconds):
    return time.strftime("%Y%m%d%H%M%SZ", time.gmtime(unix_seconds))


def certificate_dates(pem):
    """Return (notBefore, notAfter) of the first certificate in pem, in Unix seconds."""
    certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    return (calendar.timegm(certificate.not_valid_before.timetuple()),
            calendar.timegm(certificate.not_valid_after.timetuple()))


class Certificate:
    """One certificate made by Pki: its PEM text, DER, key file and dates."""

    def __init__(self, name, pem, key_path, not_before, not_after):
        self.name = name
        self.pem = pem
        self.der = x509.load_pem_x509_certificate(pem.encode("ascii")).public_bytes(
            serialization.Encoding.DER)
        self.key_path = key_path
        self.not_before = not_before
        self.not_after = not_after

    def __repr__(self):
        return f"Certificate({self.name!r})"


class Pki:
    """Keys and certificates made by the openssl command line in one folder."""

    def __init__(self, folder):
        self.folder = folder
        self.keys = {}
        os.makedirs(self.path("issued"))
        with open(self.path("index.txt"), "w"):
            pass
        with open(self.path("ca.cnf"), "w") as file:
            file.write(CA_CONFIG)

    def path(self, name):
        return os.path.join(self.folder, name)

    def openssl(self, *arguments):
        completed = subprocess.run(["openssl", *arguments], cwd=self.folder,
                                   capture_output=True, timeout=OPENSSL_TIMEOUT_SECONDS,
                                   check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(arguments)} failed: "
                               f"{completed.stderr.decode(errors='replace')}")
        return completed.stdout

    def key(self, name, algorithm="P-256"):
        """Return the path of key `name`, generating it on first use."""
        if name not in self.keys:
            path = self.path(f"{name}.key")
            if algorithm == "P-256":
                self.openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                             "ec_paramgen_curve:P-256", "-out", path)
            elif algorithm == "RSA-2048":
                self.openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                             "rsa_keygen_bits:2048", "-out", path)
            else:
                raise ValueError(f"unknown key algorithm {algorithm}")
            self.keys[name] = path
        return self.keys[name]

    def issue(self, name, extension_map, *, issuer=None, subject=None, validity=LEAF_VALIDITY,
              algorithm="P-256"):
        """Issue certificate `name` and return it as a Certificate.

        issuer is the signing Certificate, and None makes a self-signed one.
        The subject's key is the key of the same name, made on first use.
        extension_map maps each extension name or OID to its openssl
        configuration value. subject defaults to "/O=svidgate tests/CN=NAME".
        """
        key_path = self.key(name, algorithm)
        request = self.path(f"{name}.csr")
        output = self.path(f"{name}.pem")
        extension_file = self.path(f"{name}.ext")
        with open(extension_file, "w") as file:
            for extension, value in extension_map.items():
                file.write(f"{extension} = {value}\n")
        self.openssl("req", "-new", "-key", key_path, "-subj",
                     subject or f"/O=svidgate tests/CN={name}", "-out", request)
        arguments = ["ca", "-batch", "-config", "ca.cnf", "-notext", "-rand_serial",
                     "-preserveDN", "-in", request, "-out", output, "-extfile", extension_file,
                     "-startdate", openssl_date(validity[0]),
                     "-enddate", openssl_date(validity[1])]
        if issuer is None:
            arguments += ["-selfsign", "-keyfile", key_path]
        else:
            arguments += ["-cert", self.path(f"{issuer.name}.pem"), "-keyfile", issuer.key_path]
        self.openssl(*arguments)
        with open(output) as file:
            pem = file.read()
        if certificate_dates(pem) != tuple(validity):
            raise RuntimeError(f"{name}: openssl did not set the requested dates")
        return Certificate(name, pem, key_path, *validity)

    def write(self, name, text):
        """Write text (str or bytes) to a file in the folder and return its path."""
        path = self.path(name)
        with open(path, "wb") as file:
            file.write(text.encode("ascii") if isinstance(text, str) else text)
        return path


def chain(*certificates):
    """Return the PEM chain of certificates, in the order given."""
    return "".join(certificate.pem for certificate in certificates)


def pem_block(label, der):
    """Return a PEM block of label around der, 64 base64 characters a line."""
    encoded = base64.b64encode(der).decode("ascii")
    lines = [encoded[i:i + 64] for i in range(0, len(encoded), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def public_jwk(certificate):
    """Return the JWK members (kty and key) of a certificate's public key."""
    public_key = x509.load_der_x509_certificate(certificate.der).public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        numbers = public_key.public_numbers()
        return {"kty": "EC", "crv": "P-256",
                "x": harness.mint.b64url(numbers.x.to_bytes(32, "big")),
                "y": harness.mint.b64url(numbers.y.to_bytes(32, "big"))}
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {"kty": "RSA",
                "n": harness.mint.b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8,
                                                            "big")),
                "e": harness.mint.b64url(numbers.e.to_bytes(3, "big"))}
    raise ValueError("unexpected key type")


def x509_svid_entry(certificate, with_key=True):
    """Return an x509-svid bundle entry whose x5c contains certificate (standard base64 DER)."""
    entry = {"use": "x509-svid", "x5c": [base64.b64encode(certificate.der).decode("ascii")]}
    if with_key:
        entry.update(public_jwk(certificate))
    return entry


def der_element(tag, content):
    """Encode one DER element (tag below 0x1f) with a definite length."""
    if len(content) < 0x80:
        length = bytes([len(content)])
    else:
        size = (len(content).bit_length() + 7) // 8
        length = bytes([0x80 | size]) + len(content).to_bytes(size, "big")
    return bytes([tag]) + length + content


def der_header_length(data, offset=0):
    """Return (header length, content length) of the DER element at offset."""
    length = data[offset + 1]
    if length & 0x80:
        size = length & 0x7F
        return 2 + size, int.from_bytes(data[offset + 2:offset + 2 + size], "big")
    return 2, length


def der_children(data):
    """Split the content of a DER constructed element into its child elements."""
    children = []
    offset = 0
    while offset < len(data):
        header, length = der_header_length(data, offset)
        children.append(data[offset:offset + header + length])
        offset += header + length
    return children


def der_content(element):
    """Return the content octets of one DER element."""
    header, length = der_header_length(element)
    return element[header:header + length]


def general_names_der(*uris):
    """Return the DER of a GeneralNames SEQUENCE of uniformResourceIdentifier names."""
    return der_element(0x30, b"".join(der_element(0x86, uri) for uri in uris))


def extension_der(oid, value_der, critical=False):
    """Return the DER of one Extension: SEQUENCE { OID, [BOOLEAN TRUE], OCTET STRING }."""
    first, second, *rest = (int(part) for part in oid.split("."))
    encoded = bytearray([40 * first + second])
    for number in rest:
        chunk = [number & 0x7F]
        number >>= 7
        while number:
            chunk.append(0x80 | (number & 0x7F))
            number >>= 7
        encoded += bytes(reversed(chunk))
    content = der_element(0x06, bytes(encoded))
    if critical:
        content += der_element(0x01, b"\xff")
    return der_element(0x30, content + der_element(0x04, value_der))


def with_extra_extension(certificate, issuer, extension):
    """Return certificate's DER with one more extension, re-signed by issuer's P-256 key.

    openssl replaces an extension given twice, so a repeated extension is
    added here by editing the TBSCertificate.
    """
    tbs, signature_algorithm, _ = der_children(der_content(certificate.der))
    fields = der_children(der_content(tbs))
    extensions_field = fields[-1]
    if extensions_field[0] != 0xA3:
        raise ValueError(f"{certificate.name} has no extensions field")
    extension_list = der_content(der_content(extensions_field))
    fields[-1] = der_element(0xA3, der_element(0x30, extension_list + extension))
    new_tbs = der_element(0x30, b"".join(fields))
    with open(issuer.key_path, "rb") as file:
        issuer_key = serialization.load_pem_private_key(file.read(), password=None)
    signature = issuer_key.sign(new_tbs, ec.ECDSA(hashes.SHA256()))
    return der_element(0x30, new_tbs + signature_algorithm + der_element(0x03, b"\x00" + signature))


# Filled by setUpModule.
PKI = None
CERTS = {}
BUNDLES = {}
_TEMPORARY = None


def setUpModule():
    global PKI, _TEMPORARY
    _TEMPORARY = tempfile.TemporaryDirectory(prefix="svidgate-x509-rules-")
    PKI = Pki(_TEMPORARY.name)
    root_extensions = extensions(CA_EXTENSIONS, {"authorityKeyIdentifier": None})
    CERTS["root"] = PKI.issue("root", root_extensions, validity=ROOT_VALIDITY)
    CERTS["intermediate"] = PKI.issue("intermediate", CA_EXTENSIONS, issuer=CERTS["root"],
                                      validity=INTERMEDIATE_VALIDITY)
    CERTS["leaf"] = PKI.issue("leaf", LEAF_EXTENSIONS, issuer=CERTS["intermediate"])
    CERTS["direct-leaf"] = PKI.issue("direct-leaf", LEAF_EXTENSIONS, issuer=CERTS["root"])
    CERTS["other-root"] = PKI.issue(
        "other-root", extensions(root_extensions, {"subjectAltName": "URI:spiffe://other.test"}),
        validity=ROOT_VALIDITY)
    CERTS["other-leaf"] = PKI.issue(
        "other-leaf",
        extensions(LEAF_EXTENSIONS, {"subjectAltName": "URI:spiffe://other.test/workload"}),
        issuer=CERTS["other-root"])

    BUNDLES["root"] = PKI.write("root-bundle.pem", CERTS["root"].pem)
    BUNDLES["intermediate"] = PKI.write("intermediate-bundle.pem", CERTS["intermediate"].pem)
    BUNDLES["other-root"] = PKI.write("other-root-bundle.pem", CERTS["other-root"].pem)
    BUNDLES["root-json"] = PKI.write("root-bundle.json", harness.mint.compact_json(
        harness.mint.bundle([x509_svid_entry(CERTS["root"])], sequence=1)))


def tearDownModule():
    _TEMPORARY.cleanup()


class X509RulesTestCase(harness.X509VerifierTestCase):
    now = NOW

    @property
    def bundles(self):
        return {TD: BUNDLES["root"], OTHER_TD: BUNDLES["other-root"]}

    def leaf(self, name, changes=None, issuer=None, **options):
        """Issue a leaf for LEAF_ID from LEAF_EXTENSIONS with changes, by the intermediate."""
        return PKI.issue(name, extensions(LEAF_EXTENSIONS, changes),
                         issuer=issuer or CERTS["intermediate"], **options)

    def intermediate(self, name, changes=None, issuer=None, **options):
        """Issue an intermediate CA from CA_EXTENSIONS with changes, by the root."""
        options.setdefault("validity", INTERMEDIATE_VALIDITY)
        return PKI.issue(name, extensions(CA_EXTENSIONS, changes),
                         issuer=issuer or CERTS["root"], **options)

    def assert_leaf_rejected(self, name, changes, code):
        """Issue a leaf with changes and assert the code of chain [leaf, intermediate]."""
        leaf = self.leaf(name, changes)
        return self.assert_rejected(chain(leaf, CERTS["intermediate"]), code)

    def assert_leaf_valid(self, name, changes, spiffe_id=LEAF_ID):
        leaf = self.leaf(name, changes)
        return self.assert_valid(chain(leaf, CERTS["intermediate"]), spiffe_id=spiffe_id,
                                 trust_domain=TD, expires_at=leaf.not_after)

    def assert_below_intermediate(self, name, changes, leaf_changes=None, code=None,
                                  bundles=None, spiffe_id=LEAF_ID):
        """Issue an intermediate with changes and a leaf below it, then check the verdict.

        code None means the chain must verify.
        """
        intermediate = self.intermediate(name, changes)
        leaf = self.leaf(name + "-leaf", leaf_changes, issuer=intermediate)
        if code is None:
            return self.assert_valid(chain(leaf, intermediate), spiffe_id=spiffe_id,
                                     bundles=bundles)
        return self.assert_rejected(chain(leaf, intermediate), code, bundles=bundles)


class ValidChains(X509RulesTestCase):
    """Chains that must verify, including the looser choices of the contract."""

    def test_two_level(self):
        self.assert_valid(CERTS["direct-leaf"].pem, spiffe_id=LEAF_ID, trust_domain=TD,
                          expires_at=LEAF_VALIDITY[1])

    def test_three_level(self):
        self.assert_valid(chain(CERTS["leaf"], CERTS["intermediate"]), spiffe_id=LEAF_ID,
                          trust_domain=TD, expires_at=LEAF_VALIDITY[1])

    def test_root_in_chain(self):
        self.assert_valid(chain(CERTS["leaf"], CERTS["intermediate"], CERTS["root"]),
                          spiffe_id=LEAF_ID, expires_at=LEAF_VALIDITY[1])

    def test_expires_at_intermediate(self):
        # expires_at is the earliest notAfter of the chain, here the intermediate's.
        intermediate = self.intermediate("short-intermediate",
                                         validity=(utc(2021, 1, 1), utc(2028, 3, 4, 5, 6, 7)))
        leaf = self.leaf("long-leaf", issuer=intermediate)
        self.assert_valid(chain(leaf, intermediate), expires_at=utc(2028, 3, 4, 5, 6, 7))

    def test_expires_at_authority(self):
        # The authority from the bundle is part of the verified chain.
        root = PKI.issue("short-root", extensions(CA_EXTENSIONS, {"authorityKeyIdentifier": None}),
                         validity=(utc(2020, 1, 1), utc(2029, 2, 3)))
        leaf = self.leaf("leaf-of-short-root", issuer=root)
        bundle = PKI.write("short-root.pem", root.pem)
        self.assert_valid(leaf.pem, bundles={TD: bundle}, expires_at=utc(2029, 2, 3))

    def test_rsa_chain(self):
        root = PKI.issue("rsa-root", extensions(CA_EXTENSIONS, {"authorityKeyIdentifier": None}),
                         validity=ROOT_VALIDITY, algorithm="RSA-2048")
        intermediate = self.intermediate("rsa-intermediate", issuer=root, algorithm="RSA-2048")
        leaf = self.leaf("rsa-leaf", issuer=intermediate, algorithm="RSA-2048")
        bundle = PKI.write("rsa-root.pem", root.pem)
        self.assert_valid(chain(leaf, intermediate), bundles={TD: bundle}, spiffe_id=LEAF_ID,
                          expires_at=LEAF_VALIDITY[1])

    def test_rsa_bundle_json(self):
        root = PKI.issue("rsa-json-root",
                         extensions(CA_EXTENSIONS, {"authorityKeyIdentifier": None}),
                         validity=ROOT_VALIDITY, algorithm="RSA-2048")
        leaf = self.leaf("ec-leaf-of-rsa-root", issuer=root)
        bundle = PKI.write("rsa-root.json", harness.mint.compact_json(
            harness.mint.bundle([x509_svid_entry(root)])))
        self.assert_valid(leaf.pem, bundles={TD: bundle}, spiffe_id=LEAF_ID)

    def test_other_trust_domain(self):
        self.assert_valid(CERTS["other-leaf"].pem, spiffe_id="spiffe://other.test/workload",
                          trust_domain=OTHER_TD)

    def test_authority_not_self_signed(self):
        # A bundle authority anchors the chain even when it is not
        # self-signed (OpenSSL's X509_V_FLAG_PARTIAL_CHAIN).
        bundles = {TD: BUNDLES["intermediate"]}
        self.assert_valid(chain(CERTS["leaf"], CERTS["intermediate"]), bundles=bundles,
                          expires_at=LEAF_VALIDITY[1])
        self.assert_valid(CERTS["leaf"].pem, bundles=bundles, expires_at=LEAF_VALIDITY[1])

    def test_expires_at_partial_chain(self):
        # With the intermediate as the authority, the root is not part of the
        # verified chain, so its notAfter cannot be expires_at.
        intermediate = self.intermediate("early-intermediate",
                                         validity=(utc(2021, 1, 1), utc(2029, 5, 6)))
        leaf = self.leaf("leaf-of-early-intermediate", issuer=intermediate)
        bundle = PKI.write("early-intermediate.pem", intermediate.pem)
        self.assert_valid(leaf.pem, bundles={TD: bundle}, expires_at=utc(2029, 5, 6))

    def test_bundle_json(self):
        self.assert_valid(chain(CERTS["leaf"], CERTS["intermediate"]),
                          bundles={TD: BUNDLES["root-json"]}, spiffe_id=LEAF_ID)

    def test_bundle_json_entry_without_key_members(self):
        path = PKI.write("root-x5c-only.json", harness.mint.compact_json(
            harness.mint.bundle([x509_svid_entry(CERTS["root"], with_key=False)])))
        self.assert_valid(chain(CERTS["leaf"], CERTS["intermediate"]), bundles={TD: path})

    def test_bundle_json_beside_jwt_key(self):
        jwt_key = harness.mint.generate_key("P-256")
        path = PKI.write("root-and-jwt.json", harness.mint.compact_json(harness.mint.bundle([
            harness.mint.public_jwk(jwt_key, kid="jwt-key"),
            x509_svid_entry(CERTS["root"]),
        ])))
        self.assert_valid(chain(CERTS["leaf"], CERTS["intermediate"]), bundles={TD: path})

    def test_bundle_several_authorities(self):
        path = PKI.write("two-roots.pem", CERTS["other-root"].pem + CERTS["root"].pem)
        self.assert_valid(chain(CERTS["leaf"], CERTS["intermediate"]), bundles={TD: path})

    def test_bundle_named_by_id(self):
        self.assert_valid(chain(CERTS["leaf"], CERTS["intermediate"]),
                          bundles={"spiffe://example.org": BUNDLES["root"]}, trust_domain=TD)

    def test_private_key_after_chain(self):
        with open(CERTS["leaf"].key_path) as file:
            key_pem = file.read()
        self.assertIn("PRIVATE KEY", key_pem)
        self.assert_valid(chain(CERTS["leaf"], CERTS["intermediate"]) + key_pem,
                          spiffe_id=LEAF_ID)

    def test_private_key_before_chain(self):
        with open(CERTS["leaf"].key_path) as file:
            key_pem = file.read()
        self.assert_valid(key_pem + chain(CERTS["leaf"], CERTS["intermediate"]),
                          spiffe_id=LEAF_ID)

    def test_text_around_blocks(self):
        # Text outside the PEM blocks is ignored, as `openssl x509 -text` output has it.
        text = ("subject: leaf\n" + CERTS["leaf"].pem + "\nsubject: intermediate\n"
                + CERTS["intermediate"].pem + "\n")
        self.assert_valid(text, spiffe_id=LEAF_ID)

    def test_crlf_line_ends(self):
        text = chain(CERTS["leaf"], CERTS["intermediate"]).replace("\n", "\r\n")
        self.assert_valid(text, spiffe_id=LEAF_ID)

    def test_leaf_without_basic_constraints(self):
        self.assert_leaf_valid("leaf-no-bc", {"basicConstraints": None})

    def test_leaf_key_usage_not_critical(self):
        # X.509-SVID requires issuers to mark keyUsage critical, but it
        # gives verifiers no such check.
        self.assert_leaf_valid("leaf-ku-not-critical", {"keyUsage": "digitalSignature"})

    def test_leaf_key_encipherment_and_agreement(self):
        self.assert_leaf_valid("leaf-ku-more",
                               {"keyUsage": "critical,digitalSignature,keyEncipherment,"
                                            "keyAgreement"})

    def test_leaf_without_eku(self):
        self.assert_leaf_valid("leaf-no-eku", {"extendedKeyUsage": None})

    def test_leaf_eku_server_only(self):
        self.assert_leaf_valid("leaf-eku-server", {"extendedKeyUsage": "serverAuth"})

    def test_leaf_eku_client_only(self):
        self.assert_leaf_valid("leaf-eku-client", {"extendedKeyUsage": "clientAuth"})

    def test_leaf_eku_code_signing(self):
        # No EKU is enforced, not even one that allows neither TLS role.
        self.assert_leaf_valid("leaf-eku-code", {"extendedKeyUsage": "codeSigning"})

    def test_dns_san_beside_uri(self):
        self.assert_leaf_valid("leaf-dns-and-uri",
                               {"subjectAltName": f"DNS:workload.example.org,URI:{LEAF_ID}"})

    def test_ip_and_email_san_beside_uri(self):
        self.assert_leaf_valid("leaf-ip-email-uri",
                               {"subjectAltName": f"IP:10.0.0.1,email:ops@example.org,"
                                                  f"URI:{LEAF_ID}"})

    def test_san_critical(self):
        self.assert_leaf_valid("leaf-san-critical", {"subjectAltName": f"critical,URI:{LEAF_ID}"})

    def test_leaf_id_with_deep_path(self):
        spiffe_id = "spiffe://example.org/ns/prod/sa/web-frontend_v2.1"
        self.assert_leaf_valid("leaf-deep-path", {"subjectAltName": "URI:" + spiffe_id},
                               spiffe_id=spiffe_id)

    def test_unknown_extension_not_critical(self):
        self.assert_leaf_valid("leaf-unknown-noncritical", {"1.2.3.4": "DER:05:00"})

    def test_ca_without_key_usage(self):
        # RFC 5280 allows a CA without keyUsage, and go-spiffe's test CAs have none.
        self.assert_below_intermediate("ca-no-ku", {"keyUsage": None})

    def test_ca_with_digital_signature(self):
        self.assert_below_intermediate("ca-with-ds",
                                       {"keyUsage": "critical,digitalSignature,keyCertSign,"
                                                    "cRLSign"})

    def test_ca_key_cert_sign_only(self):
        self.assert_below_intermediate("ca-kcs-only", {"keyUsage": "critical,keyCertSign"})

    def test_ca_eku_server_only(self):
        # EKU on a CA is not interpreted for X.509-SVIDs.
        self.assert_below_intermediate("ca-eku-server", {"extendedKeyUsage": "serverAuth"})

    def test_ca_without_spiffe_id(self):
        self.assert_below_intermediate("ca-no-san", {"subjectAltName": None})

    def test_ca_id_of_other_trust_domain(self):
        # The ID of a CA is not checked against the leaf's trust domain.
        self.assert_below_intermediate("ca-other-id",
                                       {"subjectAltName": "URI:spiffe://other.test"})

    def test_ca_path_length_zero(self):
        # pathlen:0 still allows an end-entity certificate below.
        self.assert_below_intermediate("ca-pathlen-0", {"basicConstraints": "critical,CA:TRUE,"
                                                                            "pathlen:0"})

    def test_path_length_one_with_one_below(self):
        intermediate = self.intermediate("ca-pathlen-1",
                                         {"basicConstraints": "critical,CA:TRUE,pathlen:1"})
        lower = self.intermediate("ca-below-pathlen-1", issuer=intermediate)
        leaf = self.leaf("leaf-below-pathlen-1", issuer=lower)
        self.assert_valid(chain(leaf, lower, intermediate), spiffe_id=LEAF_ID)

    def test_intermediates_out_of_order(self):
        # Only the leaf's place is fixed. OpenSSL finds each issuer among the rest.
        upper = self.intermediate("ca-upper")
        lower = self.intermediate("ca-lower", issuer=upper)
        leaf = self.leaf("leaf-below-lower", issuer=lower)
        self.assert_valid(chain(leaf, lower, upper), spiffe_id=LEAF_ID)
        self.assert_valid(chain(leaf, upper, lower), spiffe_id=LEAF_ID)
        self.assert_valid(chain(leaf, CERTS["root"], upper, lower), spiffe_id=LEAF_ID)


class LeafRules(X509RulesTestCase):
    """The leaf rules of the X.509-SVID standard: SAN, SPIFFE ID, CA bit, key usage."""

    def test_two_uri_sans(self):
        self.assert_leaf_rejected("leaf-two-uris",
                                  {"subjectAltName": f"URI:{LEAF_ID},URI:https://example.org/"},
                                  "leaf_not_svid")

    def test_two_spiffe_ids(self):
        self.assert_leaf_rejected("leaf-two-ids",
                                  {"subjectAltName": f"URI:{LEAF_ID},"
                                                     "URI:spiffe://example.org/other"},
                                  "leaf_not_svid")

    def test_same_uri_twice(self):
        self.assert_leaf_rejected("leaf-same-uri-twice",
                                  {"subjectAltName": f"URI:{LEAF_ID},URI:{LEAF_ID}"},
                                  "leaf_not_svid")

    def test_no_uri_san(self):
        self.assert_leaf_rejected("leaf-dns-only", {"subjectAltName": "DNS:example.org"},
                                  "leaf_not_svid")

    def test_no_san_extension(self):
        self.assert_leaf_rejected("leaf-no-san", {"subjectAltName": None}, "leaf_not_svid")

    def test_uri_bad_scheme(self):
        self.assert_leaf_rejected("leaf-sparfe",
                                  {"subjectAltName": "URI:sparfe://example.org/workload"},
                                  "invalid_spiffe_id")

    def test_uri_https(self):
        self.assert_leaf_rejected("leaf-https",
                                  {"subjectAltName": "URI:https://example.org/workload"},
                                  "invalid_spiffe_id")

    def test_uri_scheme_uppercase(self):
        self.assert_leaf_rejected("leaf-scheme-upper",
                                  {"subjectAltName": "URI:SPIFFE://example.org/workload"},
                                  "invalid_spiffe_id")

    def test_uri_trust_domain_uppercase(self):
        self.assert_leaf_rejected("leaf-td-upper",
                                  {"subjectAltName": "URI:spiffe://Example.org/workload"},
                                  "invalid_spiffe_id")

    def test_uri_trailing_slash(self):
        self.assert_leaf_rejected("leaf-trailing-slash",
                                  {"subjectAltName": "URI:spiffe://example.org/workload/"},
                                  "invalid_spiffe_id")

    def test_uri_root_slash(self):
        # "spiffe://example.org/" has a trailing slash, so it is not a SPIFFE ID at all.
        self.assert_leaf_rejected("leaf-root-slash",
                                  {"subjectAltName": "URI:spiffe://example.org/"},
                                  "invalid_spiffe_id")

    def test_uri_port(self):
        self.assert_leaf_rejected("leaf-port",
                                  {"subjectAltName": "URI:spiffe://example.org:8443/workload"},
                                  "invalid_spiffe_id")

    def test_uri_userinfo(self):
        self.assert_leaf_rejected("leaf-userinfo",
                                  {"subjectAltName": "URI:spiffe://user@example.org/workload"},
                                  "invalid_spiffe_id")

    def test_uri_percent_encoding(self):
        self.assert_leaf_rejected("leaf-percent",
                                  {"subjectAltName": "URI:spiffe://example.org/%77orkload"},
                                  "invalid_spiffe_id")

    def test_uri_dot_segment(self):
        self.assert_leaf_rejected("leaf-dot-segment",
                                  {"subjectAltName": "URI:spiffe://example.org/a/../workload"},
                                  "invalid_spiffe_id")

    def test_uri_empty_segment(self):
        self.assert_leaf_rejected("leaf-empty-segment",
                                  {"subjectAltName": "URI:spiffe://example.org//workload"},
                                  "invalid_spiffe_id")

    def test_uri_query(self):
        self.assert_leaf_rejected("leaf-query",
                                  {"subjectAltName": "URI:spiffe://example.org/workload?x=1"},
                                  "invalid_spiffe_id")

    def test_uri_no_trust_domain(self):
        self.assert_leaf_rejected("leaf-no-td", {"subjectAltName": "URI:spiffe:///workload"},
                                  "invalid_spiffe_id")

    def test_uri_embedded_nul(self):
        # A C parser that stops at the NUL byte would see a valid ID. The SAN
        # is written as DER: SEQUENCE { [6] "spiffe://example.org/a" NUL "b" }.
        san = general_names_der(b"spiffe://example.org/a\x00b")
        self.assert_leaf_rejected("leaf-nul",
                                  {"subjectAltName": None, "2.5.29.17": "DER:" + san.hex(":")},
                                  "invalid_spiffe_id")

    def test_root_path_id(self):
        # spiffe://example.org names the trust domain, never a workload.
        self.assert_leaf_rejected("leaf-root-id",
                                  {"subjectAltName": "URI:spiffe://example.org"},
                                  "leaf_not_svid")

    def test_ca_leaf(self):
        self.assert_leaf_rejected("leaf-ca-true", {"basicConstraints": "critical,CA:TRUE"},
                                  "leaf_not_svid")

    def test_ca_leaf_with_key_cert_sign(self):
        self.assert_leaf_rejected("leaf-ca-kcs",
                                  {"basicConstraints": "critical,CA:TRUE",
                                   "keyUsage": "critical,digitalSignature,keyCertSign"},
                                  "leaf_not_svid")

    def test_key_cert_sign_leaf(self):
        self.assert_leaf_rejected("leaf-kcs",
                                  {"keyUsage": "critical,digitalSignature,keyCertSign"},
                                  "leaf_not_svid")

    def test_crl_sign_leaf(self):
        self.assert_leaf_rejected("leaf-crl", {"keyUsage": "critical,digitalSignature,cRLSign"},
                                  "leaf_not_svid")

    def test_leaf_without_digital_signature(self):
        self.assert_leaf_rejected("leaf-no-ds", {"keyUsage": "critical,keyEncipherment"},
                                  "leaf_not_svid")

    def test_leaf_without_key_usage(self):
        self.assert_leaf_rejected("leaf-no-ku", {"keyUsage": None}, "leaf_not_svid")

    def test_leaf_not_first(self):
        # The first certificate is taken as the leaf. An intermediate there
        # is a CA, and a CA cannot authenticate as an SVID, so the leaf rules
        # reject the chain before any path is built.
        self.assert_rejected(chain(CERTS["intermediate"], CERTS["leaf"]), "leaf_not_svid")
        self.assert_rejected(chain(CERTS["root"], CERTS["intermediate"], CERTS["leaf"]),
                             "leaf_not_svid")

    def test_unknown_trust_domain(self):
        leaf = self.leaf("leaf-unknown-td",
                         {"subjectAltName": "URI:spiffe://unknown.test/workload"})
        self.assert_rejected(chain(leaf, CERTS["intermediate"]), "unknown_trust_domain")

    def test_unknown_trust_domain_by_suffix(self):
        # Trust domains are compared whole: sub.example.org is not example.org.
        leaf = self.leaf("leaf-sub-td",
                         {"subjectAltName": "URI:spiffe://sub.example.org/workload"})
        self.assert_rejected(chain(leaf, CERTS["intermediate"]), "unknown_trust_domain")

    def test_leaf_rules_before_path(self):
        # The leaf rules run before the path is built. These leaves are signed
        # by a CA that is in no bundle, and still get the leaf rule's code.
        stranger = PKI.issue("stranger-ca",
                             extensions(CA_EXTENSIONS, {"authorityKeyIdentifier": None}),
                             validity=ROOT_VALIDITY)
        cases = [
            ("stranger-ca-leaf", {"basicConstraints": "critical,CA:TRUE"}, "leaf_not_svid"),
            ("stranger-no-uri", {"subjectAltName": "DNS:example.org"}, "leaf_not_svid"),
            ("stranger-bad-id", {"subjectAltName": "URI:spiffe://Bad/x"}, "invalid_spiffe_id"),
            ("stranger-unknown-td", {"subjectAltName": "URI:spiffe://unknown.test/x"},
             "unknown_trust_domain"),
        ]
        for name, changes, code in cases:
            with self.subTest(name=name):
                leaf = self.leaf(name, changes, issuer=stranger)
                self.assert_rejected(leaf.pem, code)

    def test_leaf_rules_before_time(self):
        # An expired CA leaf breaks a leaf rule first.
        leaf = self.leaf("expired-ca-leaf", {"basicConstraints": "critical,CA:TRUE"},
                         validity=(utc(2022, 1, 1), utc(2023, 1, 1)))
        self.assert_rejected(chain(leaf, CERTS["intermediate"]), "leaf_not_svid")


class PathRules(X509RulesTestCase):
    """RFC 5280 path validation to an authority of the leaf's own trust domain."""

    def test_intermediate_not_ca(self):
        self.assert_below_intermediate("ca-false", {"basicConstraints": "critical,CA:FALSE"},
                                       code="chain_invalid")

    def test_intermediate_without_basic_constraints(self):
        self.assert_below_intermediate("ca-no-bc", {"basicConstraints": None},
                                       code="chain_invalid")

    def test_intermediate_without_key_cert_sign(self):
        self.assert_below_intermediate("ca-no-kcs",
                                       {"keyUsage": "critical,digitalSignature,cRLSign"},
                                       code="chain_invalid")

    def test_leaf_as_issuer(self):
        # A leaf SVID cannot sign another SVID.
        leaf = self.leaf("signed-by-leaf", issuer=CERTS["leaf"])
        self.assert_rejected(chain(leaf, CERTS["leaf"], CERTS["intermediate"]), "chain_invalid")

    def test_root_path_length_zero(self):
        root = PKI.issue("root-pathlen-0",
                         extensions(CA_EXTENSIONS, {"authorityKeyIdentifier": None,
                                                    "basicConstraints": "critical,CA:TRUE,"
                                                                        "pathlen:0"}),
                         validity=ROOT_VALIDITY)
        intermediate = self.intermediate("below-pathlen-0", issuer=root)
        leaf = self.leaf("leaf-below-pathlen-0", issuer=intermediate)
        bundle = PKI.write("root-pathlen-0.pem", root.pem)
        self.assert_rejected(chain(leaf, intermediate), "chain_invalid", bundles={TD: bundle})
        # The same root verifies a leaf it signs directly.
        direct = self.leaf("direct-below-pathlen-0", issuer=root)
        self.assert_valid(direct.pem, bundles={TD: bundle})

    def test_intermediate_path_length_exceeded(self):
        upper = self.intermediate("upper-pathlen-0",
                                  {"basicConstraints": "critical,CA:TRUE,pathlen:0"})
        lower = self.intermediate("lower-below-pathlen-0", issuer=upper)
        leaf = self.leaf("leaf-two-below-pathlen-0", issuer=lower)
        self.assert_rejected(chain(leaf, lower, upper), "chain_invalid")

    def test_name_constraint_other_domain(self):
        self.assert_below_intermediate(
            "nc-other", {"nameConstraints": "critical,permitted;URI:.other.test"},
            code="chain_invalid")

    def test_name_constraint_exact_host(self):
        self.assert_below_intermediate(
            "nc-exact", {"nameConstraints": "critical,permitted;URI:example.org"})

    def test_name_constraint_exact_host_violated(self):
        # permitted;URI:example.org against a leaf of evil.test, whose bundle
        # contains the same root.
        self.assert_below_intermediate(
            "nc-exact-evil", {"nameConstraints": "critical,permitted;URI:example.org"},
            leaf_changes={"subjectAltName": "URI:spiffe://evil.test/x"}, code="chain_invalid",
            bundles={"evil.test": BUNDLES["root"]})

    def test_name_constraint_leading_dot_excludes_host(self):
        # ".example.org" permits hosts below example.org but not example.org.
        self.assert_below_intermediate(
            "nc-dot", {"nameConstraints": "critical,permitted;URI:.example.org"},
            code="chain_invalid")

    def test_name_constraint_leading_dot_permits_subdomain(self):
        self.assert_below_intermediate(
            "nc-dot-sub", {"nameConstraints": "critical,permitted;URI:.example.org"},
            leaf_changes={"subjectAltName": "URI:spiffe://prod.example.org/x"},
            bundles={"prod.example.org": BUNDLES["root"]},
            spiffe_id="spiffe://prod.example.org/x")

    def test_name_constraint_excluded(self):
        self.assert_below_intermediate(
            "nc-excluded", {"nameConstraints": "critical,excluded;URI:example.org"},
            code="chain_invalid")

    def test_name_constraint_dns_only(self):
        # A DNS constraint does not restrict the URI SAN.
        self.assert_below_intermediate(
            "nc-dns", {"nameConstraints": "critical,permitted;DNS:other.test"})

    def test_unknown_critical_extension_leaf(self):
        self.assert_leaf_rejected("leaf-unknown-critical", {"1.2.3.4": "critical,DER:05:00"},
                                  "chain_invalid")

    def test_unknown_critical_extension_intermediate(self):
        self.assert_below_intermediate("ca-unknown-critical",
                                       {"1.2.3.4": "critical,DER:05:00"}, code="chain_invalid")

    def test_bad_signature(self):
        # Flip one bit in the last byte of the DER, which is inside the
        # signature value, so the certificate still parses.
        der = bytearray(CERTS["leaf"].der)
        der[-1] ^= 0x01
        text = pem_block("CERTIFICATE", bytes(der)) + CERTS["intermediate"].pem
        self.assert_rejected(text, "chain_invalid")

    def test_issuer_name_match_wrong_key(self):
        # A CA with the real intermediate's name and its own key signs the leaf.
        impostor = PKI.issue("impostor",
                             extensions(CA_EXTENSIONS, {"authorityKeyIdentifier": None}),
                             subject="/O=svidgate tests/CN=intermediate", validity=ROOT_VALIDITY)
        leaf = self.leaf("leaf-of-impostor", {"authorityKeyIdentifier": None}, issuer=impostor)
        self.assert_rejected(chain(leaf, CERTS["intermediate"]), "chain_invalid")
        self.assert_rejected(chain(leaf, impostor), "chain_invalid")

    def test_self_signed_leaf(self):
        leaf = PKI.issue("self-signed-leaf",
                         extensions(LEAF_EXTENSIONS, {"authorityKeyIdentifier": None}))
        self.assert_rejected(leaf.pem, "chain_invalid")

    def test_self_signed_root_in_chain(self):
        # A root presented in the chain is only an untrusted certificate.
        rogue_root = PKI.issue("rogue-root",
                               extensions(CA_EXTENSIONS, {"authorityKeyIdentifier": None}),
                               subject="/O=svidgate tests/CN=root", validity=ROOT_VALIDITY)
        leaf = self.leaf("leaf-of-rogue-root", issuer=rogue_root)
        self.assert_rejected(chain(leaf, rogue_root), "chain_invalid")

    def test_other_trust_domain_ca(self):
        # A leaf of example.org signed by other.test's CA, which is loaded
        # as other.test's bundle.
        leaf = self.leaf("leaf-signed-by-other", issuer=CERTS["other-root"])
        self.assert_rejected(leaf.pem, "chain_invalid")

    def test_bundles_swapped(self):
        # Each leaf is checked only against its own trust domain's bundle,
        # never against a store of every bundle.
        bundles = {TD: BUNDLES["other-root"], OTHER_TD: BUNDLES["root"]}
        self.assert_rejected(CERTS["direct-leaf"].pem, "chain_invalid", bundles=bundles)
        self.assert_rejected(CERTS["other-leaf"].pem, "chain_invalid", bundles=bundles)

    def test_bundle_of_other_ca(self):
        self.assert_rejected(chain(CERTS["leaf"], CERTS["intermediate"]), "chain_invalid",
                             bundles={TD: BUNDLES["other-root"]})

    def test_bundle_json_of_other_ca(self):
        path = PKI.write("other-root.json", harness.mint.compact_json(
            harness.mint.bundle([x509_svid_entry(CERTS["other-root"])])))
        self.assert_rejected(chain(CERTS["leaf"], CERTS["intermediate"]), "chain_invalid",
                             bundles={TD: path})

    def test_bundle_json_empty_keys(self):
        # "keys": [] is a bundle whose every authority was revoked.
        path = PKI.write("revoked.json", '{"keys": []}')
        self.assert_rejected(chain(CERTS["leaf"], CERTS["intermediate"]), "chain_invalid",
                             bundles={TD: path})

    def test_bundle_json_jwt_keys_only(self):
        jwt_key = harness.mint.generate_key("P-256")
        path = PKI.write("jwt-only.json", harness.mint.compact_json(
            harness.mint.bundle([harness.mint.public_jwk(jwt_key, kid="jwt-key")])))
        self.assert_rejected(chain(CERTS["leaf"], CERTS["intermediate"]), "chain_invalid",
                             bundles={TD: path})

    def test_bundle_json_entry_key_mismatch(self):
        # The entry's JWK members describe another key than its certificate,
        # so the entry is skipped and no authority is left.
        entry = x509_svid_entry(CERTS["root"], with_key=False)
        entry.update(public_jwk(CERTS["other-root"]))
        path = PKI.write("mismatch.json", harness.mint.compact_json(harness.mint.bundle([entry])))
        self.assert_rejected(chain(CERTS["leaf"], CERTS["intermediate"]), "chain_invalid",
                             bundles={TD: path})


class TimeRules(X509RulesTestCase):
    """notBefore and notAfter of every certificate, with the leeway (default 30 s)."""

    def test_expired_leaf(self):
        self.assert_rejected(chain(CERTS["leaf"], CERTS["intermediate"]), "expired",
                             now=LEAF_VALIDITY[1] + 86400)

    def test_expired_intermediate(self):
        intermediate = self.intermediate("expired-intermediate",
                                         validity=(utc(2021, 1, 1), utc(2026, 6, 1)))
        leaf = self.leaf("leaf-of-expired-intermediate", issuer=intermediate)
        self.assert_rejected(chain(leaf, intermediate), "expired")

    def test_expired_authority(self):
        root = PKI.issue("expired-root",
                         extensions(CA_EXTENSIONS, {"authorityKeyIdentifier": None}),
                         validity=(utc(2020, 1, 1), utc(2026, 6, 1)))
        leaf = self.leaf("leaf-of-expired-root", issuer=root)
        bundle = PKI.write("expired-root.pem", root.pem)
        self.assert_rejected(leaf.pem, "expired", bundles={TD: bundle})

    def test_not_yet_valid_leaf(self):
        # The CAs are valid at this time, and only the leaf starts later.
        self.assert_rejected(chain(CERTS["leaf"], CERTS["intermediate"]), "not_yet_valid",
                             now=LEAF_VALIDITY[0] - 86400)

    def test_not_yet_valid_intermediate(self):
        intermediate = self.intermediate("future-intermediate",
                                         validity=(utc(2028, 1, 1), utc(2034, 1, 1)))
        leaf = self.leaf("leaf-of-future-intermediate", issuer=intermediate)
        self.assert_rejected(chain(leaf, intermediate), "not_yet_valid")

    def test_not_after_default_leeway(self):
        not_after = LEAF_VALIDITY[1]
        text = chain(CERTS["leaf"], CERTS["intermediate"])
        # notAfter is inclusive (RFC 5280 section 4.1.2.5), so the last valid
        # second is notAfter plus the leeway.
        self.assert_valid(text, now=not_after + 30, expires_at=not_after)
        self.assert_rejected(text, "expired", now=not_after + 31)

    def test_not_after_zero_leeway(self):
        not_after = LEAF_VALIDITY[1]
        text = chain(CERTS["leaf"], CERTS["intermediate"])
        self.assert_valid(text, now=not_after - 1, leeway=0)
        self.assert_valid(text, now=not_after, leeway=0, expires_at=not_after)
        self.assert_rejected(text, "expired", now=not_after + 1, leeway=0)

    def test_not_after_max_leeway(self):
        not_after = LEAF_VALIDITY[1]
        text = chain(CERTS["leaf"], CERTS["intermediate"])
        self.assert_valid(text, now=not_after + 3600, leeway=3600, expires_at=not_after)
        self.assert_rejected(text, "expired", now=not_after + 3601, leeway=3600)

    def test_not_before_default_leeway(self):
        not_before = LEAF_VALIDITY[0]
        text = chain(CERTS["leaf"], CERTS["intermediate"])
        self.assert_valid(text, now=not_before - 30)
        self.assert_rejected(text, "not_yet_valid", now=not_before - 31)

    def test_not_before_zero_leeway(self):
        not_before = LEAF_VALIDITY[0]
        text = chain(CERTS["leaf"], CERTS["intermediate"])
        self.assert_valid(text, now=not_before, leeway=0)
        self.assert_rejected(text, "not_yet_valid", now=not_before - 1, leeway=0)

    def test_leeway_on_intermediate(self):
        # The leeway applies to every certificate, not only to the leaf.
        end = utc(2026, 6, 1)
        intermediate = self.intermediate("intermediate-ends-2026",
                                         validity=(utc(2021, 1, 1), end))
        leaf = self.leaf("leaf-outlives-intermediate", issuer=intermediate)
        text = chain(leaf, intermediate)
        self.assert_valid(text, now=end + 60, leeway=60, expires_at=end)
        self.assert_rejected(text, "expired", now=end + 61, leeway=60)

    def test_leeway_on_intermediate_not_before(self):
        start = utc(2026, 6, 1)
        intermediate = self.intermediate("intermediate-starts-2026",
                                         validity=(start, utc(2034, 1, 1)))
        leaf = self.leaf("leaf-before-intermediate", issuer=intermediate)
        text = chain(leaf, intermediate)
        self.assert_valid(text, now=start - 60, leeway=60)
        self.assert_rejected(text, "not_yet_valid", now=start - 61, leeway=60)

    def test_path_before_time(self):
        # An expired leaf that also fails path validation reports the path.
        leaf = self.leaf("expired-leaf-wrong-ca", issuer=CERTS["other-root"],
                         validity=(utc(2022, 1, 1), utc(2023, 1, 1)))
        self.assert_rejected(leaf.pem, "chain_invalid")

    def test_each_input_checked_for_expiry(self):
        # Every input is checked at the same --now and gets its own verdict.
        run = self.verify(chain(CERTS["leaf"], CERTS["intermediate"]),
                          CERTS["direct-leaf"].pem, now=LEAF_VALIDITY[1] + 31)
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertEqual([result.get("error") for result in run.results], ["expired", "expired"])


class InputRules(X509RulesTestCase):
    """What counts as one well-formed PEM chain."""

    def test_empty_input(self):
        self.assert_rejected("", "malformed")

    def test_whitespace_input(self):
        self.assert_rejected("\n \n\t\n", "malformed")

    def test_not_pem(self):
        self.assert_rejected("not a certificate\n", "malformed")

    def test_key_only(self):
        with open(CERTS["leaf"].key_path) as file:
            self.assert_rejected(file.read(), "malformed")

    def test_csr_only(self):
        with open(PKI.path("leaf.csr")) as file:
            self.assert_rejected(file.read(), "malformed")

    def test_raw_der(self):
        # The command reads PEM, and DER bytes are not a PEM chain.
        self.assert_rejected(CERTS["leaf"].der, "malformed")

    def test_junk_in_certificate_block(self):
        self.assert_rejected(pem_block("CERTIFICATE", b"CORRUPT"), "malformed")

    def test_bad_base64_in_block(self):
        lines = CERTS["leaf"].pem.splitlines()
        lines[2] = "!!!!" + lines[2][4:]
        self.assert_rejected("\n".join(lines) + "\n", "malformed")

    def test_missing_end_line(self):
        text = CERTS["leaf"].pem.replace("-----END CERTIFICATE-----\n", "")
        self.assert_rejected(text, "malformed")

    def test_truncated_der(self):
        der = CERTS["leaf"].der[:-20]
        self.assert_rejected(pem_block("CERTIFICATE", der) + CERTS["intermediate"].pem,
                             "malformed")

    def test_first_byte_changed(self):
        der = b"\x27" + CERTS["leaf"].der[1:]
        self.assert_rejected(pem_block("CERTIFICATE", der), "malformed")

    def test_trailing_bytes_in_block(self):
        # d2i_X509 stops at the end of the outer SEQUENCE, but the bytes after
        # it must not be ignored.
        for trailer in (b"\x00", b"\x00\x00", b"\x05\x00", CERTS["intermediate"].der):
            with self.subTest(trailer=trailer[:4].hex()):
                text = pem_block("CERTIFICATE", CERTS["leaf"].der + trailer) + \
                    CERTS["intermediate"].pem
                self.assert_rejected(text, "malformed")

    def test_trailing_bytes_in_intermediate_block(self):
        text = CERTS["leaf"].pem + pem_block("CERTIFICATE", CERTS["intermediate"].der + b"\x00")
        self.assert_rejected(text, "malformed")

    def test_broken_block_after_good_chain(self):
        text = chain(CERTS["leaf"], CERTS["intermediate"]) + pem_block("CERTIFICATE", b"junk")
        self.assert_rejected(text, "malformed")

    def test_eight_certificates(self):
        leaf, intermediates, root = self.deep_chain()
        self.assertEqual(1 + len(intermediates), 8)
        bundle = PKI.write("deep-root.pem", root.pem)
        self.assert_valid(chain(leaf, *intermediates), spiffe_id=LEAF_ID, bundles={TD: bundle})

    def test_nine_certificates(self):
        leaf, intermediates, root = self.deep_chain()
        bundle = PKI.write("deep-root.pem", root.pem)
        self.assert_rejected(chain(leaf, *intermediates, root), "malformed",
                             bundles={TD: bundle})

    def test_nine_copies(self):
        self.assert_rejected(chain(*[CERTS["direct-leaf"]] * 9), "malformed")

    def test_certificate_over_16_kib(self):
        # The DER of one certificate may be at most 16 KiB.
        filler = "DER:04:82:44:00:" + ":".join(["41"] * 0x4400)
        leaf = self.leaf("leaf-17-kib", {"1.2.3.5": filler})
        self.assertGreater(len(leaf.der), 16 * 1024)
        self.assert_rejected(chain(leaf, CERTS["intermediate"]), "malformed")

    def test_certificate_of_15_kib(self):
        filler = "DER:04:82:3C:00:" + ":".join(["41"] * 0x3C00)
        leaf = self.leaf("leaf-15-kib", {"1.2.3.5": filler})
        self.assertLess(len(leaf.der), 16 * 1024)
        self.assert_valid(chain(leaf, CERTS["intermediate"]), spiffe_id=LEAF_ID)

    def test_duplicate_san_extension(self):
        # A second subjectAltName extension after the good one: two parsers
        # could disagree on which URI is the SPIFFE ID. RFC 5280 section 4.2
        # forbids a repeated extension. The contract names no code for it,
        # so any rejection passes.
        second_san = extension_der("2.5.29.17", general_names_der(b"spiffe://example.org/other"))
        der = with_extra_extension(CERTS["leaf"], CERTS["intermediate"], second_san)
        self.assert_rejected_any(pem_block("CERTIFICATE", der) + CERTS["intermediate"].pem,
                                 ("malformed", "leaf_not_svid", "chain_invalid"))

    def test_duplicate_basic_constraints(self):
        # A second basicConstraints extension, with cA=TRUE.
        ca_true = bytes.fromhex("30030101ff")
        der = with_extra_extension(CERTS["leaf"], CERTS["intermediate"],
                                   extension_der("2.5.29.19", ca_true, critical=True))
        self.assert_rejected_any(pem_block("CERTIFICATE", der) + CERTS["intermediate"].pem,
                                 ("malformed", "leaf_not_svid", "chain_invalid"))

    def test_extra_extension_helper(self):
        # Checks with_extra_extension itself: a harmless extra extension verifies.
        harmless = extension_der("1.2.3.6", bytes.fromhex("0500"))
        der = with_extra_extension(CERTS["leaf"], CERTS["intermediate"], harmless)
        self.assert_valid(pem_block("CERTIFICATE", der) + CERTS["intermediate"].pem,
                          spiffe_id=LEAF_ID)

    def test_input_over_size_limit(self):
        # 1 MiB is far beyond eight certificates of 16 KiB. The next input
        # still verifies.
        huge = "x" * (1024 * 1024)
        run = self.verify(huge, chain(CERTS["leaf"], CERTS["intermediate"]))
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertEqual([result.get("error") for result in run.results], ["malformed", None])

    def deep_chain(self):
        """Return (leaf, [7 intermediates, lowest first], root) of a 9-certificate path."""
        if "deep" not in CERTS:
            root = PKI.issue("deep-0", extensions(CA_EXTENSIONS, {"authorityKeyIdentifier": None}),
                             validity=ROOT_VALIDITY)
            issuers = [root]
            for level in range(1, 8):
                issuers.append(self.intermediate(f"deep-{level}", issuer=issuers[-1]))
            leaf = self.leaf("deep-leaf", issuer=issuers[-1])
            CERTS["deep"] = (leaf, list(reversed(issuers[1:])), root)
        return CERTS["deep"]


class CommandLine(X509RulesTestCase):
    """Inputs, output order, exit status and configuration errors."""

    def base_arguments(self, **options):
        return harness.x509_verify_arguments(self.bundles, NOW, **options)

    def test_inputs_in_order(self):
        expired = self.leaf("leaf-expired-2026", validity=(utc(2025, 1, 1), utc(2026, 1, 1)))
        run = self.verify(chain(CERTS["leaf"], CERTS["intermediate"]), "junk",
                          chain(expired, CERTS["intermediate"]), CERTS["other-leaf"].pem)
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertEqual([result.get("error") for result in run.results],
                         [None, "malformed", "expired", None])
        self.assertEqual(run.results[0]["spiffe_id"], LEAF_ID)
        self.assertEqual(run.results[3]["spiffe_id"], "spiffe://other.test/workload")

    def test_all_valid_exit_zero(self):
        run = self.verify(CERTS["direct-leaf"].pem, chain(CERTS["leaf"], CERTS["intermediate"]),
                          CERTS["other-leaf"].pem)
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual([result["valid"] for result in run.results], [True, True, True])

    def test_stdin_dash(self):
        run = harness.run_svidgate(self.base_arguments() + ["-"],
                                   chain(CERTS["leaf"], CERTS["intermediate"]).encode())
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(len(run.results), 1, run.describe())

    def test_file_and_stdin(self):
        path = PKI.write("input-junk.pem", "junk")
        run = harness.run_svidgate(self.base_arguments() + [path, "-"],
                                   CERTS["direct-leaf"].pem.encode())
        self.assert_output_parses(run)
        self.assertEqual([result["valid"] for result in run.results], [False, True])

    def test_input_file_missing(self):
        path = PKI.path("no-such-chain.pem")
        self.assert_usage_error(self.base_arguments() + [path], mention=path)

    def test_bundle_missing(self):
        self.assert_usage_error(harness.x509_verify_arguments({}, NOW),
                                CERTS["direct-leaf"].pem.encode(), mention="bundle")

    def test_bundle_file_missing(self):
        self.assert_usage_error(harness.x509_verify_arguments({TD: PKI.path("no-such.pem")}, NOW),
                                CERTS["direct-leaf"].pem.encode())

    def test_bundle_not_a_bundle(self):
        path = PKI.write("junk-bundle.txt", "neither JSON nor PEM\n")
        self.assert_usage_error(harness.x509_verify_arguments({TD: path}, NOW),
                                CERTS["direct-leaf"].pem.encode())

    def test_bundle_key_only(self):
        self.assert_usage_error(harness.x509_verify_arguments({TD: CERTS["root"].key_path}, NOW),
                                CERTS["direct-leaf"].pem.encode())

    def test_bundle_trailing_bytes(self):
        path = PKI.write("root-trailing.pem", pem_block("CERTIFICATE",
                                                        CERTS["root"].der + b"\x00"))
        self.assert_usage_error(harness.x509_verify_arguments({TD: path}, NOW),
                                CERTS["direct-leaf"].pem.encode())

    def test_audience_not_an_option(self):
        # X.509-SVIDs carry no audience.
        self.assert_usage_error(self.base_arguments(extra=("--audience", "x")),
                                CERTS["direct-leaf"].pem.encode())

    def test_leeway_invalid(self):
        for value in ("-1", "abc", "3601", ""):
            with self.subTest(leeway=value):
                self.assert_usage_error(self.base_arguments(leeway=value),
                                        CERTS["direct-leaf"].pem.encode())

    def test_now_invalid(self):
        arguments = harness.x509_verify_arguments(self.bundles, extra=("--now", "yesterday"))
        self.assert_usage_error(arguments, CERTS["direct-leaf"].pem.encode())

    def test_help(self):
        run = harness.run_svidgate(["verify", "x509", "--help"])
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertIn("--bundle", run.stdout + run.stderr)


if __name__ == "__main__":
    if shutil.which("openssl") is None:
        harness.skip_or_fail("the openssl command, which makes the test chains, is not installed")
    harness.main()
