/*
 * HTTP/1.1 responses, written whole into a connection's output buffer so
 * that each one leaves in a single send.
 */
#ifndef SVIDGATE_NET_HTTP_RESPONSE_H
#define SVIDGATE_NET_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"
#include "core/slice.h"
#include "net/byte_buffer.h"

/* "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110, section 5.6.7) and its NUL. */
#define SG_HTTP_DATE_SIZE 30

/* The Date header value of one second, formatted once and reused. */
struct sg_http_date {
    time_t second;
    char text[SG_HTTP_DATE_SIZE];
};

/* Sets `date` to `now`, formatting only when the second changed. */
void sg_http_date_update(struct sg_http_date *date, time_t now);

struct sg_http_response {
    int status;
    const char *content_type; /* NULL for a response without a body */
    struct sg_slice body;
    const char *allow;        /* the Allow header of a 405, or NULL */
    const char *headers;      /* more "Name: value\r\n" lines, or NULL */
    bool close;               /* send "Connection: close" */
    bool keep_alive_http10;   /* send "Connection: keep-alive" to an HTTP/1.0 client */
    bool omit_body;           /* a response to HEAD: headers only */
};

/* Returns the reason phrase of `status`, e.g. "Not Found". */
const char *sg_http_reason_phrase(int status);

/*
 * Returns the `error` code of the JSON body svidgate sends with a 4xx or
 * 5xx status, e.g. "bad_request" for 400.
 */
const char *sg_http_status_error_code(int status);

/* Appends the status line, headers and body; false when `out` is full. */
SG_MUST_CHECK bool sg_http_response_write(struct sg_byte_buffer *out,
                                          const struct sg_http_response *response,
                                          const struct sg_http_date *date);

/*
 * Renders {"error": code, "message": message} with the code from
 * sg_http_status_error_code(). The caller frees the string; NULL when out
 * of memory.
 */
char *sg_http_error_body(int status, const char *message);

/*
 * Appends a response whose body is sg_http_error_body(). `message` must
 * not contain request bytes. False when `out` is full or out of memory.
 */
SG_MUST_CHECK bool sg_http_error_write(struct sg_byte_buffer *out, int status, const char *message,
                                       const char *allow, bool close,
                                       const struct sg_http_date *date);

/* The interim response that lets a client send its body (RFC 9110, section 15.2.1). */
SG_MUST_CHECK bool sg_http_continue_write(struct sg_byte_buffer *out);

#endif
