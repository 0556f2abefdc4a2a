/*
 * Unit tests of core/bundle.c and core/trust_set.c: SPIFFE bundle JSON
 * and PEM parsing, the per-entry skip counters, the size limits, and
 * the trust set.
 *
 * The go-spiffe v2.8.1 bundle test files are read from the public
 * vectors folder. svidgate deliberately differs from go-spiffe in four
 * places, and these tests assert svidgate's behaviour:
 * - a jwt-svid entry without a kid is skipped, not fatal to the bundle;
 * - an x509-svid entry with several x5c values uses the first one;
 * - a plain JWK Set (no `use` members) yields no usable key, because
 *   `use` is required in a SPIFFE bundle;
 * - an empty PEM file is an error, not an empty bundle.
 */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bundle.h"
#include "core/limits.h"

#define TRUST_DOMAIN "example.org"

/* Public P-256 keys from go-spiffe's jwks_valid_2.json. */
#define KEY1_KID "C6vs25welZOx6WksNYfbMfiw9l96pMnD"
#define KEY1_XY                                                  \
    "\"kty\":\"EC\",\"crv\":\"P-256\","                          \
    "\"x\":\"ngLYQnlfF6GsojUwqtcEE3WgTNG2RUlsGhK73RNEl5k\","     \
    "\"y\":\"tKbiDSUSsQ3F1P7wteeHNXIcU-cx6CgSbroeQrQHTLM\""
#define KEY2_XY                                                  \
    "\"kty\":\"EC\",\"crv\":\"P-256\","                          \
    "\"x\":\"7MGOl06DP9df2u8oHY6lqYFIoQWzCj9UYlp-MFeEYeY\","     \
    "\"y\":\"PSLLy5Pg0_kNGFFXq_eeq9kYcGDM3MPHJ6ncteNOr6w\""
/* KEY1 with the last character of y changed: not on the curve. */
#define KEY1_OFF_CURVE_XY                                        \
    "\"kty\":\"EC\",\"crv\":\"P-256\","                          \
    "\"x\":\"ngLYQnlfF6GsojUwqtcEE3WgTNG2RUlsGhK73RNEl5k\","     \
    "\"y\":\"tKbiDSUSsQ3F1P7wteeHNXIcU-cx6CgSbroeQrQHTLQ\""

/* Throwaway RSA public keys generated for these tests (e = 65537). */
#define RSA1024_NE                                                                          \
    "\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"uON4nrXcQj_WPoppb5cZEx0polIDfJfqgjjgccoupCGbiq" \
    "lBgX_vBwxbU2aLslXCY0eWhFHUB3UaYirtwuA9EKTvTWhEW9ZE2SoIjLAQ7NSS4dRxv4LzXngUSnje4FZQhl" \
    "k9kNkBoyPTvvlkppj9vC-2-YHbxFyfFXpxgdkSkeM\""
#define RSA2048_N                                                                           \
    "\"n\":\"vV9nEpxvOTxEUU1G-Oz5S8CMp3JDIFErGw1gTVG9xfenv0-L5xzqZaEEBBFUGZNPJUcbCxpyLiEx7" \
    "8vUbOGqetbeI8QB0TeItnc--dtCojxucRqNRiIaIn530fK7oTZ23ceAn34pLK9SpyOyECDC48Y5FDNH2WDzyS" \
    "l83B5jJEQ3nt_X6hgt6ql9nniVmU5ckT7OO6BXSeEt1DyUenRF0fWTEXJTlCjox2yGq_iDdyncAFO1VynRhz" \
    "NlElHB7CKaohWY3f7Lu93GIEH5yc5C10dQeSGDTj_M9vk6cqRVx0KtilzgKUGlcHsZlODtSBAVZNgslDuWPCS" \
    "qzhBtPUBpkQ\""
#define RSA2048_NE "\"kty\":\"RSA\",\"e\":\"AQAB\"," RSA2048_N

