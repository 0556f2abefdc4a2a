#!/usr/bin/python3
"""JWT-SVID verification rules, tested through `svidgate verify jwt`.

One test per rule: SPIFFE ID syntax (checked on the token's `sub`), the
compact JWS and its header, the claims, times, signatures, key selection
and the handling of trust bundle entries. Every rejection test asserts
the exact error code of the interface contract, so it fails if svidgate
stops enforcing the rule (most broken tokens here would otherwise verify,
or fail with another code). Tokens, keys and bundles are minted with
tests/tools/mint.py, which does not share code with svidgate. The clock
is pinned with --now.
"""

import hashlib
import hmac
import os
import tempfile
import unittest

import harness
from harness import mint

NOW = 1_800_000_000
EXP = NOW + 600
TD = "example.org"
OTHER_TD = "other.example"
SUB = "spiffe://example.org/workload"
AUD = "spiffe://example.org/gateway"

# The jwt-svid keys of TD's main bundle, by kid.
MAIN_KEY_TYPES = {
    "es256": "P-256",
    "es384": "P-384",
    "es512": "P-521",
    "rs2048": "RSA-2048",
    "rs3072": "RSA-3072",
}
KID_FOR_ALG = {
    "ES256": "es256", "ES384": "es384", "ES512": "es512",
    "RS256": "rs2048", "RS384": "rs2048", "RS512": "rs3072",
    "PS256": "rs2048", "PS384": "rs3072", "PS512": "rs3072",
}

# Filled by setUpModule: keys by name and bundle file paths.
KEYS = {}
PATHS = {}
_TEMPORARY = None


def write_file(name, text):
    path = os.path.join(_TEMPORARY.name, name)
    mode = "wb" if isinstance(text, bytes) else "w"
    with open(path, mode) as file:
        file.write(text)
    return path


def write_bundle(name, document):
    return write_file(name, mint.compact_json(document) if isinstance(document, dict) else document)


def setUpModule():
    global _TEMPORARY
    _TEMPORARY = tempfile.TemporaryDirectory(prefix="svidgate-jwt-rules-")
    for kid, key_type in MAIN_KEY_TYPES.items():
        KEYS[kid] = mint.generate_key(key_type)
    for name in ("ca", "x509-use", "wit-use", "good", "other-only", "shared-main",
                 "shared-other", "dup-a", "dup-b", "rogue-p256"):
        KEYS[name] = mint.generate_key("P-256")
    KEYS["rogue-rsa"] = mint.generate_key("RSA-2048")

    ca_certificate = mint.self_signed_ca(KEYS["ca"], TD)
    x509_use_certificate = mint.self_signed_ca(KEYS["x509-use"], TD)
    main_entries = [mint.public_jwk(KEYS[kid], kid=kid) for kid in MAIN_KEY_TYPES]
    main_entries += [
        mint.x509_authority_entry(KEYS["ca"], ca_certificate),
        mint.x509_authority_entry(KEYS["x509-use"], x509_use_certificate,
                                  extra={"kid": "x509-use"}),
        mint.public_jwk(KEYS["wit-use"], kid="wit-use", use="wit-svid"),
        mint.public_jwk(KEYS["shared-main"], kid="shared"),
    ]
    PATHS["main"] = write_bundle("main.json", mint.bundle(main_entries, sequence=7,
                                                          refresh_hint=300))
    PATHS["other"] = write_bundle("other.json", mint.bundle([
        mint.public_jwk(KEYS["other-only"], kid="other-only"),
        mint.public_jwk(KEYS["shared-other"], kid="shared"),
    ]))
    PATHS["ca_pem"] = write_file("ca.pem", mint.certificate_pem(ca_certificate))


def tearDownModule():
    _TEMPORARY.cleanup()


DROP = object()


def make_claims(claims=None):
    result = mint.svid_claims(SUB, [AUD], EXP, iat=NOW)
    for name, value in (claims or {}).items():
        if value is DROP:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def make_token(alg="ES256", *, kid=None, key=None, header=None, claims=None, sign_alg=None,
               **options):
    """Mint a token that verifies unless an argument breaks it.

    alg is the header's alg, and sign_alg (default: alg) is the algorithm
    actually used to sign. header and claims update the default header
    (typ JWT and the kid of alg's key) and claims (sub SUB, aud [AUD], exp
    EXP, iat NOW). A value of DROP removes the member. Other options go
    to mint.encode_token.
    """
    if kid is None:
        kid = KID_FOR_ALG.get(alg, "es256")
    if key is None:
        key = KEYS.get(kid, KEYS["es256"])
    full_header = {"alg": alg, "kid": kid, "typ": "JWT"}
    for name, value in (header or {}).items():
        if value is DROP:
            full_header.pop(name, None)
        else:
            full_header[name] = value
    if "signature" not in options and "signature_b64" not in options:
        options["alg"] = sign_alg or alg
    return mint.encode_token(key, full_header, make_claims(claims), **options)


def hs256_token(secret, header, claims):
    signing_input = mint.b64url(mint.compact_json(header)) + "." + \
        mint.b64url(mint.compact_json(claims))
    digest = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + mint.b64url(digest)


class RulesTestCase(harness.VerifierTestCase):
    audiences = (AUD,)
    now = NOW

    @property
    def bundles(self):
        return {TD: PATHS["main"], OTHER_TD: PATHS["other"]}

    def assert_sub_rejected(self, sub, code="invalid_spiffe_id"):
        return self.assert_rejected(make_token(claims={"sub": sub}), code)

    def assert_sub_valid(self, sub, bundles=None):
        result = self.assert_valid(make_token(claims={"sub": sub}), bundles=bundles)
        self.assertEqual(result["spiffe_id"], sub)
        return result


