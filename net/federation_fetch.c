#include "net/federation_fetch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/verifier.h"
#include "core/x509_svid.h"

/* The first allocation for a response body; it doubles up to max_body. */
#define BODY_INITIAL_CAPACITY (16 * 1024)

/* State of one fetch, shared with the libcurl and OpenSSL callbacks. */
struct fetch_state {
    const struct sg_fed_endpoint *endpoint;
    const struct sg_fed_fetch_options *options;
    struct sg_fed_fetch_result *result;
    struct sg_verifier *verifier; /* https_spiffe only */

    char *body;
    size_t body_len;
    size_t body_capacity;
    bool body_too_large;

    /* Set by the verify callback when it rejects a server; preferred over
     * libcurl's generic TLS error in the result message. */
    bool auth_failed;
    char auth_message[SG_FED_MESSAGE_MAX];
};

const char *sg_fed_profile_name(enum sg_fed_profile profile)
{
    switch (profile) {
    case SG_FED_HTTPS_WEB:
        return "https_web";
    case SG_FED_HTTPS_SPIFFE:
        return "https_spiffe";
    }
    return "unknown";
}

bool sg_fed_profile_parse(const char *text, enum sg_fed_profile *out)
{
    if (strcmp(text, "https_web") == 0) {
        *out = SG_FED_HTTPS_WEB;
        return true;
    }
    if (strcmp(text, "https_spiffe") == 0) {
        *out = SG_FED_HTTPS_SPIFFE;
        return true;
    }
    return false;
}

void sg_fed_fetch_options_default(struct sg_fed_fetch_options *options)
{
    *options = (struct sg_fed_fetch_options){ 0 };
    options->connect_timeout_ms = SG_FED_CONNECT_TIMEOUT_MS_DEFAULT;
    options->timeout_ms = SG_FED_TIMEOUT_MS_DEFAULT;
    options->max_body = SG_BUNDLE_MAX;
    options->max_redirects = SG_FED_MAX_REDIRECTS_DEFAULT;
    options->leeway = SG_LEEWAY_DEFAULT;
}

bool sg_fed_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

void sg_fed_global_cleanup(void)
{
    curl_global_cleanup();
}

static enum sg_fed_error fail(struct sg_fed_fetch_result *result, enum sg_fed_error error,
                              const char *format, ...) __attribute__((format(printf, 3, 4)));

static enum sg_fed_error fail(struct sg_fed_fetch_result *result, enum sg_fed_error error,
                              const char *format, ...)
{
    va_list args;

    va_start(args, format);
    vsnprintf(result->message, sizeof(result->message), format, args);
    va_end(args);
    result->error = error;
    return error;
}

/* SPIFFE Federation sections 5.2.1.1 and 5.2.2.1: scheme https, no userinfo. */
bool sg_fed_check_url(const char *url, char *message)
{
    CURLU *parsed = curl_url();
    char *part = NULL;
    bool ok = false;

    if (parsed == NULL) {
        snprintf(message, SG_FED_MESSAGE_MAX, "out of memory parsing a URL");
        return false;
    }
    if (curl_url_set(parsed, CURLUPART_URL, url, 0) != CURLUE_OK) {
        snprintf(message, SG_FED_MESSAGE_MAX, "\"%s\" is not a valid absolute URL", url);
        goto done;
    }
    /* curl_url lowercases the scheme, so "HTTPS://" passes as RFC 3986 allows. */
    if (curl_url_get(parsed, CURLUPART_SCHEME, &part, 0) != CURLUE_OK ||
        strcmp(part, "https") != 0) {
        snprintf(message, SG_FED_MESSAGE_MAX,
                 "\"%s\" does not use https; a bundle endpoint URL must be https", url);
        goto done;
    }
    curl_free(part);
    part = NULL;

    if (curl_url_get(parsed, CURLUPART_USER, &part, 0) != CURLUE_NO_USER ||
        curl_url_get(parsed, CURLUPART_PASSWORD, &part, 0) != CURLUE_NO_PASSWORD) {
        snprintf(message, SG_FED_MESSAGE_MAX,
                 "\"%s\" has userinfo (user@ or user:password@); a bundle endpoint URL must "
                 "not carry credentials",
                 url);
        goto done;
    }
    if (curl_url_get(parsed, CURLUPART_HOST, &part, 0) != CURLUE_OK || part[0] == '\0') {
        snprintf(message, SG_FED_MESSAGE_MAX, "\"%s\" has no host", url);
        goto done;
    }
    ok = true;

done:
    curl_free(part);
    curl_url_cleanup(parsed);
    return ok;
}

