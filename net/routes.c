#include "net/routes.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/base64.h"
#include "core/json_util.h"
#include "core/jwt_svid.h"
#include "core/limits.h"
#include "core/x509_svid.h"
#include "net/batch.h"
#include "net/federation_refresh.h"
#include "net/forward_auth.h"
#include "net/live_config.h"
#include "net/log.h"
#include "net/metrics.h"
#include "net/metrics_text.h"
#include "net/trust_publisher.h"
#include "net/verify_body_fast.h"

/* A route's response before it is written: a body, or an error sentence. */
struct reply {
    int status;
    const char *content_type;
    struct sg_slice body;
    char *owned_body;          /* freed after writing; `body` points into it */
    const char *error_message; /* set for an error: the body becomes {"error", "message"} */
    const char *headers;       /* more header lines, or NULL */
    char message_buffer[160];  /* storage for an error message with numbers in it */
    bool deferred;             /* a batch job writes the response later */
    uint64_t started_ns;       /* when routing began, for the latency metric */
};

typedef void (*route_handler)(struct sg_route_context *context,
                              const struct sg_http_request *request, int64_t now,
                              struct reply *reply);

struct route {
    enum sg_metric_route metric; /* the route label of its metrics */
    const char *path;
    const char *methods[3]; /* the methods served, NULL-terminated */
    const char *allow;      /* the same list for the Allow header of a 405 */
    route_handler handler;
};

static void reply_error(struct reply *reply, int status, const char *message)
{
    reply->status = status;
    reply->error_message = message;
}

/*
 * Logs a rejected credential by its fingerprint, never its bytes. At most
 * SG_LOG_REPEATS_MAX lines per kind and error code per interval are
 * written; the rest are counted (net/log.h).
 */
static void log_rejection(const char *kind, enum sg_error verdict, struct sg_slice credential)
{
    static const char event[] = "credential rejected";
    char key[64];
    char fingerprint[SG_LOG_FINGERPRINT_SIZE];

    if (verdict == SG_OK)
        return;
    snprintf(key, sizeof(key), "%s/%s", kind, sg_error_name(verdict));
    if (!sg_log_admit(SG_LOG_INFO, event, key))
        return;
    sg_log(SG_LOG_INFO, event, "kind=%s error=%s fp=%s", kind, sg_error_name(verdict),
           sg_log_fingerprint(credential, fingerprint));
}

/* Copies this worker's policy decision counts where GET /metrics reads them. */
static void publish_policy_counts(struct sg_route_context *context)
{
    struct sg_worker_metrics *metrics = context->worker_metrics;

    if (metrics == NULL)
        return;
    atomic_store_explicit(&metrics->policy_allowed, context->policy_counts.allowed,
                          memory_order_relaxed);
    atomic_store_explicit(&metrics->policy_denied, context->policy_counts.denied,
                          memory_order_relaxed);
    atomic_store_explicit(&metrics->policy_would_deny, context->policy_counts.would_deny,
                          memory_order_relaxed);
}

/* ---- GET /healthz --------------------------------------------------- */

static void handle_healthz(struct sg_route_context *context, const struct sg_http_request *request,
                           int64_t now, struct reply *reply)
{
    (void)context;
    (void)request;
    (void)now;
    reply->status = 200;
    reply->content_type = "application/json";
    reply->body = sg_slice_cstr("{\"status\":\"ok\"}");
}

/* ---- POST /v1/jwt-svid/verify --------------------------------------- */

/* The members of a verify request body; slices point into `root`. */
struct verify_body {
    json_t *root;
    struct sg_slice token;
    struct sg_slice audiences[SG_AUDIENCES_MAX];
    size_t audience_count;
};

static bool add_audience(struct verify_body *body, const json_t *value)
{
    if (!json_is_string(value) || json_string_length(value) == 0)
        return false;
    body->audiences[body->audience_count++] =
        sg_slice_make(json_string_value(value), json_string_length(value));
    return true;
}

/*
 * Reads "audience": one string or an array of strings. Without it, the
 * server's --audience values apply. Returns an error message, or NULL.
 */
static const char *read_audiences(const struct sg_route_context *context, const json_t *value,
                                  struct verify_body *body)
{
    if (value == NULL || json_is_null(value)) {
        if (context->default_audience_count == 0)
            return "the request has no \"audience\" and the server has no --audience default";
        for (size_t i = 0; i < context->default_audience_count; i++)
            body->audiences[i] = context->default_audiences[i];
        body->audience_count = context->default_audience_count;
        return NULL;
    }

    if (json_is_string(value))
        return add_audience(body, value) ? NULL : "\"audience\" must not be empty";

    if (!json_is_array(value) || json_array_size(value) == 0)
        return "\"audience\" must be a string or a non-empty array of strings";

