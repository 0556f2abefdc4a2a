/* Strict base64url and padded base64 decoding. */
#include "tests/testutil.h"

#include <string.h>

#include "core/base64.h"

static enum sg_error decode_url(const char *text, uint8_t *out, size_t *len)
{
    return sg_base64url_decode(sg_slice_cstr(text), out, 64, len);
}

static void test_base64url_valid(void **state)
{
    uint8_t out[64];
    size_t len;

    (void)state;
    assert_int_equal(decode_url("", out, &len), SG_OK);
    assert_int_equal(len, 0);
    assert_int_equal(decode_url("Zm9vYmFy", out, &len), SG_OK);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(decode_url("Zm9vYg", out, &len), SG_OK);
    assert_int_equal(len, 4);
    assert_int_equal(decode_url("Zm9vYmE", out, &len), SG_OK);
    assert_int_equal(len, 5);
    assert_int_equal(decode_url("-_8", out, &len), SG_OK);
    assert_int_equal(out[0], 0xfb);
    assert_int_equal(out[1], 0xff);
}

static void test_base64url_rejects_padding(void **state)
{
    uint8_t out[64];
    size_t len;

    (void)state;
    assert_int_equal(decode_url("Zm9vYg==", out, &len), SG_ERR_MALFORMED);
    assert_int_equal(decode_url("Zm9vYmE=", out, &len), SG_ERR_MALFORMED);
}

static void test_base64url_rejects_other_alphabet(void **state)
{
    uint8_t out[64];
    size_t len;

    (void)state;
    assert_int_equal(decode_url("+/8", out, &len), SG_ERR_MALFORMED);
    assert_int_equal(decode_url("Zm9v Yg", out, &len), SG_ERR_MALFORMED);
    assert_int_equal(decode_url("Zm9v\nYg", out, &len), SG_ERR_MALFORMED);
    assert_int_equal(sg_base64url_decode(sg_slice_make("Zm\0v", 4), out, 64, &len),
                     SG_ERR_MALFORMED);
}

static void test_base64url_rejects_bad_length(void **state)
{
    uint8_t out[64];
    size_t len;

    (void)state;
    assert_int_equal(decode_url("Z", out, &len), SG_ERR_MALFORMED);
    assert_int_equal(decode_url("Zm9vY", out, &len), SG_ERR_MALFORMED);
}

/* "Zm9vYh" decodes to the same bytes as "Zm9vYg" with a non-zero unused bit. */
static void test_base64url_rejects_noncanonical_bits(void **state)
{
    uint8_t out[64];
    size_t len;

    (void)state;
    assert_int_equal(decode_url("Zm9vYh", out, &len), SG_ERR_MALFORMED);
    assert_int_equal(decode_url("Zm9vYmF", out, &len), SG_ERR_MALFORMED);
    assert_int_equal(decode_url("QR", out, &len), SG_ERR_MALFORMED);
    assert_int_equal(decode_url("QQ", out, &len), SG_OK);
}

static void test_base64url_output_capacity(void **state)
{
    uint8_t out[4];
    size_t len;

    (void)state;
    assert_int_equal(sg_base64url_decode(sg_slice_cstr("Zm9vYg"), out, 4, &len), SG_OK);
    assert_int_equal(sg_base64url_decode(sg_slice_cstr("Zm9vYmE"), out, 4, &len), SG_ERR_INTERNAL);
}

static void test_base64_padded(void **state)
{
    uint8_t out[64];
    size_t len;

    (void)state;
    assert_int_equal(sg_base64_decode(sg_slice_cstr("Zm9vYg=="), out, 64, &len), SG_OK);
    assert_int_equal(len, 4);
    assert_int_equal(sg_base64_decode(sg_slice_cstr("+/8="), out, 64, &len), SG_OK);
    assert_int_equal(sg_base64_decode(sg_slice_cstr("Zm9vYg"), out, 64, &len), SG_ERR_MALFORMED);
    assert_int_equal(sg_base64_decode(sg_slice_cstr("-_8="), out, 64, &len), SG_ERR_MALFORMED);
    assert_int_equal(sg_base64_decode(sg_slice_cstr("Zm9vYh=="), out, 64, &len),
                     SG_ERR_MALFORMED);
    assert_int_equal(sg_base64_decode(sg_slice_cstr("Z==="), out, 64, &len), SG_ERR_MALFORMED);
    assert_int_equal(sg_base64_decode(sg_slice_cstr("Zg=a"), out, 64, &len), SG_ERR_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64url_valid),
        cmocka_unit_test(test_base64url_rejects_padding),
        cmocka_unit_test(test_base64url_rejects_other_alphabet),
        cmocka_unit_test(test_base64url_rejects_bad_length),
        cmocka_unit_test(test_base64url_rejects_noncanonical_bits),
        cmocka_unit_test(test_base64url_output_capacity),
        cmocka_unit_test(test_base64_padded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