class SpiffeIdRules(RulesTestCase):
    """SPIFFE ID syntax, applied to `sub`."""

    def test_scheme_http(self):
        self.assert_sub_rejected("http://example.org/workload")

    def test_scheme_single_slash(self):
        self.assert_sub_rejected("spiffe:/example.org/workload")

    def test_scheme_missing(self):
        self.assert_sub_rejected("example.org/workload")

    def test_scheme_only_letter(self):
        self.assert_sub_rejected("s")

    def test_not_an_id(self):
        self.assert_sub_rejected("invalid subject")

    def test_scheme_capitalized(self):
        self.assert_sub_rejected("Spiffe://example.org/workload")

    def test_scheme_uppercase(self):
        self.assert_sub_rejected("SPIFFE://example.org/workload")

    def test_empty_sub(self):
        self.assert_sub_rejected("")

    def test_empty_trust_domain(self):
        self.assert_sub_rejected("spiffe://")

    def test_empty_trust_domain_slash(self):
        self.assert_sub_rejected("spiffe:///")

    def test_empty_trust_domain_path(self):
        self.assert_sub_rejected("spiffe:///workload")

    def test_userinfo(self):
        self.assert_sub_rejected("spiffe://user@example.org/workload")

    def test_userinfo_empty(self):
        self.assert_sub_rejected("spiffe://@example.org/workload")

    def test_port(self):
        self.assert_sub_rejected("spiffe://example.org:8443/workload")

    def test_empty_port(self):
        self.assert_sub_rejected("spiffe://example.org:/workload")

    def test_uppercase_trust_domain(self):
        # Never lowercase-and-accept: two spellings would share one bundle.
        self.assert_sub_rejected("spiffe://Example.org/workload")

    def test_percent_trust_domain(self):
        # "%65" is "e": decoding would give example.org.
        self.assert_sub_rejected("spiffe://%65xample.org/workload")

    def test_percent_utf8_trust_domain(self):
        self.assert_sub_rejected("spiffe://%F0%9F%A4%AF/workload")

    def test_trust_domain_bad_bytes(self):
        for byte in "~!$&'()*+,;=[]% \t\"<>\\^`{|}":
            with self.subTest(byte=byte):
                self.assert_sub_rejected(f"spiffe://exam{byte}ple.org/workload")

    def test_trust_domain_non_ascii(self):
        self.assert_sub_rejected("spiffe://ex\u00e4mple.org/workload")

    def test_trust_domain_control(self):
        self.assert_sub_rejected("spiffe://example.org\u007f/workload")

    def test_ipv4_trust_domain(self):
        # Dotted-quad text is an ordinary, legal trust domain name.
        bundles = {"10.0.0.1": PATHS["main"]}
        result = self.assert_sub_valid("spiffe://10.0.0.1/workload", bundles=bundles)
        self.assertEqual(result["trust_domain"], "10.0.0.1")

    def test_ipv6_trust_domain(self):
        self.assert_sub_rejected("spiffe://[::1]/workload")

    def test_trust_domain_255(self):
        trust_domain = "a" * 251 + ".org"
        self.assertEqual(len(trust_domain), 255)
        result = self.assert_sub_valid(f"spiffe://{trust_domain}/workload",
                                       bundles={trust_domain: PATHS["main"]})
        self.assertEqual(result["trust_domain"], trust_domain)

    def test_trust_domain_256(self):
        trust_domain = "a" * 252 + ".org"
        self.assertEqual(len(trust_domain), 256)
        self.assert_sub_rejected(f"spiffe://{trust_domain}/workload")

    def test_id_length_2048(self):
        sub = long_id(2048)
        self.assert_sub_valid(sub)

    def test_id_length_2049(self):
        self.assert_sub_rejected(long_id(2049))

    def test_query(self):
        self.assert_sub_rejected("spiffe://example.org/workload?x=y")

    def test_fragment(self):
        self.assert_sub_rejected("spiffe://example.org/workload#x")

    def test_query_no_path(self):
        self.assert_sub_rejected("spiffe://example.org?x")

    def test_root_path(self):
        # A bare trust domain ID is accepted for JWT-SVIDs; policy decides.
        result = self.assert_sub_valid("spiffe://example.org")
        self.assertEqual(result["trust_domain"], TD)

    def test_trailing_slash_root(self):
        self.assert_sub_rejected("spiffe://example.org/")

    def test_trailing_slash(self):
        self.assert_sub_rejected("spiffe://example.org/workload/")

    def test_empty_segment_first(self):
        self.assert_sub_rejected("spiffe://example.org//workload")

    def test_empty_segment_middle(self):
        self.assert_sub_rejected("spiffe://example.org/a//b")

    def test_double_slash_only(self):
        self.assert_sub_rejected("spiffe://example.org//")

    def test_dot_segments(self):
        for path in ("/.", "/..", "/./a", "/../a", "/a/./b", "/a/../b", "/a/.", "/a/.."):
            with self.subTest(path=path):
                self.assert_sub_rejected("spiffe://example.org" + path)

    def test_dot_containing_segments(self):
        for path in ("/.a", "/..a", "/...", "/a.", "/a..b"):
            with self.subTest(path=path):
                self.assert_sub_valid("spiffe://example.org" + path)

    def test_path_bad_bytes(self):
        for byte in "%~:@+=!$&'()*,; \"<>[]\\^`{|}":
            with self.subTest(byte=byte):
                self.assert_sub_rejected(f"spiffe://example.org/work{byte}load")

    def test_path_non_ascii(self):
        self.assert_sub_rejected("spiffe://example.org/w\u00f6rkload")

    def test_path_percent(self):
        self.assert_sub_rejected("spiffe://example.org/%41")

    def test_path_case_kept(self):
        # The path is case-sensitive and is reported byte for byte.
        self.assert_sub_valid("spiffe://example.org/Work_Load-1.A")

    def test_embedded_nul(self):
        # A parser that stops at the NUL would accept the prefix. By default
        # jansson rejects "\u0000" in strings, so the token may fail as
        # malformed before `sub` is parsed. Both codes reject it.
        token = make_token(claims={"sub": "spiffe://example.org/workload\u0000/x"})
        self.assert_rejected_any(token, {"malformed", "invalid_spiffe_id"})

    def test_trust_domain_sweep(self):
        # Every byte value after the trust domain, as in go-spiffe's sweep.
        # A legal byte names another trust domain, which has no bundle.
        legal = set(b"abcdefghijklmnopqrstuvwxyz0123456789.-_")
        values = [value for value in range(256) if value != ord("/")]
        tokens = [make_token(claims={"sub": f"spiffe://example.org{chr(value)}/w"})
                  for value in values]
        run = self.verify(*tokens)
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertEqual(len(run.results), len(values), run.describe())
        for value, result in zip(values, run.results):
            with self.subTest(byte=value):
                self.assertFalse(result["valid"], result)
                if value in legal:
                    self.assertEqual(result["error"], "unknown_trust_domain", result)
                elif value == 0:
                    self.assertIn(result["error"], {"malformed", "invalid_spiffe_id"}, result)
                else:
                    self.assertEqual(result["error"], "invalid_spiffe_id", result)

    def test_path_sweep(self):
        legal = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
        tokens = [make_token(claims={"sub": f"spiffe://example.org/w{chr(value)}"})
                  for value in range(256)]
        run = self.verify(*tokens)
        self.assert_output_parses(run)
        self.assertEqual(len(run.results), 256, run.describe())
        for value, result in enumerate(run.results):
            with self.subTest(byte=value):
                if value in legal:
                    self.assertTrue(result["valid"], result)
                    self.assertEqual(result["spiffe_id"], f"spiffe://example.org/w{chr(value)}")
                elif value == 0:
                    self.assertIn(result.get("error"), {"malformed", "invalid_spiffe_id"}, result)
                else:
                    self.assertEqual(result.get("error"), "invalid_spiffe_id", result)


def long_id(length):
    """Return a valid-looking SPIFFE ID of TD with exactly length bytes."""
    prefix = "spiffe://" + TD
    path = ""
    while len(prefix) + len(path) + 101 <= length:
        path += "/" + "s" * 100
    path += "/" + "x" * (length - len(prefix) - len(path) - 1)
    sub = prefix + path
    assert len(sub) == length
    return sub


class CompactRules(RulesTestCase):
    """Compact serialization and base64url."""

    def test_two_parts(self):
        header_b64, payload_b64, _ = mint.split_token(make_token())
        self.assert_rejected(f"{header_b64}.{payload_b64}", "malformed")

    def test_four_parts(self):
        self.assert_rejected(make_token() + ".AAAA", "malformed")

    def test_five_parts(self):
        # The shape of a JWE.
        self.assert_rejected(make_token() + ".AAAA.AAAA", "malformed")

    def test_one_part(self):
        self.assert_rejected("invalidtoken", "malformed")

    def test_empty_header_part(self):
        _, payload_b64, signature_b64 = mint.split_token(make_token())
        self.assert_rejected(f".{payload_b64}.{signature_b64}", "malformed")

    def test_empty_payload_part(self):
        token = make_token(payload_b64="")
        self.assert_rejected(token, "malformed")

    def test_empty_signature(self):
        # An empty part is valid base64url, so the failure may be reported
        # at parsing or at verification; either way the token is rejected.
        header_b64, payload_b64, _ = mint.split_token(make_token())
        self.assert_rejected_any(f"{header_b64}.{payload_b64}.", {"malformed", "bad_signature"})

    def test_json_flattened(self):
        header_b64, payload_b64, signature_b64 = mint.split_token(make_token())
        text = mint.compact_json({"payload": payload_b64, "protected": header_b64,
                                  "signature": signature_b64})
        self.assert_rejected(text, "malformed")

    def test_json_general(self):
        header_b64, payload_b64, signature_b64 = mint.split_token(make_token())
        text = mint.compact_json({"payload": payload_b64, "signatures": [
            {"protected": header_b64, "signature": signature_b64}]})
        self.assert_rejected(text, "malformed")

    def test_padding_header(self):
        header_text = padded_json_text({"alg": "ES256", "kid": "es256", "typ": "JWT"})
        header_b64 = mint.b64url(header_text)
        header_b64 += "=" * (-len(header_b64) % 4)
        self.assert_rejected(make_token(header_b64=header_b64), "malformed")

    def test_padding_payload(self):
        payload_b64 = mint.b64url(padded_json_text(make_claims()))
        payload_b64 += "=" * (-len(payload_b64) % 4)
        self.assert_rejected(make_token(payload_b64=payload_b64), "malformed")

    def test_padding_signature(self):
        # ES256: 64 bytes, 86 characters; a padded encoding adds "==".
        token = make_token()
        self.assertEqual(len(mint.split_token(token)[2]) % 4, 2)
        self.assert_rejected(token + "==", "malformed")

    def test_space_in_payload(self):
        payload_b64 = mint.b64url(mint.compact_json(make_claims()))
        payload_b64 = payload_b64[:20] + " " + payload_b64[20:]
        self.assert_rejected(make_token(payload_b64=payload_b64), "malformed")

    def test_tab_in_signature(self):
        header_b64, payload_b64, signature_b64 = mint.split_token(make_token())
        signature_b64 = signature_b64[:10] + "\t" + signature_b64[10:]
        self.assert_rejected(f"{header_b64}.{payload_b64}.{signature_b64}", "malformed")

    def test_plus_in_payload(self):
        payload_b64 = payload_with_char("-")
        self.assert_rejected(make_token(payload_b64=payload_b64.replace("-", "+", 1)),
                             "malformed")

    def test_slash_in_payload(self):
        payload_b64 = payload_with_char("_")
        self.assert_rejected(make_token(payload_b64=payload_b64.replace("_", "/", 1)),
                             "malformed")

    def test_plus_in_signature(self):
        token = token_with_signature_char("-")
        header_b64, payload_b64, signature_b64 = mint.split_token(token)
        self.assert_rejected(f"{header_b64}.{payload_b64}.{signature_b64.replace('-', '+')}",
                             "malformed")

    def test_slash_in_signature(self):
        token = token_with_signature_char("_")
        header_b64, payload_b64, signature_b64 = mint.split_token(token)
        self.assert_rejected(f"{header_b64}.{payload_b64}.{signature_b64.replace('_', '/')}",
                             "malformed")

    def test_trailing_bits_header(self):
        header_text = padded_json_text({"alg": "ES256", "kid": "es256", "typ": "JWT"})
        header_b64 = mint.noncanonical_last_char(mint.b64url(header_text))
        self.assert_rejected(make_token(header_b64=header_b64), "malformed")

    def test_trailing_bits_payload(self):
        payload_b64 = mint.noncanonical_last_char(mint.b64url(padded_json_text(make_claims())))
        self.assert_rejected(make_token(payload_b64=payload_b64), "malformed")

    def test_trailing_bits_signature(self):
        header_b64, payload_b64, signature_b64 = mint.split_token(make_token())
        signature_b64 = mint.noncanonical_last_char(signature_b64)
        self.assert_rejected(f"{header_b64}.{payload_b64}.{signature_b64}", "malformed")

    def test_length_one_mod_four(self):
        # One extra "A" after a whole number of groups: a decoder that drops
        # the lone character would read the original claims.
        text = mint.compact_json(make_claims())
        while len(mint.b64url(text)) % 4 != 0:
            text = "{ " + text[1:]
        payload_b64 = mint.b64url(text) + "A"
        self.assert_rejected(make_token(payload_b64=payload_b64), "malformed")

    def test_bad_char_signature(self):
        header_b64, payload_b64, signature_b64 = mint.split_token(make_token())
        self.assert_rejected(f"{header_b64}.{payload_b64}.{signature_b64[:-2]}!A", "malformed")

    def test_header_not_json(self):
        self.assert_rejected(make_token(header_text="alg=ES256"), "malformed")

    def test_header_array(self):
        self.assert_rejected(make_token(header_text='["ES256"]'), "malformed")

    def test_header_trailing_text(self):
        text = mint.compact_json({"alg": "ES256", "kid": "es256"}) + "x"
        self.assert_rejected(make_token(header_text=text), "malformed")

    def test_payload_not_json(self):
        self.assert_rejected(make_token(claims_text="sub=spiffe://example.org/w"), "malformed")

    def test_payload_array(self):
        self.assert_rejected(make_token(claims_text=mint.compact_json([make_claims()])),
                             "malformed")

    def test_payload_two_objects(self):
        text = mint.compact_json(make_claims()) + "{}"
        self.assert_rejected(make_token(claims_text=text), "malformed")

    def test_payload_bad_utf8(self):
        text = mint.compact_json(make_claims({"note": "PLACEHOLDER"}))
        payload = text.encode("utf-8").replace(b"PLACEHOLDER", b"\xff\xfe")
        self.assert_rejected(make_token(payload_b64=mint.b64url(payload)), "malformed")

    def test_received_bytes_signed(self):
        # The signature covers the header and payload text exactly as
        # received; re-encoding the JSON would break this token.
        header_text = '{ "typ" : "JWT",\n "kid":"es256", "alg" : "ES256" }'
        claims_text = '{\n  "exp": %d, "aud": ["%s"],\n  "sub": "%s"\n}' % (EXP, AUD, SUB)
        result = self.assert_valid(make_token(header_text=header_text, claims_text=claims_text))
        self.assertEqual(result["spiffe_id"], SUB)


