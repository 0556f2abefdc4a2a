/* Tests of bench/load/http_response_reader.c: complete, incomplete and
 * each kind of invalid response, and the length limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/load/http_response_reader.h"

static enum response_state read_text(const char *text, size_t max_body, struct http_response *response,
                                     enum response_error *error)
{
    return http_response_read((const uint8_t *)text, strlen(text), max_body, response, error);
}

static void assert_invalid(const char *text, enum response_error expected)
{
    struct http_response response;
    enum response_error error;
    assert_int_equal(read_text(text, 1024, &response, &error), RESPONSE_INVALID);
    assert_int_equal(error, expected);
}

static void complete_with_body(void **state)
{
    const char *text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";
    struct http_response response;
    enum response_error error;
    (void)state;

    assert_int_equal(read_text(text, 1024, &response, &error), RESPONSE_COMPLETE);
    assert_int_equal(response.status_code, 200);
    assert_int_equal(response.body_length, 5);
    assert_memory_equal(response.body, "hello", 5);
    assert_int_equal(response.total_length, strlen(text));
    assert_false(response.close);
}

/* Every proper prefix of a response is incomplete, never invalid. */
static void every_prefix_incomplete(void **state)
{
    const char *text = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\n\r\nnop";
    struct http_response response;
    enum response_error error;
    (void)state;

    for (size_t length = 0; length < strlen(text); length++) {
        assert_int_equal(http_response_read((const uint8_t *)text, length, 1024, &response, &error),
                         RESPONSE_INCOMPLETE);
    }
}

/* Only the first response is read, and the bytes after it are left to the caller. */
static void second_response_not_consumed(void **state)
{
    const char *text = "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n";
    struct http_response response;
    enum response_error error;
    (void)state;

    assert_int_equal(read_text(text, 1024, &response, &error), RESPONSE_COMPLETE);
    assert_int_equal(response.status_code, 204);
    assert_int_equal(response.total_length, strlen("HTTP/1.1 204 No Content\r\n\r\n"));
}

