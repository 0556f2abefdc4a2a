#!/usr/bin/python3
"""Mint keys, SPIFFE bundles and JWT-SVIDs for svidgate's black-box tests.

Only python3-cryptography and python3-jwcrypto are used, never svidgate's
own code, so a test fails whenever svidgate and an independent JOSE stack
disagree. The builders also produce deliberately broken credentials. The
header or claims can be raw JSON text (for duplicate members), and each
part can be raw base64url text (for padding, a foreign alphabet or
non-canonical bits). Signatures can be DER or wrong-length ECDSA, or PSS
with another salt length or MGF1 hash.

Import it (tests/cli adds tests/tools to sys.path) or run it:

    mint.py key --type P-384 --out key.pem
    mint.py bundle --key key.pem:authority1 --sequence 1
    mint.py token --key key.pem --alg ES384 --kid authority1 \\
        --sub spiffe://example.org/w --aud gateway --exp 1800000600
    mint.py selftest
"""

import argparse
import base64
import datetime
import json
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
)
from cryptography.x509.oid import NameOID
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

KEY_TYPES = {
    "P-256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "P-384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "P-521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "RSA-1024": lambda: rsa.generate_private_key(65537, 1024),
    "RSA-2048": lambda: rsa.generate_private_key(65537, 2048),
    "RSA-3072": lambda: rsa.generate_private_key(65537, 3072),
    "RSA-4096": lambda: rsa.generate_private_key(65537, 4096),
}

# The JWT-SVID algorithm allowlist (RFC 7518 section 3) with the hash each
# one uses.
HASHES = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
ALGS = tuple(family + size for family in ("RS", "PS", "ES") for size in HASHES)

# The key type each alg needs, for tests that want "the right key".
ALG_KEY_TYPES = {
    "RS256": "RSA-2048", "RS384": "RSA-2048", "RS512": "RSA-3072",
    "PS256": "RSA-2048", "PS384": "RSA-3072", "PS512": "RSA-3072",
    "ES256": "P-256", "ES384": "P-384", "ES512": "P-521",
}


def generate_key(key_type):
    """Generate a private key of a KEY_TYPES name such as "P-384"."""
    return KEY_TYPES[key_type]()


def b64url(data):
    """Encode bytes (or UTF-8 text) as unpadded base64url text."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Decode base64url text that may lack its padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value):
    """Serialize value as JSON without insignificant whitespace."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _hash_of(alg):
    return HASHES[alg[2:]]()


def _ec_field_bytes(key):
    return (key.curve.key_size + 7) // 8


def sign(key, alg, data, *, der=False, salt_length=None, mgf_hash=None):
    """Sign data as JWS alg does, or in a chosen broken way.

    ES signatures are raw r||s with each half as long as the key's curve
    field, so an ES256 signature made with a P-384 key is 96 bytes; der=True
    returns the ASN.1 DER form instead. PS signatures use a salt as long
    as the hash and MGF1 with the same hash, unless salt_length or
    mgf_hash (a cryptography hash instance) is given.
    """
    if isinstance(data, str):
        data = data.encode("ascii")
    digest = _hash_of(alg)
    family = alg[:2]
    if family == "RS":
        return key.sign(data, padding.PKCS1v15(), digest)
    if family == "PS":
        if salt_length is None:
            salt_length = digest.digest_size
        mgf = padding.MGF1(mgf_hash if mgf_hash is not None else _hash_of(alg))
        return key.sign(data, padding.PSS(mgf=mgf, salt_length=salt_length), digest)
    if family == "ES":
        der_signature = key.sign(data, ec.ECDSA(digest))
        if der:
            return der_signature
        r, s = decode_dss_signature(der_signature)
        size = _ec_field_bytes(key)
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    raise ValueError(f"alg {alg!r} is not one of {ALGS}")


def public_jwk(key, *, kid=None, use="jwt-svid", extra=None, drop=(), private=False):
    """Return the JWK (a dict) of key, as a SPIFFE bundle entry.

    use=None leaves out `use`; kid=None leaves out `kid`. extra adds or
    overrides members, drop removes members by name, and private=True
    exports the private members too (a broken bundle entry).
    """
    exported = jwcrypto_jwk.JWK.from_pyca(key)
    members = exported.export(private_key=True, as_dict=True) if private \
        else exported.export_public(as_dict=True)
    entry = {}
    if use is not None:
        entry["use"] = use
    if kid is not None:
        entry["kid"] = kid
    for name, value in members.items():
        if name not in entry:
            entry[name] = value
    entry.update(extra or {})
    for name in drop:
        entry.pop(name, None)
    return entry


