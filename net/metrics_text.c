/*
 * Names follow the Prometheus conventions: an svidgate_ prefix, base
 * units (seconds), _total on counters, and HELP and TYPE lines before
 * each family. Label values come from fixed sets (routes, statuses,
 * error names) or from the server's configuration (trust domains,
 * worker indexes), never from a request, so no client can add series.
 * Counters are rendered only once they are non-zero, histograms only
 * once they hold an observation.
 */
#include "net/metrics_text.h"

#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "core/bundle.h"
#include "net/metrics.h"
#include "net/routes.h"
#include "net/trust_publisher.h"
#include "net/verdict_cache.h"

static uint64_t load(const _Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Writes a label value with \, " and newline escaped, as the format requires. */
static void label_value(FILE *out, const char *text)
{
    for (; *text != '\0'; text++) {
        if (*text == '\\' || *text == '"')
            fputc('\\', out);
        if (*text == '\n')
            fputs("\\n", out);
        else
            fputc(*text, out);
    }
}

static const char *status_label(size_t index, char *buffer, size_t size)
{
    if (sg_metric_statuses[index] == 0)
        return "other";
    snprintf(buffer, size, "%d", sg_metric_statuses[index]);
    return buffer;
}

/* ---- Merged worker metrics ------------------------------------------ */

/* Selects one histogram of a worker: a route's or a kind's. */
typedef const struct sg_histogram *(*histogram_of)(const struct sg_worker_metrics *worker,
                                                   size_t index);

static const struct sg_histogram *request_histogram(const struct sg_worker_metrics *worker,
                                                    size_t route)
{
    return &worker->request_seconds[route];
}

static const struct sg_histogram *verification_histogram(const struct sg_worker_metrics *worker,
                                                         size_t kind)
{
    return &worker->verification_seconds[kind];
}

static void merge_histogram(const struct sg_metrics *metrics, histogram_of select, size_t index,
                            struct sg_histogram *total)
{
    for (size_t w = 0; w < metrics->worker_count; w++) {
        const struct sg_histogram *one = select(&metrics->workers[w], index);

        for (size_t b = 0; b <= SG_METRIC_BUCKET_COUNT; b++)
            sg_metric_add(&total->buckets[b], load(&one->buckets[b]));
        sg_metric_add(&total->sum_ns, load(&one->sum_ns));
        sg_metric_add(&total->count, load(&one->count));
    }
}

/*
 * Writes one histogram's samples. The count is the sum of the buckets
 * read here, not the separate count field, so _count always equals the
 * +Inf bucket even while a worker is between its stores.
 */
static void histogram(FILE *out, const char *name, const char *label, const char *value,
                      const struct sg_histogram *total)
{
    uint64_t cumulative = 0;

    for (size_t b = 0; b < SG_METRIC_BUCKET_COUNT; b++) {
        cumulative += load(&total->buckets[b]);
        fprintf(out, "%s_bucket{%s=\"%s\",le=\"%g\"} %" PRIu64 "\n", name, label, value,
                sg_metric_bucket_bounds[b], cumulative);
    }
    cumulative += load(&total->buckets[SG_METRIC_BUCKET_COUNT]);
    fprintf(out, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", name, label, value, cumulative);
    fprintf(out, "%s_sum{%s=\"%s\"} %.9f\n", name, label, value,
            (double)load(&total->sum_ns) / 1e9);
    fprintf(out, "%s_count{%s=\"%s\"} %" PRIu64 "\n", name, label, value, cumulative);
}

static void requests(FILE *out, const struct sg_metrics *metrics)
{
    char status[16];

    family(out, "svidgate_http_requests_total", "counter",
           "HTTP responses by route and status code.");
    for (size_t r = 0; r < SG_METRIC_ROUTE_COUNT; r++) {
        for (size_t s = 0; s < SG_METRIC_STATUS_COUNT; s++) {
            uint64_t total = 0;

            for (size_t w = 0; w < metrics->worker_count; w++)
                total += load(&metrics->workers[w].requests[r][s]);
            if (total > 0)
                fprintf(out, "svidgate_http_requests_total{route=\"%s\",status=\"%s\"} %" PRIu64
                             "\n", sg_metric_route_name(r),
                        status_label(s, status, sizeof(status)), total);
        }
    }

    family(out, "svidgate_http_request_duration_seconds", "histogram",
           "Time from a complete request to its queued response, by route.");
    for (size_t r = 0; r < SG_METRIC_ROUTE_COUNT; r++) {
        struct sg_histogram total = { 0 };

        merge_histogram(metrics, request_histogram, r, &total);
        if (load(&total.count) > 0)
            histogram(out, "svidgate_http_request_duration_seconds", "route",
                      sg_metric_route_name(r), &total);
    }
}

static void verifications(FILE *out, const struct sg_metrics *metrics)
{
    static const char *const kinds[SG_METRIC_KIND_COUNT] = { "jwt", "x509" };

    family(out, "svidgate_verifications_total", "counter",
           "Credential verifications by kind, result and error code (\"none\" when valid).");
    for (size_t k = 0; k < SG_METRIC_KIND_COUNT; k++) {
        for (int e = 0; e < SG_ERROR_COUNT; e++) {
            uint64_t total = 0;

            for (size_t w = 0; w < metrics->worker_count; w++)
                total += load(&metrics->workers[w].verifications[k][e]);
            if (total > 0)
                fprintf(out, "svidgate_verifications_total{kind=\"%s\",result=\"%s\","
                             "error=\"%s\"} %" PRIu64 "\n", kinds[k],
                        e == SG_OK ? "valid" : "invalid",
                        e == SG_OK ? "none" : sg_error_name((enum sg_error)e), total);
        }
    }

    family(out, "svidgate_verification_duration_seconds", "histogram",
           "Time to verify one credential or answer it from the cache, by kind.");
    for (size_t k = 0; k < SG_METRIC_KIND_COUNT; k++) {
        struct sg_histogram total = { 0 };

        merge_histogram(metrics, verification_histogram, k, &total);
        histogram(out, "svidgate_verification_duration_seconds", "kind", kinds[k], &total);
    }
}

static void sum_counter(FILE *out, const struct sg_metrics *metrics, size_t offset,
                        const char *name, const char *type, const char *help)
{
    uint64_t total = 0;

    for (size_t w = 0; w < metrics->worker_count; w++)
        total += load((const _Atomic uint64_t *)((const char *)&metrics->workers[w] + offset));
    family(out, name, type, help);
    fprintf(out, "%s %" PRIu64 "\n", name, total);
}

static void connections_and_batches(FILE *out, const struct sg_metrics *metrics)
{
    sum_counter(out, metrics, offsetof(struct sg_worker_metrics, connections_open),
                "svidgate_connections_open", "gauge", "Client connections open now.");
    sum_counter(out, metrics, offsetof(struct sg_worker_metrics, connections_accepted),
                "svidgate_connections_accepted_total", "counter", "Client connections accepted.");
    sum_counter(out, metrics, offsetof(struct sg_worker_metrics, connections_refused),
                "svidgate_connections_refused_total", "counter",
                "Client connections closed at once because the worker was at its limit.");

    family(out, "svidgate_batch_chunks_total", "counter",
           "Chunks of spread batches that each worker verified.");
    for (size_t w = 0; w < metrics->worker_count; w++)
        fprintf(out, "svidgate_batch_chunks_total{worker=\"%zu\"} %" PRIu64 "\n", w,
                load(&metrics->workers[w].batch_chunks));
    family(out, "svidgate_batch_items_total", "counter",
           "Items of spread batches that each worker verified.");
    for (size_t w = 0; w < metrics->worker_count; w++)
        fprintf(out, "svidgate_batch_items_total{worker=\"%zu\"} %" PRIu64 "\n", w,
                load(&metrics->workers[w].batch_items));
}

static void policy_decisions(FILE *out, const struct sg_metrics *metrics)
{
    uint64_t allowed = 0;
    uint64_t denied = 0;
    uint64_t would_deny = 0;

    for (size_t w = 0; w < metrics->worker_count; w++) {
        allowed += load(&metrics->workers[w].policy_allowed);
        denied += load(&metrics->workers[w].policy_denied);
        would_deny += load(&metrics->workers[w].policy_would_deny);
    }
    family(out, "svidgate_policy_decisions_total", "counter",
           "Authorization policy decisions on verified identities; would_deny is a denial "
           "admitted in dry-run mode.");
    fprintf(out, "svidgate_policy_decisions_total{decision=\"allowed\"} %" PRIu64 "\n", allowed);
    fprintf(out, "svidgate_policy_decisions_total{decision=\"denied\"} %" PRIu64 "\n", denied);
    fprintf(out, "svidgate_policy_decisions_total{decision=\"would_deny\"} %" PRIu64 "\n",
            would_deny);
}

/* ---- Cache and trust ------------------------------------------------ */

static void cache(FILE *out, const struct sg_route_context *context)
{
    struct sg_cache_stats total;

    sg_cache_counters_merge(context->all_counters, context->worker_count, &total);
    family(out, "svidgate_cache_hits_total", "counter", "Verification cache hits.");
    fprintf(out, "svidgate_cache_hits_total %" PRIu64 "\n", (uint64_t)total.hits);
    family(out, "svidgate_cache_misses_total", "counter", "Verification cache misses.");
    fprintf(out, "svidgate_cache_misses_total %" PRIu64 "\n", (uint64_t)total.misses);
    family(out, "svidgate_cache_inserts_total", "counter", "Verdicts stored in the cache.");
    fprintf(out, "svidgate_cache_inserts_total %" PRIu64 "\n", (uint64_t)total.inserts);
    family(out, "svidgate_cache_evictions_total", "counter",
           "Cached verdicts evicted to make room.");
    fprintf(out, "svidgate_cache_evictions_total %" PRIu64 "\n", (uint64_t)total.evictions);
}

/* The per trust domain families. Each is written as one group: its HELP
 * and TYPE lines, then its sample of every bundle source that has one. */
enum trust_family {
    TRUST_AGE,
    TRUST_SEQUENCE,
    TRUST_JWT_KEYS,
    TRUST_X509_AUTHORITIES,
    TRUST_REFRESH_FAILURES,
    TRUST_STALE,
    TRUST_FAMILY_COUNT,
};

static const struct {
    const char *name;
    const char *type;
    const char *help;
} trust_families[TRUST_FAMILY_COUNT] = {
    [TRUST_AGE] = { "svidgate_bundle_age_seconds", "gauge",
                    "Seconds since the bundle in use was last loaded or fetched successfully." },
    [TRUST_SEQUENCE] = { "svidgate_bundle_sequence", "gauge",
                         "spiffe_sequence of the bundle in use." },
    [TRUST_JWT_KEYS] = { "svidgate_bundle_jwt_keys", "gauge",
                         "JWT authorities in this worker's snapshot." },
    [TRUST_X509_AUTHORITIES] = { "svidgate_bundle_x509_authorities", "gauge",
                                 "X.509 authorities in this worker's snapshot." },
    [TRUST_REFRESH_FAILURES] = { "svidgate_bundle_refresh_failures_total", "counter",
                                 "Federation fetches that failed or were rejected." },
    [TRUST_STALE] = { "svidgate_bundle_stale", "gauge",
                      "1 when a federated bundle is older than its staleness threshold." },
};

/* Writes `name{trust_domain="...",source="..."} value`. */
static void trust_sample(FILE *out, enum trust_family family, const char *trust_domain,
                         const char *source, long long value)
{
    fprintf(out, "%s{trust_domain=\"", trust_families[family].name);
    label_value(out, trust_domain);
    fprintf(out, "\",source=\"%s\"} %lld\n", source, value);
}

/* Writes the key counts of `bundle` (this worker's snapshot), when it has one. */
static void key_count_sample(FILE *out, enum trust_family family, const char *trust_domain,
                             const char *source, const struct sg_bundle *bundle)
{
    if (bundle == NULL)
        return;
    if (family == TRUST_JWT_KEYS)
        trust_sample(out, family, trust_domain, source, (long long)bundle->jwt_key_count);
    else
        trust_sample(out, family, trust_domain, source,
                     (long long)sk_X509_num(bundle->x509_authorities));
}

/* Writes the sample of `family` for bundle file `i`, when it has one. */
static void file_sample(FILE *out, const struct sg_route_context *context,
                        enum trust_family family, size_t i, int64_t now)
{
    const struct sg_trust_publisher *publisher = context->publisher;
    const char *trust_domain = publisher->files[i].trust_domain;
    const struct sg_bundle *bundle =
        sg_trust_set_find(context->trust, sg_slice_cstr(trust_domain));

    switch (family) {
    case TRUST_AGE:
        trust_sample(out, family, trust_domain, "file",
                     (long long)(now - publisher->status[i].last_success));
        break;
    case TRUST_SEQUENCE:
        if (bundle != NULL && bundle->has_sequence)
            trust_sample(out, family, trust_domain, "file", (long long)bundle->sequence);
        break;
    case TRUST_JWT_KEYS:
    case TRUST_X509_AUTHORITIES:
        key_count_sample(out, family, trust_domain, "file", bundle);
        break;
    default: /* refresh failures and staleness belong to federation only */
        break;
    }
}

/* Writes the sample of `family` for federated trust domain `i`, when it has one. */
static void federated_sample(FILE *out, const struct sg_route_context *context,
                             enum trust_family family, size_t i, int64_t now)
{
    const struct sg_trust_publisher *publisher = context->publisher;
    const struct sg_federation_status *status = &publisher->federation_status[i];
    const char *trust_domain = publisher->federations[i].trust_domain;

    switch (family) {
    case TRUST_AGE:
        if (status->last_success > 0)
            trust_sample(out, family, trust_domain, "federation",
                         (long long)(now - status->last_success));
        break;
    case TRUST_SEQUENCE:
        if (status->has_bundle && status->has_sequence)
            trust_sample(out, family, trust_domain, "federation", (long long)status->sequence);
        break;
    case TRUST_JWT_KEYS:
    case TRUST_X509_AUTHORITIES:
        if (status->has_bundle)
            key_count_sample(out, family, trust_domain, "federation",
                             sg_trust_set_find(context->trust, sg_slice_cstr(trust_domain)));
        break;
    case TRUST_REFRESH_FAILURES:
        trust_sample(out, family, trust_domain, "federation", (long long)status->failures);
        break;
    case TRUST_STALE:
        trust_sample(out, family, trust_domain, "federation",
                     status->stale_after > 0 && now - status->fresh_since > status->stale_after);
        break;
    default:
        break;
    }
}

/* Reads the publisher's status under its lock, as GET /v1/bundles does. */
static void trust(FILE *out, const struct sg_route_context *context, int64_t now)
{
    struct sg_trust_publisher *publisher = context->publisher;

    family(out, "svidgate_snapshot_generation", "gauge",
           "Generation of the trust snapshot this worker uses.");
    fprintf(out, "svidgate_snapshot_generation %" PRIu64 "\n", context->trust->generation);

    pthread_mutex_lock(&publisher->lock);
    for (int f = 0; f < TRUST_FAMILY_COUNT; f++) {
        family(out, trust_families[f].name, trust_families[f].type, trust_families[f].help);
        for (size_t i = 0; i < publisher->file_count; i++)
            file_sample(out, context, (enum trust_family)f, i, now);
        for (size_t i = 0; i < publisher->federation_count; i++)
            federated_sample(out, context, (enum trust_family)f, i, now);
    }
    uint64_t reload_errors = publisher->reload_errors;
    pthread_mutex_unlock(&publisher->lock);

    family(out, "svidgate_bundle_reload_errors_total", "counter",
           "Bundle files that failed to load on a reload.");
    fprintf(out, "svidgate_bundle_reload_errors_total %" PRIu64 "\n", reload_errors);
}

char *sg_metrics_render(const struct sg_route_context *context, int64_t now)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);

    if (out == NULL)
        return NULL;
    if (context->metrics != NULL) {
        requests(out, context->metrics);
        verifications(out, context->metrics);
        connections_and_batches(out, context->metrics);
        policy_decisions(out, context->metrics);
        family(out, "svidgate_process_start_time_seconds", "gauge",
               "Start time of the process since the Unix epoch, in seconds.");
        fprintf(out, "svidgate_process_start_time_seconds %lld\n",
                (long long)context->metrics->start_time);
    }
    cache(out, context);
    trust(out, context, now);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