def padded_json_text(value):
    """Return JSON text for value whose base64url form needs padding."""
    text = mint.compact_json(value)
    while len(mint.b64url(text)) % 4 == 0:
        text = "{ " + text[1:]
    return text


def payload_with_char(character):
    """Return the base64url payload of valid claims that contains character."""
    for length in range(1, 64):
        payload_b64 = mint.b64url(mint.compact_json(make_claims({"note": "~?" * length})))
        if character in payload_b64:
            return payload_b64
    raise AssertionError(f"no payload encoding with {character!r} found")


def token_with_signature_char(character):
    """Return a valid ES256 token whose signature text contains character."""
    for _ in range(200):
        token = make_token()
        if character in mint.split_token(token)[2]:
            return token
    raise AssertionError(f"no signature with {character!r} in 200 tries")


class HeaderRules(RulesTestCase):
    """alg allowlist, alg/key agreement, kid, typ and forbidden members."""

    def test_alg_none(self):
        token = make_token("none", kid="es256", signature=b"")
        self.assert_rejected(token, "unsupported_alg")

    def test_alg_none_signed(self):
        # An unsecured header on an otherwise valid ES256 signature.
        token = make_token("none", kid="es256", key=KEYS["es256"], sign_alg="ES256")
        self.assert_rejected(token, "unsupported_alg")

    def test_alg_hs256(self):
        token = hs256_token(b"your-256-bit-secret", {"alg": "HS256", "typ": "JWT", "kid": "es256"},
                            make_claims())
        self.assert_rejected(token, "unsupported_alg")

    def test_alg_hs256_key_confusion(self):
        # HMAC keyed with the bundle's public key: a classic RS256 attack.
        public_pem = KEYS["rs2048"].public_key().public_bytes(
            mint.serialization.Encoding.PEM, mint.serialization.PublicFormat.SubjectPublicKeyInfo)
        token = hs256_token(public_pem, {"alg": "HS256", "typ": "JWT", "kid": "rs2048"},
                            make_claims())
        self.assert_rejected(token, "unsupported_alg")

    def test_alg_hs384(self):
        token = make_token("HS384", kid="es256", signature=b"\x00" * 48)
        self.assert_rejected(token, "unsupported_alg")

    def test_alg_eddsa(self):
        self.assert_rejected(make_token("EdDSA", kid="es256", signature=b"\x00" * 64),
                             "unsupported_alg")

    def test_alg_es256k(self):
        self.assert_rejected(make_token("ES256K", kid="es256", key=KEYS["es256"], sign_alg="ES256"),
                             "unsupported_alg")

    def test_alg_lowercase(self):
        self.assert_rejected(make_token("es256", kid="es256", key=KEYS["es256"], sign_alg="ES256"),
                             "unsupported_alg")

    def test_alg_trailing_space(self):
        self.assert_rejected(make_token("ES256 ", kid="es256", key=KEYS["es256"], sign_alg="ES256"),
                             "unsupported_alg")

    def test_alg_missing(self):
        # No alg is not an allowlisted alg; a reader may also call the
        # header malformed. Either way the token is rejected.
        token = make_token(header={"alg": DROP})
        self.assert_rejected_any(token, {"unsupported_alg", "malformed"})

    def test_alg_checked_first(self):
        # alg is checked before every other header member (here a bad typ
        # and a crit) and before the claims.
        token = make_token("none", kid="es256", signature=b"",
                           header={"typ": "invalid", "crit": ["exp"]}, claims={"exp": "soon"})
        self.assert_rejected(token, "unsupported_alg")

    def test_es256_p384_key(self):
        # SHA-256 signature by the P-384 key: verifies if the curve is unchecked.
        self.assert_rejected(make_token("ES256", kid="es384"), "unsupported_alg")

    def test_es384_p256_key(self):
        self.assert_rejected(make_token("ES384", kid="es256"), "unsupported_alg")

    def test_es512_p384_key(self):
        self.assert_rejected(make_token("ES512", kid="es384"), "unsupported_alg")

    def test_rs256_ec_key(self):
        token = make_token("RS256", kid="es256", signature=b"\x01" * 256)
        self.assert_rejected(token, "unsupported_alg")

    def test_ps256_ec_key(self):
        token = make_token("PS256", kid="es256", signature=b"\x01" * 256)
        self.assert_rejected(token, "unsupported_alg")

    def test_es256_rsa_key(self):
        token = make_token("ES256", kid="rs2048", signature=b"\x01" * 64)
        self.assert_rejected(token, "unsupported_alg")

    def test_kid_missing(self):
        self.assert_rejected(make_token(header={"kid": DROP}), "missing_kid")

    def test_kid_unknown(self):
        self.assert_rejected(make_token(kid="noKey", key=KEYS["es256"]), "unknown_key")

    def test_kid_other_case(self):
        self.assert_rejected(make_token(kid="ES256", key=KEYS["es256"]), "unknown_key")

    def test_typ_jwt(self):
        self.assert_valid(make_token(header={"typ": "JWT"}))

    def test_typ_jose(self):
        self.assert_valid(make_token(header={"typ": "JOSE"}))

    def test_typ_absent(self):
        self.assert_valid(make_token(header={"typ": DROP}))

    def test_typ_lowercase(self):
        self.assert_rejected(make_token(header={"typ": "jwt"}), "malformed")

    def test_typ_at_jwt(self):
        self.assert_rejected(make_token(header={"typ": "at+jwt"}), "malformed")

    def test_typ_wit_jwt(self):
        self.assert_rejected(make_token(header={"typ": "wit+jwt"}), "malformed")

    def test_typ_invalid(self):
        self.assert_rejected(make_token(header={"typ": "invalid"}), "malformed")

    def test_typ_number(self):
        self.assert_rejected(make_token(header={"typ": 123}), "malformed")

    def test_typ_null(self):
        self.assert_rejected(make_token(header={"typ": None}), "malformed")

    def test_crit(self):
        self.assert_rejected(make_token(header={"crit": ["exp"]}), "malformed")

    def test_crit_b64(self):
        self.assert_rejected(make_token(header={"crit": ["b64"], "b64": True}), "malformed")

    def test_b64(self):
        self.assert_rejected(make_token(header={"b64": False}), "malformed")

    def test_jwk_header(self):
        # The attacker's own key in the header must never be used.
        rogue = KEYS["rogue-p256"]
        token = make_token(kid="rogue", key=rogue,
                           header={"jwk": mint.public_jwk(rogue, use=None, kid="rogue")})
        self.assert_rejected(token, "malformed")

    def test_jwk_header_known_kid(self):
        token = make_token(header={"jwk": mint.public_jwk(KEYS["es256"], use=None)})
        self.assert_rejected(token, "malformed")

    def test_jku(self):
        self.assert_rejected(make_token(header={"jku": "https://127.0.0.1/jwks"}), "malformed")

    def test_x5c(self):
        certificate = mint.self_signed_ca(KEYS["es256"], TD)
        entry = mint.x509_authority_entry(KEYS["es256"], certificate)
        self.assert_rejected(make_token(header={"x5c": entry["x5c"]}), "malformed")

    def test_x5u(self):
        self.assert_rejected(make_token(header={"x5u": "https://127.0.0.1/ca.pem"}), "malformed")

    def test_unknown_member_ignored(self):
        # RFC 7515 section 4: unknown, non-critical parameters are ignored.
        self.assert_valid(make_token(header={"x-trace": "abc", "cty": "JWT"}))

    def test_duplicate_alg(self):
        # Last-wins JSON parsing would see ES256, first-wins would see none.
        header_text = '{"alg":"none","alg":"ES256","kid":"es256","typ":"JWT"}'
        self.assert_rejected(make_token(header_text=header_text), "malformed")

    def test_duplicate_kid(self):
        header_text = '{"alg":"ES256","kid":"es384","kid":"es256","typ":"JWT"}'
        self.assert_rejected(make_token(header_text=header_text), "malformed")