    if (json_array_size(value) > SG_AUDIENCES_MAX)
        return "\"audience\" has more values than the server accepts";

    for (size_t i = 0; i < json_array_size(value); i++) {
        if (!add_audience(body, json_array_get(value, i)))
            return "every \"audience\" value must be a non-empty string";
    }
    return NULL;
}

/*
 * Parses {"token": "...", "audience": ...}. Duplicate member names are
 * rejected, so a proxy and svidgate cannot read different tokens from one
 * body. Returns an error message (body->root is then NULL) or NULL.
 */
static const char *read_verify_body(const struct sg_route_context *context, struct sg_slice text,
                                    struct verify_body *body, struct reply *reply)
{
    json_error_t error;
    const json_t *token;
    const char *message;
    struct sg_slice audience;

    /* The plain shape every gateway sends is read without building JSON values. */
    if (sg_verify_body_read_fast(text, &body->token, &audience)) {
        if (audience.len > 0) {
            body->audiences[0] = audience;
            body->audience_count = 1;
            return NULL;
        }
        return read_audiences(context, NULL, body);
    }

    body->root = json_loadb((const char *)text.ptr, text.len, JSON_REJECT_DUPLICATES, &error);
    if (body->root == NULL) {
        /* error.text is not used: it may quote bytes of the token. */
        if (json_error_code(&error) == json_error_duplicate_key)
            return "the request body has a duplicate member name";
        snprintf(reply->message_buffer, sizeof(reply->message_buffer),
                 "the request body is not valid JSON (line %d, column %d)", error.line,
                 error.column);
        return reply->message_buffer;
    }

    if (!json_is_object(body->root)) {
        message = "the request body must be a JSON object";
    } else if ((token = json_object_get(body->root, "token")) == NULL) {
        message = "the request body has no \"token\" member";
    } else if (!json_is_string(token)) {
        message = "\"token\" must be a string";
    } else {
        body->token = sg_slice_make(json_string_value(token), json_string_length(token));
        message = read_audiences(context, json_object_get(body->root, "audience"), body);
    }

    if (message != NULL) {
        json_decref(body->root);
        body->root = NULL;
    }
    return message;
}

/* A token and the audiences to check it against. */
struct jwt_request {
    struct sg_slice token;
    const struct sg_slice *audiences;
    size_t audience_count;
};

/* Responds from the cache when it contains this token's verdict; false on a miss. */
static bool answer_jwt_from_cache(struct sg_route_context *context, const struct jwt_request *jwt,
                                  int64_t now, struct reply *reply, enum sg_error *verdict)
{
    const struct sg_cache_entry *entry =
        sg_verdict_cache_find(&context->verdicts, SG_CREDENTIAL_JWT, jwt->token,
                              context->trust->verdict_generation, context->leeway, now);

    if (entry == NULL)
        return false;
    *verdict = sg_verdict_cache_answer_jwt(entry, jwt->audiences, jwt->audience_count,
                                           &reply->body, &reply->owned_body);
    return *verdict != SG_ERR_INTERNAL;
}

void sg_route_request_early_fetch(struct sg_route_context *context, enum sg_error verdict,
                                  struct sg_slice trust_domain)
{
    if ((verdict == SG_ERR_UNKNOWN_KEY || verdict == SG_ERR_UNKNOWN_TRUST_DOMAIN) &&
        context->federation_wake != NULL)
        sg_federation_wake_request(context->federation_wake, trust_domain);
}

/*
 * Verifies the token, caches the credential's own verdict, then checks the
 * audience, which is never part of the cached verdict. An unknown_key or
 * unknown_trust_domain verdict requests an early fetch when the token's
 * trust domain is federated. The cached verdict belongs to this generation, so a fetch
 * that brings the key makes it a miss.
 */
static enum sg_error verify_token(struct sg_route_context *context, const struct jwt_request *jwt,
                                  int64_t now, struct reply *reply)
{
    struct sg_jwt_options options = { .now = now, .leeway = context->leeway };
    struct sg_jwt_svid svid;
    enum sg_error verdict;

    verdict = sg_jwt_svid_verify(context->verifier, context->trust, jwt->token, &options, &svid);
    reply->owned_body = sg_jwt_svid_result_json(&svid);
    if (reply->owned_body != NULL)
        sg_verdict_cache_store_jwt(&context->verdicts, jwt->token,
                                   context->trust->verdict_generation, context->leeway, &svid,
                                   sg_slice_cstr(reply->owned_body));
    sg_route_request_early_fetch(context, verdict, svid.id.trust_domain);

    if (verdict == SG_OK) {
        verdict = sg_jwt_svid_check_audience(&svid, jwt->audiences, jwt->audience_count);
        if (verdict != SG_OK) {
            free(reply->owned_body);
            reply->owned_body = sg_jwt_svid_result_json(&svid);
        }
    }
    sg_jwt_svid_clear(&svid);
    if (reply->owned_body != NULL)
        reply->body = sg_slice_cstr(reply->owned_body);
    return verdict;
}

