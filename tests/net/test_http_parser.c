/*
 * Tests of net/http_parser.c: every syntax rule, each limit at the limit
 * and one past, incremental feeding and pipelining.
 *
 * Every request is copied into a heap block of exactly its size, so an
 * AddressSanitizer build catches any read past the end of the input.
 */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_parser.h"

struct parse_outcome {
    char *copy; /* the parsed bytes, which the request's slices point into */
    enum sg_http_parse_result result;
    struct sg_http_request request;
    struct sg_http_error error;
};

static void outcome_free(struct parse_outcome *out)
{
    free(out->copy);
    out->copy = NULL;
}

/*
 * Parses a copy of text[0..len) with a fresh parser. `out` starts zeroed;
 * the copy of an earlier call is freed, the last one by outcome_free().
 */
static void parse_copy(const char *text, size_t len, struct parse_outcome *out)
{
    struct sg_http_parser parser;

    outcome_free(out);
    memset(out, 0, sizeof(*out));
    out->copy = malloc(len ? len : 1);
    assert_non_null(out->copy);
    memcpy(out->copy, text, len);

    sg_http_parser_init(&parser);
    out->result = sg_http_parse_request(&parser, (uint8_t *)out->copy, len, &out->request,
                                        &out->error);
}

static void check_rejected(const char *text, size_t len, int status, const char *file, int line)
{
    struct parse_outcome out = { 0 };

    parse_copy(text, len, &out);
    outcome_free(&out);
    if (out.result != SG_HTTP_PARSE_ERROR)
        fprintf(stderr, "request accepted but expected %d: %.*s\n", status, (int)len, text);
    _assert_int_equal(out.result, SG_HTTP_PARSE_ERROR, file, line);
    _assert_int_equal(out.error.status, status, file, line);
    _assert_true(out.error.message != NULL, "message", file, line);
}

#define assert_rejected(literal, status) \
    check_rejected(literal, sizeof(literal) - 1, status, __FILE__, __LINE__)

static void check_complete(const char *text, size_t len, struct parse_outcome *out,
                           const char *file, int line)
{
    parse_copy(text, len, out);
    if (out->result == SG_HTTP_PARSE_ERROR)
        fprintf(stderr, "rejected with %d (%s)\n", out->error.status, out->error.message);
    _assert_int_equal(out->result, SG_HTTP_PARSE_COMPLETE, file, line);
    _assert_int_equal(out->request.size, len, file, line);
}

#define assert_complete(literal, out) \
    check_complete(literal, sizeof(literal) - 1, out, __FILE__, __LINE__)

static void assert_slice_equal(struct sg_slice actual, const char *expected)
{
    assert_int_equal(actual.len, strlen(expected));
    assert_memory_equal(actual.ptr, expected, actual.len);
}

/* Returns a heap string of `len` copies of `c`, NUL-terminated. */
static char *repeat(char c, size_t len)
{
    char *s = malloc(len + 1);

    assert_non_null(s);
    memset(s, c, len);
    s[len] = '\0';
    return s;
}

/* Returns a heap request built with printf-style formatting. */
static char *format_request(size_t *len, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *format_request(size_t *len, const char *fmt, ...)
{
    va_list args;
    int n;
    char *s;

    va_start(args, fmt);
    n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    assert_true(n >= 0);

    s = malloc((size_t)n + 1);
    assert_non_null(s);
    va_start(args, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, args);
    va_end(args);
    *len = (size_t)n;
    return s;
}

/* ---- Valid requests ------------------------------------------------- */

static void get_minimal_request(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", &out);
    assert_slice_equal(out.request.method, "GET");
    assert_slice_equal(out.request.target, "/healthz");
    assert_int_equal(out.request.version_minor, 1);
    assert_int_equal(out.request.header_count, 1);
    assert_slice_equal(out.request.headers[0].name, "Host");
    assert_slice_equal(out.request.headers[0].value, "a");
    assert_int_equal(out.request.body.len, 0);
    assert_true(out.request.keep_alive);
    outcome_free(&out);
}

static void post_with_body(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("POST /v1/jwt-svid/verify HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", &out);
    assert_slice_equal(out.request.method, "POST");
    assert_slice_equal(out.request.body, "hello");
    outcome_free(&out);
}

static void zero_content_length_post(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &out);
    assert_int_equal(out.request.body.len, 0);
    outcome_free(&out);
}

static void content_length_leading_zeros(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc", &out);
    assert_slice_equal(out.request.body, "abc");
    outcome_free(&out);
}

static void get_body_by_content_length(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab", &out);
    assert_slice_equal(out.request.body, "ab");
    outcome_free(&out);
}

static void leading_empty_line_ignored(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &out);
    assert_slice_equal(out.request.method, "GET");
    outcome_free(&out);
}

static void header_value_ows_trimmed(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("GET / HTTP/1.1\r\nHost:\t a b \t\r\nX-Empty:\r\n\r\n", &out);
    assert_slice_equal(out.request.headers[0].value, "a b");
    assert_slice_equal(out.request.headers[1].value, "");
    outcome_free(&out);
}

static void header_value_obs_text_allowed(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n", &out);
    assert_slice_equal(out.request.headers[1].value, "caf\xc3\xa9");
    outcome_free(&out);
}

static void lowercase_method_is_token(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("get / HTTP/1.1\r\nHost: a\r\n\r\n", &out);
    assert_slice_equal(out.request.method, "get");
    outcome_free(&out);
}

static void http11_connection_close(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n", &out);
    assert_false(out.request.keep_alive);
    outcome_free(&out);
}