/* Appends response bytes, failing the transfer once they exceed max_body.
 * CURLOPT_MAXFILESIZE_LARGE alone does not stop a chunked body before
 * libcurl 8.4.0, because such a body announces no length. */
static size_t write_body(char *data, size_t size, size_t count, void *user)
{
    struct fetch_state *state = user;
    size_t len = size * count;
    size_t max = state->options->max_body;

    if (len > max - state->body_len) {
        state->body_too_large = true;
        return 0;
    }
    if (state->body_len + len + 1 > state->body_capacity) {
        size_t capacity = state->body_capacity == 0 ? BODY_INITIAL_CAPACITY
                                                    : state->body_capacity * 2;
        char *grown;

        while (capacity < state->body_len + len + 1)
            capacity *= 2;
        if (capacity > max + 1)
            capacity = max + 1;
        grown = realloc(state->body, capacity);
        if (grown == NULL)
            return 0;
        state->body = grown;
        state->body_capacity = capacity;
    }
    memcpy(state->body + state->body_len, data, len);
    state->body_len += len;
    state->body[state->body_len] = '\0';
    return len;
}

static void set_auth_failure(struct fetch_state *state, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void set_auth_failure(struct fetch_state *state, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    vsnprintf(state->auth_message, sizeof(state->auth_message), format, args);
    va_end(args);
    state->auth_failed = true;
}

/*
 * Collects the presented chain as DER, leaf first. In a client's
 * handshake the untrusted stack is the server's whole chain, leaf
 * included, so the leaf is skipped there.
 */
static bool collect_peer_chain(struct fetch_state *state, X509_STORE_CTX *store_ctx,
                               unsigned char **ders, struct sg_slice *slices, size_t *count)
{
    X509 *leaf = X509_STORE_CTX_get0_cert(store_ctx);
    STACK_OF(X509) *untrusted = X509_STORE_CTX_get0_untrusted(store_ctx);
    int presented = sk_X509_num(untrusted);

    *count = 0;
    if (leaf == NULL) {
        set_auth_failure(state, "the server presented no certificate");
        return false;
    }
    for (int i = -1; i < presented; i++) {
        X509 *cert = i < 0 ? leaf : sk_X509_value(untrusted, i);
        int len;

        if (i >= 0 && X509_cmp(cert, leaf) == 0)
            continue;
        if (*count == SG_X509_CHAIN_MAX) {
            set_auth_failure(state, "the server presented more than %d certificates",
                             SG_X509_CHAIN_MAX);
            return false;
        }
        ders[*count] = NULL;
        len = i2d_X509(cert, &ders[*count]);
        if (len <= 0) {
            set_auth_failure(state, "cannot encode certificate %zu of the server's chain",
                             *count + 1);
            return false;
        }
        slices[*count] = sg_slice_make(ders[*count], (size_t)len);
        (*count)++;
    }
    return true;
}

/* Runs full X.509-SVID validation and the exact ID match on a DER chain. */
static bool verify_spiffe_chain(struct fetch_state *state, const struct sg_slice *slices,
                                size_t count)
{
    const struct sg_fed_endpoint *endpoint = state->endpoint;
    struct sg_fed_fetch_result *result = state->result;
    struct sg_x509_options x509_options = { (int64_t)time(NULL), state->options->leeway };
    STACK_OF(X509) *chain = NULL;
    struct sg_status status;
    struct sg_x509_svid svid;
    size_t expected_len = strlen(endpoint->spiffe_id);
    bool ok = false;

    if (sg_x509_chain_from_der(slices, count, &chain, &status) != SG_OK) {
        set_auth_failure(state, "the server's certificate chain is invalid: %s",
                         status.message);
        return false;
    }
    if (sg_x509_svid_verify(state->verifier, endpoint->trust, chain, &x509_options, &svid) !=
        SG_OK) {
        set_auth_failure(state, "the server's certificate is not a valid X.509-SVID (%s): %s",
                         sg_error_name(svid.status.error), svid.status.message);
        goto done;
    }

    memcpy(result->peer_id, svid.id_text, svid.id_len);
    result->peer_id[svid.id_len] = '\0';
    result->peer_id_len = svid.id_len;

    /* Federation section 5.2.2.4: the exact configured ID, byte for byte. */
    if (svid.id_len != expected_len || memcmp(svid.id_text, endpoint->spiffe_id, expected_len) != 0) {
        set_auth_failure(state, "the server presented SPIFFE ID \"%.*s\"; expected \"%s\"",
                         (int)svid.id_len, svid.id_text, endpoint->spiffe_id);
        goto done;
    }
    ok = true;

done:
    sg_x509_chain_free(chain);
    return ok;
}

/*
 * https_spiffe: replaces OpenSSL's path validation for the server's
 * chain. Returning 0 aborts the handshake. OpenSSL calls this for every
 * full handshake, so every connection of a fetch, redirect hops
 * included, is checked.
 */
static int verify_spiffe_peer(X509_STORE_CTX *store_ctx, void *arg)
{
    struct fetch_state *state = arg;
    unsigned char *ders[SG_X509_CHAIN_MAX];
    struct sg_slice slices[SG_X509_CHAIN_MAX];
    size_t count = 0;
    bool ok;

    ok = collect_peer_chain(state, store_ctx, ders, slices, &count) &&
         verify_spiffe_chain(state, slices, count);
    for (size_t i = 0; i < count; i++)
        OPENSSL_free(ders[i]);

    X509_STORE_CTX_set_error(store_ctx, ok ? X509_V_OK : X509_V_ERR_APPLICATION_VERIFICATION);
    return ok ? 1 : 0;
}

/* Called by libcurl with a fresh SSL_CTX before every new TLS connection. */
static CURLcode configure_ssl_ctx(CURL *curl, void *ssl_ctx, void *user)
{
    struct fetch_state *state = user;
    SSL_CTX *ctx = ssl_ctx;

    (void)curl;
    /* TLS 1.2 or later, as go-spiffe's bundle client also requires.
     * CURLOPT_SSLVERSION sets the same minimum, and repeating it here
     * keeps any libcurl default from lowering it. */
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        return CURLE_SSL_CIPHER;

    if (state->endpoint->profile == SG_FED_HTTPS_SPIFFE) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_cert_verify_callback(ctx, verify_spiffe_peer, state);
    }
    return CURLE_OK;
}