/* Sets reply->body to the token's result object, from the cache or by verifying it. */
static void verify_jwt(struct sg_route_context *context, const struct jwt_request *jwt,
                       int64_t now, struct reply *reply)
{
    uint64_t started = sg_metrics_clock_ns();
    enum sg_error verdict;

    if (!answer_jwt_from_cache(context, jwt, now, reply, &verdict))
        verdict = verify_token(context, jwt, now, reply);
    sg_verdict_cache_publish_counts(&context->verdicts);
    sg_metrics_count_verification(context->worker_metrics, SG_METRIC_KIND_JWT, verdict,
                                  sg_metrics_clock_ns() - started);
    log_rejection("jwt", verdict, jwt->token);
}

/*
 * Keeps the requested audiences that are in the result's "audience" array:
 * the audiences a JWT-SVID was verified for. Returns the number kept.
 */
static size_t verified_audiences(const json_t *result, const struct sg_slice *audiences,
                                 size_t audience_count, struct sg_slice *kept)
{
    const json_t *aud = json_object_get(result, "audience");
    size_t count = 0;

    for (size_t i = 0; i < audience_count; i++) {
        size_t index;
        const json_t *value;

        json_array_foreach(aud, index, value) {
            if (audiences[i].len > 0 && sg_slice_eq(sg_json_string_slice(value), audiences[i])) {
                kept[count++] = audiences[i];
                break;
            }
        }
    }
    return count;
}

/*
 * Turns a valid result into `valid: false, error: policy_denied` when the
 * policy does not admit its ID. The JSON API has no original path, so
 * only rules without a path prefix apply. The rules are matched against
 * the requested audiences the token's `aud` contains (none for X.509).
 */
static void apply_policy(struct sg_route_context *context, const struct sg_slice *audiences,
                         size_t audience_count, int64_t now, struct reply *reply)
{
    struct sg_slice kept[SG_AUDIENCES_MAX];
    size_t kept_count;
    json_t *root;
    struct sg_spiffe_id id;
    struct sg_status status;
    enum sg_error verdict = SG_OK;

    if (context->settings == NULL || context->settings->policy.rule_count == 0 ||
        reply->body.ptr == NULL)
        return;
    root = json_loadb((const char *)reply->body.ptr, reply->body.len, 0, NULL);
    kept_count = verified_audiences(root, audiences, audience_count, kept);
    if (json_is_true(json_object_get(root, "valid")) &&
        sg_spiffe_id_parse(sg_json_string_slice(json_object_get(root, "spiffe_id")), &id,
                           &status) == SG_OK)
        verdict = sg_forward_auth_authorize(context, &id, kept, kept_count,
                                            sg_slice_make(NULL, 0), now);
    json_decref(root);
    if (verdict == SG_OK)
        return;

    free(reply->owned_body);
    reply->owned_body = sg_result_error_json(verdict, sg_error_default_message(verdict));
    reply->body = reply->owned_body != NULL ? sg_slice_cstr(reply->owned_body)
                                            : sg_slice_make(NULL, 0);
}

static void handle_verify_jwt(struct sg_route_context *context,
                              const struct sg_http_request *request, int64_t now,
                              struct reply *reply)
{
    struct verify_body body = { 0 };
    const char *message = read_verify_body(context, request->body, &body, reply);

    if (message != NULL) {
        reply_error(reply, 400, message);
        return;
    }

    struct jwt_request jwt = { body.token, body.audiences, body.audience_count };
    verify_jwt(context, &jwt, now, reply);
    apply_policy(context, body.audiences, body.audience_count, now, reply);
    json_decref(body.root);
    if (reply->body.ptr == NULL) {
        reply_error(reply, 500, "the server ran out of memory");
        return;
    }

    reply->status = 200;
    reply->content_type = "application/json";
}

/* ---- POST /v1/x509-svid/verify -------------------------------------- */

/* True when Content-Type names application/x-pem-file (parameters ignored). */
static bool is_pem_body(const struct sg_http_request *request)
{
    const struct sg_http_header *header = sg_http_request_find_header(request, "content-type");
    struct sg_slice media_type;

    if (header == NULL)
        return false;
    media_type = sg_slice_make(header->value.ptr, sg_slice_find(header->value, ';'));
    while (media_type.len > 0 &&
           (media_type.ptr[media_type.len - 1] == ' ' || media_type.ptr[media_type.len - 1] == '\t'))
        media_type.len--;
    return sg_http_token_eq(media_type, "application/x-pem-file");
}

