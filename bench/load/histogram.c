/*
 * Log-linear histogram: see histogram.h for the layout and its error bound.
 */
#include "bench/load/histogram.h"

#include <math.h>
#include <string.h>

void histogram_reset(struct histogram *histogram)
{
    memset(histogram, 0, sizeof(*histogram));
    histogram->min = UINT64_MAX;
}

size_t histogram_bucket_index(uint64_t value)
{
    if (value > HISTOGRAM_MAX_VALUE) {
        value = HISTOGRAM_MAX_VALUE;
    }
    if (value < 2 * HISTOGRAM_SUB_BUCKETS) {
        return (size_t)value;
    }

    /* The shift keeps the top HISTOGRAM_SUB_BUCKET_BITS + 1 bits, so the
     * mantissa lies in [SUB_BUCKETS, 2 * SUB_BUCKETS). */
    unsigned top_bit = 63u - (unsigned)__builtin_clzll(value);
    unsigned shift = top_bit - HISTOGRAM_SUB_BUCKET_BITS;
    uint64_t mantissa = value >> shift;
    return 2 * HISTOGRAM_SUB_BUCKETS + (size_t)(shift - 1) * HISTOGRAM_SUB_BUCKETS +
           (size_t)(mantissa - HISTOGRAM_SUB_BUCKETS);
}

uint64_t histogram_bucket_lowest(size_t index)
{
    if (index < 2 * HISTOGRAM_SUB_BUCKETS) {
        return index;
    }
    size_t offset = index - 2 * HISTOGRAM_SUB_BUCKETS;
    unsigned shift = (unsigned)(offset / HISTOGRAM_SUB_BUCKETS) + 1;
    uint64_t mantissa = offset % HISTOGRAM_SUB_BUCKETS + HISTOGRAM_SUB_BUCKETS;
    return mantissa << shift;
}

uint64_t histogram_bucket_highest(size_t index)
{
    if (index < 2 * HISTOGRAM_SUB_BUCKETS) {
        return index;
    }
    unsigned shift = (unsigned)((index - 2 * HISTOGRAM_SUB_BUCKETS) / HISTOGRAM_SUB_BUCKETS) + 1;
    return histogram_bucket_lowest(index) + (UINT64_C(1) << shift) - 1;
}

void histogram_record(struct histogram *histogram, uint64_t value)
{
    if (value > HISTOGRAM_MAX_VALUE) {
        value = HISTOGRAM_MAX_VALUE;
        histogram->clamped++;
    }

    histogram->counts[histogram_bucket_index(value)]++;
    histogram->total++;
    histogram->sum += (long double)value;
    if (value < histogram->min) {
        histogram->min = value;
    }
    if (value > histogram->max) {
        histogram->max = value;
    }
}

void histogram_merge(struct histogram *into, const struct histogram *from)
{
    for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
        into->counts[i] += from->counts[i];
    }
    into->total += from->total;
    into->sum += from->sum;
    into->clamped += from->clamped;
    if (from->min < into->min) {
        into->min = from->min;
    }
    if (from->max > into->max) {
        into->max = from->max;
    }
}

uint64_t histogram_percentile(const struct histogram *histogram, double percentile)
{
    if (histogram->total == 0) {
        return 0;
    }
    if (percentile <= 0.0) {
        return histogram->min;
    }
    if (percentile >= 100.0) {
        return histogram->max;
    }

    /* The rank of the sample the percentile names, 1-based. */
    uint64_t rank = (uint64_t)ceill((long double)percentile / 100.0L * (long double)histogram->total);
    if (rank == 0) {
        rank = 1;
    }

    uint64_t seen = 0;
    for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
        seen += histogram->counts[i];
        if (seen >= rank) {
            uint64_t highest = histogram_bucket_highest(i);
            return highest < histogram->max ? highest : histogram->max;
        }
    }
    return histogram->max;
}

double histogram_mean(const struct histogram *histogram)
{
    if (histogram->total == 0) {
        return 0.0;
    }
    return (double)(histogram->sum / (long double)histogram->total);
}
