#include "net/forward_auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/jwt_svid.h"
#include "core/limits.h"
#include "core/x509_svid.h"
#include "net/federation_refresh.h"
#include "net/live_config.h"
#include "net/log.h"
#include "net/metrics.h"
#include "net/trust_publisher.h"
#include "net/xfcc.h"

static const char auth_path[] = "/v1/auth";
#define AUTH_PATH_LEN (sizeof(auth_path) - 1)

/* Log lines about policy denials one worker writes per second; the rest are counted. */
#define POLICY_LOG_LINES_PER_SECOND 10

/* The audiences and original path of a forward-auth request; slices point into the request. */
struct auth_request {
    struct sg_slice audiences[SG_AUDIENCES_MAX];
    size_t audience_count;
    uint8_t audience_text[SG_HTTP_URI_MAX]; /* decoded ?audience= values */
    struct sg_slice path;                   /* ptr NULL: no original path */
};

/* The verified identity behind a credential. */
struct identity {
    char id_text[SG_SPIFFE_ID_MAX + 1];
    struct sg_spiffe_id id; /* slices into id_text */
    int64_t expires_at;
    /* The requested audiences the credential was verified for, which the
     * policy's rules are matched against: for a JWT-SVID those in its
     * `aud`, for an X.509-SVID (no audience of its own) all of them.
     * Slices into the auth_request. */
    struct sg_slice audiences[SG_AUDIENCES_MAX];
    size_t audience_count;
};

/* Keeps the requested audiences for which listed[i] is true. */
static void keep_listed_audiences(const struct auth_request *auth, const bool *listed,
                                  struct identity *identity)
{
    identity->audience_count = 0;
    for (size_t i = 0; i < auth->audience_count; i++) {
        if (listed[i])
            identity->audiences[identity->audience_count++] = auth->audiences[i];
    }
}

bool sg_forward_auth_path(struct sg_slice path)
{
    struct sg_slice prefix = sg_slice_make(auth_path, AUTH_PATH_LEN);

    return sg_slice_starts_with(path, prefix) &&
           (path.len == AUTH_PATH_LEN || path.ptr[AUTH_PATH_LEN] == '/');
}

/* ---- Request reading ------------------------------------------------ */

/* The number of header lines named `name` (lowercase). */
static size_t count_headers(const struct sg_http_request *request, const char *name)
{
    size_t count = 0;

    for (size_t i = 0; i < request->header_count; i++)
        count += sg_http_token_eq(request->headers[i].name, name);
    return count;
}

static struct sg_slice without_query(struct sg_slice target)
{
    return sg_slice_make(target.ptr, sg_slice_find(target, '?'));
}

/* Reads the `audience` parameters of the query of /v1/auth itself. */
static void read_query_audiences(const struct sg_http_request *request, struct auth_request *auth)
{
    struct sg_slice target = request->target;
    size_t query_at = sg_slice_find(target, '?');
    struct sg_cursor cursor;
    size_t used = 0;

    if (query_at == target.len)
        return;
    cursor = sg_cursor_make(sg_slice_make(target.ptr + query_at + 1, target.len - query_at - 1));
    while (sg_cursor_remaining(&cursor) > 0 && auth->audience_count < SG_AUDIENCES_MAX) {
        struct sg_slice parameter;
        struct sg_slice value;
        struct sg_status status;
        size_t len = 0;

        if (!sg_cursor_read_until(&cursor, '&', &parameter)) {
            parameter = sg_cursor_rest(&cursor);
            cursor.pos = cursor.buf.len;
        }
        if (parameter.len <= 9 || memcmp(parameter.ptr, "audience=", 9) != 0)
            continue;
        value = sg_slice_make(parameter.ptr + 9, parameter.len - 9);
        /* The target is at most SG_HTTP_URI_MAX bytes and decoding never grows it. */
        if (sg_url_decode(value, auth->audience_text + used, &len, &status) != SG_OK || len == 0)
            continue;
        auth->audiences[auth->audience_count++] = sg_slice_make(auth->audience_text + used, len);
        used += len;
    }
}