/*
 * Decodes {"chain": ["<base64 DER>", ...]} into a chain. For a body
 * svidgate cannot read it returns the message of a 400. A chain that does
 * not decode is a malformed credential instead: it is reported in
 * `status`, and the function returns NULL.
 */
static const char *read_chain_json(struct sg_slice text, STACK_OF(X509) **chain,
                                   struct sg_status *status)
{
    json_error_t error;
    json_t *root = json_loadb((const char *)text.ptr, text.len, JSON_REJECT_DUPLICATES, &error);
    const json_t *array = json_object_get(root, "chain");
    struct sg_slice ders[SG_X509_CHAIN_MAX];
    uint8_t *buffers[SG_X509_CHAIN_MAX] = { NULL };
    size_t count = json_array_size(array);
    const char *message = NULL;

    if (root == NULL || !json_is_object(root))
        message = "the request body must be a JSON object (or PEM with Content-Type: "
                  "application/x-pem-file)";
    else if (!json_is_array(array))
        message = "the request body has no \"chain\" array";
    for (size_t i = 0; message == NULL && i < count; i++) {
        if (!json_is_string(json_array_get(array, i)))
            message = "every \"chain\" element must be a base64 DER string";
    }
    if (message != NULL)
        goto done;

    if (count > SG_X509_CHAIN_MAX) {
        sg_fail(status, SG_ERR_MALFORMED, "the chain has %zu certificates; the maximum is %d",
                count, SG_X509_CHAIN_MAX);
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        const json_t *value = json_array_get(array, i);
        struct sg_slice encoded = sg_slice_make(json_string_value(value), json_string_length(value));
        size_t cap = sg_base64_decoded_max(encoded.len);

        buffers[i] = malloc(cap);
        if (buffers[i] == NULL || sg_base64_decode(encoded, buffers[i], cap, &ders[i].len) != SG_OK) {
            sg_fail(status, SG_ERR_MALFORMED, "chain element %zu is not valid padded base64", i + 1);
            goto done;
        }
        ders[i].ptr = buffers[i];
    }
    if (sg_x509_chain_from_der(ders, count, chain, status) != SG_OK)
        *chain = NULL;

done:
    for (size_t i = 0; i < SG_X509_CHAIN_MAX; i++)
        free(buffers[i]);
    json_decref(root);
    return message;
}

static void handle_verify_x509(struct sg_route_context *context,
                               const struct sg_http_request *request, int64_t now,
                               struct reply *reply)
{
    struct sg_x509_options options = { .now = now, .leeway = context->leeway };
    enum sg_credential_kind kind = is_pem_body(request) ? SG_CREDENTIAL_X509_PEM
                                                        : SG_CREDENTIAL_X509_JSON;
    uint64_t generation = context->trust->verdict_generation;
    const struct sg_cache_entry *entry =
        sg_verdict_cache_find(&context->verdicts, kind, request->body, generation,
                              context->leeway, now);
    STACK_OF(X509) *chain = NULL;
    struct sg_x509_svid svid;
    const char *message = NULL;
    enum sg_error verdict = SG_OK;

    reply->status = 200;
    reply->content_type = "application/json";
    if (entry != NULL) {
        verdict = sg_verdict_cache_answer_x509(entry, &reply->body);
        sg_metrics_count_verification(context->worker_metrics, SG_METRIC_KIND_X509, verdict,
                                      sg_metrics_clock_ns() - reply->started_ns);
        log_rejection("x509", verdict, request->body);
        sg_verdict_cache_publish_counts(&context->verdicts);
        apply_policy(context, NULL, 0, now, reply);
        return;
    }

    memset(&svid, 0, sizeof(svid));
    if (kind == SG_CREDENTIAL_X509_PEM)
        verdict = sg_x509_chain_from_pem(request->body, &chain, &svid.status);
    else if ((message = read_chain_json(request->body, &chain, &svid.status)) != NULL) {
        reply_error(reply, 400, message);
        return;
    } else if (chain == NULL)
        verdict = svid.status.error;

    if (verdict == SG_OK)
        verdict = sg_x509_svid_verify(context->verifier, context->trust, chain, &options, &svid);
    sg_x509_chain_free(chain);
    sg_metrics_count_verification(context->worker_metrics, SG_METRIC_KIND_X509, verdict,
                                  sg_metrics_clock_ns() - reply->started_ns);
    log_rejection("x509", verdict, request->body);

    reply->owned_body = sg_x509_svid_result_json(&svid);
    if (reply->owned_body == NULL) {
        reply_error(reply, 500, "the server ran out of memory");
        return;
    }
    sg_verdict_cache_store_x509(&context->verdicts, kind, request->body, generation,
                                context->leeway, &svid, sg_slice_cstr(reply->owned_body));
    sg_verdict_cache_publish_counts(&context->verdicts);
    reply->body = sg_slice_cstr(reply->owned_body);
    apply_policy(context, NULL, 0, now, reply);
}