class ClaimRules(RulesTestCase):
    """sub, aud, exp, nbf and iat types and the audience match."""

    def test_sub_missing(self):
        # No sub means no SPIFFE ID (JWT-SVID section 3.1), whereas a sub of
        # another JSON type is a malformed claim set.
        self.assert_rejected(make_token(claims={"sub": DROP}), "invalid_spiffe_id")

    def test_sub_number(self):
        self.assert_rejected(make_token(claims={"sub": 42}), "malformed")

    def test_sub_null(self):
        self.assert_rejected(make_token(claims={"sub": None}), "malformed")

    def test_sub_array(self):
        self.assert_rejected(make_token(claims={"sub": [SUB]}), "malformed")

    def test_duplicate_sub(self):
        claims_text = ('{"sub":"spiffe://other.example/attacker","sub":"%s","aud":["%s"],'
                       '"exp":%d}' % (SUB, AUD, EXP))
        self.assert_rejected(make_token(claims_text=claims_text), "malformed")

    def test_duplicate_exp(self):
        claims_text = '{"sub":"%s","aud":["%s"],"exp":%d,"exp":%d}' % (SUB, AUD, NOW - 3600, EXP)
        self.assert_rejected(make_token(claims_text=claims_text), "malformed")

    def test_duplicate_nested(self):
        claims_text = ('{"sub":"%s","aud":["%s"],"exp":%d,"ctx":{"a":1,"a":2}}'
                       % (SUB, AUD, EXP))
        self.assert_rejected(make_token(claims_text=claims_text), "malformed")

    def test_aud_missing(self):
        self.assert_rejected(make_token(claims={"aud": DROP}), "malformed")

    def test_aud_empty_array(self):
        self.assert_rejected(make_token(claims={"aud": []}), "malformed")

    def test_aud_number_element(self):
        self.assert_rejected(make_token(claims={"aud": [1]}), "malformed")

    def test_aud_mixed_elements(self):
        self.assert_rejected(make_token(claims={"aud": [AUD, 1]}), "malformed")

    def test_aud_number(self):
        self.assert_rejected(make_token(claims={"aud": 1}), "malformed")

    def test_aud_null(self):
        self.assert_rejected(make_token(claims={"aud": None}), "malformed")

    def test_aud_object(self):
        self.assert_rejected(make_token(claims={"aud": {"a": AUD}}), "malformed")

    def test_aud_empty_string(self):
        # One empty value: well-formed, but it never equals a configured
        # audience, because svidgate rejects an empty --audience.
        self.assert_rejected(make_token(claims={"aud": ""}), "audience_mismatch")

    def test_aud_string(self):
        result = self.assert_valid(make_token(claims={"aud": AUD}))
        self.assertEqual(result["audience"], [AUD])

    def test_aud_mismatch(self):
        self.assert_rejected(make_token(claims={"aud": ["another"]}), "audience_mismatch")

    def test_aud_case_sensitive(self):
        self.assert_rejected(make_token(claims={"aud": [AUD.upper()]}), "audience_mismatch")

    def test_aud_prefix(self):
        self.assert_rejected(make_token(claims={"aud": [AUD[:-1]]}), "audience_mismatch")

    def test_aud_one_of_many(self):
        result = self.assert_valid(make_token(claims={"aud": ["a", AUD, "b"]}))
        self.assertEqual(result["audience"], ["a", AUD, "b"])

    def test_audiences_any_match(self):
        token = make_token(claims={"aud": ["second"]})
        self.assert_valid(token, audiences=("first", "second"))

    def test_exp_missing(self):
        self.assert_rejected(make_token(claims={"exp": DROP}), "malformed")

    def test_exp_string(self):
        self.assert_rejected(make_token(claims={"exp": str(EXP)}), "malformed")

    def test_exp_null(self):
        self.assert_rejected(make_token(claims={"exp": None}), "malformed")

    def test_exp_true(self):
        self.assert_rejected(make_token(claims={"exp": True}), "malformed")

    def test_exp_huge_real(self):
        self.assert_rejected(make_token(claims={"exp": 1e30}), "malformed")

    def test_exp_huge_negative(self):
        self.assert_rejected(make_token(claims={"exp": -1e30}), "malformed")

    def test_exp_over_int64(self):
        claims_text = '{"sub":"%s","aud":["%s"],"exp":%d}' % (SUB, AUD, 2 ** 63)
        self.assert_rejected(make_token(claims_text=claims_text), "malformed")

    def test_exp_fraction(self):
        # NumericDate may be fractional; the fraction is dropped.
        result = self.assert_valid(make_token(claims={"exp": EXP + 0.75}))
        self.assertEqual(result["expires_at"], EXP)

    def test_exp_exponent(self):
        claims_text = '{"sub":"%s","aud":["%s"],"exp":1.8000006e9}' % (SUB, AUD)
        result = self.assert_valid(make_token(claims_text=claims_text))
        self.assertEqual(result["expires_at"], 1_800_000_600)

    def test_nbf_string(self):
        self.assert_rejected(make_token(claims={"nbf": str(NOW)}), "malformed")

    def test_iat_string(self):
        self.assert_rejected(make_token(claims={"iat": str(NOW)}), "malformed")

    def test_extra_claims_kept(self):
        extra = {"iss": "issuer", "jti": "id-1", "ctx": {"n": [1, 2, {"deep": None}]},
                 "unicode": "gr\u00fc\u00dfe"}
        claims = make_claims(extra)
        result = self.assert_valid(make_token(claims=extra))
        self.assertEqual(result["claims"], claims)