static enum sg_error parse_bundle(const void *text, size_t len, struct sg_bundle **out,
                                  struct sg_status *status)
{
    *out = NULL;
    memset(status, 0, sizeof(*status));
    return sg_bundle_parse(sg_slice_cstr(TRUST_DOMAIN), sg_slice_make(text, len), out, status);
}

/* Parses text that must load; fails the test with svidgate's message otherwise. */
static struct sg_bundle *parse_ok(const char *label, const void *text, size_t len)
{
    struct sg_bundle *bundle;
    struct sg_status status;
    enum sg_error err = parse_bundle(text, len, &bundle, &status);

    if (err != SG_OK)
        fail_msg("%s: expected the bundle to load, got %s (%s)", label, sg_error_name(err),
                 status.message);
    assert_non_null(bundle);
    assert_non_null(bundle->x509_authorities);
    return bundle;
}

static void expect_malformed(const char *label, const void *text, size_t len)
{
    struct sg_bundle *bundle;
    struct sg_status status;
    enum sg_error err = parse_bundle(text, len, &bundle, &status);

    if (err != SG_ERR_MALFORMED) {
        sg_bundle_free(bundle);
        fail_msg("%s: expected malformed, got %s", label, sg_error_name(err));
    }
    assert_int_equal(status.error, SG_ERR_MALFORMED);
    if (status.message[0] == '\0')
        fail_msg("%s: rejected without a message", label);
    assert_null(bundle);
}

static struct sg_bundle *parse_text_ok(const char *text)
{
    return parse_ok(text, text, strlen(text));
}

static void expect_text_malformed(const char *text)
{
    expect_malformed(text, text, strlen(text));
}

static char *read_vector(const char *relative, size_t *len)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/go-spiffe/%s", sg_test_vectors_dir(), relative);
    return sg_test_read_file(path, len);
}

static struct sg_bundle *parse_vector_ok(const char *relative)
{
    size_t len;
    char *text = read_vector(relative, &len);
    struct sg_bundle *bundle = parse_ok(relative, text, len);

    free(text);
    return bundle;
}

static void expect_vector_malformed(const char *relative)
{
    size_t len;
    char *text = read_vector(relative, &len);

    expect_malformed(relative, text, len);
    free(text);
}

static size_t x509_count(const struct sg_bundle *bundle)
{
    return (size_t)sk_X509_num(bundle->x509_authorities);
}

static size_t skipped_total(const struct sg_bundle *bundle)
{
    size_t total = 0;

    for (int reason = 0; reason < SG_SKIP_REASON_COUNT; reason++)
        total += bundle->skipped[reason];
    return total;
}

static bool has_jwt_key(const struct sg_bundle *bundle, const char *kid)
{
    return sg_bundle_find_jwt_key(bundle, sg_slice_cstr(kid)) != NULL;
}

#define SPIFFE_DIR "bundle/spiffebundle/testdata/"
#define JWKS_DIR "bundle/jwtbundle/testdata/"
#define X509_DIR "bundle/x509bundle/testdata/"

/* go-spiffe spiffebundle #2: one X.509 and one JWT authority, no hint or sequence. */
static void test_spiffe_valid_1(void **state)
{
    struct sg_bundle *bundle = parse_vector_ok(SPIFFE_DIR "spiffebundle_valid_1.json");
    const struct sg_jwk *key;

    (void)state;
    assert_int_equal(bundle->format, SG_BUNDLE_SPIFFE_JSON);
    assert_true(sg_slice_eq_cstr(sg_bundle_trust_domain(bundle), TRUST_DOMAIN));
    assert_int_equal(bundle->jwt_key_count, 1);
    assert_int_equal(x509_count(bundle), 1);
    assert_false(bundle->has_sequence);
    assert_false(bundle->has_refresh_hint);
    assert_int_equal(skipped_total(bundle), 0);
    key = sg_bundle_find_jwt_key(bundle, sg_slice_cstr(KEY1_KID));
    assert_non_null(key);
    assert_int_equal(key->type, SG_KEY_EC_P256);
    assert_true(sg_slice_eq_cstr(sg_jwk_kid(key), KEY1_KID));
    sg_bundle_free(bundle);
}