/* ---- POST /v1/jwt-svid/verify-batch --------------------------------- */

char *sg_route_verify_batch_item(void *context_pointer, const struct sg_batch_item *item,
                                 int64_t now)
{
    struct sg_route_context *context = context_pointer;
    struct jwt_request jwt = { item->token, item->audiences, item->audience_count };
    struct reply reply = { 0 };

    if (item->error_message != NULL) {
        sg_metrics_count_verification(context->worker_metrics, SG_METRIC_KIND_JWT,
                                      SG_ERR_MALFORMED, 0);
        return sg_result_error_json(SG_ERR_MALFORMED, item->error_message);
    }

    verify_jwt(context, &jwt, now, &reply);
    apply_policy(context, item->audiences, item->audience_count, now, &reply);
    publish_policy_counts(context);
    if (reply.owned_body != NULL || reply.body.ptr == NULL)
        return reply.owned_body;
    /* A cached result object lives in the cache entry: copy it. */
    return strndup((const char *)reply.body.ptr, reply.body.len);
}

/*
 * Verifies a small batch here, or publishes a large one to every worker
 * and defers the response; see net/batch.h. A large batch goes through
 * the queue even with one worker, so that the worker verifies it a few
 * chunks per loop turn and keeps serving its other connections.
 */
static void handle_verify_batch(struct sg_route_context *context,
                                const struct sg_http_request *request, int64_t now,
                                struct reply *reply)
{
    struct sg_batch_body body;
    struct sg_batch_job *job;
    const char *message = sg_batch_body_parse(request->body, context->default_audiences,
                                              context->default_audience_count, &body,
                                              reply->message_buffer,
                                              sizeof(reply->message_buffer));

    if (message != NULL) {
        reply_error(reply, 400, message);
        return;
    }
    job = sg_batch_job_new(&body, context->worker_index);
    if (job == NULL) {
        reply_error(reply, 500, "the server ran out of memory");
        return;
    }
    job->started_ns = reply->started_ns;
    job->close = !request->keep_alive;
    job->keep_alive_http10 = request->keep_alive && request->version_minor == 0;

    if (job->body.item_count > SG_BATCH_SPREAD_MIN && context->batch != NULL &&
        sg_batch_publish(context->batch, job)) {
        context->deferred = job;
        reply->deferred = true;
        return;
    }

    sg_batch_verify_all(job, sg_route_verify_batch_item, context, now);
    reply->owned_body = sg_batch_render(job);
    sg_batch_job_release(job);
    if (reply->owned_body == NULL) {
        reply_error(reply, 500, SG_BATCH_RENDER_FAILED);
        return;
    }
    reply->status = 200;
    reply->content_type = "application/json";
    reply->body = sg_slice_cstr(reply->owned_body);
}

/* ---- GET /metrics --------------------------------------------------- */

static void handle_metrics(struct sg_route_context *context, const struct sg_http_request *request,
                           int64_t now, struct reply *reply)
{
    (void)request;
    reply->owned_body = sg_metrics_render(context, now);
    if (reply->owned_body == NULL) {
        reply_error(reply, 500, "the server ran out of memory");
        return;
    }
    reply->status = 200;
    reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
    reply->body = sg_slice_cstr(reply->owned_body);
}

/* ---- GET /v1/bundles ------------------------------------------------ */

static json_t *skipped_object(const struct sg_bundle *bundle)
{
    json_t *object = json_object();

    for (int reason = 0; object != NULL && reason < SG_SKIP_REASON_COUNT; reason++)
        json_object_set_new(object, sg_skip_reason_name((enum sg_skip_reason)reason),
                            json_integer((json_int_t)bundle->skipped[reason]));
    return object;
}

/*
 * A JSON string of `text`, which may come from a file path or an error
 * about one and so need not be UTF-8: bytes of invalid UTF-8 become '?'.
 */
static json_t *text_value(const char *text)
{
    json_t *value = json_string(text);
    char *copy;

    if (value != NULL)
        return value;
    copy = strdup(text);
    for (size_t i = 0; copy != NULL && copy[i] != '\0'; i++) {
        if ((unsigned char)copy[i] >= 0x80)
            copy[i] = '?';
    }
    value = copy != NULL ? json_string(copy) : NULL;
    free(copy);
    return value;
}