def self_signed_ca(key, trust_domain, *, not_before=None, days=3650):
    """Return a self-signed CA certificate for trust_domain, signed by key.

    The certificate carries the URI SAN spiffe://TRUST_DOMAIN, cA=TRUE and
    keyUsage keyCertSign+cRLSign, as a SPIFFE X.509 authority does.
    """
    if not_before is None:
        not_before = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "svidgate tests")])
    digest = hashes.SHA256()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False,
                key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(f"spiffe://{trust_domain}")]
            ),
            critical=False,
        )
    )
    return builder.sign(key, digest)


def certificate_pem(certificate):
    """Return the PEM text of a cryptography certificate."""
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def x509_authority_entry(key, certificate, *, extra=None):
    """Return an x509-svid bundle entry whose x5c contains certificate."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    entry = public_jwk(key, use="x509-svid")
    entry["x5c"] = [base64.b64encode(der).decode("ascii")]
    entry.update(extra or {})
    return entry


def bundle(entries, *, sequence=None, refresh_hint=None, extra=None):
    """Return a SPIFFE bundle (a dict) with the given `keys` entries."""
    document = {"keys": list(entries)}
    if sequence is not None:
        document["spiffe_sequence"] = sequence
    if refresh_hint is not None:
        document["spiffe_refresh_hint"] = refresh_hint
    document.update(extra or {})
    return document


def svid_claims(sub, aud, exp, *, iat=None, extra=None):
    """Return a JWT-SVID claim set; extra adds or overrides claims."""
    claims = {"sub": sub, "aud": aud, "exp": exp}
    if iat is not None:
        claims["iat"] = iat
    claims.update(extra or {})
    return claims


def encode_token(key, header=None, claims=None, *, alg=None, header_text=None,
                 claims_text=None, header_b64=None, payload_b64=None,
                 signature=None, signature_b64=None, **sign_options):
    """Build a compact JWS and return it as text.

    Each part comes from the most raw form given: header_b64 over
    header_text over header (a dict), and likewise for the payload, so
    duplicate members or odd base64url can be expressed. The signature is
    computed by sign() over the exact "header.payload" text of the token,
    with alg (default: header["alg"]) and sign_options. A given signature
    (bytes) or signature_b64 (text) is used instead.
    """
    if header_b64 is None:
        if header_text is None:
            header_text = compact_json(header)
        header_b64 = b64url(header_text)
    if payload_b64 is None:
        if claims_text is None:
            claims_text = compact_json(claims)
        payload_b64 = b64url(claims_text)
    signing_input = header_b64 + "." + payload_b64
    if signature_b64 is None:
        if signature is None:
            if alg is None:
                alg = header["alg"]
            signature = sign(key, alg, signing_input, **sign_options)
        signature_b64 = b64url(signature)
    return signing_input + "." + signature_b64


def split_token(token):
    """Return the three dot-separated parts of a compact JWS."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    return header_b64, payload_b64, signature_b64


def flip_signature_bit(token):
    """Return token with the lowest bit of its first signature byte flipped."""
    header_b64, payload_b64, signature_b64 = split_token(token)
    signature = bytearray(b64url_decode(signature_b64))
    signature[0] ^= 0x01
    return f"{header_b64}.{payload_b64}.{b64url(bytes(signature))}"


def noncanonical_last_char(part):
    """Return base64url text that decodes to the same bytes as part but
    sets one of the unused low bits of its last character.

    RFC 4648 section 3.5 lets a decoder reject such text, and JWS
    verifiers must (one token, one encoding). Return None when the
    length of part is a multiple of 4, because then no bit is unused.
    """
    unused_bits = {2: 4, 3: 2}.get(len(part) % 4)
    if unused_bits is None:
        return None
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = alphabet.index(part[-1])
    return part[:-1] + alphabet[value | 1]


def jwcrypto_verify(token, entry, alg):
    """Verify token with jwcrypto against a JWK dict; raises on failure."""
    verifier = jwcrypto_jws.JWS()
    verifier.deserialize(token)
    verifier.allowed_algs = [alg]
    verifier.verify(jwcrypto_jwk.JWK(**entry), alg=alg)
    return json.loads(verifier.payload)


