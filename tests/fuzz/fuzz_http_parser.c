/*
 * libFuzzer target: the HTTP/1.1 request parser, with its invariants
 * checked.
 *
 * The input is parsed as a stream of pipelined requests. Then the first
 * request is parsed again, fed in two parts at a split point taken from
 * the input, and must reach the same outcome and, for a chunked body,
 * the same decoded bytes: a request's result may not depend on how its
 * bytes were split between receives.
 */
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "net/http_parser.h"

static bool inside(struct sg_slice part, const uint8_t *start, size_t size)
{
    return part.len == 0 || (part.ptr >= start && part.ptr + part.len <= start + size);
}

static bool known_error_status(int status)
{
    static const int statuses[] = { 400, 411, 413, 414, 431, 501, 505 };

    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        if (statuses[i] == status)
            return true;
    }
    return false;
}

/* Aborts unless a complete request lies inside buf[0..size). */
static void check_request(const struct sg_http_request *request, const uint8_t *buf, size_t size)
{
    if (request->size == 0 || request->size > size)
        abort();
    if (request->header_count > SG_HTTP_HEADER_COUNT_MAX || request->body.len > SG_HTTP_BODY_MAX)
        abort();
    if (!inside(request->method, buf, request->size) || !inside(request->target, buf, request->size) ||
        !inside(request->body, buf, request->size))
        abort();
    if (request->target.len > SG_HTTP_URI_MAX || request->method.len == 0)
        abort();
    for (size_t i = 0; i < request->header_count; i++) {
        if (!inside(request->headers[i].name, buf, request->size) ||
            !inside(request->headers[i].value, buf, request->size))
            abort();
    }
}

/* The first request's outcome: its result, size and a copy of its body. */
struct first_request {
    enum sg_http_parse_result result;
    size_t size;
    uint8_t *body; /* malloc'd; NULL unless complete */
    size_t body_len;
};

static void keep_first(struct first_request *first, enum sg_http_parse_result result,
                       const struct sg_http_request *request)
{
    first->result = result;
    if (result != SG_HTTP_PARSE_COMPLETE)
        return;
    first->size = request->size;
    first->body_len = request->body.len;
    first->body = malloc(request->body.len ? request->body.len : 1);
    if (first->body == NULL)
        abort();
    memcpy(first->body, request->body.ptr, request->body.len);
}

/* Parses the pipelined requests of a copy of the input one after another. */
static void parse_stream(const uint8_t *data, size_t size, struct first_request *first)
{
    struct sg_http_parser parser;
    struct sg_http_request request;
    struct sg_http_error error;
    uint8_t *buf = malloc(size ? size : 1);
    size_t used = 0;

    if (buf == NULL)
        abort();
    memcpy(buf, data, size);
    sg_http_parser_init(&parser);
    for (size_t count = 0; used <= size; count++) {
        enum sg_http_parse_result result =
            sg_http_parse_request(&parser, buf + used, size - used, &request, &error);

        if (count == 0)
            keep_first(first, result, &request);
        if (result == SG_HTTP_PARSE_ERROR && !known_error_status(error.status))
            abort();
        if (result != SG_HTTP_PARSE_COMPLETE)
            break;

        check_request(&request, buf + used, size - used);
        used += request.size;
    }
    free(buf);
}

/*
 * Feeds data[0..split) and then data[0..size) to one parser, as a
 * connection's input buffer grows and moves: the second buffer is a new
 * block with the first one's bytes, as the parser left them, followed
 * by the rest of the input.
 */
static void parse_split(const uint8_t *data, size_t size, size_t split,
                        struct first_request *first)
{
    struct sg_http_parser parser;
    struct sg_http_request request;
    struct sg_http_error error;
    enum sg_http_parse_result result;
    uint8_t *part = malloc(split ? split : 1);
    uint8_t *whole = malloc(size ? size : 1);

    if (part == NULL || whole == NULL)
        abort();
    memcpy(part, data, split);
    sg_http_parser_init(&parser);
    result = sg_http_parse_request(&parser, part, split, &request, &error);

    memcpy(whole, part, split);
    memcpy(whole + split, data + split, size - split);

    if (result == SG_HTTP_PARSE_INCOMPLETE)
        result = sg_http_parse_request(&parser, whole, size, &request, &error);
    keep_first(first, result, &request);
    free(part);
    free(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct first_request whole = { 0 };
    struct first_request parts = { 0 };
    size_t split = size ? (size_t)data[0] * size / 256 : 0;

    parse_stream(data, size, &whole);
    parse_split(data, size, split, &parts);

    /*
     * A request complete in the first part is complete in the whole, with
     * the same size and the same decoded body. Error statuses may differ:
     * a line that is both too long and malformed is reported by whichever
     * check its bytes reach first.
     */
    if (whole.result != parts.result || whole.size != parts.size ||
        whole.body_len != parts.body_len)
        abort();
    if (whole.body_len > 0 && memcmp(whole.body, parts.body, whole.body_len) != 0)
        abort();

    free(whole.body);
    free(parts.body);
    return 0;
}