static void read_audiences(const struct sg_route_context *context,
                           const struct sg_http_request *request, struct auth_request *auth)
{
    struct sg_slice path = sg_http_request_path(request);

    for (size_t i = 0; i < request->header_count && auth->audience_count < SG_AUDIENCES_MAX; i++) {
        const struct sg_http_header *header = &request->headers[i];

        if (sg_http_token_eq(header->name, "x-svid-audience") && header->value.len > 0)
            auth->audiences[auth->audience_count++] = header->value;
    }
    if (auth->audience_count == 0 && path.len == AUTH_PATH_LEN)
        read_query_audiences(request, auth);
    for (size_t i = 0; auth->audience_count == 0 && i < context->default_audience_count; i++)
        auth->audiences[i] = context->default_audiences[i];
    if (auth->audience_count == 0)
        auth->audience_count = context->default_audience_count;
}

/*
 * Reads the original path: the /v1/auth/PATH suffix, else the
 * X-Forwarded-Uri and X-Original-URI lines. Those lines must all name the
 * same path, because a gateway sets one of them and may pass a client's
 * own line of the other name (nginx passes X-Forwarded-Uri). Lines that
 * disagree give an empty path, which the policy denies when it has path
 * rules.
 */
static void read_original_path(const struct sg_http_request *request, struct auth_request *auth)
{
    struct sg_slice path = sg_http_request_path(request);

    if (path.len > AUTH_PATH_LEN) {
        auth->path = sg_slice_make(path.ptr + AUTH_PATH_LEN, path.len - AUTH_PATH_LEN);
        return;
    }
    for (size_t i = 0; i < request->header_count; i++) {
        const struct sg_http_header *header = &request->headers[i];
        struct sg_slice value;

        if (!sg_http_token_eq(header->name, "x-forwarded-uri") &&
            !sg_http_token_eq(header->name, "x-original-uri"))
            continue;
        value = without_query(header->value);
        if (auth->path.ptr == NULL) {
            auth->path = value;
        } else if (!sg_slice_eq(auth->path, value)) {
            auth->path = sg_slice_make(auth_path, 0);
            return;
        }
    }
}

/* ---- Verification --------------------------------------------------- */

/* Copies a verified SPIFFE ID (at most SG_SPIFFE_ID_MAX bytes) and its expiry. */
static enum sg_error identity_from_text(struct sg_slice id, int64_t expires_at,
                                        struct identity *identity)
{
    struct sg_status status;

    if (id.len > SG_SPIFFE_ID_MAX)
        return SG_ERR_INTERNAL;
    memcpy(identity->id_text, id.ptr, id.len);
    identity->id_text[id.len] = '\0';
    identity->expires_at = expires_at;
    return sg_spiffe_id_parse(sg_slice_make(identity->id_text, id.len), &identity->id,
                              &status) == SG_OK ? SG_OK : SG_ERR_INTERNAL;
}

/* Copies the identity of a cached valid verdict. */
static enum sg_error identity_from_entry(const struct sg_cache_entry *entry,
                                         struct identity *identity)
{
    struct sg_slice id;
    int64_t expires_at;

    if (!sg_verdict_cache_identity(entry, &id, &expires_at))
        return SG_ERR_INTERNAL;
    return identity_from_text(id, expires_at, identity);
}

/*
 * Verifies a bearer JWT-SVID as POST /v1/jwt-svid/verify does, with the
 * same cache entries: the credential's own verdict is cached and the
 * audience is checked on every request.
 */
static enum sg_error verify_jwt(struct sg_route_context *context, struct sg_slice token,
                                const struct auth_request *auth, int64_t now,
                                struct identity *identity)
{
    uint64_t generation = context->trust->verdict_generation;
    const struct sg_cache_entry *entry =
        sg_verdict_cache_find(&context->verdicts, SG_CREDENTIAL_JWT, token, generation,
                              context->leeway, now);
    struct sg_jwt_options options = { .now = now, .leeway = context->leeway };
    struct sg_jwt_svid svid;
    enum sg_error verdict;
    char *json;