static void http10_closes_by_default(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("GET / HTTP/1.0\r\n\r\n", &out);
    assert_int_equal(out.request.version_minor, 0);
    assert_false(out.request.keep_alive);
    outcome_free(&out);
}

static void http10_keep_alive(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &out);
    assert_true(out.request.keep_alive);
    outcome_free(&out);
}

static void http10_keep_alive_and_close(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &out);
    assert_false(out.request.keep_alive);
    outcome_free(&out);
}

static void later_minor_version_as_http11(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("GET / HTTP/1.7\r\nHost: a\r\n\r\n", &out);
    assert_int_equal(out.request.version_minor, 1);
    assert_true(out.request.keep_alive);
    outcome_free(&out);
}

static void find_header_ignores_case(void **state)
{
    struct parse_outcome out = { 0 };
    const struct sg_http_header *header;
    (void)state;

    assert_complete("GET / HTTP/1.1\r\nHost: a\r\nx-svid-AUDIENCE: b\r\n\r\n", &out);
    header = sg_http_request_find_header(&out.request, "x-svid-audience");
    assert_non_null(header);
    assert_slice_equal(header->value, "b");
    assert_null(sg_http_request_find_header(&out.request, "authorization"));
    outcome_free(&out);
}

static void path_excludes_query(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("GET /v1/auth?audience=x HTTP/1.1\r\nHost: a\r\n\r\n", &out);
    assert_slice_equal(sg_http_request_path(&out.request), "/v1/auth");
    assert_slice_equal(out.request.target, "/v1/auth?audience=x");
    outcome_free(&out);
}

/* ---- Incremental feeding and pipelining ------------------------------ */

static char post_request[] = "POST /v1/jwt-svid/verify HTTP/1.1\r\n"
                                   "Host: localhost\r\n"
                                   "Content-Type: application/json\r\n"
                                   "Content-Length: 17\r\n"
                                   "\r\n"
                                   "{\"token\": \"a.b\"}\n";

static void check_post_request(const struct sg_http_request *request)
{
    assert_slice_equal(request->method, "POST");
    assert_slice_equal(request->target, "/v1/jwt-svid/verify");
    assert_int_equal(request->header_count, 3);
    assert_slice_equal(request->headers[2].value, "17");
    assert_slice_equal(request->body, "{\"token\": \"a.b\"}\n");
    assert_int_equal(request->size, sizeof(post_request) - 1);
}

/* One buffer that grows in place, as a connection's input buffer does. */
static void byte_at_a_time_in_place(void **state)
{
    size_t total = sizeof(post_request) - 1;
    struct sg_http_parser parser;
    struct sg_http_request request;
    struct sg_http_error error;
    (void)state;

    sg_http_parser_init(&parser);
    for (size_t len = 0; len < total; len++) {
        enum sg_http_parse_result result =
            sg_http_parse_request(&parser, (uint8_t *)post_request, len, &request, &error);
        if (result != SG_HTTP_PARSE_INCOMPLETE)
            fail_msg("prefix of %zu bytes: result %d, expected incomplete", len, result);
    }

    assert_int_equal(sg_http_parse_request(&parser, (uint8_t *)post_request, total, &request, &error),
                     SG_HTTP_PARSE_COMPLETE);
    check_post_request(&request);
}

/* A new heap copy at every step, so stale slices from an earlier call would show. */
static void byte_at_a_time_moving_buffer(void **state)
{
    size_t total = sizeof(post_request) - 1;
    struct sg_http_parser parser;
    struct sg_http_request request;
    struct sg_http_error error;
    enum sg_http_parse_result result = SG_HTTP_PARSE_INCOMPLETE;
    char *copy = NULL;
    (void)state;

    sg_http_parser_init(&parser);
    for (size_t len = 1; len <= total; len++) {
        free(copy);
        copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, post_request, len);
        result = sg_http_parse_request(&parser, (uint8_t *)copy, len, &request, &error);
        if (len < total && result != SG_HTTP_PARSE_INCOMPLETE)
            fail_msg("prefix of %zu bytes: result %d, expected incomplete", len, result);
    }

    assert_int_equal(result, SG_HTTP_PARSE_COMPLETE);
    check_post_request(&request);
    assert_ptr_equal(request.body.ptr, copy + total - request.body.len);
    free(copy);
}

static void body_awaits_continue(void **state)
{
    static char head[] = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                               "Content-Length: 3\r\n\r\n";
    static char whole[] = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                                "Content-Length: 3\r\n\r\nabc";
    struct sg_http_parser parser;
    struct sg_http_request request;
    struct sg_http_error error;
    (void)state;

    sg_http_parser_init(&parser);
    assert_int_equal(sg_http_parse_request(&parser, (uint8_t *)head, sizeof(head) - 1, &request, &error),
                     SG_HTTP_PARSE_INCOMPLETE);
    assert_true(sg_http_parser_awaits_continue(&parser));

    assert_int_equal(sg_http_parse_request(&parser, (uint8_t *)whole, sizeof(whole) - 1, &request, &error),
                     SG_HTTP_PARSE_COMPLETE);
    assert_slice_equal(request.body, "abc");
    assert_false(sg_http_parser_awaits_continue(&parser));
}

static void http10_expect_continue_ignored(void **state)
{
    static char head[] = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
    struct sg_http_parser parser;
    struct sg_http_request request;
    struct sg_http_error error;
    (void)state;

    sg_http_parser_init(&parser);
    assert_int_equal(sg_http_parse_request(&parser, (uint8_t *)head, sizeof(head) - 1, &request, &error),
                     SG_HTTP_PARSE_INCOMPLETE);
    assert_false(sg_http_parser_awaits_continue(&parser));
}

