#!/usr/bin/python3
"""Write a trust bundle and N unique JWT-SVIDs for the CLI benchmark.

Usage: bench/make_tokens.py OUT_DIR ALG COUNT
ALG is ES256 or RS256. Tokens are signed with Debian's python3-cryptography,
each with its own `sub`, for trust domain bench.example and audience
"bench", valid for one day. Writes OUT_DIR/bundle-ALG.json and
OUT_DIR/tokens-ALG.txt.
"""
import base64
import json
import os
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def make_key(alg):
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


def sign(alg, key, data: bytes) -> bytes:
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def main() -> int:
    if len(sys.argv) != 4 or sys.argv[2] not in ("ES256", "RS256"):
        print(__doc__, file=sys.stderr)
        return 2
    out_dir, alg, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(out_dir, exist_ok=True)
    key, jwk = make_key(alg)
    header = b64url(json.dumps({"alg": alg, "kid": jwk["kid"], "typ": "JWT"}).encode())
    now = int(time.time())

    with open(os.path.join(out_dir, f"bundle-{alg}.json"), "w") as f:
        json.dump({"keys": [jwk], "spiffe_sequence": 1}, f)
    with open(os.path.join(out_dir, f"tokens-{alg}.txt"), "w") as f:
        for i in range(count):
            claims = {"sub": f"spiffe://bench.example/workload/{i}", "aud": ["bench"],
                      "iat": now, "exp": now + 86400}
            signing_input = header + "." + b64url(json.dumps(claims).encode())
            f.write(signing_input + "." + b64url(sign(alg, key, signing_input.encode())) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
