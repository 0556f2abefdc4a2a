/*
 * libFuzzer target: the HTTP/1.1 request parser, with its invariants
 * checked.
 *
 * The input is parsed as a stream of pipelined requests. Then the first
 * request is parsed again, fed in two parts at a split point taken from
 * the input, and must reach the same outcome: a request's result may
 * not depend on how its bytes were split between receives.
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

/* Parses the pipelined requests of the input one after another. */
static enum sg_http_parse_result parse_stream(const uint8_t *data, size_t size, size_t *first_size)
{
    struct sg_http_parser parser;
    struct sg_http_request request;
    struct sg_http_error error;
    enum sg_http_parse_result first = SG_HTTP_PARSE_INCOMPLETE;
    size_t used = 0;

    sg_http_parser_init(&parser);
    for (size_t count = 0; used <= size; count++) {
        enum sg_http_parse_result result =
            sg_http_parse_request(&parser, sg_slice_make(data + used, size - used), &request, &error);

        if (count == 0) {
            first = result;
            *first_size = result == SG_HTTP_PARSE_COMPLETE ? request.size : 0;
        }
        if (result == SG_HTTP_PARSE_ERROR && !known_error_status(error.status))
            abort();
        if (result != SG_HTTP_PARSE_COMPLETE)
            break;

        check_request(&request, data + used, size - used);
        used += request.size;
    }
    return first;
}

/* Feeds data[0..split) and then data[0..size) to one parser, each from a fresh copy. */
static enum sg_http_parse_result parse_split(const uint8_t *data, size_t size, size_t split,
                                             size_t *request_size)
{
    struct sg_http_parser parser;
    struct sg_http_request request;
    struct sg_http_error error;
    enum sg_http_parse_result result;
    uint8_t *copy = malloc(split ? split : 1);

    if (copy == NULL)
        abort();
    memcpy(copy, data, split);
    sg_http_parser_init(&parser);
    result = sg_http_parse_request(&parser, sg_slice_make(copy, split), &request, &error);
    free(copy);

    if (result == SG_HTTP_PARSE_INCOMPLETE)
        result = sg_http_parse_request(&parser, sg_slice_make(data, size), &request, &error);
    *request_size = result == SG_HTTP_PARSE_COMPLETE ? request.size : 0;
    return result;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t whole_size = 0;
    size_t split_size = 0;
    enum sg_http_parse_result whole = parse_stream(data, size, &whole_size);
    size_t split = size ? (size_t)data[0] * size / 256 : 0;
    enum sg_http_parse_result parts = parse_split(data, size, split, &split_size);

    /*
     * A request complete in the first part is complete in the whole, with
     * the same size. Error statuses may differ: a line that is both too
     * long and malformed is reported by whichever check its bytes reach
     * first.
     */
    if (whole != parts || whole_size != split_size)
        abort();
    return 0;
}