/* Describes one --bundle file: what this worker's snapshot contains and the load status. */
static json_t *bundle_object(const struct sg_bundle_file *file,
                             const struct sg_bundle_file_status *status,
                             const struct sg_bundle *bundle, int64_t now)
{
    json_t *object = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I}", "trust_domain",
                               file->trust_domain, "source", "file", "path",
                               text_value(file->path), "last_success",
                               (json_int_t)status->last_success, "last_attempt",
                               (json_int_t)status->last_attempt, "age_seconds",
                               (json_int_t)(now - status->last_success));

    if (object == NULL)
        return NULL;
    json_object_set_new(object, "last_error", status->last_error[0]
                                                  ? text_value(status->last_error)
                                                  : json_null());
    if (bundle == NULL)
        return object;
    json_object_set_new(object, "format",
                        json_string(bundle->format == SG_BUNDLE_PEM ? "pem" : "spiffe"));
    json_object_set_new(object, "jwt_authorities", json_integer((json_int_t)bundle->jwt_key_count));
    json_object_set_new(object, "x509_authorities",
                        json_integer(sk_X509_num(bundle->x509_authorities)));
    json_object_set_new(object, "sequence", bundle->has_sequence
                                                ? json_integer((json_int_t)bundle->sequence)
                                                : json_null());
    json_object_set_new(object, "refresh_hint", bundle->has_refresh_hint
                                                    ? json_integer(bundle->refresh_hint)
                                                    : json_null());
    json_object_set_new(object, "skipped_entries", skipped_object(bundle));
    return object;
}

/*
 * Whether a federated trust domain's bundle is older than its staleness
 * threshold. Called with the publisher's lock held.
 */
static bool federation_is_stale(const struct sg_federation_status *status, int64_t now)
{
    return status->stale_after > 0 && now - status->fresh_since > status->stale_after;
}

/*
 * Describes one --federate trust domain: its endpoint, the last fetches
 * and what this worker's snapshot holds. `stale_seconds` counts from the
 * last accepted fetch, or is null before one. Called with the
 * publisher's lock held.
 */
static json_t *federation_object(const struct sg_federation_source *source,
                                 const struct sg_federation_status *status,
                                 const struct sg_bundle *bundle, int64_t now)
{
    json_t *object = json_pack("{s:s, s:s, s:o, s:s, s:b, s:b, s:I, s:I, s:I, s:I}",
                               "trust_domain", source->trust_domain, "source", "federation",
                               "url", text_value(source->url), "profile",
                               sg_fed_profile_name(source->profile), "has_bundle",
                               status->has_bundle, "from_state_dir", status->from_state_dir,
                               "fetches", (json_int_t)status->fetches, "failures",
                               (json_int_t)status->failures, "rollbacks",
                               (json_int_t)status->rollbacks, "next_attempt",
                               (json_int_t)status->next_attempt);

    if (object == NULL)
        return NULL;
    json_object_set_new(object, "last_success", status->last_success
                                                    ? json_integer(status->last_success)
                                                    : json_null());
    json_object_set_new(object, "last_attempt", status->last_attempt
                                                    ? json_integer(status->last_attempt)
                                                    : json_null());
    json_object_set_new(object, "stale_seconds",
                        status->last_success ? json_integer(now - status->last_success)
                                             : json_null());
    json_object_set_new(object, "stale", json_boolean(federation_is_stale(status, now)));
    json_object_set_new(object, "stale_after_seconds",
                        status->stale_after ? json_integer(status->stale_after) : json_null());
    json_object_set_new(object, "last_error", status->last_error[0]
                                                  ? text_value(status->last_error)
                                                  : json_null());
    json_object_set_new(object, "peer_id",
                        status->peer_id[0] ? text_value(status->peer_id) : json_null());
    json_object_set_new(object, "sequence", status->has_bundle && status->has_sequence
                                                ? json_integer((json_int_t)status->sequence)
                                                : json_null());
    if (source->spiffe_id != NULL)
        json_object_set_new(object, "spiffe_id", text_value(source->spiffe_id));
    if (bundle != NULL && status->has_bundle) {
        json_object_set_new(object, "jwt_authorities",
                            json_integer((json_int_t)bundle->jwt_key_count));
        json_object_set_new(object, "x509_authorities",
                            json_integer(sk_X509_num(bundle->x509_authorities)));
        json_object_set_new(object, "refresh_hint", bundle->has_refresh_hint
                                                        ? json_integer(bundle->refresh_hint)
                                                        : json_null());
    }
    return object;
}

static json_t *cache_object(const struct sg_route_context *context)
{
    struct sg_cache_stats total;

    sg_cache_counters_merge(context->all_counters, context->worker_count, &total);
    return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I}", "enabled", context->cache != NULL,
                     "capacity",
                     (json_int_t)(context->cache ? sg_cache_capacity(context->cache) : 0), "hits",
                     (json_int_t)total.hits, "misses", (json_int_t)total.misses, "inserts",
                     (json_int_t)total.inserts, "evictions", (json_int_t)total.evictions);
}

