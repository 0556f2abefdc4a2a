#include "net/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/base64.h"
#include "core/jwt_svid.h"
#include "core/limits.h"
#include "core/x509_svid.h"

/* A route's response before it is written: a body, or an error sentence. */
struct reply {
    int status;
    const char *content_type;
    struct sg_slice body;
    char *owned_body;          /* freed after writing; `body` points into it */
    const char *error_message; /* set for an error: the body becomes {"error", "message"} */
    char message_buffer[160];  /* storage for an error message with numbers in it */
};

typedef void (*route_handler)(struct sg_route_context *context,
                              const struct sg_http_request *request, int64_t now,
                              struct reply *reply);

struct route {
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

/* Verifies the token, then the audience, and renders the result object. */
static char *verify_token(struct sg_route_context *context, const struct verify_body *body,
                          int64_t now)
{
    struct sg_jwt_options options = { .now = now, .leeway = context->leeway };
    struct sg_jwt_svid svid;
    enum sg_error verdict;
    char *result;

    verdict = sg_jwt_svid_verify(context->verifier, context->trust, body->token, &options, &svid);
    if (verdict == SG_OK)
        verdict = sg_jwt_svid_check_audience(&svid, body->audiences, body->audience_count);
    context->verdicts[verdict]++;

    result = sg_jwt_svid_result_json(&svid);
    sg_jwt_svid_clear(&svid);
    return result;
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

    reply->owned_body = verify_token(context, &body, now);
    json_decref(body.root);
    if (reply->owned_body == NULL) {
        reply_error(reply, 500, "the server ran out of memory");
        return;
    }

    reply->status = 200;
    reply->content_type = "application/json";
    reply->body = sg_slice_cstr(reply->owned_body);
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
 * Decodes {"chain": ["<base64 DER>", ...]} into a chain. A body svidgate
 * cannot read returns a 400 message; a chain that does not decode is a
 * malformed credential, reported in `status` with a NULL message.
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
    STACK_OF(X509) *chain = NULL;
    struct sg_x509_svid svid;
    const char *message = NULL;

    enum sg_error verdict = SG_OK;

    memset(&svid, 0, sizeof(svid));
    if (is_pem_body(request))
        verdict = sg_x509_chain_from_pem(request->body, &chain, &svid.status);
    else if ((message = read_chain_json(request->body, &chain, &svid.status)) != NULL) {
        reply_error(reply, 400, message);
        return;
    } else if (chain == NULL)
        verdict = svid.status.error;

    if (verdict == SG_OK)
        verdict = sg_x509_svid_verify(context->verifier, context->trust, chain, &options, &svid);
    sg_x509_chain_free(chain);
    context->verdicts[verdict]++;

    reply->owned_body = sg_x509_svid_result_json(&svid);
    if (reply->owned_body == NULL) {
        reply_error(reply, 500, "the server ran out of memory");
        return;
    }
    reply->status = 200;
    reply->content_type = "application/json";
    reply->body = sg_slice_cstr(reply->owned_body);
}

/* ---- Dispatch ------------------------------------------------------- */

static const struct route routes[] = {
    { "/healthz", { "GET", "HEAD", NULL }, "GET, HEAD", handle_healthz },
    { "/v1/jwt-svid/verify", { "POST", NULL }, "POST", handle_verify_jwt },
    { "/v1/x509-svid/verify", { "POST", NULL }, "POST", handle_verify_x509 },
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
        .close = !request->keep_alive,
        .keep_alive_http10 = request->keep_alive && request->version_minor == 0,
        .omit_body = sg_slice_eq_cstr(request->method, "HEAD"),
    };
    return sg_http_response_write(out, &response, &context->date);
}

bool sg_route_request(struct sg_route_context *context, const struct sg_http_request *request,
                      struct sg_byte_buffer *out)
{
    int64_t now = read_clock();
    const struct route *route = find_route(sg_http_request_path(request));
    const char *allow = NULL;
    struct reply reply = { 0 };
    bool written;

    sg_http_date_update(&context->date, (time_t)now);

    if (route == NULL) {
        reply_error(&reply, 404, "no resource exists at this path");
    } else if (!route_allows(route, request->method)) {
        allow = route->allow;
        reply_error(&reply, 405, "this method is not allowed on this path; see the Allow header");
    } else {
        route->handler(context, request, now, &reply);
    }

    written = write_reply(context, request, &reply, allow, out);
    free(reply.owned_body);
    return written;
}