static void connection_close_detected(void **state)
{
    struct http_response response;
    enum response_error error;
    (void)state;

    assert_int_equal(read_text("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
                               1024, &response, &error),
                     RESPONSE_COMPLETE);
    assert_true(response.close);
    assert_int_equal(read_text("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 1024, &response, &error),
                     RESPONSE_COMPLETE);
    assert_true(response.close);
    assert_int_equal(read_text("HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n", 1024,
                               &response, &error),
                     RESPONSE_COMPLETE);
    assert_false(response.close);
}

static void empty_reason_accepted(void **state)
{
    struct http_response response;
    enum response_error error;
    (void)state;

    assert_int_equal(read_text("HTTP/1.1 403 \r\nContent-Length: 0\r\n\r\n", 1024, &response, &error),
                     RESPONSE_COMPLETE);
    assert_int_equal(response.status_code, 403);
}

static void status_line_errors(void **state)
{
    (void)state;
    assert_invalid("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", RESPONSE_ERROR_STATUS_LINE);
    assert_invalid("HTTP/1.1 20x OK\r\nContent-Length: 0\r\n\r\n", RESPONSE_ERROR_STATUS_LINE);
    assert_invalid("HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n", RESPONSE_ERROR_STATUS_LINE);
    assert_invalid("HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", RESPONSE_ERROR_STATUS_LINE);
    assert_invalid("HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", RESPONSE_ERROR_VERSION);
    assert_invalid("HTTP/1.1 100 Continue\r\n\r\n", RESPONSE_ERROR_INFORMATIONAL);
}

static void line_end_errors(void **state)
{
    (void)state;
    assert_invalid("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", RESPONSE_ERROR_BARE_LF);
    assert_invalid("HTTP/1.1 200 OK\r\nContent-Length: 0\n\n", RESPONSE_ERROR_BARE_LF);
    assert_invalid("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
                   RESPONSE_ERROR_OBSOLETE_FOLD);
}

static void header_errors(void **state)
{
    (void)state;
    assert_invalid("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", RESPONSE_ERROR_HEADER_SYNTAX);
    assert_invalid("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", RESPONSE_ERROR_HEADER_SYNTAX);
    assert_invalid("HTTP/1.1 200 OK\r\nX-A: a\x01\r\n\r\n", RESPONSE_ERROR_HEADER_SYNTAX);
    assert_invalid("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                   RESPONSE_ERROR_TRANSFER_ENCODING);
}

static void content_length_errors(void **state)
{
    (void)state;
    assert_invalid("HTTP/1.1 200 OK\r\n\r\n", RESPONSE_ERROR_MISSING_CONTENT_LENGTH);
    assert_invalid("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", RESPONSE_ERROR_CONTENT_LENGTH);
    assert_invalid("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", RESPONSE_ERROR_CONTENT_LENGTH);
    assert_invalid("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", RESPONSE_ERROR_CONTENT_LENGTH);
    assert_invalid("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
                   RESPONSE_ERROR_CONTENT_LENGTH);
    assert_invalid("HTTP/1.1 200 OK\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nx",
                   RESPONSE_ERROR_DUPLICATE_CONTENT_LENGTH);
}

/* A body at the limit is read, and one byte more is rejected before it arrives. */
static void body_limit(void **state)
{
    struct http_response response;
    enum response_error error;
    (void)state;

    assert_int_equal(read_text("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd", 4, &response, &error),
                     RESPONSE_COMPLETE);
    assert_int_equal(read_text("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 4, &response, &error),
                     RESPONSE_INVALID);
    assert_int_equal(error, RESPONSE_ERROR_BODY_TOO_LARGE);
}

/* A head that ends exactly at the limit is read, and one that fills the
 * limit without its CRLF CRLF is rejected. */
static void head_limit(void **state)
{
    static char text[RESPONSE_MAX_HEAD + 64];
    const char *start = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Fill: ";
    struct http_response response;
    enum response_error error;
    (void)state;

    size_t start_length = strlen(start);
    memcpy(text, start, start_length);
    memset(text + start_length, 'a', RESPONSE_MAX_HEAD - start_length - 4);
    memcpy(text + RESPONSE_MAX_HEAD - 4, "\r\n\r\n", 4);
    assert_int_equal(http_response_read((const uint8_t *)text, RESPONSE_MAX_HEAD, 0, &response, &error),
                     RESPONSE_COMPLETE);

    memset(text + start_length, 'a', RESPONSE_MAX_HEAD + 8 - start_length);
    assert_int_equal(http_response_read((const uint8_t *)text, RESPONSE_MAX_HEAD + 8, 0, &response, &error),
                     RESPONSE_INVALID);
    assert_int_equal(error, RESPONSE_ERROR_HEAD_TOO_LARGE);
}

static void header_count_limit(void **state)
{
    static char text[8192];
    size_t length = 0;
    (void)state;

    length += (size_t)snprintf(text + length, sizeof(text) - length, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < RESPONSE_MAX_HEADERS; i++) {
        length += (size_t)snprintf(text + length, sizeof(text) - length, "X-%d: v\r\n", i);
    }
    length += (size_t)snprintf(text + length, sizeof(text) - length, "\r\n");
    /* 64 headers, none of them Content-Length: the count passes. */
    assert_invalid(text, RESPONSE_ERROR_MISSING_CONTENT_LENGTH);

    length -= 2;
    snprintf(text + length, sizeof(text) - length, "Content-Length: 0\r\n\r\n");
    assert_invalid(text, RESPONSE_ERROR_TOO_MANY_HEADERS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(complete_with_body),
        cmocka_unit_test(every_prefix_incomplete),
        cmocka_unit_test(second_response_not_consumed),
        cmocka_unit_test(connection_close_detected),
        cmocka_unit_test(empty_reason_accepted),
        cmocka_unit_test(status_line_errors),
        cmocka_unit_test(line_end_errors),
        cmocka_unit_test(header_errors),
        cmocka_unit_test(content_length_errors),
        cmocka_unit_test(body_limit),
        cmocka_unit_test(head_limit),
        cmocka_unit_test(header_count_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