static void pipelined_requests_in_one_buffer(void **state)
{
    static char buffer[] = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                                 "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
                                 "GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                                 "GET /d HTT";
    static const char *const targets[] = { "/a", "/b", "/c" };
    uint8_t *rest = (uint8_t *)buffer;
    size_t rest_len = sizeof(buffer) - 1;
    struct sg_http_parser parser;
    struct sg_http_request request;
    struct sg_http_error error;
    (void)state;

    sg_http_parser_init(&parser);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(sg_http_parse_request(&parser, rest, rest_len, &request, &error),
                         SG_HTTP_PARSE_COMPLETE);
        assert_slice_equal(request.target, targets[i]);
        assert_true(request.size <= rest_len);
        rest += request.size;
        rest_len -= request.size;
    }

    assert_false(request.keep_alive);
    assert_int_equal(sg_http_parse_request(&parser, rest, rest_len, &request, &error),
                     SG_HTTP_PARSE_INCOMPLETE);
    assert_int_equal(rest_len, strlen("GET /d HTT"));
}

static void empty_buffer_incomplete(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    parse_copy("", 0, &out);
    assert_int_equal(out.result, SG_HTTP_PARSE_INCOMPLETE);
    outcome_free(&out);
}

/* ---- Line endings and folding --------------------------------------- */

static void bare_lf_request_line(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\nHost: a\r\n\r\n", 400);
}

static void bare_lf_header_line(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost: a\n\r\n", 400);
}

static void bare_lf_blank_line(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost: a\r\n\n", 400);
}

static void bare_lf_only_request(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\n\n", 400);
}

static void bare_cr_in_header_value(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost: a\rX-Injected: b\r\n\r\n", 400);
}

static void bare_cr_in_request_line(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", 400);
}

static void obs_fold_space(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n", 400);
}

static void obs_fold_tab(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n\ttwo\r\n\r\n", 400);
}

/* ---- Request line --------------------------------------------------- */

