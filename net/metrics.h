/*
 * Per-worker counters and latency histograms for GET /metrics.
 *
 * Each worker writes only its own struct sg_worker_metrics, with a
 * relaxed load and store (no read-modify-write instruction, no lock), so
 * the request path shares no cache line with another worker. A scrape
 * reads every worker's counters with relaxed loads and adds them up. It
 * can therefore see one worker's counters a few increments behind
 * another's, but no counter ever goes down between two scrapes.
 */
#ifndef SVIDGATE_NET_METRICS_H
#define SVIDGATE_NET_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* The route label of a request: a fixed set, never the raw path, so a
 * scanner that requests random paths cannot add label values. */
enum sg_metric_route {
    SG_METRIC_ROUTE_HEALTHZ,
    SG_METRIC_ROUTE_READYZ,
    SG_METRIC_ROUTE_JWT_VERIFY,
    SG_METRIC_ROUTE_JWT_VERIFY_BATCH,
    SG_METRIC_ROUTE_X509_VERIFY,
    SG_METRIC_ROUTE_BUNDLES,
    SG_METRIC_ROUTE_METRICS,
    SG_METRIC_ROUTE_FORWARD_AUTH,    /* /v1/auth and every path below it */
    SG_METRIC_ROUTE_UNMATCHED,       /* 404: no route at this path */
    SG_METRIC_ROUTE_INVALID_REQUEST, /* rejected by the HTTP parser before routing */
    SG_METRIC_ROUTE_COUNT,
};

enum sg_metric_kind {
    SG_METRIC_KIND_JWT,
    SG_METRIC_KIND_X509,
    SG_METRIC_KIND_COUNT,
};

/* The status codes the server sends, in label order. The last entry is
 * 0: any other status counts there, with the label "other". */
#define SG_METRIC_STATUS_COUNT 16
extern const int sg_metric_statuses[SG_METRIC_STATUS_COUNT];

/* Upper bounds of the finite histogram buckets, in seconds; a +Inf
 * bucket follows them. */
#define SG_METRIC_BUCKET_COUNT 15
extern const double sg_metric_bucket_bounds[SG_METRIC_BUCKET_COUNT];

/* One histogram: per-bucket counts (not cumulative; the scrape adds them
 * up), the sum in nanoseconds and the number of observations. */
struct sg_histogram {
    _Atomic uint64_t buckets[SG_METRIC_BUCKET_COUNT + 1];
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t count;
};

/* One worker's metrics. Only that worker writes them. */
struct sg_worker_metrics {
    _Atomic uint64_t requests[SG_METRIC_ROUTE_COUNT][SG_METRIC_STATUS_COUNT];
    struct sg_histogram request_seconds[SG_METRIC_ROUTE_COUNT];
    _Atomic uint64_t verifications[SG_METRIC_KIND_COUNT][SG_ERROR_COUNT];
    struct sg_histogram verification_seconds[SG_METRIC_KIND_COUNT];
    _Atomic uint64_t connections_accepted;
    _Atomic uint64_t connections_refused;
    _Atomic uint64_t connections_open; /* a gauge */
    _Atomic uint64_t batch_chunks;     /* batch chunks this worker verified */
    _Atomic uint64_t batch_items;      /* batch items this worker verified */
    /* Copies of the worker's struct sg_policy_counts, which is plain
     * memory, published by net/routes.c after each request or batch item. */
    _Atomic uint64_t policy_allowed;
    _Atomic uint64_t policy_denied;
    _Atomic uint64_t policy_would_deny;
} __attribute__((aligned(64)));

/* Every worker's metrics and the process start time. */
struct sg_metrics {
    struct sg_worker_metrics *workers;
    size_t worker_count;
    int64_t start_time; /* Unix seconds */
};

/* Adds `n` to a counter that only the calling thread writes. */
static inline void sg_metric_add(_Atomic uint64_t *counter, uint64_t n)
{
    uint64_t value = atomic_load_explicit(counter, memory_order_relaxed);

    atomic_store_explicit(counter, value + n, memory_order_relaxed);
}

/* Returns CLOCK_MONOTONIC in nanoseconds, for latency measurements. */
uint64_t sg_metrics_clock_ns(void);

/* Allocates zeroed metrics for `worker_count` workers; false when out of memory. */
SG_MUST_CHECK bool sg_metrics_init(struct sg_metrics *metrics, size_t worker_count);
void sg_metrics_destroy(struct sg_metrics *metrics);

/* Counts a response and observes its latency; `latency_ns` is skipped
 * for SG_METRIC_ROUTE_INVALID_REQUEST, whose start is not measured. */
void sg_metrics_count_request(struct sg_worker_metrics *metrics, enum sg_metric_route route,
                              int status, uint64_t latency_ns);

/* Counts a verification verdict and observes how long it took. */
void sg_metrics_count_verification(struct sg_worker_metrics *metrics, enum sg_metric_kind kind,
                                   enum sg_error verdict, uint64_t latency_ns);

/* Returns the label value of a route, such as "jwt_verify". */
const char *sg_metric_route_name(enum sg_metric_route route);

#endif
