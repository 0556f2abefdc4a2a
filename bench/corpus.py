#!/usr/bin/python3
"""Generate the trust bundles and credential corpora of the benchmarks.

Usage:
  bench/corpus.py jwt --alg ES256|RS256|PS256 --count N [--hot H] OUT_DIR
  bench/corpus.py x509 --count N OUT_DIR

`jwt` makes one signing key and writes, for trust domain bench.example
and audience "bench", tokens valid for one day, each with its own `sub`:
  OUT_DIR/bundle-ALG.json  SPIFFE bundle (JWKS, `use` jwt-svid)
  OUT_DIR/public-ALG.pem   the same public key as PEM, for the peers
  OUT_DIR/tokens-ALG.txt   N unique tokens, one a line
  OUT_DIR/hot-ALG.txt      H more tokens (default 100), a hot set that
                           shares no token with tokens-ALG.txt

`x509` makes a root and an intermediate CA (ECDSA P-256) and N leaf
X.509-SVIDs signed by the intermediate, each with its own key and
SPIFFE ID, valid for one day:
  OUT_DIR/x509-root.pem    the root, which is the X.509 bundle
  OUT_DIR/chains.txt       one `{"chain": [leaf, intermediate]}` request
                           body a line, base64 DER, for
                           POST /v1/x509-svid/verify
  OUT_DIR/chain-0.pem      the first chain as PEM, for a quick check

Keys and signatures come from Debian's python3-cryptography, which shares
no code with svidgate's verifier.
"""
import argparse
import base64
import datetime
import json
import os
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

TRUST_DOMAIN = "bench.example"
AUDIENCE = "bench"
LIFETIME_SECONDS = 86400


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def make_jwt_key(alg):
    """Return (private key, public JWK) for `alg`."""
    if alg == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
               "y": b64url(numbers.y.to_bytes(32, "big"))}
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = key.public_key().public_numbers()
        jwk = {"kty": "RSA", "n": b64url(int_bytes(numbers.n)), "e": b64url(int_bytes(numbers.e))}
    jwk.update({"use": "jwt-svid", "kid": "bench-" + alg})
    return key, jwk


def sign_jws(alg, key, data: bytes) -> bytes:
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "PS256":
        # RFC 7518, section 3.5: the salt is as long as the hash output.
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return key.sign(data, pss, hashes.SHA256())
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def write_tokens(path, alg, key, kid, first, count, now):
    header = b64url(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode())
    with open(path, "w", encoding="ascii") as out:
        for i in range(first, first + count):
            claims = {"sub": f"spiffe://{TRUST_DOMAIN}/workload/{i}", "aud": [AUDIENCE],
                      "iat": now, "exp": now + LIFETIME_SECONDS}
            signing_input = header + "." + b64url(json.dumps(claims).encode())
            out.write(signing_input + "." + b64url(sign_jws(alg, key, signing_input.encode())) + "\n")


def make_jwt_corpus(out_dir, alg, count, hot):
    key, jwk = make_jwt_key(alg)
    now = int(time.time())

    with open(os.path.join(out_dir, f"bundle-{alg}.json"), "w", encoding="ascii") as out:
        json.dump({"keys": [jwk], "spiffe_sequence": 1}, out)
    with open(os.path.join(out_dir, f"public-{alg}.pem"), "wb") as out:
        out.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo))
    write_tokens(os.path.join(out_dir, f"tokens-{alg}.txt"), alg, key, jwk["kid"], 0, count, now)
    write_tokens(os.path.join(out_dir, f"hot-{alg}.txt"), alg, key, jwk["kid"], count, hot, now)


def make_certificate(subject_key, issuer_key, subject, issuer, spiffe_id, is_ca, now):
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer)
               .public_key(subject_key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(seconds=LIFETIME_SECONDS))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
               .add_extension(x509.SubjectAlternativeName(
                   [x509.UniformResourceIdentifier(spiffe_id)]), critical=False))
    if is_ca:
        usage = dict(digital_signature=False, key_cert_sign=True, crl_sign=True)
    else:
        usage = dict(digital_signature=True, key_cert_sign=False, crl_sign=False)
    builder = builder.add_extension(x509.KeyUsage(
        content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, encipher_only=False, decipher_only=False, **usage), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def make_x509_corpus(out_dir, count):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_id = f"spiffe://{TRUST_DOMAIN}"
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bench root")])
    root = make_certificate(root_key, root_key, root_name, root_name, ca_id, True, now)
    mid_key = ec.generate_private_key(ec.SECP256R1())
    mid_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bench intermediate")])
    mid = make_certificate(mid_key, root_key, mid_name, root_name, ca_id, True, now)
    mid_der = base64.b64encode(mid.public_bytes(serialization.Encoding.DER)).decode("ascii")

    with open(os.path.join(out_dir, "x509-root.pem"), "wb") as out:
        out.write(root.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(out_dir, "chains.txt"), "w", encoding="ascii") as out:
        for i in range(count):
            leaf_key = ec.generate_private_key(ec.SECP256R1())
            leaf_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"leaf {i}")])
            leaf = make_certificate(leaf_key, mid_key, leaf_name, mid_name,
                                    f"{ca_id}/workload/{i}", False, now)
            leaf_der = base64.b64encode(leaf.public_bytes(serialization.Encoding.DER)).decode("ascii")
            out.write(json.dumps({"chain": [leaf_der, mid_der]}, separators=(",", ":")) + "\n")
            if i == 0:
                with open(os.path.join(out_dir, "chain-0.pem"), "wb") as pem:
                    pem.write(leaf.public_bytes(serialization.Encoding.PEM))
                    pem.write(mid.public_bytes(serialization.Encoding.PEM))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    jwt_parser = commands.add_parser("jwt", help="a JWT-SVID bundle, unique set and hot set")
    jwt_parser.add_argument("--alg", choices=["ES256", "RS256", "PS256"], required=True)
    jwt_parser.add_argument("--count", type=int, required=True, help="unique tokens")
    jwt_parser.add_argument("--hot", type=int, default=100, help="hot-set tokens (default 100)")
    jwt_parser.add_argument("out_dir")
    x509_parser = commands.add_parser("x509", help="a root and N two-level X.509-SVID chains")
    x509_parser.add_argument("--count", type=int, required=True, help="chains")
    x509_parser.add_argument("out_dir")
    arguments = parser.parse_args()

    for name in ("count", "hot"):
        value = getattr(arguments, name, 1)
        if value < 0 or value > 10_000_000:
            parser.error(f"--{name} must be 0 to 10000000, not {value}")
    os.makedirs(arguments.out_dir, exist_ok=True)
    if arguments.command == "jwt":
        make_jwt_corpus(arguments.out_dir, arguments.alg, arguments.count, arguments.hot)
    else:
        make_x509_corpus(arguments.out_dir, arguments.count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