static void method_not_token(void **state)
{
    (void)state;
    assert_rejected("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void method_empty(void **state)
{
    (void)state;
    assert_rejected(" / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void request_line_double_space(void **state)
{
    (void)state;
    assert_rejected("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void request_line_tab_separator(void **state)
{
    (void)state;
    assert_rejected("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void request_line_without_version(void **state)
{
    (void)state;
    assert_rejected("GET /\r\n\r\n", 400);
}

static void request_line_trailing_space(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
}

static void target_with_non_ascii(void **state)
{
    (void)state;
    assert_rejected("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void target_with_nul(void **state)
{
    (void)state;
    assert_rejected("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void version_lowercase(void **state)
{
    (void)state;
    assert_rejected("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
}

static void version_not_digits(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400);
}

static void version_two_digit_major(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400);
}

static void version_2_not_supported(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
}

static void version_0_9_not_supported(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
}

/* ---- Header fields -------------------------------------------------- */

static void space_before_colon(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
}

static void tab_before_colon(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400);
}

static void header_without_colon(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400);
}

static void header_empty_name(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400);
}

static void header_name_not_token(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost: a\r\nX(a): b\r\n\r\n", 400);
}

static void header_value_control_char(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01\r\n\r\n", 400);
}

static void header_value_del(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n", 400);
}

static void header_value_nul(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n", 400);
}

static void host_missing_http11(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\n\r\n", 400);
}

static void host_twice(void **state)
{
    (void)state;
    assert_rejected("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400);
}

/* ---- Content-Length and Transfer-Encoding --------------------------- */

static void content_length_not_digits(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12a\r\n\r\n", 400);
}

static void content_length_plus_sign(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400);
}

static void content_length_negative(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400);
}

static void content_length_empty(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400);
}

static void content_length_list(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", 400);
}

static void content_length_inner_space(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\n", 400);
}

static void content_length_duplicate_equal(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400);
}

static void content_length_conflicting(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\nhello!", 400);
}

static void content_length_overflow_digits(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 184467440737095516160000\r\n\r\n", 413);
}

static void content_length_with_transfer_encoding(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                    400);
}

static void transfer_encoding_chunked_empty_body(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &out);
    assert_int_equal(out.request.body.len, 0);
    outcome_free(&out);
}

static void transfer_encoding_chunked_uppercase(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n"
                    "3\r\nabc\r\n0\r\n\r\n", &out);
    assert_slice_equal(out.request.body, "abc");
    outcome_free(&out);
}

static void transfer_encoding_unknown_coding(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
}

static void transfer_encoding_final_not_chunked(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
}

static void transfer_encoding_chunked_twice(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n",
                    400);
}

static void transfer_encoding_in_http10(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

static void post_without_length_411(void **state)
{
    (void)state;
    assert_rejected("POST /v1/jwt-svid/verify HTTP/1.1\r\nHost: a\r\n\r\n", 411);
}

static void put_without_length_411(void **state)
{
    (void)state;
    assert_rejected("PUT / HTTP/1.1\r\nHost: a\r\n\r\n", 411);
}

/* ---- Limits: at the limit and one past ------------------------------- */

/* A request whose request line, without CRLF, is `line_len` bytes long. */
static char *request_with_line_length(size_t line_len, size_t *len)
{
    size_t fixed = strlen("GET /") + strlen(" HTTP/1.1");
    char *path = repeat('a', line_len - fixed);
    char *request = format_request(len, "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n", path);

    free(path);
    return request;
}

static void request_line_at_uri_max(void **state)
{
    struct parse_outcome out = { 0 };
    size_t len;
    char *request = request_with_line_length(SG_HTTP_URI_MAX, &len);
    (void)state;

    parse_copy(request, len, &out);
    assert_int_equal(out.result, SG_HTTP_PARSE_COMPLETE);
    assert_int_equal(out.request.target.len, SG_HTTP_URI_MAX - strlen("GET  HTTP/1.1"));
    free(request);
    outcome_free(&out);
}

static void request_line_past_uri_max(void **state)
{
    size_t len;
    char *request = request_with_line_length(SG_HTTP_URI_MAX + 1, &len);
    (void)state;

    check_rejected(request, len, 414, __FILE__, __LINE__);
    free(request);
}

/* 414 is returned before the line ends, so a client cannot make the server wait. */
static void request_line_past_uri_max_partial(void **state)
{
    size_t len;
    char *request = request_with_line_length(SG_HTTP_URI_MAX + 1, &len);
    struct parse_outcome out = { 0 };
    (void)state;

    parse_copy(request, SG_HTTP_URI_MAX, &out);
    assert_int_equal(out.result, SG_HTTP_PARSE_INCOMPLETE);

    /* The line at the limit plus its CR may still end in LF. */
    free(request);
    request = request_with_line_length(SG_HTTP_URI_MAX, &len);
    parse_copy(request, SG_HTTP_URI_MAX + 1, &out);
    assert_int_equal(out.result, SG_HTTP_PARSE_INCOMPLETE);
    free(request);

    request = request_with_line_length(SG_HTTP_URI_MAX + 1, &len);
    check_rejected(request, SG_HTTP_URI_MAX + 1, 414, __FILE__, __LINE__);
    free(request);
    outcome_free(&out);
}

/* A GET whose head, blank line included, is `head_len` bytes long. */
static char *request_with_head_length(size_t head_len, size_t *len)
{
    size_t fixed = strlen("GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \r\n\r\n");
    char *pad = repeat('p', head_len - fixed);
    char *request = format_request(len, "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: %s\r\n\r\n", pad);

    free(pad);
    assert_int_equal(*len, head_len);
    return request;
}

static void head_at_bytes_max(void **state)
{
    struct parse_outcome out = { 0 };
    size_t len;
    char *request = request_with_head_length(SG_HTTP_HEADER_BYTES_MAX, &len);
    (void)state;

    check_complete(request, len, &out, __FILE__, __LINE__);
    free(request);
    outcome_free(&out);
}

static void head_past_bytes_max(void **state)
{
    size_t len;
    char *request = request_with_head_length(SG_HTTP_HEADER_BYTES_MAX + 1, &len);
    (void)state;

    check_rejected(request, len, 431, __FILE__, __LINE__);
    free(request);
}

static void head_past_bytes_max_partial(void **state)
{
    size_t len;
    char *request = request_with_head_length(SG_HTTP_HEADER_BYTES_MAX + 10, &len);
    struct parse_outcome out = { 0 };
    (void)state;

    parse_copy(request, SG_HTTP_HEADER_BYTES_MAX, &out);
    assert_int_equal(out.result, SG_HTTP_PARSE_INCOMPLETE);
    check_rejected(request, SG_HTTP_HEADER_BYTES_MAX + 1, 431, __FILE__, __LINE__);
    free(request);
    outcome_free(&out);
}

/* A GET with `count` header fields, Host included. */
static char *request_with_header_count(size_t count, size_t *len)
{
    size_t cap = 64 + count * 16;
    char *request = malloc(cap);
    size_t used;

    assert_non_null(request);
    used = (size_t)snprintf(request, cap, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (size_t i = 1; i < count; i++)
        used += (size_t)snprintf(request + used, cap - used, "X-%zu: v\r\n", i);
    used += (size_t)snprintf(request + used, cap - used, "\r\n");
    assert_true(used < cap);
    *len = used;
    return request;
}

static void header_count_at_max(void **state)
{
    struct parse_outcome out = { 0 };
    size_t len;
    char *request = request_with_header_count(SG_HTTP_HEADER_COUNT_MAX, &len);
    (void)state;

    check_complete(request, len, &out, __FILE__, __LINE__);
    assert_int_equal(out.request.header_count, SG_HTTP_HEADER_COUNT_MAX);
    free(request);
    outcome_free(&out);
}

static void header_count_past_max(void **state)
{
    size_t len;
    char *request = request_with_header_count(SG_HTTP_HEADER_COUNT_MAX + 1, &len);
    (void)state;

    check_rejected(request, len, 431, __FILE__, __LINE__);
    free(request);
}

static void body_at_max(void **state)
{
    size_t head_len;
    char *head = format_request(&head_len, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n",
                                SG_HTTP_BODY_MAX);
    size_t len = head_len + SG_HTTP_BODY_MAX;
    char *request = malloc(len);
    struct parse_outcome out = { 0 };
    (void)state;

    assert_non_null(request);
    memcpy(request, head, head_len);
    memset(request + head_len, 'b', SG_HTTP_BODY_MAX);

    parse_copy(request, len - 1, &out);
    assert_int_equal(out.result, SG_HTTP_PARSE_INCOMPLETE);
    check_complete(request, len, &out, __FILE__, __LINE__);
    assert_int_equal(out.request.body.len, SG_HTTP_BODY_MAX);

    free(request);
    free(head);
    outcome_free(&out);
}

static void body_past_max(void **state)
{
    size_t len;
    char *head = format_request(&len, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n",
                                SG_HTTP_BODY_MAX + 1);
    (void)state;

    /* 413 comes from the head alone: the server does not wait for the body. */
    check_rejected(head, len, 413, __FILE__, __LINE__);
    free(head);
}

/* ---- Chunked bodies -------------------------------------------------- */

#define CHUNKED_HEAD "POST /v1/jwt-svid/verify HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

/* A chunked request with extensions and a trailer field, then a pipelined GET. */
static const char chunked_stream[] = CHUNKED_HEAD
                                     "5;name=value\r\nhello\r\n"
                                     "1 ; q=\"a \\\"b\\\"\"\r\n \r\n"
                                     "00A\r\n0123456789\r\n"
                                     "0\r\nX-Checksum: abc\r\n\r\n"
                                     "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
static const char chunked_stream_body[] = "hello 0123456789";

static size_t chunked_stream_first_size(void)
{
    return sizeof(chunked_stream) - 1 - strlen("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
}

/* Checks the chunked request of chunked_stream and the GET that follows it in buf. */
static void check_chunked_stream(struct sg_http_parser *parser, uint8_t *buf, size_t len,
                                 const struct sg_http_request *request)
{
    struct sg_http_request next;
    struct sg_http_error error;
    size_t first = chunked_stream_first_size();

    assert_int_equal(request->size, first);
    assert_slice_equal(request->body, chunked_stream_body);
    assert_ptr_equal(request->body.ptr, buf + strlen(CHUNKED_HEAD));
    assert_int_equal(request->header_count, 2);
    assert_true(request->keep_alive);

    assert_int_equal(sg_http_parse_request(parser, buf + first, len - first, &next, &error),
                     SG_HTTP_PARSE_COMPLETE);
    assert_slice_equal(next.target, "/next");
    assert_int_equal(next.size, len - first);
}

static void chunked_body_decoded(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    assert_complete(CHUNKED_HEAD "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", &out);
    assert_slice_equal(out.request.body, "hello world");
    assert_slice_equal(out.request.method, "POST");
    assert_int_equal(out.request.header_count, 2);
    outcome_free(&out);
}

/*
 * Feeds the stream in two receives, split at every byte offset, into one
 * buffer as a connection's input buffer holds it: the bytes the first
 * call rewrote stay as they are.
 */
static void chunked_split_at_every_offset(void **state)
{
    size_t len = sizeof(chunked_stream) - 1;
    size_t first = chunked_stream_first_size();
    (void)state;

    for (size_t split = 0; split <= len; split++) {
        uint8_t *buf = malloc(len);
        struct sg_http_parser parser;
        struct sg_http_request request;
        struct sg_http_error error;
        enum sg_http_parse_result result;

        assert_non_null(buf);
        memcpy(buf, chunked_stream, len);
        sg_http_parser_init(&parser);

        result = sg_http_parse_request(&parser, buf, split, &request, &error);
        if (split < first && result != SG_HTTP_PARSE_INCOMPLETE)
            fail_msg("first %zu bytes: result %d, expected incomplete", split, result);
        if (split >= first && result != SG_HTTP_PARSE_COMPLETE)
            fail_msg("first %zu bytes: result %d, expected complete", split, result);

        if (result == SG_HTTP_PARSE_INCOMPLETE)
            result = sg_http_parse_request(&parser, buf, len, &request, &error);
        assert_int_equal(result, SG_HTTP_PARSE_COMPLETE);
        check_chunked_stream(&parser, buf, len, &request);
        free(buf);
    }
}

/*
 * Feeds the stream one byte at a time into a new heap block each time,
 * copied from the last one, so stale pointers and reads past the end
 * show under AddressSanitizer.
 */
static void chunked_byte_at_a_time_moving_buffer(void **state)
{
    size_t first = chunked_stream_first_size();
    struct sg_http_parser parser;
    struct sg_http_request request;
    struct sg_http_error error;
    enum sg_http_parse_result result = SG_HTTP_PARSE_INCOMPLETE;
    uint8_t *buf = NULL;
    (void)state;

    sg_http_parser_init(&parser);
    for (size_t have = 1; have <= first; have++) {
        uint8_t *grown = malloc(have);

        assert_non_null(grown);
        if (buf != NULL)
            memcpy(grown, buf, have - 1);
        grown[have - 1] = (uint8_t)chunked_stream[have - 1];
        free(buf);
        buf = grown;

        result = sg_http_parse_request(&parser, buf, have, &request, &error);
        if (have < first && result != SG_HTTP_PARSE_INCOMPLETE)
            fail_msg("first %zu bytes: result %d, expected incomplete", have, result);
    }

    assert_int_equal(result, SG_HTTP_PARSE_COMPLETE);
    assert_int_equal(request.size, first);
    assert_slice_equal(request.body, chunked_stream_body);
    free(buf);
}

static void chunked_awaits_continue(void **state)
{
    static char request_text[] = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    size_t head_len = strlen(request_text) - strlen("3\r\nabc\r\n0\r\n\r\n");
    struct sg_http_parser parser;
    struct sg_http_request request;
    struct sg_http_error error;
    (void)state;

    sg_http_parser_init(&parser);
    assert_int_equal(sg_http_parse_request(&parser, (uint8_t *)request_text, head_len, &request, &error),
                     SG_HTTP_PARSE_INCOMPLETE);
    assert_true(sg_http_parser_awaits_continue(&parser));

    assert_int_equal(sg_http_parse_request(&parser, (uint8_t *)request_text, strlen(request_text),
                                           &request, &error),
                     SG_HTTP_PARSE_COMPLETE);
    assert_slice_equal(request.body, "abc");
    assert_false(sg_http_parser_awaits_continue(&parser));
}

static void chunked_size_with_sign(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD "+5\r\nhello\r\n0\r\n\r\n", 400);
}

static void chunked_size_leading_space(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD " 5\r\nhello\r\n0\r\n\r\n", 400);
}

static void chunked_size_trailing_space(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD "5 \r\nhello\r\n0\r\n\r\n", 400);
}

static void chunked_size_hex_prefix(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD "0x5\r\nhello\r\n0\r\n\r\n", 400);
}