static int64_t monotonic_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * Aborts the transfer once options->cancel is set. libcurl calls this
 * about once a second even while no bytes move, and more often during a
 * transfer, so a stopping server does not wait for the fetch timeout.
 */
static int check_cancel(void *data, curl_off_t download_total, curl_off_t downloaded,
                        curl_off_t upload_total, curl_off_t uploaded)
{
    const struct fetch_state *state = data;

    (void)download_total;
    (void)downloaded;
    (void)upload_total;
    (void)uploaded;
    return atomic_load_explicit(state->options->cancel, memory_order_relaxed) ? 1 : 0;
}

/* Sets the options that stay the same for every hop of one fetch. */
static bool configure_handle(CURL *curl, struct fetch_state *state, char *error_buffer)
{
    const struct sg_fed_endpoint *endpoint = state->endpoint;
    bool spiffe = endpoint->profile == SG_FED_HTTPS_SPIFFE;
    CURLcode code = CURLE_OK;

#define SET(option, value)                                       \
    do {                                                         \
        if (code == CURLE_OK)                                    \
            code = curl_easy_setopt(curl, option, value);        \
    } while (0)

    SET(CURLOPT_ERRORBUFFER, error_buffer);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_HTTPGET, 1L);
    SET(CURLOPT_USERAGENT, "svidgate");
    SET(CURLOPT_PROTOCOLS_STR, "https");
    /* Redirects are followed by sg_fed_fetch itself, one hop at a time,
     * so each target is checked as an endpoint URL before it is used.
     * REDIR_PROTOCOLS_STR only guards against FOLLOWLOCATION being
     * turned on by mistake. */
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)state->options->connect_timeout_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)state->options->max_body);
    SET(CURLOPT_WRITEFUNCTION, write_body);
    SET(CURLOPT_WRITEDATA, state);
    if (state->options->cancel != NULL) {
        SET(CURLOPT_NOPROGRESS, 0L);
        SET(CURLOPT_XFERINFOFUNCTION, check_cancel);
        SET(CURLOPT_XFERINFODATA, state);
    }

    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    /* https_spiffe authenticates by SPIFFE ID only, never by host name. */
    SET(CURLOPT_SSL_VERIFYHOST, spiffe ? 0L : 2L);
    /* A resumed TLS session skips certificate verification; without the
     * cache every connection makes a full handshake and is checked. */
    SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
    if (!spiffe && endpoint->ca_file != NULL)
        SET(CURLOPT_CAINFO, endpoint->ca_file);
    SET(CURLOPT_SSL_CTX_FUNCTION, configure_ssl_ctx);
    SET(CURLOPT_SSL_CTX_DATA, state);