class TimeRules(RulesTestCase):
    """exp, nbf and iat against --now with the leeway."""

    def test_exp_past_leeway(self):
        self.assert_rejected(make_token(claims={"exp": NOW - 31}), "expired")

    def test_exp_inside_leeway(self):
        self.assert_valid(make_token(claims={"exp": NOW - 29}))

    def test_exp_long_ago(self):
        self.assert_rejected(make_token(claims={"exp": 1}), "expired")

    def test_exp_negative(self):
        self.assert_rejected(make_token(claims={"exp": -5}), "expired")

    def test_leeway_zero(self):
        self.assert_rejected(make_token(claims={"exp": NOW - 1}), "expired", leeway=0)
        self.assert_valid(make_token(claims={"exp": NOW + 1}), leeway=0)

    def test_exp_equal_now(self):
        # RFC 7519 section 4.1.4: the current time must be before exp.
        self.assert_rejected(make_token(claims={"exp": NOW}), "expired", leeway=0)

    def test_nbf_equal_now(self):
        # RFC 7519 section 4.1.5: the current time may equal nbf.
        self.assert_valid(make_token(claims={"nbf": NOW}), leeway=0)

    def test_leeway_wide(self):
        self.assert_valid(make_token(claims={"exp": NOW - 100}), leeway=120)
        self.assert_rejected(make_token(claims={"exp": NOW - 121}), "expired", leeway=120)

    def test_nbf_future(self):
        self.assert_rejected(make_token(claims={"nbf": NOW + 31}), "not_yet_valid")

    def test_nbf_inside_leeway(self):
        self.assert_valid(make_token(claims={"nbf": NOW + 29}))

    def test_nbf_past(self):
        self.assert_valid(make_token(claims={"nbf": NOW - 10}))

    def test_iat_future(self):
        self.assert_rejected(make_token(claims={"iat": NOW + 31}), "not_yet_valid")

    def test_iat_inside_leeway(self):
        self.assert_valid(make_token(claims={"iat": NOW + 29}))

    def test_iat_absent(self):
        self.assert_valid(make_token(claims={"iat": DROP}))

    def test_now_pins_clock(self):
        token = make_token()
        self.assert_valid(token, now=EXP - 1)
        self.assert_rejected(token, "expired", now=EXP + 31)


class SignatureRules(RulesTestCase):
    """Signature encodings, PSS parameters and the signing key."""

    def test_flipped_signature(self):
        for alg in ("ES256", "RS256", "PS256"):
            with self.subTest(alg=alg):
                self.assert_rejected(mint.flip_signature_bit(make_token(alg)), "bad_signature")

    def test_changed_payload(self):
        header_b64, _, signature_b64 = mint.split_token(make_token())
        payload_b64 = mint.b64url(mint.compact_json(make_claims({"sub": SUB + "2"})))
        self.assert_rejected(f"{header_b64}.{payload_b64}.{signature_b64}", "bad_signature")

    def test_changed_header(self):
        _, payload_b64, signature_b64 = mint.split_token(make_token())
        header_b64 = mint.b64url(mint.compact_json({"alg": "ES256", "kid": "es256"}))
        self.assert_rejected(f"{header_b64}.{payload_b64}.{signature_b64}", "bad_signature")

    def test_der_es256(self):
        self.assert_rejected(make_token("ES256", der=True), "bad_signature")

    def test_der_es384(self):
        self.assert_rejected(make_token("ES384", der=True), "bad_signature")

    def test_der_es512(self):
        self.assert_rejected(make_token("ES512", der=True), "bad_signature")

    def test_es256_zero_padded(self):
        # r and s each left-padded to 48 bytes: the same numbers, 96 bytes.
        self.assert_rejected(resized_es_token("ES256", 48), "bad_signature")

    def test_es256_one_extra_byte(self):
        self.assert_rejected(resized_es_token("ES256", 33), "bad_signature")

    def test_es512_short(self):
        self.assert_rejected(resized_es_token("ES512", 65, strip=True), "bad_signature")

    def test_es256_truncated(self):
        header_b64, payload_b64, signature_b64 = mint.split_token(make_token())
        signature = mint.b64url_decode(signature_b64)[:63]
        self.assert_rejected(f"{header_b64}.{payload_b64}.{mint.b64url(signature)}",
                             "bad_signature")

    def test_es256_extended(self):
        header_b64, payload_b64, signature_b64 = mint.split_token(make_token())
        signature = mint.b64url_decode(signature_b64) + b"\x00"
        self.assert_rejected(f"{header_b64}.{payload_b64}.{mint.b64url(signature)}",
                             "bad_signature")

    def test_es256_zero_rs(self):
        self.assert_rejected(make_token(signature=b"\x00" * 64), "bad_signature")

    def test_ps256_salt_zero(self):
        self.assert_rejected(make_token("PS256", salt_length=0), "bad_signature")

    def test_ps256_salt_20(self):
        self.assert_rejected(make_token("PS256", salt_length=20), "bad_signature")

    def test_ps256_salt_64(self):
        self.assert_rejected(make_token("PS256", salt_length=64), "bad_signature")

    def test_ps256_salt_max(self):
        salt_length = mint.padding.PSS.MAX_LENGTH
        self.assert_rejected(make_token("PS256", salt_length=salt_length), "bad_signature")

    def test_ps384_salt_32(self):
        self.assert_rejected(make_token("PS384", salt_length=32), "bad_signature")

    def test_ps512_salt_32(self):
        self.assert_rejected(make_token("PS512", salt_length=32), "bad_signature")

    def test_ps256_mgf1_sha1(self):
        token = make_token("PS256", mgf_hash=mint.hashes.SHA1())
        self.assert_rejected(token, "bad_signature")

    def test_ps256_pkcs1_signature(self):
        token = make_token("PS256", sign_alg="RS256")
        self.assert_rejected(token, "bad_signature")

    def test_rs256_pss_signature(self):
        token = make_token("RS256", sign_alg="PS256")
        self.assert_rejected(token, "bad_signature")

    def test_rs256_sha512_digest(self):
        self.assert_rejected(make_token("RS256", sign_alg="RS512"), "bad_signature")

    def test_rsa_leading_zero(self):
        header_b64, payload_b64, signature_b64 = mint.split_token(make_token("RS256"))
        signature = b"\x00" + mint.b64url_decode(signature_b64)
        self.assert_rejected(f"{header_b64}.{payload_b64}.{mint.b64url(signature)}",
                             "bad_signature")

    def test_wrong_key_same_kid(self):
        # Signed by another RSA-2048 key under the kid of the bundle's key.
        token = make_token("RS256", kid="rs2048", key=KEYS["rogue-rsa"])
        self.assert_rejected(token, "bad_signature")


def resized_es_token(alg, half_length, strip=False):
    """Return a token whose r||s halves are re-encoded at half_length bytes.

    The numbers stay the same, so a verifier that splits the buffer in
    half and reads two integers would accept it. With strip=True, the
    token is signed again until r and s both start with a zero byte, and
    that byte is dropped.
    """
    for _ in range(100000 if strip else 1):
        token = make_token(alg)
        header_b64, payload_b64, signature_b64 = mint.split_token(token)
        signature = mint.b64url_decode(signature_b64)
        size = len(signature) // 2
        r, s = signature[:size], signature[size:]
        if strip and (r[0] != 0 or s[0] != 0):
            continue
        r_value = int.from_bytes(r, "big")
        s_value = int.from_bytes(s, "big")
        resized = r_value.to_bytes(half_length, "big") + s_value.to_bytes(half_length, "big")
        return f"{header_b64}.{payload_b64}.{mint.b64url(resized)}"
    raise AssertionError("no signature with leading zero bytes in r and s")


def valid_algs_test(alg):
    def test(self):
        token = make_token(alg)
        result = self.assert_valid(token)
        self.assertEqual(result["spiffe_id"], SUB)
        # The same token through an independent JOSE library.
        kid = KID_FOR_ALG[alg]
        mint.jwcrypto_verify(token, mint.public_jwk(KEYS[kid], kid=kid, use=None), alg)
    test.__doc__ = f"{alg} token signed by the matching bundle key is valid."
    return test


class ValidAlgs(RulesTestCase):
    """Each of the nine allowlisted algs verifies."""


for _alg in mint.ALGS:
    setattr(ValidAlgs, f"test_{_alg.lower()}", valid_algs_test(_alg))


class ResultFields(RulesTestCase):
    """The result object of a valid token."""

    def test_fields(self):
        claims = {"iss": "issuer", "nbf": NOW - 5}
        token = make_token("ES384", claims=claims)
        result = self.assert_valid(token)
        self.assertEqual(result["spiffe_id"], SUB)
        self.assertEqual(result["trust_domain"], TD)
        self.assertEqual(result["expires_at"], EXP)
        self.assertIsInstance(result["expires_at"], int)
        self.assertEqual(result["audience"], [AUD])
        self.assertEqual(result["claims"], make_claims(claims))

    def test_bundle_id_form(self):
        # --bundle accepts the trust domain's ID form too.
        result = self.assert_valid(make_token(), bundles={"spiffe://example.org": PATHS["main"]})
        self.assertEqual(result["trust_domain"], TD)


