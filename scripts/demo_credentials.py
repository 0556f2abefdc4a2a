#!/usr/bin/python3
"""Mint a demo trust bundle and JWT-SVID for `scripts/demo.sh`.

Uses Debian's python3-cryptography only, so the demo token is made
independently of svidgate's own code. Writes into DIR:
  bundle.json   SPIFFE bundle of trust domain demo.example (one ES256 key)
  token.jwt     JWT-SVID for spiffe://demo.example/demo-client, audience
                "demo", valid for one hour
  key.pem       the signing key, so more tokens can be made by hand
"""
import base64
import json
import os
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

TRUST_DOMAIN = "demo.example"
KID = "demo-key-1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: demo_credentials.py DIR", file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)

    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    bundle = {
        "keys": [{
            "kty": "EC", "crv": "P-256", "use": "jwt-svid", "kid": KID,
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }],
        "spiffe_sequence": 1,
        "spiffe_refresh_hint": 300,
    }

    now = int(time.time())
    header = {"alg": "ES256", "kid": KID, "typ": "JWT"}
    claims = {"sub": f"spiffe://{TRUST_DOMAIN}/demo-client", "aud": ["demo"],
              "iat": now, "exp": now + 3600}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode("ascii")
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    token = signing_input.decode() + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    with open(os.path.join(out_dir, "bundle.json"), "w") as f:
        json.dump(bundle, f, indent=2)
    with open(os.path.join(out_dir, "token.jwt"), "w") as f:
        f.write(token + "\n")
    with open(os.path.join(out_dir, "key.pem"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