static void chunked_size_not_hex(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD "g\r\n", 400);
}

static void chunked_size_empty(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD "\r\nhello\r\n0\r\n\r\n", 400);
}

static void chunked_size_overflow(void **state)
{
    (void)state;
    /* 2^64 + 5 would wrap to 5 in a 64-bit counter without the saturation. */
    assert_rejected(CHUNKED_HEAD "10000000000000005\r\nhello\r\n0\r\n\r\n", 413);
}

static void chunked_size_bare_lf(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD "5\nhello\r\n0\r\n\r\n", 400);
}

static void chunked_data_without_crlf(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD "5\r\nhelloX\r\n0\r\n\r\n", 400);
}

static void chunked_data_bare_lf(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD "5\r\nhello\n0\r\n\r\n", 400);
}

static void chunked_data_early_bad_byte(void **state)
{
    (void)state;
    /* Rejected as soon as the first byte after the data is not CR. */
    assert_rejected(CHUNKED_HEAD "5\r\nhelloX", 400);
}

static void chunked_extension_malformed(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD "5;\r\nhello\r\n0\r\n\r\n", 400);
    assert_rejected(CHUNKED_HEAD "5;a=\r\nhello\r\n0\r\n\r\n", 400);
    assert_rejected(CHUNKED_HEAD "5;a=\"open\r\nhello\r\n0\r\n\r\n", 400);
    assert_rejected(CHUNKED_HEAD "5;a\rb\r\nhello\r\n0\r\n\r\n", 400);
    assert_rejected(CHUNKED_HEAD "5,a\r\nhello\r\n0\r\n\r\n", 400);
}