class KeySelection(RulesTestCase):
    """The key comes from the jwt-svid keys of the trust domain of `sub`."""

    def test_kid_in_other_domain(self):
        token = make_token(kid="other-only", key=KEYS["other-only"])
        self.assert_rejected(token, "unknown_key")

    def test_other_domain_own_kid(self):
        token = make_token(kid="other-only", key=KEYS["other-only"],
                           claims={"sub": "spiffe://other.example/w"})
        result = self.assert_valid(token)
        self.assertEqual(result["trust_domain"], OTHER_TD)

    def test_shared_kid_uses_own_domain(self):
        # Both bundles have kid "shared"; the other domain's key must not verify.
        token = make_token(kid="shared", key=KEYS["shared-other"])
        self.assert_rejected(token, "bad_signature")
        self.assert_valid(make_token(kid="shared", key=KEYS["shared-main"]))

    def test_unknown_trust_domain(self):
        token = make_token(claims={"sub": "spiffe://unconfigured.example/w"})
        self.assert_rejected(token, "unknown_trust_domain")

    def test_parent_domain_no_bundle(self):
        # Trust domains are compared whole, never by suffix.
        self.assert_rejected(make_token(claims={"sub": "spiffe://sub.example.org/w"}),
                             "unknown_trust_domain")

    def test_x509_use_key(self):
        token = make_token(kid="x509-use", key=KEYS["x509-use"])
        self.assert_rejected(token, "unknown_key")

    def test_wit_use_key(self):
        token = make_token(kid="wit-use", key=KEYS["wit-use"])
        self.assert_rejected(token, "unknown_key")


class CheckOrder(RulesTestCase):
    """When a token breaks several rules, the documented first check decides."""

    def test_header_before_claims(self):
        self.assert_rejected(make_token(header={"typ": "jwt"}, claims={"exp": "x"}), "malformed")

    def test_claim_types_before_sub(self):
        token = make_token(claims={"exp": "x", "sub": "invalid subject"})
        self.assert_rejected(token, "malformed")

    def test_sub_before_kid(self):
        token = make_token(header={"kid": DROP}, claims={"sub": "invalid subject"})
        self.assert_rejected(token, "invalid_spiffe_id")

    def test_kid_before_bundle(self):
        token = make_token(header={"kid": DROP}, claims={"sub": "spiffe://unconfigured.example/w"})
        self.assert_rejected(token, "missing_kid")

    def test_bundle_before_key(self):
        token = make_token(kid="noKey", claims={"sub": "spiffe://unconfigured.example/w"})
        self.assert_rejected(token, "unknown_trust_domain")

    def test_signature_before_times(self):
        # The times of a token with a bad signature are not trusted, so not checked.
        token = mint.flip_signature_bit(make_token(claims={"exp": NOW - 3600}))
        self.assert_rejected(token, "bad_signature")

    def test_signature_before_audience(self):
        token = mint.flip_signature_bit(make_token(claims={"aud": ["another"]}))
        self.assert_rejected(token, "bad_signature")

    def test_times_before_audience(self):
        token = make_token(claims={"exp": NOW - 3600, "aud": ["another"]})
        self.assert_rejected(token, "expired")