#undef SET

    if (code != CURLE_OK) {
        fail(state->result, SG_FED_INTERNAL, "cannot configure libcurl: %s",
             curl_easy_strerror(code));
        return false;
    }
    return true;
}

/* Turns a failed curl_easy_perform into the result's error and message. */
static enum sg_fed_error report_transfer_error(struct fetch_state *state, CURLcode code,
                                               const char *url, const char *error_buffer)
{
    struct sg_fed_fetch_result *result = state->result;
    const char *detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);

    if (state->auth_failed)
        return fail(result, SG_FED_AUTH, "%s: %s", url, state->auth_message);
    if (state->body_too_large || code == CURLE_FILESIZE_EXCEEDED)
        return fail(result, SG_FED_TOO_LARGE, "%s: the response body is larger than %zu bytes",
                    url, state->options->max_body);
    switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return fail(result, SG_FED_AUTH, "%s: the server's certificate is not trusted: %s", url,
                    detail);
    case CURLE_OPERATION_TIMEDOUT:
        return fail(result, SG_FED_TRANSPORT, "%s: timed out: %s", url, detail);
    case CURLE_ABORTED_BY_CALLBACK:
        return fail(result, SG_FED_TRANSPORT, "%s: cancelled because the server is stopping",
                    url);
    case CURLE_UNSUPPORTED_PROTOCOL:
        return fail(result, SG_FED_BAD_URL, "%s: %s", url, detail);
    default:
        return fail(result, SG_FED_TRANSPORT, "%s: %s", url, detail);
    }
}

static bool is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/*
 * Runs one request of the fetch. Returns SG_FED_OK with *next_url set
 * (owned copy) for a redirect, SG_FED_OK with *next_url NULL for a 200,
 * or the failure.
 */
static enum sg_fed_error fetch_hop(CURL *curl, struct fetch_state *state, const char *url,
                                   int64_t deadline_ms, char **next_url)
{
    struct sg_fed_fetch_result *result = state->result;
    char error_buffer[CURL_ERROR_SIZE] = "";
    int64_t remaining_ms = deadline_ms - monotonic_ms();
    char *location = NULL;
    CURLcode code;

    *next_url = NULL;
    if (remaining_ms <= 0)
        return fail(result, SG_FED_TRANSPORT, "%s: timed out after %lld ms", url,
                    (long long)state->options->timeout_ms);

    state->body_len = 0;
    state->body_too_large = false;
    state->auth_failed = false;
    result->peer_id[0] = '\0';
    result->peer_id_len = 0;

    if (!configure_handle(curl, state, error_buffer))
        return result->error;
    if (curl_easy_setopt(curl, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)remaining_ms) != CURLE_OK)
        return fail(result, SG_FED_INTERNAL, "cannot configure libcurl for %s", url);

    code = curl_easy_perform(curl);
    if (code != CURLE_OK)
        return report_transfer_error(state, code, url, error_buffer);

    result->http_status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result->http_status);
    if (result->http_status == 200)
        return SG_FED_OK;
    if (!is_redirect(result->http_status))
        return fail(result, SG_FED_HTTP_STATUS, "%s: HTTP status %ld; only 200 is accepted", url,
                    result->http_status);

    if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location) != CURLE_OK ||
        location == NULL)
        return fail(result, SG_FED_HTTP_STATUS, "%s: HTTP status %ld without a Location header",
                    url, result->http_status);
    *next_url = strdup(location);
    if (*next_url == NULL)
        return fail(result, SG_FED_INTERNAL, "out of memory");
    return SG_FED_OK;
}

/* Follows redirects from the configured URL until a 200 or a failure. */
static enum sg_fed_error fetch_body(CURL *curl, struct fetch_state *state)
{
    struct sg_fed_fetch_result *result = state->result;
    int64_t deadline_ms = monotonic_ms() + state->options->timeout_ms;
    char message[SG_FED_MESSAGE_MAX];
    char *url = strdup(state->endpoint->url);