/* go-spiffe spiffebundle #3: six JWT keys, hint 60 s, sequence 1. */
static void test_spiffe_valid_2(void **state)
{
    static const char *const kids[] = {
        "IRsID4VIM3T11TsK43Ny1DgCD5UNWhva", "qjwWkiMpkHzIxsSrAsLxSZ2WZ8AyMESx",
        "uNhqAaPI7NDn7IHOsa2ac1BF4O5qGxjZ", "y3UHKFp0WqPpG7gVr3FKieiEzwH8fTMm",
        "mbrcuIaIUUapdCCmhQon4xJSicDmAVfK", "cHPeHMMEtvTeSMBc20DzPPhkF41BN2WJ",
    };
    struct sg_bundle *bundle = parse_vector_ok(SPIFFE_DIR "spiffebundle_valid_2.json");

    (void)state;
    assert_int_equal(bundle->jwt_key_count, 6);
    assert_int_equal(x509_count(bundle), 1);
    assert_true(bundle->has_refresh_hint);
    assert_int_equal(bundle->refresh_hint, 60);
    assert_true(bundle->has_sequence);
    assert_int_equal(bundle->sequence, 1);
    assert_int_equal(skipped_total(bundle), 0);
    for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
        assert_true(has_jwt_key(bundle, kids[i]));
    assert_false(has_jwt_key(bundle, KEY1_KID));
    sg_bundle_free(bundle);
}

/* go-spiffe spiffebundle #7: the two wit-svid keys are not JWT-SVID keys here. */
static void test_spiffe_valid_with_wit(void **state)
{
    struct sg_bundle *bundle = parse_vector_ok(SPIFFE_DIR "spiffebundle_valid_with_wit.json");

    (void)state;
    assert_int_equal(bundle->jwt_key_count, 2);
    assert_int_equal(x509_count(bundle), 1);
    assert_int_equal(bundle->skipped[SG_SKIP_UNKNOWN_USE], 2);
    assert_int_equal(skipped_total(bundle), 2);
    assert_true(has_jwt_key(bundle, "IRsID4VIM3T11TsK43Ny1DgCD5UNWhva"));
    assert_true(has_jwt_key(bundle, "qjwWkiMpkHzIxsSrAsLxSZ2WZ8AyMESx"));
    assert_false(has_jwt_key(bundle, "uNhqAaPI7NDn7IHOsa2ac1BF4O5qGxjZ"));
    assert_false(has_jwt_key(bundle, "y3UHKFp0WqPpG7gVr3FKieiEzwH8fTMm"));
    assert_true(bundle->has_sequence);
    assert_int_equal(bundle->sequence, 1);
    assert_true(bundle->has_refresh_hint);
    assert_int_equal(bundle->refresh_hint, 60);
    sg_bundle_free(bundle);
}

/* go-spiffe rejects this bundle; svidgate skips the kid-less jwt-svid entry. */
static void test_spiffe_missing_kid(void **state)
{
    struct sg_bundle *bundle = parse_vector_ok(SPIFFE_DIR "spiffebundle_missing_kid.json");

    (void)state;
    assert_int_equal(bundle->jwt_key_count, 0);
    assert_int_equal(x509_count(bundle), 1);
    assert_int_equal(bundle->skipped[SG_SKIP_MISSING_KID], 1);
    assert_int_equal(skipped_total(bundle), 1);
    sg_bundle_free(bundle);
}

/* go-spiffe spiffebundle #5: `keys` is required. */
static void test_spiffe_no_keys(void **state)
{
    (void)state;
    expect_vector_malformed(SPIFFE_DIR "spiffebundle_no_keys.json");
}

