/*
 * Log-linear latency histogram in the manner of HdrHistogram: values
 * below 2 * HISTOGRAM_SUB_BUCKETS are counted exactly, and every larger
 * power-of-two range is split into HISTOGRAM_SUB_BUCKETS equal
 * sub-buckets, so a recorded value is off by less than
 * 1 / HISTOGRAM_SUB_BUCKETS (under 0.1 %) of itself.
 *
 * Values are nanoseconds. Recording is a shift, a subtraction and an
 * increment, cheap enough for a load generator's hot loop.
 */
#ifndef SVIDLOAD_HISTOGRAM_H
#define SVIDLOAD_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

/* 1024 sub-buckets give three significant decimal digits. */
#define HISTOGRAM_SUB_BUCKET_BITS 10
#define HISTOGRAM_SUB_BUCKETS (1u << HISTOGRAM_SUB_BUCKET_BITS)

/* Values up to 2^44 - 1 ns (about 4.9 hours) are counted; larger ones
 * are clamped to it and counted in `clamped`. */
#define HISTOGRAM_MAX_BITS 44
#define HISTOGRAM_MAX_VALUE ((UINT64_C(1) << HISTOGRAM_MAX_BITS) - 1)
#define HISTOGRAM_BUCKETS \
    (2 * HISTOGRAM_SUB_BUCKETS + \
     (HISTOGRAM_MAX_BITS - HISTOGRAM_SUB_BUCKET_BITS - 1) * HISTOGRAM_SUB_BUCKETS)

struct histogram {
    uint64_t counts[HISTOGRAM_BUCKETS];
    uint64_t total;
    uint64_t min;
    uint64_t max;
    uint64_t clamped;
    long double sum;
};

void histogram_reset(struct histogram *histogram);

void histogram_record(struct histogram *histogram, uint64_t value);

/* Add every count of `from` into `into`. */
void histogram_merge(struct histogram *into, const struct histogram *from);

/* The smallest recorded value at or above which lies no more than
 * (100 - percentile) % of the samples, reported as the highest value of
 * its bucket and never above the recorded maximum; 0 when empty.
 * `percentile` is in [0, 100]. */
uint64_t histogram_percentile(const struct histogram *histogram, double percentile);

double histogram_mean(const struct histogram *histogram);

/* Bucket arithmetic, exposed for the tests. */
size_t histogram_bucket_index(uint64_t value);
uint64_t histogram_bucket_lowest(size_t index);
uint64_t histogram_bucket_highest(size_t index);

#endif
