/*
 * Wycheproof signature vectors through the JWT signature path.
 *
 * ECDSA P1363 (ES256/384/512), RSASSA-PKCS1-v1_5 (RS256/384/512) and
 * RSASSA-PSS with MGF1 of the same hash and salt = hash length
 * (PS256/384/512): every test case goes through sg_signature_verify with
 * the group's key read by the JWK parser. "acceptable" cases count as
 * reject. The JWS and JWK-set files run whole compact tokens through
 * sg_jws_parse, a one-key SPIFFE bundle and sg_jws_verify.
 */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/bundle.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "core/verifier.h"

static struct sg_verifier *verifier;

/* JWS cases where svidgate's verdict differs from Wycheproof's, on purpose. */
struct deviation {
    const char *file;
    int tc_id;
    enum sg_error expected;
    const char *reason;
};

static const struct deviation deviations[] = {
    /* ROCA-vulnerable moduli (CVE-2017-15361) are not fingerprinted; the
     * signature itself is correct, so svidgate accepts the token. */
    { "json_web_key_test.json", 7, SG_OK, "ROCA modulus is not detected" },
    /* A '?' inside the header: lenient decoders skip it and read an
     * HS256 header, but strict base64url rejects the token first. */
    { "json_web_signature_test.json", 372, SG_ERR_MALFORMED, "strict base64url" },
    /* A key whose JWK "alg" is PS512 verifying a correct PS256 or PS384
     * signature. Wycheproof calls this invalid here, yet calls a key with
     * "alg" PS256 verifying PS384 valid (tc 346, 350). svidgate binds the
     * JWK "alg" to its family only (RS, PS or ES), which satisfies the
     * latter and rejects RS256 with a PS key (tc 332, 334, 336). */
    { "json_web_signature_test.json", 338, SG_OK, "JWK alg binds the family, not the hash" },
    { "json_web_signature_test.json", 340, SG_OK, "JWK alg binds the family, not the hash" },
};

static const struct deviation *find_deviation(const char *file, int tc_id)
{
    for (size_t i = 0; i < sizeof(deviations) / sizeof(deviations[0]); i++) {
        if (strcmp(deviations[i].file, file) == 0 && deviations[i].tc_id == tc_id)
            return &deviations[i];
    }
    return NULL;
}

static json_t *load_vectors(const char *file)
{
    char path[4096];
    json_error_t error;
    json_t *root;

    snprintf(path, sizeof(path), "%s/wycheproof/testvectors_v1/%s", sg_test_vectors_dir(), file);
    root = json_load_file(path, 0, &error);
    if (root == NULL)
        fail_msg("cannot load %s: %s", path, error.text);
    return root;
}

/* Maps a Wycheproof hash name and key kind to a JWS algorithm. */
static enum sg_jws_alg alg_for(const char *family, const char *sha)
{
    static const struct {
        const char *family, *sha;
        enum sg_jws_alg alg;
    } table[] = {
        { "ES", "SHA-256", SG_ALG_ES256 }, { "ES", "SHA-384", SG_ALG_ES384 },
        { "ES", "SHA-512", SG_ALG_ES512 }, { "RS", "SHA-256", SG_ALG_RS256 },
        { "RS", "SHA-384", SG_ALG_RS384 }, { "RS", "SHA-512", SG_ALG_RS512 },
        { "PS", "SHA-256", SG_ALG_PS256 }, { "PS", "SHA-384", SG_ALG_PS384 },
        { "PS", "SHA-512", SG_ALG_PS512 },
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].family, family) == 0 && strcmp(table[i].sha, sha) == 0)
            return table[i].alg;
    }
    fail_msg("no JWS algorithm for %s with %s", family, sha);
    return SG_ALG_ES256;
}

/* Encodes bytes as unpadded base64url, independently of core/base64.c. */
static json_t *base64url_string(const uint8_t *data, size_t len)
{
    char encoded[256];
    int n = EVP_EncodeBlock((unsigned char *)encoded, data, (int)len);

    assert_true(n > 0 && (size_t)n < sizeof(encoded));
    while (n > 0 && encoded[n - 1] == '=')
        n--;
    for (int i = 0; i < n; i++)
        if (encoded[i] == '+')
            encoded[i] = '-';
        else if (encoded[i] == '/')
            encoded[i] = '_';
    return json_stringn(encoded, (size_t)n);
}

/*
 * Returns the group's EC key as a JWK. A few edge-case groups have no
 * publicKeyJwk, so it is built from the uncompressed point 04||X||Y.
 */