/* go-spiffe rejects two x5c values; svidgate uses the first. */
static void test_spiffe_multiple_x509(void **state)
{
    struct sg_bundle *bundle = parse_vector_ok(SPIFFE_DIR "spiffebundle_multiple_x509.json");

    (void)state;
    assert_int_equal(x509_count(bundle), 1);
    assert_int_equal(bundle->jwt_key_count, 1);
    assert_int_equal(bundle->skipped[SG_SKIP_BAD_X5C], 0);
    assert_true(has_jwt_key(bundle, KEY1_KID));
    sg_bundle_free(bundle);
}

/* go-spiffe jwtbundle files are plain JWK Sets: without `use`, no entry is usable. */
static void test_jwks_without_use(void **state)
{
    static const struct {
        const char *file;
        size_t entries;
    } cases[] = {
        { JWKS_DIR "jwks_valid_1.json", 1 },
        { JWKS_DIR "jwks_valid_2.json", 2 },
        { JWKS_DIR "jwks_missing_kid.json", 2 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sg_bundle *bundle = parse_vector_ok(cases[i].file);

        assert_int_equal(bundle->jwt_key_count, 0);
        assert_int_equal(x509_count(bundle), 0);
        assert_int_equal(bundle->skipped[SG_SKIP_UNKNOWN_USE], cases[i].entries);
        assert_int_equal(skipped_total(bundle), cases[i].entries);
        sg_bundle_free(bundle);
    }
}

/* go-spiffe x509bundle: PEM files of authorities. */
static void test_pem_cert(void **state)
{
    struct sg_bundle *bundle = parse_vector_ok(X509_DIR "cert.pem");

    (void)state;
    assert_int_equal(bundle->format, SG_BUNDLE_PEM);
    assert_int_equal(x509_count(bundle), 1);
    assert_int_equal(bundle->jwt_key_count, 0);
    assert_false(bundle->has_sequence);
    assert_false(bundle->has_refresh_hint);
    sg_bundle_free(bundle);
}

static void test_pem_certs(void **state)
{
    struct sg_bundle *bundle = parse_vector_ok(X509_DIR "certs.pem");

    (void)state;
    assert_int_equal(bundle->format, SG_BUNDLE_PEM);
    assert_int_equal(x509_count(bundle), 2);
    sg_bundle_free(bundle);
}

/* go-spiffe accepts an empty PEM file as an empty bundle; svidgate requires a certificate. */
static void test_pem_empty(void **state)
{
    (void)state;
    expect_vector_malformed(X509_DIR "empty.pem");
}

static void test_pem_not_pem(void **state)
{
    (void)state;
    expect_vector_malformed(X509_DIR "not-pem.pem");
}

/* 48 bytes after the certificate's outer SEQUENCE: Go rejects it, so must svidgate. */
static void test_pem_corrupted(void **state)
{
    (void)state;
    expect_vector_malformed(X509_DIR "corrupted.pem");
}

/* A private key block alone holds no certificate. */
static void test_pem_key_only(void **state)
{
    (void)state;
    expect_vector_malformed(X509_DIR "key.pem");
}

static void test_empty_input(void **state)
{
    (void)state;
    expect_malformed("empty input", "", 0);
    expect_text_malformed("   \n");
}

static void test_keys_empty(void **state)
{
    struct sg_bundle *bundle = parse_text_ok("{\"keys\":[]}");

    (void)state;
    assert_int_equal(bundle->format, SG_BUNDLE_SPIFFE_JSON);
    assert_int_equal(bundle->jwt_key_count, 0);
    assert_int_equal(x509_count(bundle), 0);
    assert_int_equal(skipped_total(bundle), 0);
    sg_bundle_free(bundle);
}

static void test_keys_wrong_type(void **state)
{
    (void)state;
    expect_text_malformed("{\"keys\":{}}");
    expect_text_malformed("{\"keys\":null}");
    expect_text_malformed("{\"keys\":\"\"}");
    expect_text_malformed("{}");
}

static void test_json_syntax(void **state)
{
    (void)state;
    expect_text_malformed("{\"keys\":[");
    expect_text_malformed("{\"keys\":[]} trailing");
    expect_text_malformed("{\"keys\":[]}{}");
    expect_text_malformed("{\"keys\":[],}");
}

static void test_duplicate_member(void **state)
{
    (void)state;
    expect_text_malformed("{\"keys\":[],\"keys\":[]}");
    expect_text_malformed("{\"keys\":[],\"spiffe_sequence\":1,\"spiffe_sequence\":2}");
    expect_text_malformed("{\"keys\":[{\"use\":\"jwt-svid\",\"kid\":\"a\",\"kid\":\"b\"," KEY1_XY
                          "}]}");
}

static void test_unknown_members_ignored(void **state)
{
    struct sg_bundle *bundle = parse_text_ok(
        "{\"x-vendor\":{\"a\":[1,2]},\"keys\":[{\"use\":\"jwt-svid\",\"kid\":\"k\","
        "\"key_ops\":[\"verify\"],\"x-note\":\"n\"," KEY1_XY "}],\"spiffe_other\":true}");

    (void)state;
    assert_int_equal(bundle->jwt_key_count, 1);
    assert_true(has_jwt_key(bundle, "k"));
    sg_bundle_free(bundle);
}

static void test_sequence_and_hint(void **state)
{
    struct sg_bundle *bundle = parse_text_ok(
        "{\"keys\":[],\"spiffe_sequence\":9007199254740993,\"spiffe_refresh_hint\":300}");

    (void)state;
    assert_true(bundle->has_sequence);
    assert_int_equal(bundle->sequence, 9007199254740993ULL);
    assert_true(bundle->has_refresh_hint);
    assert_int_equal(bundle->refresh_hint, 300);
    sg_bundle_free(bundle);
}

/* Both members are integers (bundle spec 4.1.1, 4.1.2); the hint is stored as published. */
static void test_sequence_and_hint_types(void **state)
{
    struct sg_bundle *bundle = parse_text_ok("{\"keys\":[],\"spiffe_refresh_hint\":-5}");

    (void)state;
    assert_true(bundle->has_refresh_hint);
    assert_int_equal(bundle->refresh_hint, -5);
    assert_false(bundle->has_sequence);
    sg_bundle_free(bundle);

    expect_text_malformed("{\"keys\":[],\"spiffe_sequence\":-1}");
    expect_text_malformed("{\"keys\":[],\"spiffe_sequence\":\"1\"}");
    expect_text_malformed("{\"keys\":[],\"spiffe_sequence\":1.5}");
    expect_text_malformed("{\"keys\":[],\"spiffe_refresh_hint\":\"60\"}");
    expect_text_malformed("{\"keys\":[],\"spiffe_refresh_hint\":1.5}");
}

/* One unusable entry of each kind next to one good key. */
static void test_skip_reasons(void **state)
{
    static const char text[] =
        "{\"keys\":["
        "{\"kid\":\"no-use\"," KEY2_XY "},"
        "{\"use\":\"enc\",\"kid\":\"enc-use\"," KEY2_XY "},"
        "{\"use\":\"JWT-SVID\",\"kid\":\"upper-use\"," KEY2_XY "},"
        "{\"use\":\"wit-svid\",\"kid\":\"wit\"," KEY2_XY "},"
        "{\"use\":\"jwt-svid\"," KEY2_XY "},"
        "{\"use\":\"jwt-svid\",\"kid\":\"private\",\"d\":\"AAAA\"," KEY2_XY "},"
        "{\"use\":\"jwt-svid\",\"kid\":\"oct\",\"kty\":\"oct\",\"k\":\"c2VjcmV0\"},"
        "{\"use\":\"jwt-svid\",\"kid\":\"rsa1024\"," RSA1024_NE "},"
        "{\"use\":\"jwt-svid\",\"kid\":\"off-curve\"," KEY1_OFF_CURVE_XY "},"
        "{\"use\":\"jwt-svid\",\"kid\":\"okp\",\"kty\":\"OKP\",\"crv\":\"Ed25519\","
        "\"x\":\"ERERERERERERERERERERERERERERERERERERERERERE\"},"
        "{\"use\":\"jwt-svid\",\"kid\":\"dup\"," KEY1_XY "},"
        "{\"use\":\"jwt-svid\",\"kid\":\"dup\"," KEY2_XY "},"
        "{\"use\":\"x509-svid\"," KEY2_XY "},"
        "{\"use\":\"x509-svid\",\"x5c\":[]," KEY2_XY "},"
        "{\"use\":\"jwt-svid\",\"kid\":\"good\"," KEY1_XY "}"
        "]}";
    struct sg_bundle *bundle = parse_text_ok(text);

    (void)state;
    assert_int_equal(bundle->jwt_key_count, 1);
    assert_true(has_jwt_key(bundle, "good"));
    assert_int_equal(x509_count(bundle), 0);
    assert_int_equal(bundle->skipped[SG_SKIP_UNKNOWN_USE], 4);
    assert_int_equal(bundle->skipped[SG_SKIP_MISSING_KID], 1);
    assert_int_equal(bundle->skipped[SG_SKIP_BAD_KEY], 5);
    assert_int_equal(bundle->skipped[SG_SKIP_DUPLICATE_KID], 2);
    assert_int_equal(bundle->skipped[SG_SKIP_BAD_X5C], 2);
    assert_int_equal(skipped_total(bundle), 4 + 1 + 5 + 2 + 2);
    static const char *const absent[] = {
        "no-use", "enc-use", "upper-use", "wit", "private", "oct", "rsa1024", "off-curve",
        "okp", "dup",
    };
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        if (has_jwt_key(bundle, absent[i]))
            fail_msg("kid \"%s\" should have been skipped", absent[i]);
    }
    sg_bundle_free(bundle);
}