/*
 * Reports the bundles of this worker's snapshot with the publisher's load
 * status. The publisher's lock is held while reading its status; this is
 * an operator endpoint, not the verification path.
 */
static void handle_bundles(struct sg_route_context *context, const struct sg_http_request *request,
                           int64_t now, struct reply *reply)
{
    struct sg_trust_publisher *publisher = context->publisher;
    json_t *bundles = json_array();
    json_t *root;

    (void)request;
    pthread_mutex_lock(&publisher->lock);
    for (size_t i = 0; bundles != NULL && i < publisher->file_count; i++) {
        const struct sg_bundle_file *file = &publisher->files[i];

        json_array_append_new(bundles, bundle_object(file, &publisher->status[i],
                                                     sg_trust_set_find(context->trust,
                                                                       sg_slice_cstr(file->trust_domain)),
                                                     now));
    }
    for (size_t i = 0; bundles != NULL && i < publisher->federation_count; i++) {
        const struct sg_federation_source *source = &publisher->federations[i];

        json_array_append_new(bundles, federation_object(source, &publisher->federation_status[i],
                                                         sg_trust_set_find(context->trust,
                                                                           sg_slice_cstr(source->trust_domain)),
                                                         now));
    }
    root = json_pack("{s:I, s:I, s:I, s:o, s:o}", "generation",
                     (json_int_t)context->trust->generation, "reloads",
                     (json_int_t)publisher->reloads, "reload_errors",
                     (json_int_t)publisher->reload_errors, "trust_domains", bundles, "cache",
                     cache_object(context));
    pthread_mutex_unlock(&publisher->lock);

    reply->owned_body = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (reply->owned_body == NULL) {
        reply_error(reply, 500, "the server ran out of memory");
        return;
    }
    reply->status = 200;
    reply->content_type = "application/json";
    reply->body = sg_slice_cstr(reply->owned_body);
}

/* ---- GET /readyz ---------------------------------------------------- */

/* Describes a stale federated trust domain for GET /readyz. */
static json_t *stale_object(const char *trust_domain, const struct sg_federation_status *status,
                            int64_t now)
{
    json_t *object = json_pack("{s:s, s:I, s:I}", "trust_domain", trust_domain, "age_seconds",
                               (json_int_t)(now - status->fresh_since), "stale_after_seconds",
                               (json_int_t)status->stale_after);

    if (object != NULL)
        json_object_set_new(object, "last_error", status->last_error[0]
                                                      ? text_value(status->last_error)
                                                      : json_null());
    return object;
}

/*
 * 200 when every configured trust domain has a bundle in this worker's
 * snapshot and no federated one is stale, else 503 listing the missing
 * and the stale ones. A --bundle file always has a bundle after start-up,
 * so only a federated trust domain that has neither a fetched or saved
 * bundle nor a --bundle file can be missing. A stale trust domain still
 * verifies with its last good bundle. The 503 reports to the operator
 * that its endpoint has not been reachable for too long.
 */
static void handle_readyz(struct sg_route_context *context, const struct sg_http_request *request,
                          int64_t now, struct reply *reply)
{
    struct sg_trust_publisher *publisher = context->publisher;
    json_t *missing = json_array();
    json_t *stale = json_array();
    json_t *root;
    bool ready;

    (void)request;
    pthread_mutex_lock(&publisher->lock);
    for (size_t i = 0; missing != NULL && stale != NULL && i < publisher->federation_count; i++) {
        const char *trust_domain = publisher->federations[i].trust_domain;
        const struct sg_federation_status *status = &publisher->federation_status[i];

        if (sg_trust_set_find(context->trust, sg_slice_cstr(trust_domain)) == NULL)
            json_array_append_new(missing, json_string(trust_domain));
        else if (federation_is_stale(status, now))
            json_array_append_new(stale, stale_object(trust_domain, status, now));
    }
    pthread_mutex_unlock(&publisher->lock);
    ready = missing != NULL && stale != NULL && json_array_size(missing) == 0 &&
            json_array_size(stale) == 0;
    root = json_pack("{s:s, s:o, s:o}", "status", ready ? "ready" : "not_ready",
                     "missing_bundles", missing, "stale_bundles", stale);
    reply->owned_body = root != NULL ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (reply->owned_body == NULL) {
        reply_error(reply, 500, "the server ran out of memory");
        return;
    }
    reply->status = ready ? 200 : 503;
    reply->content_type = "application/json";
    reply->body = sg_slice_cstr(reply->owned_body);
}

/* ---- Dispatch ------------------------------------------------------- */