    if (entry != NULL) {
        struct sg_slice result;
        char *owned = NULL;

        verdict = sg_verdict_cache_answer_jwt(entry, auth->audiences, auth->audience_count,
                                              &result, &owned);
        if (verdict == SG_OK)
            verdict = identity_from_entry(entry, identity);
        free(owned);
        if (verdict == SG_OK) {
            bool listed[SG_AUDIENCES_MAX];

            if (!sg_verdict_cache_jwt_audiences(entry, auth->audiences, auth->audience_count,
                                                listed))
                return SG_ERR_INTERNAL;
            keep_listed_audiences(auth, listed, identity);
        }
        return verdict;
    }

    verdict = sg_jwt_svid_verify(context->verifier, context->trust, token, &options, &svid);
    json = sg_jwt_svid_result_json(&svid);
    if (json != NULL)
        sg_verdict_cache_store_jwt(&context->verdicts, token, generation, context->leeway, &svid,
                                   sg_slice_cstr(json));
    free(json);
    sg_route_request_early_fetch(context, verdict, svid.id.trust_domain);
    if (verdict == SG_OK)
        verdict = sg_jwt_svid_check_audience(&svid, auth->audiences, auth->audience_count);
    if (verdict == SG_OK)
        verdict = identity_from_text(svid.id.id, svid.expires_at, identity);
    if (verdict == SG_OK) {
        bool listed[SG_AUDIENCES_MAX];

        for (size_t i = 0; i < auth->audience_count; i++)
            listed[i] = sg_jwt_svid_has_audience(&svid, auth->audiences[i]);
        keep_listed_audiences(auth, listed, identity);
    }
    sg_jwt_svid_clear(&svid);
    return verdict;
}

/* Verifies a PEM chain as POST /v1/x509-svid/verify does with a PEM body. */
static enum sg_error verify_pem(struct sg_route_context *context, struct sg_slice pem,
                                int64_t now, struct identity *identity)
{
    uint64_t generation = context->trust->verdict_generation;
    const struct sg_cache_entry *entry =
        sg_verdict_cache_find(&context->verdicts, SG_CREDENTIAL_X509_PEM, pem, generation,
                              context->leeway, now);
    struct sg_x509_options options = { .now = now, .leeway = context->leeway };
    STACK_OF(X509) *chain = NULL;
    struct sg_x509_svid svid;
    enum sg_error verdict;
    char *json;

    if (entry != NULL) {
        struct sg_slice result;

        verdict = sg_verdict_cache_answer_x509(entry, &result);
        return verdict == SG_OK ? identity_from_entry(entry, identity) : verdict;
    }

    memset(&svid, 0, sizeof(svid));
    verdict = sg_x509_chain_from_pem(pem, &chain, &svid.status);
    if (verdict == SG_OK)
        verdict = sg_x509_svid_verify(context->verifier, context->trust, chain, &options, &svid);
    sg_x509_chain_free(chain);
    json = sg_x509_svid_result_json(&svid);
    if (json != NULL)
        sg_verdict_cache_store_x509(&context->verdicts, SG_CREDENTIAL_X509_PEM, pem, generation,
                                    context->leeway, &svid, sg_slice_cstr(json));
    free(json);
    if (verdict == SG_OK)
        verdict = identity_from_text(svid.id.id, svid.expires_at, identity);
    return verdict;
}

/* Decodes a URL-encoded PEM chain from a gateway header and verifies it. */
static enum sg_error verify_forwarded_pem(struct sg_route_context *context,
                                          struct sg_slice encoded, int64_t now,
                                          struct identity *identity)
{
    uint8_t *pem = malloc(encoded.len + 1);
    size_t pem_len = 0;
    struct sg_status status;
    enum sg_error verdict;

    if (pem == NULL)
        return SG_ERR_INTERNAL;
    verdict = sg_url_decode(encoded, pem, &pem_len, &status);
    if (verdict == SG_OK)
        verdict = verify_pem(context, sg_slice_make(pem, pem_len), now, identity);
    free(pem);
    return verdict;
}

/*
 * Returns the Bearer token of an Authorization value: a slice of length 0
 * for the scheme without a token, or ptr NULL for another scheme. The
 * parser has trimmed the value, so "Bearer " arrives as "Bearer".
 */
static struct sg_slice bearer_token(struct sg_slice value)
{
    static const char scheme[] = "bearer";
    size_t pos = sizeof(scheme) - 1;