/* `keys` elements that are not objects are skipped. bundle.h does not say under which reason. */
static void test_non_object_entries(void **state)
{
    struct sg_bundle *bundle = parse_text_ok(
        "{\"keys\":[17,\"key\",null,[],{\"use\":\"jwt-svid\",\"kid\":\"good\"," KEY1_XY "}]}");

    (void)state;
    assert_int_equal(bundle->jwt_key_count, 1);
    assert_true(has_jwt_key(bundle, "good"));
    assert_int_equal(skipped_total(bundle), 4);
    sg_bundle_free(bundle);
}

static void test_rsa_keys(void **state)
{
    static const char text[] =
        "{\"keys\":["
        "{\"use\":\"jwt-svid\",\"kid\":\"rsa2048\"," RSA2048_NE "},"
        "{\"use\":\"jwt-svid\",\"kid\":\"e-one\",\"kty\":\"RSA\",\"e\":\"AQ\"," RSA2048_N "},"
        "{\"use\":\"jwt-svid\",\"kid\":\"e-even\",\"kty\":\"RSA\",\"e\":\"AQAA\"," RSA2048_N "},"
        "{\"use\":\"jwt-svid\",\"kid\":\"no-e\",\"kty\":\"RSA\"," RSA2048_N "}"
        "]}";
    struct sg_bundle *bundle = parse_text_ok(text);
    const struct sg_jwk *key;

    (void)state;
    assert_int_equal(bundle->jwt_key_count, 1);
    key = sg_bundle_find_jwt_key(bundle, sg_slice_cstr("rsa2048"));
    assert_non_null(key);
    assert_int_equal(key->type, SG_KEY_RSA);
    assert_int_equal(key->bits, 2048);
    assert_int_equal(bundle->skipped[SG_SKIP_BAD_KEY], 3);
    sg_bundle_free(bundle);
}

