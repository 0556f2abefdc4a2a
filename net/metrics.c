#include "net/metrics.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const int sg_metric_statuses[SG_METRIC_STATUS_COUNT] = {
    200, 400, 401, 403, 404, 405, 408, 411, 413, 414, 431, 500, 501, 503, 505, 0,
};

/* From 100 µs, which cache hits stay under, to 10 s. A 10,000-item batch
 * of distinct ES256 tokens took about 1.2 s on a loaded 2-core test host. */
const double sg_metric_bucket_bounds[SG_METRIC_BUCKET_COUNT] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,     2.5,    10,
};

static const char *const route_names[SG_METRIC_ROUTE_COUNT] = {
    [SG_METRIC_ROUTE_HEALTHZ] = "healthz",
    [SG_METRIC_ROUTE_READYZ] = "readyz",
    [SG_METRIC_ROUTE_JWT_VERIFY] = "jwt_verify",
    [SG_METRIC_ROUTE_JWT_VERIFY_BATCH] = "jwt_verify_batch",
    [SG_METRIC_ROUTE_X509_VERIFY] = "x509_verify",
    [SG_METRIC_ROUTE_BUNDLES] = "bundles",
    [SG_METRIC_ROUTE_METRICS] = "metrics",
    [SG_METRIC_ROUTE_FORWARD_AUTH] = "auth",
    [SG_METRIC_ROUTE_UNMATCHED] = "unmatched",
    [SG_METRIC_ROUTE_INVALID_REQUEST] = "invalid_request",
};

uint64_t sg_metrics_clock_ns(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

bool sg_metrics_init(struct sg_metrics *metrics, size_t worker_count)
{
    size_t bytes = worker_count * sizeof(*metrics->workers);

    memset(metrics, 0, sizeof(*metrics));
    metrics->workers = aligned_alloc(_Alignof(struct sg_worker_metrics), bytes);
    if (metrics->workers == NULL)
        return false;
    memset(metrics->workers, 0, bytes);
    metrics->worker_count = worker_count;
    metrics->start_time = (int64_t)time(NULL);
    return true;
}

void sg_metrics_destroy(struct sg_metrics *metrics)
{
    free(metrics->workers);
    metrics->workers = NULL;
    metrics->worker_count = 0;
}

static size_t status_index(int status)
{
    for (size_t i = 0; i < SG_METRIC_STATUS_COUNT - 1; i++) {
        if (sg_metric_statuses[i] == status)
            return i;
    }
    return SG_METRIC_STATUS_COUNT - 1;
}

static void observe(struct sg_histogram *histogram, uint64_t latency_ns)
{
    double seconds = (double)latency_ns / 1e9;
    size_t bucket = 0;

    while (bucket < SG_METRIC_BUCKET_COUNT && seconds > sg_metric_bucket_bounds[bucket])
        bucket++;
    sg_metric_add(&histogram->buckets[bucket], 1);
    sg_metric_add(&histogram->sum_ns, latency_ns);
    sg_metric_add(&histogram->count, 1);
}

void sg_metrics_count_request(struct sg_worker_metrics *metrics, enum sg_metric_route route,
                              int status, uint64_t latency_ns)
{
    if (metrics == NULL)
        return;
    sg_metric_add(&metrics->requests[route][status_index(status)], 1);
    if (route != SG_METRIC_ROUTE_INVALID_REQUEST)
        observe(&metrics->request_seconds[route], latency_ns);
}

void sg_metrics_count_verification(struct sg_worker_metrics *metrics, enum sg_metric_kind kind,
                                   enum sg_error verdict, uint64_t latency_ns)
{
    if (metrics == NULL)
        return;
    sg_metric_add(&metrics->verifications[kind][verdict], 1);
    observe(&metrics->verification_seconds[kind], latency_ns);
}

const char *sg_metric_route_name(enum sg_metric_route route)
{
    return route_names[route];
}
