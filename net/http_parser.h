/*
 * Zero-copy HTTP/1.1 request parser (RFC 9112 message syntax and chunked
 * transfer coding, RFC 9110 semantics of Content-Length, Connection,
 * Expect and Host).
 *
 * The parser reads a request in place: every slice of the parsed request
 * points into the caller's buffer, and no request byte is read as a
 * NUL-terminated string. A chunked body is decoded in place as well: the
 * parser moves each chunk's data down to follow the data before it, so
 * the body ends up contiguous right after the head. It is stricter than most servers, because
 * leniency behind a proxy is how request smuggling starts. It rejects
 * bare LF, bare CR, obsolete line folding and whitespace before a colon.
 * It rejects methods and header names that are not tokens, Content-Length
 * that is not all digits or is given twice, Content-Length together with
 * Transfer-Encoding, and any transfer coding but a single "chunked".
 *
 * The caller keeps the bytes of one request in a buffer that only grows
 * between calls and calls sg_http_parse_request() after each receive.
 * The buffer may move, but its prefix must be the bytes as the last call
 * left them (the parser rewrites chunked body bytes it has checked),
 * followed by newly received bytes. A struct sg_http_parser remembers how
 * far the request has been checked, so feeding a request one byte at a
 * time costs linear time, not quadratic.
 */
#ifndef SVIDGATE_NET_HTTP_PARSER_H
#define SVIDGATE_NET_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"
#include "core/slice.h"

enum sg_http_parse_result {
    SG_HTTP_PARSE_COMPLETE,   /* a whole request, head and body, is in the buffer */
    SG_HTTP_PARSE_INCOMPLETE, /* valid so far; call again with more bytes */
    SG_HTTP_PARSE_ERROR,      /* respond with error.status and close the connection */
};

struct sg_http_header {
    struct sg_slice name;  /* a token, as sent (compare case-insensitively) */
    struct sg_slice value; /* without leading and trailing SP/HTAB */
};

struct sg_http_request {
    struct sg_slice method;  /* a token, case-sensitive ("GET", "POST", ...) */
    struct sg_slice target;  /* request-target as sent, query included */
    int version_minor;       /* 0 for HTTP/1.0; 1 for HTTP/1.1 and later 1.x */
    struct sg_http_header headers[SG_HTTP_HEADER_COUNT_MAX];
    size_t header_count;
    struct sg_slice body;    /* Content-Length bytes or the decoded chunked body; may be empty */
    size_t size;             /* bytes of the buffer this request occupies, framing included */
    bool keep_alive;         /* false when the connection closes after the response */
};

/* The part of a chunked body (RFC 9112, section 7.1) the parser reads next. */
enum sg_http_chunk_step {
    SG_HTTP_CHUNK_SIZE,     /* a chunk-size line: hex size, extensions, CRLF */
    SG_HTTP_CHUNK_DATA,     /* the data of a chunk */
    SG_HTTP_CHUNK_DATA_END, /* the CRLF after a chunk's data */
    SG_HTTP_CHUNK_TRAILER,  /* trailer field lines after the last chunk, up to a blank line */
};

/*
 * Progress through the request at the start of the buffer. Zero it with
 * sg_http_parser_init() before the first byte of each request;
 * sg_http_parse_request() does so itself after a complete request.
 */
struct sg_http_parser {
    size_t scanned;       /* bytes already checked: whole head lines, then body bytes */
    size_t line_searched; /* the unfinished line at `scanned` has no LF before this offset */
    size_t start;         /* offset of the request line, after empty lines */
    size_t header_lines;  /* header field lines seen so far, trailer fields included */
    size_t head_size;     /* bytes from the buffer start through the blank line; 0 until then */
    size_t body_size;     /* Content-Length, once the head is complete */
    size_t body_max;      /* the route's body limit, once the head is complete */
    bool expect_continue; /* the complete head carries "Expect: 100-continue" */

    bool chunked;                       /* the body is chunked; the fields below track it */
    enum sg_http_chunk_step chunk_step;
    size_t chunk_left;    /* data bytes of the current chunk not yet arrived */
    size_t decoded;       /* data bytes decoded so far, moved to buf[head_size..] */
    size_t framing;       /* bytes of chunk-size lines and data CRLFs so far */
    size_t trailer_bytes; /* bytes of trailer field lines so far, blank line included */
};

/* The status to respond with to a request the parser rejected, and why. */
struct sg_http_error {
    int status;          /* 400, 411, 413, 414, 431, 501 or 505 */
    const char *message; /* a static sentence; it never contains request bytes */
};

void sg_http_parser_init(struct sg_http_parser *parser);

/*
 * Parses the request at the start of buf[0..len). On
 * SG_HTTP_PARSE_COMPLETE, `request` describes it (slices into `buf`),
 * request->size bytes are consumed and `parser` is ready for the next
 * request. On SG_HTTP_PARSE_ERROR, `error` contains the status to respond
 * with, and the parser must not be called again for this connection. Only
 * the bytes of a chunked body are written, and only those before
 * parser->scanned.
 */
SG_MUST_CHECK enum sg_http_parse_result sg_http_parse_request(struct sg_http_parser *parser,
                                                              uint8_t *buf, size_t len,
                                                              struct sg_http_request *request,
                                                              struct sg_http_error *error);

/*
 * Returns true while the head is complete, the body is not, and the
 * client sent "Expect: 100-continue": it waits for an interim
 * "100 Continue" before it sends the body (RFC 9110, section 10.1.1).
 */
bool sg_http_parser_awaits_continue(const struct sg_http_parser *parser);

/* Returns the first header named `name`, given in lowercase and matched
 * ignoring ASCII case, or NULL. */
const struct sg_http_header *sg_http_request_find_header(const struct sg_http_request *request,
                                                         const char *name);

/* Returns the request-target without its query ("?..."), as routing needs. */
struct sg_slice sg_http_request_path(const struct sg_http_request *request);

/* Compares a slice to a lowercase ASCII string, ignoring ASCII case. */
bool sg_http_token_eq(struct sg_slice token, const char *lowercase);

#endif
