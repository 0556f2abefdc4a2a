/* Bounded byte buffers and the budget shared by one worker's buffers. */
#include "tests/testutil.h"

#include <string.h>

#include "net/byte_buffer.h"

static const uint8_t block[4096];

static void test_buffer_stops_at_max(void **state)
{
    struct sg_byte_buffer buffer;

    (void)state;
    sg_byte_buffer_init(&buffer, 6000, NULL);
    assert_true(sg_byte_buffer_append(&buffer, block, 4096));
    assert_true(sg_byte_buffer_append(&buffer, block, 1904));
    assert_false(sg_byte_buffer_append(&buffer, block, 1));
    assert_int_equal(buffer.len, 6000);
    sg_byte_buffer_release(&buffer);
}

static void test_budget_limits_all_buffers(void **state)
{
    struct sg_byte_budget budget = { 0, 8192 };
    struct sg_byte_buffer first, second, third;

    (void)state;
    sg_byte_buffer_init(&first, 1 << 20, &budget);
    sg_byte_buffer_init(&second, 1 << 20, &budget);
    sg_byte_buffer_init(&third, 1 << 20, &budget);

    assert_true(sg_byte_buffer_append(&first, block, 100));
    assert_true(sg_byte_buffer_append(&second, block, 100));
    assert_int_equal(budget.used, 8192);

    /* Neither a new buffer nor growing an old one fits any more. */
    assert_false(sg_byte_buffer_append(&third, block, 1));
    assert_false(sg_byte_buffer_append(&first, block, 4096));
    assert_int_equal(first.len, 100);
    assert_int_equal(third.len, 0);

    sg_byte_buffer_release(&second);
    assert_int_equal(budget.used, 4096);
    assert_true(sg_byte_buffer_append(&third, block, 1));

    sg_byte_buffer_release(&first);
    sg_byte_buffer_release(&third);
    assert_int_equal(budget.used, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffer_stops_at_max),
        cmocka_unit_test(test_budget_limits_all_buffers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