/* A kid is looked up by exact bytes; the argument need not end in NUL. */
static void test_find_jwt_key(void **state)
{
    static const char kid_in_buffer[] = "goodXYZ";
    struct sg_bundle *bundle =
        parse_text_ok("{\"keys\":[{\"use\":\"jwt-svid\",\"kid\":\"good\"," KEY1_XY "}]}");

    (void)state;
    assert_non_null(sg_bundle_find_jwt_key(bundle, sg_slice_make(kid_in_buffer, 4)));
    assert_null(sg_bundle_find_jwt_key(bundle, sg_slice_make(kid_in_buffer, 3)));
    assert_null(sg_bundle_find_jwt_key(bundle, sg_slice_make(kid_in_buffer, 5)));
    assert_null(sg_bundle_find_jwt_key(bundle, sg_slice_cstr("GOOD")));
    assert_null(sg_bundle_find_jwt_key(bundle, sg_slice_make("", 0)));
    sg_bundle_free(bundle);
}

/* A growing heap string, for bundle texts too large for a literal. */
struct text_buffer {
    char *data;
    size_t len;
    size_t cap;
};

static void append(struct text_buffer *buffer, const char *text)
{
    size_t add = strlen(text);

    if (buffer->len + add + 1 > buffer->cap) {
        buffer->cap = (buffer->len + add + 1) * 2;
        buffer->data = realloc(buffer->data, buffer->cap);
        assert_non_null(buffer->data);
    }
    memcpy(buffer->data + buffer->len, text, add + 1);
    buffer->len += add;
}