class BundleRules(RulesTestCase):
    """Trust bundle documents and the entries svidgate must skip."""

    def with_bundle(self, name, document):
        return {TD: write_bundle(name, document)}

    def assert_bundle_rejected(self, name, document):
        path = write_bundle(name, document)
        arguments = harness.verify_arguments({TD: path}, [AUD], NOW) + ["-"]
        return self.assert_usage_error(arguments, (make_token() + "\n").encode())

    def assert_entry_skipped(self, name, bad_entry, bad_token):
        """A bundle of [bad_entry, good key] loads, the good key verifies
        and bad_token (signed for bad_entry) fails with unknown_key."""
        good_entry = mint.public_jwk(KEYS["good"], kid="good")
        bundles = self.with_bundle(name, mint.bundle([bad_entry, good_entry]))
        good_token = make_token(kid="good", key=KEYS["good"])
        run = self.verify(good_token, bad_token, bundles=bundles)
        self.assert_output_parses(run)
        self.assertNotEqual(run.returncode, 2,
                            "one unusable entry must not reject the whole bundle" + run.describe())
        self.assertEqual(len(run.results), 2, run.describe())
        self.assertTrue(run.results[0]["valid"], run.results[0])
        self.assertEqual(run.results[1].get("error"), "unknown_key", run.results[1])
        self.assertEqual(run.returncode, 1, run.describe())

    def test_keys_missing(self):
        self.assert_bundle_rejected("no-keys.json", {"spiffe_sequence": 1,
                                                     "spiffe_refresh_hint": 60})

    def test_keys_object(self):
        self.assert_bundle_rejected("keys-object.json", {"keys": {}})

    def test_keys_null(self):
        self.assert_bundle_rejected("keys-null.json", {"keys": None})

    def test_bundle_not_json(self):
        self.assert_bundle_rejected("broken.json", '{"keys": [')

    def test_bundle_duplicate_keys(self):
        text = '{"keys":[],"keys":[%s]}' % mint.compact_json(mint.public_jwk(KEYS["es256"],
                                                                          kid="es256"))
        self.assert_bundle_rejected("duplicate-keys.json", text)

    def test_bundle_duplicate_entry_member(self):
        entry = mint.compact_json(mint.public_jwk(KEYS["es256"], kid="es256"))
        text = '{"keys":[%s]}' % entry.replace('"kid":"es256"', '"kid":"x","kid":"es256"')
        self.assert_bundle_rejected("duplicate-member.json", text)

    def test_bundle_empty_file(self):
        self.assert_bundle_rejected("empty.json", "")

    def test_bundle_file_missing(self):
        path = os.path.join(_TEMPORARY.name, "does-not-exist.json")
        arguments = harness.verify_arguments({TD: path}, [AUD], NOW) + ["-"]
        self.assert_usage_error(arguments, (make_token() + "\n").encode(), mention=path)

    def test_bundle_is_directory(self):
        arguments = harness.verify_arguments({TD: _TEMPORARY.name}, [AUD], NOW) + ["-"]
        self.assert_usage_error(arguments, (make_token() + "\n").encode())

    def test_keys_empty(self):
        # "keys": [] means every key is revoked.
        bundles = self.with_bundle("revoked.json", mint.bundle([]))
        self.assert_rejected(make_token(), "unknown_key", bundles=bundles)

    def test_only_x509_entries(self):
        certificate = mint.self_signed_ca(KEYS["ca"], TD)
        bundles = self.with_bundle("x509-only.json",
                                   mint.bundle([mint.x509_authority_entry(KEYS["ca"],
                                                                          certificate)]))
        self.assert_rejected(make_token(), "unknown_key", bundles=bundles)

    def test_pem_bundle(self):
        # A PEM bundle contains X.509 authorities only, so no JWT key.
        self.assert_rejected(make_token(), "unknown_key", bundles={TD: PATHS["ca_pem"]})

    def test_unknown_top_level(self):
        document = mint.bundle([mint.public_jwk(KEYS["es256"], kid="es256")],
                               extra={"x-vendor": {"a": [1]}, "spiffe_extra": True})
        self.assert_valid(make_token(), bundles=self.with_bundle("top-level.json", document))

    def test_refresh_hint_negative(self):
        document = mint.bundle([mint.public_jwk(KEYS["es256"], kid="es256")], refresh_hint=-5,
                               sequence=0)
        self.assert_valid(make_token(), bundles=self.with_bundle("hint-negative.json", document))

    def test_sequence_large(self):
        document = mint.bundle([mint.public_jwk(KEYS["es256"], kid="es256")],
                               sequence=2 ** 53)
        self.assert_valid(make_token(), bundles=self.with_bundle("sequence.json", document))

    def test_entry_unknown_members(self):
        entry = mint.public_jwk(KEYS["es256"], kid="es256", extra={"x-note": "n", "key_ops":
                                                                   ["verify"]})
        self.assert_valid(make_token(), bundles=self.with_bundle("members.json",
                                                                 mint.bundle([entry])))

    def test_entry_alg_other_hash(self):
        # A JWK `alg` need not equal the token's alg: Wycheproof's JWS test
        # 346 expects a PS384 token to verify with a key published as PS256.
        entry = mint.public_jwk(KEYS["rs3072"], kid="rs3072", extra={"alg": "PS256"})
        self.assert_valid(make_token("PS384"), bundles=self.with_bundle("jwk-alg-ps.json",
                                                                        mint.bundle([entry])))

    def test_entry_alg_es521(self):
        # "ES521" is a common misspelling of ES512 on P-521 keys (Wycheproof's
        # JWS test 347 expects an ES512 token to verify with such a key).
        entry = mint.public_jwk(KEYS["es512"], kid="es512", extra={"alg": "ES521"})
        self.assert_valid(make_token("ES512"), bundles=self.with_bundle("jwk-alg-es521.json",
                                                                        mint.bundle([entry])))

    def test_entry_alg_wrong_type(self):
        # An EC key published for PS256 contradicts itself, so the entry
        # is unusable (RFC 7517 section 4.4: alg names the key's algorithm).
        key = mint.generate_key("P-384")
        entry = mint.public_jwk(key, kid="bad", extra={"alg": "PS256"})
        self.assert_entry_skipped("jwk-alg-wrong.json", entry,
                                  make_token("ES384", kid="bad", key=key))

    def test_use_missing(self):
        key = mint.generate_key("P-256")
        self.assert_entry_skipped("use-missing.json", mint.public_jwk(key, kid="bad", use=None),
                                  make_token(kid="bad", key=key))

    def test_use_sig(self):
        key = mint.generate_key("P-256")
        self.assert_entry_skipped("use-sig.json", mint.public_jwk(key, kid="bad", use="sig"),
                                  make_token(kid="bad", key=key))

    def test_use_uppercase(self):
        key = mint.generate_key("P-256")
        self.assert_entry_skipped("use-upper.json",
                                  mint.public_jwk(key, kid="bad", use="JWT-SVID"),
                                  make_token(kid="bad", key=key))

    def test_use_wit(self):
        key = mint.generate_key("P-256")
        self.assert_entry_skipped("use-wit.json", mint.public_jwk(key, kid="bad", use="wit-svid"),
                                  make_token(kid="bad", key=key))

    def test_use_x509_with_kid(self):
        key = mint.generate_key("P-256")
        entry = mint.x509_authority_entry(key, mint.self_signed_ca(key, TD), extra={"kid": "bad"})
        self.assert_entry_skipped("use-x509.json", entry, make_token(kid="bad", key=key))

    def test_rsa_1024(self):
        key = mint.generate_key("RSA-1024")
        self.assert_entry_skipped("rsa-1024.json", mint.public_jwk(key, kid="bad"),
                                  make_token("RS256", kid="bad", key=key))

    def test_rsa_exponent_one(self):
        # With e = 1 the "signature" is the padded digest itself.
        key = mint.generate_key("RSA-2048")
        entry = mint.public_jwk(key, kid="bad", extra={"e": "AQ"})
        token = make_token("RS256", kid="bad", key=key, signature=b"")
        header_b64, payload_b64, _ = mint.split_token(token)
        forged = pkcs1_sha256_encoding(f"{header_b64}.{payload_b64}".encode(), 256)
        self.assert_entry_skipped("rsa-e1.json", entry,
                                  f"{header_b64}.{payload_b64}.{mint.b64url(forged)}")

    def test_rsa_exponent_even(self):
        key = mint.generate_key("RSA-2048")
        entry = mint.public_jwk(key, kid="bad", extra={"e": mint.b64url((65536).to_bytes(3, "big"))})
        self.assert_entry_skipped("rsa-even.json", entry, make_token("RS256", kid="bad", key=key))

    def test_private_ec(self):
        key = mint.generate_key("P-256")
        entry = mint.public_jwk(key, kid="bad", private=True)
        self.assertIn("d", entry)
        self.assert_entry_skipped("private-ec.json", entry, make_token(kid="bad", key=key))

    def test_private_rsa(self):
        key = mint.generate_key("RSA-2048")
        entry = mint.public_jwk(key, kid="bad", private=True)
        self.assertIn("p", entry)
        self.assert_entry_skipped("private-rsa.json", entry,
                                  make_token("RS256", kid="bad", key=key))

    def test_private_d_only(self):
        key = mint.generate_key("P-256")
        private = mint.public_jwk(key, private=True)
        entry = mint.public_jwk(key, kid="bad", extra={"d": private["d"]})
        self.assert_entry_skipped("private-d.json", entry, make_token(kid="bad", key=key))

    def test_kty_oct(self):
        entry = {"use": "jwt-svid", "kid": "bad", "kty": "oct", "k": mint.b64url(b"s" * 32)}
        self.assert_entry_skipped("oct.json", entry, make_token(kid="bad", key=KEYS["es256"]))

    def test_kty_okp(self):
        entry = {"use": "jwt-svid", "kid": "bad", "kty": "OKP", "crv": "Ed25519",
                 "x": mint.b64url(b"\x11" * 32)}
        self.assert_entry_skipped("okp.json", entry, make_token(kid="bad", key=KEYS["es256"]))

    def test_kty_missing(self):
        key = mint.generate_key("P-256")
        entry = mint.public_jwk(key, kid="bad", drop=("kty",))
        self.assert_entry_skipped("kty-missing.json", entry, make_token(kid="bad", key=key))

    def test_curve_secp256k1(self):
        key = mint.ec.generate_private_key(mint.ec.SECP256K1())
        entry = mint.public_jwk(key, kid="bad")
        self.assertEqual(entry["crv"], "secp256k1")
        self.assert_entry_skipped("secp256k1.json", entry, make_token(kid="bad", key=key))

    def test_curve_mislabelled(self):
        # P-256 coordinates labelled P-384.
        key = mint.generate_key("P-256")
        entry = mint.public_jwk(key, kid="bad", extra={"crv": "P-384"})
        self.assert_entry_skipped("mislabelled.json", entry, make_token(kid="bad", key=key))

    def test_point_off_curve(self):
        key = mint.generate_key("P-256")
        entry = mint.public_jwk(key, kid="bad")
        y = int.from_bytes(mint.b64url_decode(entry["y"]), "big")
        entry["y"] = mint.b64url(((y + 1) % (2 ** 256)).to_bytes(32, "big"))
        self.assert_entry_skipped("off-curve.json", entry, make_token(kid="bad", key=key))

    def test_short_coordinate(self):
        # RFC 7518 section 6.2.1.2: x is exactly the field size, here 32 bytes.
        key = key_with_leading_zero_x()
        entry = mint.public_jwk(key, kid="bad")
        entry["x"] = mint.b64url(mint.b64url_decode(entry["x"])[1:])
        self.assert_entry_skipped("short-x.json", entry, make_token(kid="bad", key=key))

    def test_kid_missing_entry(self):
        key = mint.generate_key("P-256")
        self.assert_entry_skipped("kid-missing.json", mint.public_jwk(key),
                                  make_token(kid="bad", key=key))

    def test_duplicate_kid(self):
        # Every jwt-svid entry sharing a kid is dropped, so neither key verifies.
        entries = [mint.public_jwk(KEYS["dup-a"], kid="dup"),
                   mint.public_jwk(KEYS["dup-b"], kid="dup"),
                   mint.public_jwk(KEYS["good"], kid="good")]
        bundles = self.with_bundle("duplicate-kid.json", mint.bundle(entries))
        run = self.verify(make_token(kid="good", key=KEYS["good"]),
                          make_token(kid="dup", key=KEYS["dup-a"]),
                          make_token(kid="dup", key=KEYS["dup-b"]), bundles=bundles)
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertEqual([result.get("error") for result in run.results],
                         [None, "unknown_key", "unknown_key"], run.describe())

    def test_x509_entry_without_x5c(self):
        key = mint.generate_key("P-256")
        entry = mint.public_jwk(key, use="x509-svid")
        self.assert_entry_skipped("no-x5c.json", entry, make_token(kid="bad", key=key))

    def test_x509_entry_empty_x5c(self):
        key = mint.generate_key("P-256")
        entry = mint.public_jwk(key, use="x509-svid", extra={"x5c": []})
        self.assert_entry_skipped("empty-x5c.json", entry, make_token(kid="bad", key=key))

    def test_x509_entry_bad_x5c(self):
        key = mint.generate_key("P-256")
        entry = mint.public_jwk(key, use="x509-svid", extra={"x5c": ["not base64!"]})
        self.assert_entry_skipped("bad-x5c.json", entry, make_token(kid="bad", key=key))

    def test_x509_entry_two_x5c(self):
        # X509-SVID section 6.2: use the first certificate, ignore the rest.
        key = mint.generate_key("P-256")
        entry = mint.x509_authority_entry(key, mint.self_signed_ca(key, TD))
        entry["x5c"] = entry["x5c"] * 2
        self.assert_entry_skipped("two-x5c.json", entry, make_token(kid="bad", key=key))

    def test_entry_not_object(self):
        # A `keys` element that is not a JWK at all is skipped like any
        # other unusable entry (bundle spec section 4.1.3).
        entries = [17, "key", None, mint.public_jwk(KEYS["good"], kid="good")]
        self.assert_valid(make_token(kid="good", key=KEYS["good"]),
                          bundles=self.with_bundle("entry-number.json", mint.bundle(entries)))


def key_with_leading_zero_x():
    """Return a P-256 key whose x coordinate starts with a zero byte."""
    for _ in range(20000):
        key = mint.generate_key("P-256")
        if key.public_key().public_numbers().x < 2 ** 248:
            return key
    raise AssertionError("no P-256 key with a leading zero x byte in 20000 tries")