static void chunked_trailer_bare_lf(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD "0\r\nX-A: b\n\r\n", 400);
}

static void chunked_trailer_malformed(void **state)
{
    (void)state;
    assert_rejected(CHUNKED_HEAD "0\r\nX-A b\r\n\r\n", 400);
    assert_rejected(CHUNKED_HEAD "0\r\n folded\r\n\r\n", 400);
    assert_rejected(CHUNKED_HEAD "0\r\nX-A : b\r\n\r\n", 400);
    assert_rejected(CHUNKED_HEAD "0\r\nX-A: b\x01\r\n\r\n", 400);
}

/* A chunked request whose one chunk has an extension that makes its line `line_len` bytes. */
static char *chunk_line_request(size_t line_len, size_t *len)
{
    char *value = repeat('v', line_len - strlen("1;e="));
    char *request = format_request(len, CHUNKED_HEAD "1;e=%s\r\nx\r\n0\r\n\r\n", value);

    free(value);
    return request;
}

static void chunk_line_at_max(void **state)
{
    struct parse_outcome out = { 0 };
    size_t len;
    char *request = chunk_line_request(SG_HTTP_CHUNK_LINE_MAX, &len);
    (void)state;

    check_complete(request, len, &out, __FILE__, __LINE__);
    assert_slice_equal(out.request.body, "x");
    free(request);
    outcome_free(&out);
}

static void chunk_line_past_max(void **state)
{
    size_t len;
    char *request = chunk_line_request(SG_HTTP_CHUNK_LINE_MAX + 1, &len);
    (void)state;

    check_rejected(request, len, 400, __FILE__, __LINE__);

    /* Rejected before the line ends, too. */
    check_rejected(request, strlen(CHUNKED_HEAD) + SG_HTTP_CHUNK_LINE_MAX + 1, 400, __FILE__,
                   __LINE__);
    free(request);
}

/* A chunked request of `count` chunks of `size` bytes each. */
static char *chunked_request(size_t count, size_t size, size_t *len)
{
    char size_line[32];
    size_t line_len = (size_t)snprintf(size_line, sizeof(size_line), "%zx\r\n", size);
    size_t head_len = strlen(CHUNKED_HEAD);
    size_t chunk_len = line_len + size + 2;
    char *request = malloc(head_len + count * chunk_len + 5);
    char *at = request;

    assert_non_null(request);
    memcpy(at, CHUNKED_HEAD, head_len);
    at += head_len;
    for (size_t i = 0; i < count; i++) {
        memcpy(at, size_line, line_len);
        memset(at + line_len, 'b', size);
        memcpy(at + line_len + size, "\r\n", 2);
        at += chunk_len;
    }
    memcpy(at, "0\r\n\r\n", 5);
    *len = (size_t)(at + 5 - request);
    return request;
}

static void chunked_body_at_max(void **state)
{
    struct parse_outcome out = { 0 };
    size_t len;
    char *request = chunked_request(16, SG_HTTP_BODY_MAX / 16, &len);
    (void)state;

    check_complete(request, len, &out, __FILE__, __LINE__);
    assert_int_equal(out.request.body.len, SG_HTTP_BODY_MAX);
    free(request);
    outcome_free(&out);
}