static char *bundle_with_keys(size_t count, size_t *len)
{
    struct text_buffer buffer = { NULL, 0, 0 };

    append(&buffer, "{\"keys\":[");
    for (size_t i = 0; i < count; i++) {
        char entry[256];

        snprintf(entry, sizeof(entry), "%s{\"use\":\"jwt-svid\",\"kid\":\"k%zu\"," KEY1_XY "}",
                 i == 0 ? "" : ",", i);
        append(&buffer, entry);
    }
    append(&buffer, "]}");
    *len = buffer.len;
    return buffer.data;
}

static void test_keys_limit(void **state)
{
    size_t len;
    char *text = bundle_with_keys(SG_BUNDLE_KEYS_MAX, &len);
    struct sg_bundle *bundle = parse_ok("SG_BUNDLE_KEYS_MAX entries", text, len);

    (void)state;
    assert_int_equal(bundle->jwt_key_count, SG_BUNDLE_KEYS_MAX);
    sg_bundle_free(bundle);
    free(text);

    text = bundle_with_keys(SG_BUNDLE_KEYS_MAX + 1, &len);
    expect_malformed("SG_BUNDLE_KEYS_MAX + 1 entries", text, len);
    free(text);
}

static void test_size_limit(void **state)
{
    static const char document[] = "{\"keys\":[]}";
    char *text = malloc(SG_BUNDLE_MAX + 1);
    struct sg_bundle *bundle;

    (void)state;
    assert_non_null(text);
    memcpy(text, document, sizeof(document) - 1);
    memset(text + sizeof(document) - 1, ' ', SG_BUNDLE_MAX + 1 - (sizeof(document) - 1));
    bundle = parse_ok("SG_BUNDLE_MAX bytes", text, SG_BUNDLE_MAX);
    sg_bundle_free(bundle);
    expect_malformed("SG_BUNDLE_MAX + 1 bytes", text, SG_BUNDLE_MAX + 1);
    free(text);
}

static void test_skip_reason_names(void **state)
{
    (void)state;
    for (int a = 0; a < SG_SKIP_REASON_COUNT; a++) {
        const char *name = sg_skip_reason_name((enum sg_skip_reason)a);

        assert_non_null(name);
        assert_true(name[0] != '\0');
        for (int b = 0; b < a; b++)
            assert_string_not_equal(name, sg_skip_reason_name((enum sg_skip_reason)b));
    }
}

