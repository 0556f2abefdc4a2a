/* Tests of net/http_response.c: response bytes, error bodies and the Date value. */
#include "tests/testutil.h"

#include <string.h>

#include "net/http_response.h"

static void assert_buffer_equal(const struct sg_byte_buffer *buffer, const char *expected)
{
    if (buffer->len != strlen(expected) || memcmp(buffer->data, expected, buffer->len) != 0)
        fail_msg("got:\n%.*s\nexpected:\n%s", (int)buffer->len, (const char *)buffer->data, expected);
}

static void date_rfc9110_format(void **state)
{
    struct sg_http_date date = { 0 };
    (void)state;

    sg_http_date_update(&date, 784111777);
    assert_string_equal(date.text, "Sun, 06 Nov 1994 08:49:37 GMT");
    sg_http_date_update(&date, 0);
    assert_string_equal(date.text, "Thu, 01 Jan 1970 00:00:00 GMT");
}

static void response_with_body(void **state)
{
    struct sg_http_date date = { 0 };
    struct sg_byte_buffer out;
    struct sg_http_response response = {
        .status = 200,
        .content_type = "application/json",
        .body = sg_slice_cstr("{}"),
    };
    (void)state;

    sg_http_date_update(&date, 784111777);
    sg_byte_buffer_init(&out, 4096, NULL);
    assert_true(sg_http_response_write(&out, &response, &date));
    assert_buffer_equal(&out, "HTTP/1.1 200 OK\r\n"
                              "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                              "Content-Length: 2\r\n"
                              "Content-Type: application/json\r\n"
                              "\r\n"
                              "{}");
    sg_byte_buffer_release(&out);
}

static void response_head_omits_body(void **state)
{
    struct sg_http_date date = { 0 };
    struct sg_byte_buffer out;
    struct sg_http_response response = {
        .status = 200,
        .body = sg_slice_cstr("abc"),
        .keep_alive_http10 = true,
        .omit_body = true,
    };
    (void)state;

    sg_http_date_update(&date, 0);
    sg_byte_buffer_init(&out, 4096, NULL);
    assert_true(sg_http_response_write(&out, &response, &date));
    assert_buffer_equal(&out, "HTTP/1.1 200 OK\r\n"
                              "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                              "Content-Length: 3\r\n"
                              "Connection: keep-alive\r\n"
                              "\r\n");
    sg_byte_buffer_release(&out);
}

static void error_response_json_body(void **state)
{
    struct sg_http_date date = { 0 };
    struct sg_byte_buffer out;
    (void)state;

    sg_http_date_update(&date, 0);
    sg_byte_buffer_init(&out, 4096, NULL);
    assert_true(sg_http_error_write(&out, 405, "use \"POST\"", "POST", true, &date));
    assert_buffer_equal(&out, "HTTP/1.1 405 Method Not Allowed\r\n"
                              "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                              "Content-Length: 55\r\n"
                              "Content-Type: application/json\r\n"
                              "Allow: POST\r\n"
                              "Connection: close\r\n"
                              "\r\n"
                              "{\"error\":\"method_not_allowed\",\"message\":\"use \\\"POST\\\"\"}");
    sg_byte_buffer_release(&out);
}

static void response_too_large_leaves_buffer(void **state)
{
    struct sg_http_date date = { 0 };
    struct sg_byte_buffer out;
    struct sg_http_response response = { .status = 200, .body = sg_slice_cstr("0123456789") };
    (void)state;

    sg_http_date_update(&date, 0);
    sg_byte_buffer_init(&out, 80, NULL);
    assert_true(sg_byte_buffer_append(&out, "xy", 2));
    assert_false(sg_http_response_write(&out, &response, &date));
    assert_buffer_equal(&out, "xy");
    sg_byte_buffer_release(&out);
}

static void status_codes_named(void **state)
{
    (void)state;
    assert_string_equal(sg_http_status_error_code(400), "bad_request");
    assert_string_equal(sg_http_status_error_code(411), "length_required");
    assert_string_equal(sg_http_status_error_code(413), "content_too_large");
    assert_string_equal(sg_http_status_error_code(414), "uri_too_long");
    assert_string_equal(sg_http_status_error_code(431), "header_fields_too_large");
    assert_string_equal(sg_http_status_error_code(501), "not_implemented");
    assert_string_equal(sg_http_status_error_code(505), "http_version_not_supported");
    assert_string_equal(sg_http_reason_phrase(431), "Request Header Fields Too Large");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(date_rfc9110_format),
        cmocka_unit_test(response_with_body),
        cmocka_unit_test(response_head_omits_body),
        cmocka_unit_test(error_response_json_body),
        cmocka_unit_test(response_too_large_leaves_buffer),
        cmocka_unit_test(status_codes_named),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