static const struct route routes[] = {
    { SG_METRIC_ROUTE_HEALTHZ, "/healthz", { "GET", "HEAD", NULL }, "GET, HEAD", handle_healthz },
    { SG_METRIC_ROUTE_READYZ, "/readyz", { "GET", "HEAD", NULL }, "GET, HEAD", handle_readyz },
    { SG_METRIC_ROUTE_JWT_VERIFY, "/v1/jwt-svid/verify", { "POST", NULL }, "POST",
      handle_verify_jwt },
    { SG_METRIC_ROUTE_JWT_VERIFY_BATCH, "/v1/jwt-svid/verify-batch", { "POST", NULL }, "POST",
      handle_verify_batch },
    { SG_METRIC_ROUTE_X509_VERIFY, "/v1/x509-svid/verify", { "POST", NULL }, "POST",
      handle_verify_x509 },
    { SG_METRIC_ROUTE_BUNDLES, "/v1/bundles", { "GET", "HEAD", NULL }, "GET, HEAD",
      handle_bundles },
    { SG_METRIC_ROUTE_METRICS, "/metrics", { "GET", "HEAD", NULL }, "GET, HEAD", handle_metrics },
};

static const struct route *find_route(struct sg_slice path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (sg_slice_eq_cstr(path, routes[i].path))
            return &routes[i];
    }
    return NULL;
}

/* Methods are case-sensitive (RFC 9110, section 9.1). */
static bool route_allows(const struct route *route, struct sg_slice method)
{
    for (size_t i = 0; route->methods[i] != NULL; i++) {
        if (sg_slice_eq_cstr(method, route->methods[i]))
            return true;
    }
    return false;
}

static int64_t read_clock(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec;
}

static bool write_reply(struct sg_route_context *context, const struct sg_http_request *request,
                        struct reply *reply, const char *allow, struct sg_byte_buffer *out)
{
    if (reply->error_message != NULL) {
        reply->owned_body = sg_http_error_body(reply->status, reply->error_message);
        if (reply->owned_body == NULL)
            return false;
        reply->content_type = "application/json";
        reply->body = sg_slice_cstr(reply->owned_body);
    }

    struct sg_http_response response = {
        .status = reply->status,
        .content_type = reply->content_type,
        .body = reply->body,
        .allow = allow,
        .headers = reply->headers,
        .close = !request->keep_alive,
        .keep_alive_http10 = request->keep_alive && request->version_minor == 0,
        .omit_body = sg_slice_eq_cstr(request->method, "HEAD"),
    };
    return sg_http_response_write(out, &response, &context->date);
}

void sg_route_load_settings(struct sg_route_context *context)
{
    if (context->live == NULL)
        return;
    context->settings = sg_live_config_current(context->live);
    context->default_audiences = context->settings->audiences;
    context->default_audience_count = context->settings->audience_count;
    context->leeway = context->settings->leeway;
}

static enum sg_metric_route metric_route(const struct route *route, struct sg_slice path)
{
    if (sg_forward_auth_path(path))
        return SG_METRIC_ROUTE_FORWARD_AUTH;
    return route != NULL ? route->metric : SG_METRIC_ROUTE_UNMATCHED;
}

/*
 * Handles a forward-auth request: an empty body and the verdict in headers.
 */
static void handle_forward_auth(struct sg_route_context *context,
                                const struct sg_http_request *request, int64_t now,
                                struct reply *reply, struct sg_forward_auth_reply *auth)
{
    sg_forward_auth_handle(context, request, now, auth);
    reply->status = auth->status;
    reply->headers = auth->headers;
}

bool sg_route_request(struct sg_route_context *context, const struct sg_http_request *request,
                      struct sg_byte_buffer *out)
{
    int64_t now = read_clock();
    struct sg_slice path = sg_http_request_path(request);
    const struct route *route = find_route(path);
    const char *allow = NULL;
    struct reply reply = { .started_ns = sg_metrics_clock_ns() };
    struct sg_forward_auth_reply auth;
    bool written;

    sg_http_date_update(&context->date, (time_t)now);
    sg_route_load_settings(context);

    if (sg_forward_auth_path(path)) {
        handle_forward_auth(context, request, now, &reply, &auth);
    } else if (route == NULL) {
        reply_error(&reply, 404, "no resource exists at this path");
    } else if (!route_allows(route, request->method)) {
        allow = route->allow;
        reply_error(&reply, 405, "this method is not allowed on this path; see the Allow header");
    } else {
        route->handler(context, request, now, &reply);
    }
    if (reply.deferred)
        return true;

    written = write_reply(context, request, &reply, allow, out);
    free(reply.owned_body);
    sg_metrics_count_request(context->worker_metrics, metric_route(route, path), reply.status,
                             sg_metrics_clock_ns() - reply.started_ns);
    publish_policy_counts(context);
    return written;
}
