/*
 * The HTTP routes: the response the server sends to each parsed request.
 *
 *     GET|HEAD /healthz              200 {"status":"ok"}
 *     GET|HEAD /readyz               200 when every trust domain has a bundle, else
 *                                    503; {"status", "missing_bundles": [TD, ...]}
 *     POST     /v1/jwt-svid/verify   200 with a result object
 *     POST     /v1/x509-svid/verify  200 with a result object; the body is
 *                                    {"chain": [base64 DER, ...]} or PEM with
 *                                    Content-Type: application/x-pem-file
 *     POST     /v1/jwt-svid/verify-batch
 *                                    200 {"results": [result, ...]} in input order;
 *                                    see net/batch_body.h and net/batch.h
 *     GET|HEAD /v1/bundles           200 with each bundle's source, counts and load
 *                                    status, the snapshot generation and the
 *                                    cache counters
 *     any      /v1/auth[/PATH]       forward authentication (net/forward_auth.h):
 *                                    200, 401 or 403 with an empty body
 *     GET|HEAD /metrics              200 in the Prometheus text format 0.0.4
 *
 * Any other path is 404 and a known path with another method is 405 with
 * an Allow header. Error bodies are {"error": code, "message": sentence}
 * and never echo request bytes, so a token sent to the wrong place does
 * not come back in a response or a log line.
 */
#ifndef SVIDGATE_NET_ROUTES_H
#define SVIDGATE_NET_ROUTES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bundle.h"
#include "core/error.h"
#include "core/slice.h"
#include "net/byte_buffer.h"
#include "net/http_parser.h"
#include "net/http_response.h"
#include "net/verdict_cache.h"

struct sg_verifier;
struct sg_trust_publisher;
struct sg_federation_wake;
struct sg_live_config;
struct sg_live_config_slot;
struct sg_batch_hub;
struct sg_batch_job;
struct sg_batch_item;
struct sg_metrics;
struct sg_worker_metrics;

/* Policy decisions of one worker; a decision without a policy is not counted. */
struct sg_policy_counts {
    uint64_t allowed;
    uint64_t denied;
    uint64_t would_deny; /* denials admitted in dry-run mode */
};

/* Per-worker route state, owned by that worker's thread. */
struct sg_route_context {
    struct sg_verifier *verifier;          /* this worker's own verifier */
    struct sg_trust_publisher *publisher;  /* shared; publishes `trust` */
    const struct sg_trust_set *trust;      /* this worker's snapshot for the current loop turn */
    struct sg_federation_wake *federation_wake; /* shared; early fetch requests, or NULL */
    const struct sg_slice *default_audiences; /* from --audience, used when a body has none */
    size_t default_audience_count;
    int64_t leeway;                        /* seconds */
    struct sg_http_date date;
    struct sg_verdict_cache verdicts;      /* this worker's view of the shared cache */
    const struct sg_cache *cache;          /* for GET /v1/bundles: its capacity */
    const struct sg_cache_counters *all_counters; /* every worker's, for GET /v1/bundles */
    size_t worker_count;
    uint64_t verdicts_by_code[SG_ERROR_COUNT]; /* verification results by error code */

    /* Settings that SIGHUP may replace (policy, default audiences,
     * leeway). sg_route_request() loads `settings` from `live` for each
     * request and copies the audiences and leeway into the fields above.
     * With `live` NULL the fields keep the values they were set up with. */
    struct sg_live_config_slot *live;
    const struct sg_live_config *settings;
    struct sg_policy_counts policy_counts;
    int64_t policy_log_second;    /* rate limit of denial log lines */
    unsigned policy_log_lines;
    uint64_t policy_log_dropped;

    size_t worker_index;
    struct sg_batch_hub *batch;            /* shared; NULL verifies every batch in place */
    struct sg_batch_job *deferred;         /* set when a route deferred its response; see below */
    struct sg_metrics *metrics;            /* shared; every worker's, for GET /metrics */
    struct sg_worker_metrics *worker_metrics; /* this worker's; may be NULL */
};

/*
 * Responds to one complete request: reads the clock once, runs the route and
 * appends the whole response to `out`, with "Connection: close" when
 * request->keep_alive is false. Returns false when the response does not
 * fit in `out` or memory ran out; the caller then closes the connection.
 *
 * A batch spread over the workers writes nothing yet: it sets
 * context->deferred to the job, with a reference the caller takes over,
 * and the caller writes the response once the job is done
 * (sg_batch_write_response()), before any later request.
 */
SG_MUST_CHECK bool sg_route_request(struct sg_route_context *context,
                                    const struct sg_http_request *request,
                                    struct sg_byte_buffer *out);

/*
 * Requests an early bundle fetch of `trust_domain` after an unknown_key or
 * unknown_trust_domain verdict, when that trust domain is federated: the
 * fetch may bring the missing key or bundle before the next scheduled one.
 */
void sg_route_request_early_fetch(struct sg_route_context *context, enum sg_error verdict,
                                  struct sg_slice trust_domain);

/*
 * Loads the settings SIGHUP may have replaced (policy, default audiences,
 * leeway) into `context`. The calling worker must be an online RCU reader.
 */
void sg_route_load_settings(struct sg_route_context *context);

/*
 * Verifies one batch item as POST /v1/jwt-svid/verify would, with the
 * verifier, snapshot, cache and --allow policy of worker `context` (a
 * struct sg_route_context), and counts the verdict. Returns the result object
 * (free() it), or NULL when out of memory. A sg_batch_verify_fn.
 */
char *sg_route_verify_batch_item(void *context, const struct sg_batch_item *item, int64_t now);

#endif