def private_key_pem(key):
    """Return the PKCS#8 PEM text of a private key."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_private_key(path):
    """Load a PEM private key written by `mint.py key`."""
    with open(path, "rb") as file:
        return serialization.load_pem_private_key(file.read(), password=None)


def self_test():
    """Check that the tokens this module mints verify under jwcrypto.

    Returns a list of failure messages (empty when all nine algs pass,
    and when jwcrypto rejects a flipped signature for each).
    """
    failures = []
    for alg in ALGS:
        key = generate_key(ALG_KEY_TYPES[alg])
        entry = public_jwk(key, kid=alg.lower(), use=None)
        claims = svid_claims("spiffe://example.org/w", ["aud"], 1800000600)
        token = encode_token(key, {"alg": alg, "kid": alg.lower(), "typ": "JWT"}, claims)
        try:
            if jwcrypto_verify(token, entry, alg) != claims:
                failures.append(f"{alg}: jwcrypto returned other claims")
        except Exception as error:  # jwcrypto raises several exception types
            failures.append(f"{alg}: jwcrypto rejected a minted token: {error}")
        try:
            jwcrypto_verify(flip_signature_bit(token), entry, alg)
            failures.append(f"{alg}: jwcrypto accepted a flipped signature")
        except Exception:
            pass
    return failures


def _parse_key_argument(text):
    path, _, kid = text.partition(":")
    return load_private_key(path), (kid or None)


def _command_key(arguments):
    text = private_key_pem(generate_key(arguments.type))
    if arguments.out:
        with open(arguments.out, "w", encoding="ascii") as file:
            file.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _command_bundle(arguments):
    entries = []
    for key_argument in arguments.key:
        key, kid = _parse_key_argument(key_argument)
        entries.append(public_jwk(key, kid=kid, use=arguments.use))
    document = bundle(entries, sequence=arguments.sequence,
                      refresh_hint=arguments.refresh_hint)
    print(json.dumps(document, indent=2))
    return 0


def _command_token(arguments):
    key = load_private_key(arguments.key)
    header = {"alg": arguments.alg, "typ": "JWT"}
    if arguments.kid is not None:
        header["kid"] = arguments.kid
    header.update(json.loads(arguments.header or "{}"))
    audiences = arguments.aud if len(arguments.aud) != 1 else arguments.aud[0]
    claims = svid_claims(arguments.sub, audiences, arguments.exp, iat=arguments.iat,
                         extra=json.loads(arguments.claims or "{}"))
    sign_options = {"der": arguments.der}
    if arguments.salt_length is not None:
        sign_options["salt_length"] = arguments.salt_length
    print(encode_token(key, header, claims, alg=arguments.alg,
                       header_text=arguments.header_text,
                       claims_text=arguments.claims_text, **sign_options))
    return 0


def _command_selftest(_arguments):
    failures = self_test()
    for failure in failures:
        print("FAIL:", failure, file=sys.stderr)
    if not failures:
        print(f"ok: {len(ALGS)} algs mint tokens that jwcrypto verifies")
    return 1 if failures else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    key = commands.add_parser("key", help="generate a private key (PKCS#8 PEM)")
    key.add_argument("--type", choices=sorted(KEY_TYPES), required=True)
    key.add_argument("--out", help="output file (default: standard output)")
    key.set_defaults(run=_command_key)

    bundle_parser = commands.add_parser("bundle", help="print a SPIFFE bundle")
    bundle_parser.add_argument("--key", action="append", required=True,
                               metavar="PEM[:KID]", help="a private key file and its kid")
    bundle_parser.add_argument("--use", default="jwt-svid")
    bundle_parser.add_argument("--sequence", type=int)
    bundle_parser.add_argument("--refresh-hint", type=int, metavar="SECONDS")
    bundle_parser.set_defaults(run=_command_bundle)

    token = commands.add_parser("token", help="print a JWT-SVID")
    token.add_argument("--key", required=True, metavar="PEM")
    token.add_argument("--alg", choices=ALGS, required=True)
    token.add_argument("--kid")
    token.add_argument("--sub", required=True)
    token.add_argument("--aud", action="append", required=True)
    token.add_argument("--exp", type=int, required=True, metavar="UNIX_SECONDS")
    token.add_argument("--iat", type=int, metavar="UNIX_SECONDS")
    token.add_argument("--header", help="JSON object merged into the header")
    token.add_argument("--claims", help="JSON object merged into the claims")
    token.add_argument("--header-text", help="raw header JSON text (replaces the header)")
    token.add_argument("--claims-text", help="raw claims JSON text (replaces the claims)")
    token.add_argument("--der", action="store_true", help="DER-encode an ES signature")
    token.add_argument("--salt-length", type=int, help="PSS salt length in bytes")
    token.set_defaults(run=_command_token)

    selftest = commands.add_parser("selftest", help="cross-check minted tokens with jwcrypto")
    selftest.set_defaults(run=_command_selftest)

    arguments = parser.parse_args(argv)
    return arguments.run(arguments)


if __name__ == "__main__":
    sys.exit(main())