static void chunked_body_past_max(void **state)
{
    size_t len;
    char *request = chunked_request(17, SG_HTTP_BODY_MAX / 16, &len);
    (void)state;

    check_rejected(request, len, 413, __FILE__, __LINE__);
    free(request);
}

static void chunked_one_chunk_past_max(void **state)
{
    size_t len;
    char *head = format_request(&len, CHUNKED_HEAD "%x\r\n", SG_HTTP_BODY_MAX + 1);
    (void)state;

    /* 413 comes from the chunk-size line alone. */
    check_rejected(head, len, 413, __FILE__, __LINE__);
    free(head);
}

static void chunked_framing_past_max(void **state)
{
    /* One-byte chunks: 5 framing bytes ("1\r\n" and the CRLF after the data) each. */
    size_t count = SG_HTTP_CHUNK_FRAMING_MAX / 5 + 1;
    size_t len;
    char *request = chunked_request(count, 1, &len);
    (void)state;

    check_rejected(request, len, 413, __FILE__, __LINE__);
    free(request);
}

static void chunked_framing_at_max(void **state)
{
    /* The last chunk "0\r\n" takes 3 framing bytes. */
    size_t count = (SG_HTTP_CHUNK_FRAMING_MAX - 3) / 5;
    struct parse_outcome out = { 0 };
    size_t len;
    char *request = chunked_request(count, 1, &len);
    (void)state;

    check_complete(request, len, &out, __FILE__, __LINE__);
    assert_int_equal(out.request.body.len, count);
    free(request);
    outcome_free(&out);
}

/* A chunked request with an empty body and `count` trailer fields of `value_len` bytes. */
static char *trailer_request(size_t count, size_t value_len, size_t *len)
{
    char *value = repeat('t', value_len);
    size_t field_len = strlen("X-T: \r\n") + value_len;
    size_t head_len = strlen(CHUNKED_HEAD "0\r\n");
    char *request = malloc(head_len + count * field_len + 2);

    assert_non_null(request);
    memcpy(request, CHUNKED_HEAD "0\r\n", head_len);
    for (size_t i = 0; i < count; i++)
        snprintf(request + head_len + i * field_len, field_len + 1, "X-T: %s\r\n", value);
    memcpy(request + head_len + count * field_len, "\r\n", 2);
    *len = head_len + count * field_len + 2;
    free(value);
    return request;
}

static void chunked_trailers_at_count_max(void **state)
{
    /* The head already has two header fields: Host and Transfer-Encoding. */
    struct parse_outcome out = { 0 };
    size_t len;
    char *request = trailer_request(SG_HTTP_HEADER_COUNT_MAX - 2, 1, &len);
    (void)state;

    check_complete(request, len, &out, __FILE__, __LINE__);
    free(request);
    outcome_free(&out);
}

static void chunked_trailers_past_count_max(void **state)
{
    size_t len;
    char *request = trailer_request(SG_HTTP_HEADER_COUNT_MAX - 1, 1, &len);
    (void)state;

    check_rejected(request, len, 431, __FILE__, __LINE__);
    free(request);
}

static void chunked_trailers_past_bytes_max(void **state)
{
    size_t len;
    char *request = trailer_request(1, SG_HTTP_HEADER_BYTES_MAX, &len);
    (void)state;

    check_rejected(request, len, 431, __FILE__, __LINE__);

    /* Rejected before the field line ends, too. */
    check_rejected(request, len - 4, 431, __FILE__, __LINE__);
    free(request);
}

static void chunked_transfer_encoding_obfuscated(void **state)
{
    (void)state;
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 400);
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400);
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400);
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400);
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n", 400);
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0b" "chunked\r\n\r\n", 400);
    assert_rejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400);
}

static void chunked_transfer_encoding_ows_trimmed(void **state)
{
    struct parse_outcome out = { 0 };
    (void)state;

    /* RFC 9110 section 5.5: OWS around a field value is not part of it. */
    assert_complete("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked \r\n\r\n"
                    "2\r\nok\r\n0\r\n\r\n", &out);
    assert_slice_equal(out.request.body, "ok");
    outcome_free(&out);
}

/* ---- Helpers -------------------------------------------------------- */

