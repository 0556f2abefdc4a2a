/* Error names, messages, and cutting long messages between characters. */
#include "tests/testutil.h"

#include <string.h>

#include "core/error.h"

static void test_error_names_are_stable(void **state)
{
    (void)state;
    assert_string_equal(sg_error_name(SG_ERR_MALFORMED), "malformed");
    assert_string_equal(sg_error_name(SG_ERR_UNSUPPORTED_ALG), "unsupported_alg");
    assert_string_equal(sg_error_name(SG_ERR_UNKNOWN_TRUST_DOMAIN), "unknown_trust_domain");
    assert_string_equal(sg_error_name(SG_ERR_POLICY_DENIED), "policy_denied");
    assert_string_equal(sg_error_name((enum sg_error)999), "internal_error");
}

static void test_fail_sets_code_and_message(void **state)
{
    struct sg_status status;

    (void)state;
    assert_int_equal(sg_fail(&status, SG_ERR_EXPIRED, "expired at %d", 5), SG_ERR_EXPIRED);
    assert_int_equal(status.error, SG_ERR_EXPIRED);
    assert_string_equal(status.message, "expired at 5");
}

/* A message cut inside a two-byte character keeps only whole characters. */
static void test_fail_cuts_between_characters(void **state)
{
    char text[300];
    struct sg_status status;
    size_t len;

    (void)state;
    /* 255 bytes fit: 127 whole characters and the first byte of the 128th. */
    for (size_t i = 0; i < 140; i++) {
        text[2 * i] = (char)0xc3;
        text[2 * i + 1] = (char)0xa9;
    }
    text[280] = '\0';

    sg_fail(&status, SG_ERR_UNKNOWN_KEY, "%s", text);
    len = strlen(status.message);
    assert_int_equal(len, SG_MESSAGE_MAX - 2);
    assert_int_equal((unsigned char)status.message[len - 1], 0xa9);
}

static void test_fail_keeps_whole_last_character(void **state)
{
    char text[300];
    struct sg_status status;

    (void)state;
    memset(text, 'a', sizeof(text));
    text[sizeof(text) - 1] = '\0';
    sg_fail(&status, SG_ERR_UNKNOWN_KEY, "%s", text);
    assert_int_equal(strlen(status.message), SG_MESSAGE_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_names_are_stable),
        cmocka_unit_test(test_fail_sets_code_and_message),
        cmocka_unit_test(test_fail_cuts_between_characters),
        cmocka_unit_test(test_fail_keeps_whole_last_character),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
