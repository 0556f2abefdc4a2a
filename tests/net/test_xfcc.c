/*
 * Unit tests of net/xfcc.c: finding the certificate in Envoy's
 * x-forwarded-client-cert header and URL-decoding forwarded PEM.
 */
#include "tests/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "net/xfcc.h"

static enum sg_error find(const char *header, struct sg_slice *encoded)
{
    struct sg_status status;

    return sg_xfcc_find_certificate(sg_slice_cstr(header), encoded, &status);
}

static void expect_found(const char *header, const char *expected)
{
    struct sg_slice encoded = { 0 };

    if (find(header, &encoded) != SG_OK)
        fail_msg("header %s: not found", header);
    if (!sg_slice_eq_cstr(encoded, expected))
        fail_msg("header %s: found \"%.*s\", expected \"%s\"", header, (int)encoded.len,
                 (const char *)encoded.ptr, expected);
}

static void test_xfcc_cert_and_chain(void **state)
{
    (void)state;
    expect_found("Cert=abc", "abc");
    expect_found("Cert=\"abc\"", "abc");
    expect_found("By=spiffe://a.test/gw;Hash=00;Cert=\"abc\";Subject=\"\";URI=spiffe://a.test/w",
                 "abc");
    expect_found("Cert=leaf;Chain=chain", "chain");
    expect_found("Chain=chain;Cert=leaf", "chain");
    expect_found("cert=lower", "lower");
    expect_found(" Cert=spaced ", "spaced");
}

static void test_xfcc_last_element(void **state)
{
    (void)state;
    expect_found("Cert=first,Cert=second", "second");
    expect_found("Cert=first, Hash=1;Cert=second", "second");
    /* A comma or semicolon inside quotes does not split. */
    expect_found("Cert=first,Subject=\"CN=a,O=b;c\";Cert=second", "second");
    expect_found("Subject=\"CN=\\\"x,y\\\"\";Cert=third", "third");
    expect_found("URI=spiffe://a.test/x;URI=spiffe://a.test/y;DNS=a;DNS=b;Cert=c", "c");
}

static void test_xfcc_malformed(void **state)
{
    static const char *const headers[] = {
        "",
        "Cert=\"abc",
        "Cert",
        "Hash=00",
        "Cert=a;Cert=b",
        "Chain=a;Chain=b",
        "Cert=\"a\\\"b\"",
        "Cert=\"\"",
        "Cert=good,Hash=00",
        "Subject=\"unterminated,Cert=abc",
    };
    struct sg_slice encoded;

    (void)state;
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        if (find(headers[i], &encoded) != SG_ERR_MALFORMED)
            fail_msg("header \"%s\" was accepted", headers[i]);
    }
}

static enum sg_error decode(const char *text, char *out, size_t *len)
{
    struct sg_status status;

    return sg_url_decode(sg_slice_cstr(text), (uint8_t *)out, len, &status);
}

static void test_url_decode(void **state)
{
    char out[64];
    size_t len = 0;

    (void)state;
    assert_int_equal(decode("-----BEGIN%20CERTIFICATE-----%0A", out, &len), SG_OK);
    assert_int_equal(len, strlen("-----BEGIN CERTIFICATE-----\n"));
    assert_memory_equal(out, "-----BEGIN CERTIFICATE-----\n", len);

    /* '+' stays '+', since base64 in PEM uses it. */
    assert_int_equal(decode("a+b%2Bc%2fd", out, &len), SG_OK);
    assert_int_equal(len, 7);
    assert_memory_equal(out, "a+b+c/d", 7);
}

static void test_url_decode_rejects(void **state)
{
    static const char *const inputs[] = { "%", "%2", "%zz", "a%g0", "a b", "a\nb", "\x80" };
    char out[64];
    size_t len;

    (void)state;
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        if (decode(inputs[i], out, &len) != SG_ERR_MALFORMED)
            fail_msg("\"%s\" was decoded", inputs[i]);
    }
}

static void test_url_decode_length_limit(void **state)
{
    char *text = malloc(SG_FORWARDED_CERT_MAX + 1);
    uint8_t *out = malloc(SG_FORWARDED_CERT_MAX + 1);
    struct sg_status status;
    size_t len = 0;

    (void)state;
    assert_non_null(text);
    assert_non_null(out);
    memset(text, 'A', SG_FORWARDED_CERT_MAX + 1);
    assert_int_equal(sg_url_decode(sg_slice_make(text, SG_FORWARDED_CERT_MAX), out, &len, &status),
                     SG_OK);
    assert_int_equal(len, SG_FORWARDED_CERT_MAX);
    assert_int_equal(sg_url_decode(sg_slice_make(text, SG_FORWARDED_CERT_MAX + 1), out, &len,
                                   &status),
                     SG_ERR_MALFORMED);
    free(text);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xfcc_cert_and_chain),
        cmocka_unit_test(test_xfcc_last_element),
        cmocka_unit_test(test_xfcc_malformed),
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_url_decode_rejects),
        cmocka_unit_test(test_url_decode_length_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