static json_t *ec_group_jwk(const json_t *group)
{
    const json_t *public_key = json_object_get(group, "publicKey");
    const char *curve = json_string_value(json_object_get(public_key, "curve"));
    const char *crv = strcmp(curve, "secp256r1") == 0   ? "P-256"
                      : strcmp(curve, "secp384r1") == 0 ? "P-384"
                                                        : "P-521";
    size_t point_len, half;
    uint8_t *point;
    json_t *jwk;

    if (json_object_get(group, "publicKeyJwk") != NULL)
        return json_incref(json_object_get(group, "publicKeyJwk"));

    point = sg_test_hex_decode(json_string_value(json_object_get(public_key, "uncompressed")),
                               &point_len);
    assert_non_null(point);
    assert_int_equal(point[0], 0x04);
    half = (point_len - 1) / 2;
    jwk = json_pack("{s:s, s:s, s:o, s:o}", "kty", "EC", "crv", crv, "x",
                    base64url_string(point + 1, half), "y",
                    base64url_string(point + 1 + half, half));
    free(point);
    return jwk;
}

/* Runs one signature file; returns the number of disagreements. */
static int run_signature_file(const char *file, const char *family, const char *key_member)
{
    json_t *root = load_vectors(file);
    size_t group_index, test_index;
    json_t *group, *test;
    int disagreements = 0, cases = 0;

    json_array_foreach(json_object_get(root, "testGroups"), group_index, group) {
        struct sg_jwk key;
        struct sg_status status;
        enum sg_jws_alg alg =
            alg_for(family, json_string_value(json_object_get(group, "sha")));

        if (strcmp(family, "PS") == 0) {
            /* Only MGF1 with the signature hash and salt = hash length is JWS PS*. */
            assert_string_equal(json_string_value(json_object_get(group, "mgfSha")),
                                json_string_value(json_object_get(group, "sha")));
        }
        json_t *jwk = strcmp(family, "ES") == 0 ? ec_group_jwk(group)
                                                 : json_incref(json_object_get(group, key_member));

        if (sg_jwk_parse(jwk, &key, &status) != SG_OK)
            fail_msg("%s group %zu: key rejected: %s", file, group_index, status.message);
        json_decref(jwk);

        json_array_foreach(json_object_get(group, "tests"), test_index, test) {
            size_t msg_len, sig_len;
            uint8_t *msg = sg_test_hex_decode(json_string_value(json_object_get(test, "msg")),
                                              &msg_len);
            uint8_t *sig = sg_test_hex_decode(json_string_value(json_object_get(test, "sig")),
                                              &sig_len);
            const char *expected = json_string_value(json_object_get(test, "result"));
            bool want_valid = strcmp(expected, "valid") == 0;
            bool got_valid;

            assert_non_null(msg);
            assert_non_null(sig);
            got_valid = sg_signature_verify(verifier, alg, &key, sg_slice_make(msg, msg_len),
                                            sg_slice_make(sig, sig_len), &status) == SG_OK;
            if (got_valid != want_valid) {
                print_error("%s tc %lld: expected %s, got %s (%s)\n", file,
                            json_integer_value(json_object_get(test, "tcId")), expected,
                            got_valid ? "valid" : "invalid", status.message);
                disagreements++;
            }
            cases++;
            free(msg);
            free(sig);
        }
        sg_jwk_clear(&key);
    }
    json_decref(root);
    assert_true(cases > 100);
    return disagreements;
}

static void test_ecdsa_p1363(void **state)
{
    (void)state;
    assert_int_equal(run_signature_file("ecdsa_secp256r1_sha256_p1363_test.json", "ES",
                                        "publicKeyJwk"), 0);
    assert_int_equal(run_signature_file("ecdsa_secp384r1_sha384_p1363_test.json", "ES",
                                        "publicKeyJwk"), 0);
    assert_int_equal(run_signature_file("ecdsa_secp521r1_sha512_p1363_test.json", "ES",
                                        "publicKeyJwk"), 0);
}