static struct sg_bundle *empty_bundle(const char *trust_domain)
{
    static const char text[] = "{\"keys\":[]}";
    struct sg_bundle *bundle;
    struct sg_status status;
    enum sg_error err = sg_bundle_parse(sg_slice_cstr(trust_domain),
                                        sg_slice_make(text, sizeof(text) - 1), &bundle, &status);

    if (err != SG_OK)
        fail_msg("bundle for %s: %s (%s)", trust_domain, sg_error_name(err), status.message);
    return bundle;
}

static void test_trust_set(void **state)
{
    static const char name_in_buffer[] = "a.testXYZ";
    struct sg_trust_set *set = sg_trust_set_new(7);
    struct sg_bundle *a = empty_bundle("a.test");
    struct sg_bundle *b = empty_bundle("b.test");
    struct sg_bundle *a_again = empty_bundle("a.test");
    struct sg_status status;

    (void)state;
    assert_non_null(set);
    assert_int_equal(set->generation, 7);
    assert_int_equal(set->count, 0);
    assert_null(sg_trust_set_find(set, sg_slice_cstr("a.test")));

    assert_int_equal(sg_trust_set_add(set, a, &status), SG_OK);
    assert_int_equal(sg_trust_set_add(set, b, &status), SG_OK);
    assert_int_equal(set->count, 2);

    assert_int_equal(sg_trust_set_add(set, a_again, &status), SG_ERR_MALFORMED);
    assert_int_equal(status.error, SG_ERR_MALFORMED);
    assert_int_equal(set->count, 2);
    /* NOTE: bundle.h does not say who owns a bundle that sg_trust_set_add
     * rejects; trust_set.c leaves it with the caller, so the test frees it. */
    sg_bundle_free(a_again);

    assert_ptr_equal(sg_trust_set_find(set, sg_slice_cstr("a.test")), a);
    assert_ptr_equal(sg_trust_set_find(set, sg_slice_cstr("b.test")), b);
    assert_ptr_equal(sg_trust_set_find(set, sg_slice_make(name_in_buffer, 6)), a);
    assert_null(sg_trust_set_find(set, sg_slice_make(name_in_buffer, 5)));
    assert_null(sg_trust_set_find(set, sg_slice_make(name_in_buffer, 7)));
    assert_null(sg_trust_set_find(set, sg_slice_cstr("A.test")));
    assert_null(sg_trust_set_find(set, sg_slice_cstr("c.test")));
    assert_null(sg_trust_set_find(set, sg_slice_cstr("")));
    sg_trust_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spiffe_valid_1),
        cmocka_unit_test(test_spiffe_valid_2),
        cmocka_unit_test(test_spiffe_valid_with_wit),
        cmocka_unit_test(test_spiffe_missing_kid),
        cmocka_unit_test(test_spiffe_no_keys),
        cmocka_unit_test(test_spiffe_multiple_x509),
        cmocka_unit_test(test_jwks_without_use),
        cmocka_unit_test(test_pem_cert),
        cmocka_unit_test(test_pem_certs),
        cmocka_unit_test(test_pem_empty),
        cmocka_unit_test(test_pem_not_pem),
        cmocka_unit_test(test_pem_corrupted),
        cmocka_unit_test(test_pem_key_only),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_keys_empty),
        cmocka_unit_test(test_keys_wrong_type),
        cmocka_unit_test(test_json_syntax),
        cmocka_unit_test(test_duplicate_member),
        cmocka_unit_test(test_unknown_members_ignored),
        cmocka_unit_test(test_sequence_and_hint),
        cmocka_unit_test(test_sequence_and_hint_types),
        cmocka_unit_test(test_skip_reasons),
        cmocka_unit_test(test_non_object_entries),
        cmocka_unit_test(test_rsa_keys),
        cmocka_unit_test(test_find_jwt_key),
        cmocka_unit_test(test_keys_limit),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_skip_reason_names),
        cmocka_unit_test(test_trust_set),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