    if (value.len < pos || !sg_http_token_eq(sg_slice_make(value.ptr, pos), scheme) ||
        (value.len > pos && value.ptr[pos] != ' '))
        return sg_slice_make(NULL, 0);
    while (pos < value.len && value.ptr[pos] == ' ')
        pos++;
    return sg_slice_make(value.ptr + pos, value.len - pos);
}

/*
 * Verifies the first credential source present. A header given twice
 * is malformed: a proxy and svidgate could read different lines. Sets
 * *kind to the kind of credential found, or SG_METRIC_KIND_COUNT for none.
 */
static enum sg_error verify_credential(struct sg_route_context *context,
                                       const struct sg_http_request *request,
                                       const struct auth_request *auth, int64_t now,
                                       struct identity *identity, enum sg_metric_kind *kind)
{
    const struct sg_http_header *header = sg_http_request_find_header(request, "authorization");
    struct sg_slice token = header != NULL ? bearer_token(header->value) : sg_slice_make(NULL, 0);
    struct sg_slice encoded;
    struct sg_status status;

    *kind = SG_METRIC_KIND_COUNT;

    /* Two Authorization lines could hide a Bearer token behind another scheme. */
    if (count_headers(request, "authorization") > 1)
        return SG_ERR_MALFORMED;
    if (token.ptr != NULL) {
        *kind = SG_METRIC_KIND_JWT;
        if (token.len == 0)
            return SG_ERR_MALFORMED;
        if (auth->audience_count == 0)
            return SG_ERR_AUDIENCE_MISMATCH;
        return verify_jwt(context, token, auth, now, identity);
    }

    header = sg_http_request_find_header(request, "x-forwarded-client-cert");
    *kind = SG_METRIC_KIND_X509;
    if (header != NULL) {
        if (count_headers(request, "x-forwarded-client-cert") > 1 ||
            sg_xfcc_find_certificate(header->value, &encoded, &status) != SG_OK)
            return SG_ERR_MALFORMED;
        return verify_forwarded_pem(context, encoded, now, identity);
    }

    header = sg_http_request_find_header(request, "x-ssl-client-cert");
    if (header != NULL) {
        if (count_headers(request, "x-ssl-client-cert") > 1 || header->value.len == 0)
            return SG_ERR_MALFORMED;
        return verify_forwarded_pem(context, header->value, now, identity);
    }
    *kind = SG_METRIC_KIND_COUNT;
    return SG_ERR_MISSING_CREDENTIAL;
}

/* ---- Policy --------------------------------------------------------- */

/* Logs a denial, at most POLICY_LOG_LINES_PER_SECOND lines per second and worker. */
static void log_denial(struct sg_route_context *context, const struct sg_spiffe_id *id,
                       bool dry_run, int64_t now)
{
    if (context->policy_log_second != now) {
        if (context->policy_log_dropped > 0)
            sg_log(SG_LOG_WARN, "policy denials not logged", "count=%llu",
                   (unsigned long long)context->policy_log_dropped);
        context->policy_log_second = now;
        context->policy_log_lines = 0;
        context->policy_log_dropped = 0;
    }
    if (context->policy_log_lines >= POLICY_LOG_LINES_PER_SECOND) {
        context->policy_log_dropped++;
        return;
    }
    context->policy_log_lines++;
    /* A SPIFFE ID is an identity, not a secret, and its bytes are all printable. */
    sg_log(SG_LOG_INFO, dry_run ? "policy would deny" : "policy denied",
           "event=%s spiffe_id=%.*s", dry_run ? "policy_would_deny" : "policy_denied",
           (int)id->id.len, (const char *)id->id.ptr);
}

enum sg_error sg_forward_auth_authorize(struct sg_route_context *context,
                                        const struct sg_spiffe_id *id,
                                        const struct sg_slice *audiences, size_t audience_count,
                                        struct sg_slice path, int64_t now)
{
    const struct sg_live_config *settings = context->settings;

    if (settings == NULL)
        return SG_OK;
    switch (sg_policy_check(&settings->policy, id, audiences, audience_count, path)) {
    case SG_POLICY_NONE:
        return SG_OK;
    case SG_POLICY_ALLOW:
        context->policy_counts.allowed++;
        return SG_OK;
    case SG_POLICY_DENY:
        break;
    }