static void token_eq_ignores_ascii_case(void **state)
{
    (void)state;
    assert_true(sg_http_token_eq(sg_slice_cstr("Keep-Alive"), "keep-alive"));
    assert_false(sg_http_token_eq(sg_slice_cstr("keep-aliv"), "keep-alive"));
    assert_false(sg_http_token_eq(sg_slice_cstr("keep-alives"), "keep-alive"));
    assert_false(sg_http_token_eq(sg_slice_cstr(""), "close"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_minimal_request),
        cmocka_unit_test(post_with_body),
        cmocka_unit_test(zero_content_length_post),
        cmocka_unit_test(content_length_leading_zeros),
        cmocka_unit_test(get_body_by_content_length),
        cmocka_unit_test(leading_empty_line_ignored),
        cmocka_unit_test(header_value_ows_trimmed),
        cmocka_unit_test(header_value_obs_text_allowed),
        cmocka_unit_test(lowercase_method_is_token),
        cmocka_unit_test(http11_connection_close),
        cmocka_unit_test(http10_closes_by_default),
        cmocka_unit_test(http10_keep_alive),
        cmocka_unit_test(http10_keep_alive_and_close),
        cmocka_unit_test(later_minor_version_as_http11),
        cmocka_unit_test(find_header_ignores_case),
        cmocka_unit_test(path_excludes_query),
        cmocka_unit_test(byte_at_a_time_in_place),
        cmocka_unit_test(byte_at_a_time_moving_buffer),
        cmocka_unit_test(body_awaits_continue),
        cmocka_unit_test(http10_expect_continue_ignored),
        cmocka_unit_test(pipelined_requests_in_one_buffer),
        cmocka_unit_test(empty_buffer_incomplete),
        cmocka_unit_test(bare_lf_request_line),
        cmocka_unit_test(bare_lf_header_line),
        cmocka_unit_test(bare_lf_blank_line),
        cmocka_unit_test(bare_lf_only_request),
        cmocka_unit_test(bare_cr_in_header_value),
        cmocka_unit_test(bare_cr_in_request_line),
        cmocka_unit_test(obs_fold_space),
        cmocka_unit_test(obs_fold_tab),
        cmocka_unit_test(method_not_token),
        cmocka_unit_test(method_empty),
        cmocka_unit_test(request_line_double_space),
        cmocka_unit_test(request_line_tab_separator),
        cmocka_unit_test(request_line_without_version),
        cmocka_unit_test(request_line_trailing_space),
        cmocka_unit_test(target_with_non_ascii),
        cmocka_unit_test(target_with_nul),
        cmocka_unit_test(version_lowercase),
        cmocka_unit_test(version_not_digits),
        cmocka_unit_test(version_two_digit_major),
        cmocka_unit_test(version_2_not_supported),
        cmocka_unit_test(version_0_9_not_supported),
        cmocka_unit_test(space_before_colon),
        cmocka_unit_test(tab_before_colon),
        cmocka_unit_test(header_without_colon),
        cmocka_unit_test(header_empty_name),
        cmocka_unit_test(header_name_not_token),
        cmocka_unit_test(header_value_control_char),
        cmocka_unit_test(header_value_del),
        cmocka_unit_test(header_value_nul),
        cmocka_unit_test(host_missing_http11),
        cmocka_unit_test(host_twice),
        cmocka_unit_test(content_length_not_digits),
        cmocka_unit_test(content_length_plus_sign),
        cmocka_unit_test(content_length_negative),
        cmocka_unit_test(content_length_empty),
        cmocka_unit_test(content_length_list),
        cmocka_unit_test(content_length_inner_space),
        cmocka_unit_test(content_length_duplicate_equal),
        cmocka_unit_test(content_length_conflicting),
        cmocka_unit_test(content_length_overflow_digits),
        cmocka_unit_test(content_length_with_transfer_encoding),
        cmocka_unit_test(transfer_encoding_chunked_empty_body),
        cmocka_unit_test(transfer_encoding_chunked_uppercase),
        cmocka_unit_test(transfer_encoding_unknown_coding),
        cmocka_unit_test(transfer_encoding_final_not_chunked),
        cmocka_unit_test(transfer_encoding_chunked_twice),
        cmocka_unit_test(transfer_encoding_in_http10),
        cmocka_unit_test(post_without_length_411),
        cmocka_unit_test(put_without_length_411),
        cmocka_unit_test(request_line_at_uri_max),
        cmocka_unit_test(request_line_past_uri_max),
        cmocka_unit_test(request_line_past_uri_max_partial),
        cmocka_unit_test(head_at_bytes_max),
        cmocka_unit_test(head_past_bytes_max),
        cmocka_unit_test(head_past_bytes_max_partial),
        cmocka_unit_test(header_count_at_max),
        cmocka_unit_test(header_count_past_max),
        cmocka_unit_test(body_at_max),
        cmocka_unit_test(body_past_max),
        cmocka_unit_test(chunked_body_decoded),
        cmocka_unit_test(chunked_split_at_every_offset),
        cmocka_unit_test(chunked_byte_at_a_time_moving_buffer),
        cmocka_unit_test(chunked_awaits_continue),
        cmocka_unit_test(chunked_size_with_sign),
        cmocka_unit_test(chunked_size_leading_space),
        cmocka_unit_test(chunked_size_trailing_space),
        cmocka_unit_test(chunked_size_hex_prefix),
        cmocka_unit_test(chunked_size_not_hex),
        cmocka_unit_test(chunked_size_empty),
        cmocka_unit_test(chunked_size_overflow),
        cmocka_unit_test(chunked_size_bare_lf),
        cmocka_unit_test(chunked_data_without_crlf),
        cmocka_unit_test(chunked_data_bare_lf),
        cmocka_unit_test(chunked_data_early_bad_byte),
        cmocka_unit_test(chunked_extension_malformed),
        cmocka_unit_test(chunked_trailer_bare_lf),
        cmocka_unit_test(chunked_trailer_malformed),
        cmocka_unit_test(chunk_line_at_max),
        cmocka_unit_test(chunk_line_past_max),
        cmocka_unit_test(chunked_body_at_max),
        cmocka_unit_test(chunked_body_past_max),
        cmocka_unit_test(chunked_one_chunk_past_max),
        cmocka_unit_test(chunked_framing_past_max),
        cmocka_unit_test(chunked_framing_at_max),
        cmocka_unit_test(chunked_trailers_at_count_max),
        cmocka_unit_test(chunked_trailers_past_count_max),
        cmocka_unit_test(chunked_trailers_past_bytes_max),
        cmocka_unit_test(chunked_transfer_encoding_obfuscated),
        cmocka_unit_test(chunked_transfer_encoding_ows_trimmed),
        cmocka_unit_test(token_eq_ignores_ascii_case),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
