/* The fast reader of {"token": ..., "audience": ...} verify bodies. */
#include "tests/testutil.h"

#include <string.h>

#include "net/verify_body_fast.h"

static bool read_body(const char *text, struct sg_slice *token, struct sg_slice *audience)
{
    return sg_verify_body_read_fast(sg_slice_cstr(text), token, audience);
}

static void test_fast_body_token_only(void **state)
{
    struct sg_slice token, audience;

    (void)state;
    assert_true(read_body("{\"token\":\"aa.bb.cc\"}", &token, &audience));
    assert_true(sg_slice_eq_cstr(token, "aa.bb.cc"));
    assert_int_equal(audience.len, 0);
}

static void test_fast_body_with_audience(void **state)
{
    struct sg_slice token, audience;

    (void)state;
    assert_true(read_body(" { \"audience\" : \"spiffe://example.org/gw\" ,\n\"token\":\"a.b.c\" }\r\n",
                          &token, &audience));
    assert_true(sg_slice_eq_cstr(token, "a.b.c"));
    assert_true(sg_slice_eq_cstr(audience, "spiffe://example.org/gw"));
}

/* Every body outside the plain shape goes to jansson, which gives the answer. */
static void test_fast_body_declines_other_shapes(void **state)
{
    static const char *const bodies[] = {
        "",
        "{}",
        "{\"token\":\"a.b.c\",\"token\":\"d.e.f\"}",
        "{\"token\":\"a\\u002eb\"}",
        "{\"token\":\"a.b.c\",\"audience\":[\"x\"]}",
        "{\"token\":\"a.b.c\",\"audience\":\"\"}",
        "{\"token\":\"a.b.c\",\"audience\":\"a\\\"b\"}",
        "{\"token\":\"\"}",
        "{\"token\":\"a b\"}",
        "{\"token\":\"a.b.c\"} x",
        "{\"token\":\"a.b.c\",}",
        "{\"token\":\"a.b.c\"",
        "{\"Token\":\"a.b.c\"}",
        "{\"token\":\"a.b.c\",\"other\":1}",
        "[\"token\",\"a.b.c\"]",
        "{\"token\":5}",
    };
    struct sg_slice token, audience;

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        if (read_body(bodies[i], &token, &audience))
            fail_msg("fast path accepted body %zu: %s", i, bodies[i]);
    }
}

static void test_fast_body_declines_embedded_nul(void **state)
{
    static const char body[] = "{\"token\":\"a.b\0c\"}";
    struct sg_slice token, audience;

    (void)state;
    assert_false(sg_verify_body_read_fast(sg_slice_make(body, sizeof(body) - 1), &token, &audience));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_body_token_only),
        cmocka_unit_test(test_fast_body_with_audience),
        cmocka_unit_test(test_fast_body_declines_other_shapes),
        cmocka_unit_test(test_fast_body_declines_embedded_nul),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