    log_denial(context, id, settings->dry_run, now);
    if (settings->dry_run) {
        context->policy_counts.would_deny++;
        return SG_OK;
    }
    context->policy_counts.denied++;
    return SG_ERR_POLICY_DENIED;
}

/* ---- Response ------------------------------------------------------- */

/*
 * Returns the seconds a gateway may cache a 200. That is until the
 * credential expires, and no later than the trust domain's next bundle
 * refresh, since a refresh may revoke a key. The next refresh is the next
 * scheduled fetch of a federated trust domain, else the
 * spiffe_refresh_hint of its bundle file.
 */
static int64_t cache_seconds(struct sg_route_context *context, const struct identity *identity,
                             int64_t now)
{
    struct sg_trust_publisher *publisher = context->publisher;
    const struct sg_bundle *bundle = sg_trust_set_find(context->trust, identity->id.trust_domain);
    int64_t seconds = identity->expires_at - now;
    bool federated = false;

    for (size_t i = 0; publisher != NULL && i < publisher->federation_count; i++) {
        if (!sg_slice_eq_cstr(identity->id.trust_domain, publisher->federations[i].trust_domain))
            continue;
        federated = true;
        pthread_mutex_lock(&publisher->lock);
        int64_t next_attempt = publisher->federation_status[i].next_attempt;
        pthread_mutex_unlock(&publisher->lock);
        if (next_attempt > 0 && next_attempt - now < seconds)
            seconds = next_attempt - now;
    }
    if (!federated && bundle != NULL && bundle->has_refresh_hint && bundle->refresh_hint < seconds)
        seconds = bundle->refresh_hint;
    return seconds > 0 ? seconds : 0;
}

static void reply_denied(struct sg_forward_auth_reply *reply, enum sg_error error)
{
    reply->status = error == SG_ERR_POLICY_DENIED ? 403 : 401;
    snprintf(reply->headers, sizeof(reply->headers), "%sX-Svid-Error: %s\r\n"
             "Cache-Control: no-store\r\n",
             reply->status == 401 ? "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n" : "",
             sg_error_name(error));
}

void sg_forward_auth_handle(struct sg_route_context *context,
                            const struct sg_http_request *request, int64_t now,
                            struct sg_forward_auth_reply *reply)
{
    struct auth_request *auth = calloc(1, sizeof(*auth));
    struct identity identity;
    enum sg_error verdict = SG_ERR_INTERNAL;
    enum sg_metric_kind kind;

    if (auth != NULL) {
        uint64_t started = sg_metrics_clock_ns();

        read_audiences(context, request, auth);
        read_original_path(request, auth);
        verdict = verify_credential(context, request, auth, now, &identity, &kind);
        if (verdict == SG_OK && kind == SG_METRIC_KIND_X509) {
            memcpy(identity.audiences, auth->audiences,
                   auth->audience_count * sizeof(*auth->audiences));
            identity.audience_count = auth->audience_count;
        }
        if (kind != SG_METRIC_KIND_COUNT)
            sg_metrics_count_verification(context->worker_metrics, kind, verdict,
                                          sg_metrics_clock_ns() - started);
        context->verdicts_by_code[verdict]++;
        sg_verdict_cache_publish_counts(&context->verdicts);
    }
    if (verdict == SG_OK)
        verdict = sg_forward_auth_authorize(context, &identity.id, identity.audiences,
                                            identity.audience_count, auth->path, now);
    free(auth);

    if (verdict != SG_OK) {
        reply_denied(reply, verdict);
        return;
    }
    reply->status = 200;
    snprintf(reply->headers, sizeof(reply->headers),
             "X-Spiffe-Id: %.*s\r\nX-Spiffe-Trust-Domain: %.*s\r\n"
             "Cache-Control: private, max-age=%lld\r\n",
             (int)identity.id.id.len, (const char *)identity.id.id.ptr,
             (int)identity.id.trust_domain.len, (const char *)identity.id.trust_domain.ptr,
             (long long)cache_seconds(context, &identity, now));
}