def pkcs1_sha256_encoding(message, size):
    """Return the EMSA-PKCS1-v1_5 encoding (RFC 8017 section 9.2) of SHA-256(message)."""
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420")
    digest_info += hashlib.sha256(message).digest()
    return b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info


class CommandLine(RulesTestCase):
    """Inputs, output order, exit statuses and usage errors."""

    def base_arguments(self, audiences=(AUD,), bundles=None):
        return harness.verify_arguments(bundles or self.bundles, audiences, NOW)

    def test_output_order(self):
        cases = [
            (make_token(), None),
            (make_token(claims={"exp": NOW - 3600}), "expired"),
            (make_token("RS256"), None),
            ("x.y", "malformed"),
            (make_token(header={"kid": DROP}), "missing_kid"),
            (make_token("PS512"), None),
            (make_token(claims={"aud": ["another"]}), "audience_mismatch"),
            (make_token(claims={"sub": "spiffe://unconfigured.example/w"}),
             "unknown_trust_domain"),
            (make_token(kid="noKey"), "unknown_key"),
            (make_token("ES512"), None),
        ] * 5
        run = self.verify(*(token for token, _ in cases))
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertEqual([result.get("error") for result in run.results],
                         [code for _, code in cases])

    def test_all_valid_exit_zero(self):
        run = self.verify(make_token(), make_token("RS384"), make_token("PS256"))
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual([result["valid"] for result in run.results], [True, True, True])

    def test_one_invalid_exit_one(self):
        run = self.verify(make_token(), "bad", make_token())
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertEqual([result["valid"] for result in run.results], [True, False, True])

    def test_no_tokens(self):
        run = self.verify()
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(run.stdout, "", run.describe())

    def test_blank_lines_skipped(self):
        stdin_bytes = ("\n\n" + make_token() + "\n\n\n" + make_token("RS256") + "\n\n").encode()
        run = harness.run_svidgate(self.base_arguments() + ["-"], stdin_bytes)
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(len(run.results), 2, run.describe())

    def test_crlf_lines(self):
        # Files written with CRLF line ends verify as if they had LF.
        stdin_bytes = (make_token() + "\r\n\r\n" + make_token("ES384") + "\r\n").encode()
        run = harness.run_svidgate(self.base_arguments(), stdin_bytes)
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(len(run.results), 2, run.describe())

    def test_last_line_unterminated(self):
        stdin_bytes = (make_token() + "\n" + "bad").encode()
        run = harness.run_svidgate(self.base_arguments(), stdin_bytes)
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertEqual([result["valid"] for result in run.results], [True, False])

    def test_stdin_dash(self):
        run = harness.run_svidgate(self.base_arguments() + ["-"], (make_token() + "\n").encode())
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(len(run.results), 1, run.describe())

    def test_stdin_default(self):
        run = harness.run_svidgate(self.base_arguments(), (make_token() + "\n").encode())
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(len(run.results), 1, run.describe())

    def test_files_in_order(self):
        first = write_file("tokens-1.txt", make_token() + "\nbad\n")
        second = write_file("tokens-2.txt", make_token(claims={"exp": 5}) + "\n" + make_token())
        run = harness.run_svidgate(self.base_arguments() + [first, second])
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertEqual([result.get("error") for result in run.results],
                         [None, "malformed", "expired", None])

    def test_file_and_stdin(self):
        path = write_file("tokens-3.txt", "bad\n")
        run = harness.run_svidgate(self.base_arguments() + [path, "-"],
                                   (make_token() + "\n").encode())
        self.assert_output_parses(run)
        self.assertEqual([result["valid"] for result in run.results], [False, True])

    def test_input_file_missing(self):
        path = os.path.join(_TEMPORARY.name, "no-such-tokens.txt")
        self.assert_usage_error(self.base_arguments() + [path], mention=path)

    def test_audience_missing(self):
        arguments = harness.verify_arguments(self.bundles, [], NOW)
        self.assert_usage_error(arguments, (make_token() + "\n").encode(), mention="audience")

    def test_audience_empty(self):
        self.assert_usage_error(self.base_arguments(audiences=("",)),
                                (make_token() + "\n").encode())

    def test_audience_limit(self):
        audiences = [f"aud-{index}" for index in range(31)] + [AUD]
        run = harness.run_svidgate(self.base_arguments(audiences=audiences),
                                   (make_token() + "\n").encode())
        self.assertEqual(run.returncode, 0, run.describe())
        audiences.append("aud-33")
        self.assert_usage_error(self.base_arguments(audiences=audiences),
                                (make_token() + "\n").encode())

    def test_bundle_missing(self):
        arguments = harness.verify_arguments({}, [AUD], NOW)
        self.assert_usage_error(arguments, (make_token() + "\n").encode(), mention="bundle")

    def test_bundle_no_equals(self):
        self.assert_usage_error(["verify", "jwt", "--bundle", PATHS["main"], "--audience", AUD])

    def test_bundle_empty_domain(self):
        self.assert_usage_error(["verify", "jwt", "--bundle", "=" + PATHS["main"],
                                 "--audience", AUD])

    def test_bundle_empty_path(self):
        self.assert_usage_error(["verify", "jwt", "--bundle", TD + "=", "--audience", AUD])

    def test_bundle_uppercase_domain(self):
        self.assert_usage_error(["verify", "jwt", "--bundle", "Example.org=" + PATHS["main"],
                                 "--audience", AUD])

    def test_bundle_domain_256(self):
        trust_domain = "a" * 252 + ".org"
        self.assert_usage_error(["verify", "jwt", "--bundle", f"{trust_domain}={PATHS['main']}",
                                 "--audience", AUD])

    def test_bundle_id_with_path(self):
        self.assert_usage_error(["verify", "jwt", "--bundle",
                                 f"spiffe://example.org/x={PATHS['main']}", "--audience", AUD])

    def test_bundle_twice(self):
        self.assert_usage_error(["verify", "jwt", "--bundle", f"{TD}={PATHS['main']}",
                                 "--bundle", f"{TD}={PATHS['other']}", "--audience", AUD])

    def test_unknown_option(self):
        self.assert_usage_error(self.base_arguments() + ["--no-such-option"])

    def test_now_not_number(self):
        self.assert_usage_error(["verify", "jwt", "--bundle", f"{TD}={PATHS['main']}",
                                 "--audience", AUD, "--now", "yesterday"])

    def test_leeway_invalid(self):
        for value in ("-1", "abc", "3601", ""):
            with self.subTest(leeway=value):
                self.assert_usage_error(self.base_arguments() + ["--leeway", value])

    def test_leeway_max(self):
        token = make_token(claims={"exp": NOW - 3599})
        run = harness.run_svidgate(self.base_arguments() + ["--leeway", "3600"],
                                   (token + "\n").encode())
        self.assertEqual(run.returncode, 0, run.describe())

    def test_verify_without_kind(self):
        self.assert_usage_error(["verify"])

    def test_verify_unknown_kind(self):
        self.assert_usage_error(["verify", "jwe", "--bundle", f"{TD}={PATHS['main']}",
                                 "--audience", AUD])

    def test_verify_jwt_help(self):
        run = harness.run_svidgate(["verify", "jwt", "--help"])
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertIn("--audience", run.stdout + run.stderr)

    def test_help(self):
        run = harness.run_svidgate(["--help"])
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertIn("verify", run.stdout + run.stderr)


class Limits(RulesTestCase):
    """The token size limit (16384 bytes) and oversized input lines."""

    def test_token_16384(self):
        token = token_of_length(16384)
        self.assertEqual(len(token), 16384)
        self.assert_valid(token)

    def test_token_16385(self):
        token = token_of_length(16385)
        self.assertEqual(len(token), 16385)
        self.assert_rejected(token, "malformed")

    def test_huge_line(self):
        # A 4 MiB line is one malformed result; later lines still verify.
        run = self.verify("A" * (4 * 1024 * 1024), make_token())
        self.assert_output_parses(run)
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertEqual([result.get("error") for result in run.results], ["malformed", None])


def token_of_length(length):
    """Return a valid ES256 token of exactly length characters."""
    for spaces in range(4):
        header_text = "{" + " " * spaces + '"alg":"ES256","kid":"es256","typ":"JWT"}'
        header_b64 = mint.b64url(header_text)
        payload_length = length - len(header_b64) - 2 - 86
        if payload_length % 4 == 1:
            continue
        byte_count = 3 * (payload_length // 4) + {0: 0, 2: 1, 3: 2}[payload_length % 4]
        base_text = mint.compact_json(make_claims({"pad": ""}))
        claims_text = base_text.replace('"pad":""', '"pad":"' + "p" * (byte_count - len(base_text)) + '"')
        token = make_token(header_text=header_text, claims_text=claims_text)
        assert len(token) == length, (len(token), length)
        return token
    raise AssertionError(f"cannot build a token of {length} characters")


if __name__ == "__main__":
    harness.main()
