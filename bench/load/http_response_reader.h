/*
 * Strict, bounded reader of one HTTP/1.1 response head and its
 * Content-Length body, for the load generator.
 *
 * The load generator only needs the status code, the body and whether
 * the server closes the connection, so the reader accepts less than
 * RFC 9112 allows: every response must carry exactly one Content-Length
 * (unless it is 204 or 304), and Transfer-Encoding, 1xx responses, bare
 * LF line ends and obsolete line folding are rejected. Every length is
 * capped, so a broken or hostile server cannot make it buffer without end.
 */
#ifndef SVIDLOAD_HTTP_RESPONSE_READER_H
#define SVIDLOAD_HTTP_RESPONSE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status line and headers, CRLF CRLF included. */
#define RESPONSE_MAX_HEAD 16384
#define RESPONSE_MAX_HEADERS 64

enum response_state {
    RESPONSE_COMPLETE,
    RESPONSE_INCOMPLETE,
    RESPONSE_INVALID,
};

/* The reason a response is invalid. Append only, because the names are printed. */
enum response_error {
    RESPONSE_ERROR_NONE,
    RESPONSE_ERROR_STATUS_LINE,
    RESPONSE_ERROR_VERSION,
    RESPONSE_ERROR_INFORMATIONAL,
    RESPONSE_ERROR_BARE_LF,
    RESPONSE_ERROR_HEADER_SYNTAX,
    RESPONSE_ERROR_OBSOLETE_FOLD,
    RESPONSE_ERROR_TOO_MANY_HEADERS,
    RESPONSE_ERROR_HEAD_TOO_LARGE,
    RESPONSE_ERROR_CONTENT_LENGTH,
    RESPONSE_ERROR_DUPLICATE_CONTENT_LENGTH,
    RESPONSE_ERROR_MISSING_CONTENT_LENGTH,
    RESPONSE_ERROR_TRANSFER_ENCODING,
    RESPONSE_ERROR_BODY_TOO_LARGE,
};

struct http_response {
    int status_code;
    /* Bytes of the status line and headers, CRLF CRLF included. */
    size_t head_length;
    /* Points into the caller's buffer once the response is complete. */
    const uint8_t *body;
    size_t body_length;
    /* head_length + body_length: where the next response starts. */
    size_t total_length;
    /* The server sent `Connection: close` or answered as HTTP/1.0. */
    bool close;
};

/* Read one response from the first `length` bytes of `data`.
 * RESPONSE_COMPLETE fills `response`; RESPONSE_INCOMPLETE means more
 * bytes are needed (and fit the limits so far); RESPONSE_INVALID sets
 * `error`. A body longer than `max_body` bytes is invalid. */
enum response_state http_response_read(const uint8_t *data, size_t length, size_t max_body,
                                       struct http_response *response,
                                       enum response_error *error);

const char *response_error_name(enum response_error error);

#endif
