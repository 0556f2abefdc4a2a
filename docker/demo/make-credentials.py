#!/usr/bin/python3
"""Mint the keys, bundles, TLS files and tokens of the compose demo.

Uses python3-cryptography only, so the demo credentials are made
independently of svidgate's code. Writes into docker/demo/out/ (or DIR):

  bundles/example.org.json  SPIFFE bundle of the local trust domain
  partner/bundle.json       SPIFFE bundle of partner.test, which the
                            partner-bundle service serves over HTTPS
  partner/tls.crt, tls.key  that service's certificate for host
                            partner-bundle, issued by ca.pem
  ca.pem                    the demo CA that svidgate trusts for the fetch
  example.jwt, partner.jwt  JWT-SVIDs for audience "gateway", one per
                            trust domain, valid for one hour
  wrong-audience.jwt        a token for audience "billing"
  not-allowed.jwt           a valid token of spiffe://example.org/reports,
                            which no allow rule of config/svidgate.conf admits

Usage: make-credentials.py [DIR]
"""

import base64
import datetime
import json
import os
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

AUDIENCE = "gateway"
TOKEN_LIFETIME_SECONDS = 3600
# The partner-bundle service's host name in compose.yaml; the test of the
# demo sets DEMO_PARTNER_HOST=localhost to run it outside containers.
PARTNER_HOST = os.environ.get("DEMO_PARTNER_HOST", "partner-bundle")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key, kid):
    numbers = key.public_key().public_numbers()
    return {
        "use": "jwt-svid", "kty": "EC", "crv": "P-256", "kid": kid,
        "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def es256_token(key, kid, subject, audience):
    now = int(time.time())
    header = {"alg": "ES256", "kid": kid, "typ": "JWT"}
    claims = {"sub": subject, "aud": [audience], "iat": now, "exp": now + TOKEN_LIFETIME_SECONDS}
    signing_input = ".".join(b64url(json.dumps(part).encode()) for part in (header, claims))
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def certificate(subject_key, subject, issuer_key, issuer, is_ca, dns_name=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if dns_name is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as target:
        target.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, 0o644)  # the containers run as other users and read these


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "out")
    pem = serialization.Encoding.PEM

    example_key = ec.generate_private_key(ec.SECP256R1())
    partner_key = ec.generate_private_key(ec.SECP256R1())
    write(os.path.join(out, "bundles", "example.org.json"),
          json.dumps({"spiffe_sequence": 1, "keys": [public_jwk(example_key, "example-1")]}))
    write(os.path.join(out, "partner", "bundle.json"),
          json.dumps({"spiffe_sequence": 1, "spiffe_refresh_hint": 60,
                      "keys": [public_jwk(partner_key, "partner-1")]}))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    server_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate(ca_key, "svidgate demo CA", ca_key, "svidgate demo CA", True)
    server = certificate(server_key, PARTNER_HOST, ca_key, "svidgate demo CA", False, PARTNER_HOST)
    write(os.path.join(out, "ca.pem"), ca.public_bytes(pem))
    write(os.path.join(out, "partner", "tls.crt"), server.public_bytes(pem))
    # The demo's throwaway TLS key; nginx in the partner-bundle container reads it.
    write(os.path.join(out, "partner", "tls.key"), server_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    write(os.path.join(out, "example.jwt"),
          es256_token(example_key, "example-1", "spiffe://example.org/frontend", AUDIENCE) + "\n")
    write(os.path.join(out, "partner.jwt"),
          es256_token(partner_key, "partner-1", "spiffe://partner.test/batch", AUDIENCE) + "\n")
    write(os.path.join(out, "wrong-audience.jwt"),
          es256_token(example_key, "example-1", "spiffe://example.org/frontend", "billing") + "\n")
    write(os.path.join(out, "not-allowed.jwt"),
          es256_token(example_key, "example-1", "spiffe://example.org/reports", AUDIENCE) + "\n")
    print(f"make-credentials: wrote the demo credentials to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