static void test_rsa_pkcs1(void **state)
{
    static const char *const files[] = {
        "rsa_signature_2048_sha256_test.json", "rsa_signature_2048_sha384_test.json",
        "rsa_signature_2048_sha512_test.json", "rsa_signature_3072_sha256_test.json",
        "rsa_signature_3072_sha384_test.json", "rsa_signature_3072_sha512_test.json",
        "rsa_signature_4096_sha256_test.json", "rsa_signature_4096_sha384_test.json",
        "rsa_signature_4096_sha512_test.json",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        assert_int_equal(run_signature_file(files[i], "RS", "keyJwk"), 0);
}

static void test_rsa_pss(void **state)
{
    static const char *const files[] = {
        "rsa_pss_2048_sha256_mgf1_32_test.json", "rsa_pss_3072_sha256_mgf1_32_test.json",
        "rsa_pss_4096_sha256_mgf1_32_test.json", "rsa_pss_2048_sha384_mgf1_48_test.json",
        "rsa_pss_4096_sha384_mgf1_48_test.json", "rsa_pss_4096_sha512_mgf1_64_test.json",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        assert_int_equal(run_signature_file(files[i], "PS", "publicKeyJwk"), 0);
}

/*
 * Copies a JWK as a jwt-svid bundle entry: "use": "sig", or key_ops with
 * "verify", become "use": "jwt-svid"; a key meant for encryption keeps
 * its use and so is skipped by the bundle parser.
 */
static json_t *as_bundle_entry(const json_t *jwk)
{
    json_t *entry = json_deep_copy(jwk);
    const json_t *use = json_object_get(entry, "use");
    const json_t *ops = json_object_get(entry, "key_ops");
    bool signing = use == NULL && ops == NULL;
    size_t index;
    const json_t *op;

    if (json_is_string(use) && strcmp(json_string_value(use), "sig") == 0)
        signing = true;
    json_array_foreach(ops, index, op) {
        if (strcmp(json_string_value(op), "verify") == 0)
            signing = true;
    }
    if (signing)
        json_object_set_new(entry, "use", json_string("jwt-svid"));
    return entry;
}

/*
 * Verifies a compact JWS against a bundle made of `keys` (a JSON array
 * of JWKs). Returns the verdict; *alg_allowed is false when the header
 * names an algorithm outside the allowlist.
 */
static enum sg_error verify_with_keys(const char *token, const json_t *keys, bool *alg_allowed)
{
    json_t *bundle_json = json_pack("{s:[]}", "keys");
    struct sg_bundle *bundle = NULL;
    struct sg_status status;
    struct sg_jws jws;
    char *text;
    size_t index;
    const json_t *key;
    enum sg_error err;

    json_array_foreach(keys, index, key)
        json_array_append_new(json_object_get(bundle_json, "keys"), as_bundle_entry(key));
    text = json_dumps(bundle_json, 0);
    assert_int_equal(sg_bundle_parse(sg_slice_cstr("example.org"), sg_slice_cstr(text), &bundle,
                                     &status), SG_OK);
    free(text);
    json_decref(bundle_json);

    err = sg_jws_parse(sg_slice_cstr(token), &jws, &status);
    *alg_allowed = err != SG_ERR_UNSUPPORTED_ALG;
    if (err == SG_OK) {
        const struct sg_jwk *jwk = sg_bundle_find_jwt_key(bundle, jws.kid);

        err = jwk == NULL ? SG_ERR_UNKNOWN_KEY : sg_jws_verify(verifier, &jws, jwk, &status);
    }
    sg_jws_clear(&jws);
    sg_bundle_free(bundle);
    return err;
}

/* Runs a JWS or JWK-set file; returns the number of disagreements. */
static int run_jws_file(const char *file)
{
    json_t *root = load_vectors(file);
    size_t group_index, test_index;
    json_t *group, *test;
    int disagreements = 0;

    json_array_foreach(json_object_get(root, "testGroups"), group_index, group) {
        const json_t *public_key = json_object_get(group, "public");
        json_t *keys;

        /* A group without a public key uses its private (symmetric) key, which must fail. */
        if (public_key == NULL)
            public_key = json_object_get(group, "private");
        keys = json_is_array(json_object_get(public_key, "keys"))
                   ? json_incref(json_object_get(public_key, "keys"))
                   : json_pack("[O]", public_key);

        json_array_foreach(json_object_get(group, "tests"), test_index, test) {
            int tc_id = (int)json_integer_value(json_object_get(test, "tcId"));
            const char *expected = json_string_value(json_object_get(test, "result"));
            bool alg_allowed;
            enum sg_error got = verify_with_keys(json_string_value(json_object_get(test, "jws")),
                                                 keys, &alg_allowed);
            bool ok;

            /* The JWT-SVID allowlist turns "valid" HS* tokens into unsupported_alg. */
            if (strcmp(expected, "valid") == 0 && alg_allowed)
                ok = got == SG_OK;
            else if (strcmp(expected, "valid") == 0)
                ok = got == SG_ERR_UNSUPPORTED_ALG;
            else
                ok = got != SG_OK;

            if (find_deviation(file, tc_id) != NULL)
                ok = got == find_deviation(file, tc_id)->expected;
            if (!ok) {
                print_error("%s tc %d: expected %s, got %s\n", file, tc_id, expected,
                            sg_error_name(got));
                disagreements++;
            }
        }
        json_decref(keys);
    }
    json_decref(root);
    return disagreements;
}

static void test_json_web_signature(void **state)
{
    (void)state;
    assert_int_equal(run_jws_file("json_web_signature_test.json"), 0);
}

static void test_json_web_key(void **state)
{
    (void)state;
    assert_int_equal(run_jws_file("json_web_key_test.json"), 0);
}

static int setup(void **state)
{
    (void)state;
    verifier = sg_verifier_new();
    return verifier == NULL;
}

static int teardown(void **state)
{
    (void)state;
    sg_verifier_free(verifier);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecdsa_p1363),
        cmocka_unit_test(test_rsa_pkcs1),
        cmocka_unit_test(test_rsa_pss),
        cmocka_unit_test(test_json_web_signature),
        cmocka_unit_test(test_json_web_key),
    };

    (void)sg_test_vectors_dir();
    return cmocka_run_group_tests(tests, setup, teardown);
}