    if (url == NULL)
        return fail(result, SG_FED_INTERNAL, "out of memory");

    for (;;) {
        char *next_url = NULL;

        if (fetch_hop(curl, state, url, deadline_ms, &next_url) != SG_FED_OK) {
            free(url);
            return result->error;
        }
        if (next_url == NULL)
            break;

        /* Federation section 5.2: a redirect target must itself be a
         * valid endpoint URL. */
        if (!sg_fed_check_url(next_url, message)) {
            fail(result, SG_FED_BAD_URL, "%s redirected to an invalid endpoint URL: %s", url,
                 message);
            free(next_url);
            free(url);
            return result->error;
        }
        if (result->redirects == state->options->max_redirects) {
            fail(result, SG_FED_HTTP_STATUS, "%s: more than %d redirects; the last went to %s",
                 state->endpoint->url, state->options->max_redirects, next_url);
            free(next_url);
            free(url);
            return result->error;
        }
        result->redirects++;
        free(url);
        url = next_url;
    }
    result->final_url = url;
    return SG_FED_OK;
}

static enum sg_fed_error check_endpoint(const struct sg_fed_endpoint *endpoint,
                                        struct sg_fed_fetch_result *result)
{
    char message[SG_FED_MESSAGE_MAX];

    if (!sg_fed_check_url(endpoint->url, message))
        return fail(result, SG_FED_BAD_URL, "%s", message);
    if (endpoint->trust_domain.len == 0)
        return fail(result, SG_FED_INTERNAL, "no trust domain is configured for the bundle");
    if (endpoint->profile == SG_FED_HTTPS_SPIFFE &&
        (endpoint->spiffe_id == NULL || endpoint->trust == NULL))
        return fail(result, SG_FED_INTERNAL,
                    "https_spiffe needs the endpoint's SPIFFE ID and a trust set");
    return SG_FED_OK;
}

enum sg_fed_error sg_fed_fetch(const struct sg_fed_endpoint *endpoint,
                               const struct sg_fed_fetch_options *options,
                               struct sg_fed_fetch_result *out)
{
    struct fetch_state state;
    struct sg_status status;
    CURL *curl = NULL;

    memset(out, 0, sizeof(*out));
    memset(&state, 0, sizeof(state));
    state.endpoint = endpoint;
    state.options = options;
    state.result = out;

    if (check_endpoint(endpoint, out) != SG_FED_OK)
        return out->error;
    if (endpoint->profile == SG_FED_HTTPS_SPIFFE) {
        state.verifier = sg_verifier_new();
        if (state.verifier == NULL)
            return fail(out, SG_FED_INTERNAL, "cannot create an X.509 verifier");
    }
    curl = curl_easy_init();
    if (curl == NULL) {
        fail(out, SG_FED_INTERNAL, "cannot create a libcurl handle");
        goto done;
    }

    if (fetch_body(curl, &state) != SG_FED_OK)
        goto done;

    if (sg_bundle_parse(endpoint->trust_domain,
                        sg_slice_make(state.body == NULL ? "" : state.body, state.body_len),
                        &out->bundle, &status) != SG_OK) {
        fail(out, SG_FED_BAD_BUNDLE, "%s: the response body is not a SPIFFE bundle: %s",
             out->final_url, status.message);
        goto done;
    }
    /* sg_bundle_parse also reads PEM, which a bundle endpoint must not serve. */
    if (out->bundle->format != SG_BUNDLE_SPIFFE_JSON) {
        fail(out, SG_FED_BAD_BUNDLE,
             "%s: the response body is PEM, not a SPIFFE bundle (JSON)", out->final_url);
        goto done;
    }
    out->body = state.body;
    out->body_len = state.body_len;
    state.body = NULL;
    out->error = SG_FED_OK;
    snprintf(out->message, sizeof(out->message), "ok");

done:
    curl_easy_cleanup(curl);
    sg_verifier_free(state.verifier);
    free(state.body);
    return out->error;
}

void sg_fed_fetch_result_clear(struct sg_fed_fetch_result *result)
{
    free(result->body);
    free(result->final_url);
    sg_bundle_free(result->bundle);
    memset(result, 0, sizeof(*result));
}
