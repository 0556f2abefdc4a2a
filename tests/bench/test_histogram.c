/* Tests of bench/load/histogram.c: bucket bounds and percentiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bench/load/histogram.h"

static struct histogram histogram;

static void small_values_exact(void **state)
{
    (void)state;
    for (uint64_t value = 0; value < 2 * HISTOGRAM_SUB_BUCKETS; value++) {
        size_t index = histogram_bucket_index(value);
        assert_int_equal(histogram_bucket_lowest(index), value);
        assert_int_equal(histogram_bucket_highest(index), value);
    }
}

/* Every value lies inside its bucket, and a bucket spans less than
 * 1/1024 of its lowest value. */
static void bucket_bounds_hold_value(void **state)
{
    (void)state;
    for (uint64_t value = 2048; value < HISTOGRAM_MAX_VALUE; value = value * 3 / 2 + 7) {
        size_t index = histogram_bucket_index(value);
        uint64_t lowest = histogram_bucket_lowest(index);
        uint64_t highest = histogram_bucket_highest(index);
        assert_true(index < HISTOGRAM_BUCKETS);
        assert_true(lowest <= value);
        assert_true(value <= highest);
        assert_true((highest - lowest) * HISTOGRAM_SUB_BUCKETS <= lowest);
    }
}

/* Adjacent buckets leave no gap and do not overlap. */
static void buckets_are_contiguous(void **state)
{
    (void)state;
    for (size_t index = 0; index + 1 < HISTOGRAM_BUCKETS; index++) {
        assert_int_equal(histogram_bucket_highest(index) + 1, histogram_bucket_lowest(index + 1));
    }
    assert_int_equal(histogram_bucket_index(HISTOGRAM_MAX_VALUE), HISTOGRAM_BUCKETS - 1);
}

static void percentiles_of_uniform_values(void **state)
{
    (void)state;
    histogram_reset(&histogram);
    for (uint64_t value = 1; value <= 1000000; value++) {
        histogram_record(&histogram, value * 1000);
    }

    assert_int_equal(histogram.total, 1000000);
    assert_int_equal(histogram.min, 1000);
    assert_int_equal(histogram.max, 1000000000);
    uint64_t p50 = histogram_percentile(&histogram, 50.0);
    uint64_t p99 = histogram_percentile(&histogram, 99.0);
    uint64_t p999 = histogram_percentile(&histogram, 99.9);
    assert_true(p50 >= 500000000 && p50 <= 500000000 + 500000000 / 1024);
    assert_true(p99 >= 990000000 && p99 <= 990000000 + 990000000 / 1024);
    assert_true(p999 >= 999000000 && p999 <= 999000000 + 999000000 / 1024);
    assert_int_equal(histogram_percentile(&histogram, 100.0), 1000000000);
    assert_int_equal(histogram_percentile(&histogram, 0.0), 1000);
}

/* A percentile never reports more than the largest recorded value. */
static void percentile_capped_at_max(void **state)
{
    (void)state;
    histogram_reset(&histogram);
    histogram_record(&histogram, 1000001);
    assert_int_equal(histogram_percentile(&histogram, 99.0), 1000001);
    assert_int_equal(histogram_percentile(&histogram, 50.0), 1000001);
}

static void empty_histogram_reports_zero(void **state)
{
    (void)state;
    histogram_reset(&histogram);
    assert_int_equal(histogram_percentile(&histogram, 99.0), 0);
    assert_true(histogram_mean(&histogram) == 0.0);
}

static void huge_value_clamped(void **state)
{
    (void)state;
    histogram_reset(&histogram);
    histogram_record(&histogram, UINT64_MAX);
    assert_int_equal(histogram.clamped, 1);
    assert_int_equal(histogram.max, HISTOGRAM_MAX_VALUE);
}

static void merge_adds_counts(void **state)
{
    static struct histogram other;
    (void)state;
    histogram_reset(&histogram);
    histogram_reset(&other);
    histogram_record(&histogram, 5);
    histogram_record(&other, 7000);
    histogram_merge(&histogram, &other);
    assert_int_equal(histogram.total, 2);
    assert_int_equal(histogram.min, 5);
    assert_int_equal(histogram.max, 7000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_values_exact),
        cmocka_unit_test(bucket_bounds_hold_value),
        cmocka_unit_test(buckets_are_contiguous),
        cmocka_unit_test(percentiles_of_uniform_values),
        cmocka_unit_test(percentile_capped_at_max),
        cmocka_unit_test(empty_histogram_reports_zero),
        cmocka_unit_test(huge_value_clamped),
        cmocka_unit_test(merge_adds_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
