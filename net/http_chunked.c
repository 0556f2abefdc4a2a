/*
 * Decoding of a chunked request body (RFC 9112, section 7.1), in place:
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *
 * Each call goes on from parser->scanned, so every byte is read once.
 * Chunk data is moved down to buf[head_size + decoded] as it arrives;
 * the destination never passes parser->scanned, because framing bytes
 * always come between the data of two chunks. Sizes are checked as soon
 * as a chunk-size line ends: a chunk that would take the decoded body
 * past the route's limit (parser->body_max) is rejected before its data
 * is waited for.
 * Trailer fields are checked like header fields and counted against the
 * header limits, then dropped: no route reads them.
 */
#include <string.h>

#include "core/limits.h"
#include "net/http_parser_internal.h"

static bool is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Returns the value of a hex digit, or -1. */
static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t skip_ows(struct sg_slice s, size_t i)
{
    while (i < s.len && is_ows(s.ptr[i]))
        i++;
    return i;
}

static size_t skip_token(struct sg_slice s, size_t i)
{
    while (i < s.len && sg_http_is_tchar(s.ptr[i]))
        i++;
    return i;
}

/*
 * quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (RFC 9110,
 * section 5.6.4), starting at s.ptr[i] == '"'. Returns the offset past
 * the closing quote, or 0 when the string is malformed.
 */
static size_t skip_quoted_string(struct sg_slice s, size_t i)
{
    for (i++; i < s.len; i++) {
        uint8_t c = s.ptr[i];

        if (c == '"')
            return i + 1;
        if (c == '\\') {
            i++;
            if (i == s.len || (s.ptr[i] < 0x20 && s.ptr[i] != '\t') || s.ptr[i] == 0x7f)
                return 0;
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return 0;
        }
    }
    return 0;
}

/* chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) */
static bool is_chunk_ext(struct sg_slice s)
{
    size_t i = 0;

    while (i < s.len) {
        i = skip_ows(s, i);
        if (i == s.len || s.ptr[i] != ';')
            return false;

        size_t name = skip_ows(s, i + 1);
        i = skip_token(s, name);
        if (i == name)
            return false;

        size_t after_name = skip_ows(s, i);
        if (after_name == s.len || s.ptr[after_name] != '=')
            continue;

        size_t value = skip_ows(s, after_name + 1);
        size_t end;

        if (value < s.len && s.ptr[value] == '"')
            end = skip_quoted_string(s, value);
        else
            end = skip_token(s, value);
        if (end == 0 || end == value)
            return false;
        i = end;
    }
    return true;
}

/*
 * Reads chunk-size [ chunk-ext ], the line without its CRLF. The size is
 * hex digits only, with no sign or whitespace before it. It saturates
 * past SG_BATCH_BODY_MAX (the largest body limit of any route), so no
 * digit count can overflow it.
 */
static enum sg_http_parse_result parse_chunk_size(struct sg_slice line, size_t *size,
                                                  struct sg_http_error *error)
{
    size_t i = 0;
    size_t value = 0;

    for (; i < line.len && hex_value(line.ptr[i]) >= 0; i++) {
        if (value <= SG_BATCH_BODY_MAX)
            value = value * 16 + (size_t)hex_value(line.ptr[i]);
    }
    if (i == 0)
        return sg_http_fail(error, 400, "a chunk size is not a hexadecimal number");

    if (!is_chunk_ext(sg_slice_make(line.ptr + i, line.len - i)))
        return sg_http_fail(error, 400,
                            "a chunk-size line has characters after the size that are not a chunk extension");

    *size = value;
    return SG_HTTP_PARSE_COMPLETE;
}

/* Counts framing bytes against SG_HTTP_CHUNK_FRAMING_MAX. */
static enum sg_http_parse_result add_framing(struct sg_http_parser *parser, size_t bytes,
                                             struct sg_http_error *error)
{
    parser->framing += bytes;
    if (parser->framing > SG_HTTP_CHUNK_FRAMING_MAX)
        return sg_http_fail(error, 413,
                            "the chunked framing of the request body is larger than the server accepts");
    return SG_HTTP_PARSE_COMPLETE;
}

/* Returns the bytes of the unfinished line at parser->scanned, a trailing CR not counted. */
static size_t pending_line_bytes(const struct sg_http_parser *parser, struct sg_slice buf)
{
    size_t pending = buf.len - parser->scanned;

    if (pending > 0 && buf.ptr[buf.len - 1] == '\r')
        pending--;
    return pending;
}

/*
 * Finds the line at parser->scanned and checks its CRLF. Returns
 * SG_HTTP_PARSE_INCOMPLETE when its LF has not arrived; on success
 * *line is the line without CRLF.
 */
static enum sg_http_parse_result next_line(struct sg_http_parser *parser, struct sg_slice buf,
                                           struct sg_slice *line, struct sg_http_error *error)
{
    size_t lf;

    if (!sg_http_find_line_end(parser, buf, &lf))
        return SG_HTTP_PARSE_INCOMPLETE;

    if (lf == parser->scanned || buf.ptr[lf - 1] != '\r')
        return sg_http_fail(error, 400,
                            "a line of the chunked body ends in a bare LF instead of CRLF");

    *line = sg_slice_make(buf.ptr + parser->scanned, lf - 1 - parser->scanned);
    return SG_HTTP_PARSE_COMPLETE;
}

static enum sg_http_parse_result read_chunk_size(struct sg_http_parser *parser, struct sg_slice buf,
                                                 struct sg_http_error *error)
{
    struct sg_slice line;
    enum sg_http_parse_result result = next_line(parser, buf, &line, error);
    size_t size = 0;

    if (result == SG_HTTP_PARSE_INCOMPLETE &&
        pending_line_bytes(parser, buf) > SG_HTTP_CHUNK_LINE_MAX)
        return sg_http_fail(error, 400, "a chunk-size line is longer than the server accepts");
    if (result != SG_HTTP_PARSE_COMPLETE)
        return result;

    if (line.len > SG_HTTP_CHUNK_LINE_MAX)
        return sg_http_fail(error, 400, "a chunk-size line is longer than the server accepts");
    if (add_framing(parser, line.len + 2, error) == SG_HTTP_PARSE_ERROR)
        return SG_HTTP_PARSE_ERROR;
    if (parse_chunk_size(line, &size, error) == SG_HTTP_PARSE_ERROR)
        return SG_HTTP_PARSE_ERROR;

    if (size > parser->body_max - parser->decoded)
        return sg_http_fail(error, 413, "the request body is larger than the server accepts");

    parser->scanned += line.len + 2;
    parser->chunk_left = size;
    parser->chunk_step = size == 0 ? SG_HTTP_CHUNK_TRAILER : SG_HTTP_CHUNK_DATA;
    return SG_HTTP_PARSE_COMPLETE;
}

/* Moves the chunk data that has arrived down to the end of the decoded body. */
static enum sg_http_parse_result read_chunk_data(struct sg_http_parser *parser, uint8_t *buf,
                                                 size_t len)
{
    size_t available = len - parser->scanned;
    size_t take = available < parser->chunk_left ? available : parser->chunk_left;
    size_t to = parser->head_size + parser->decoded;

    if (take == 0)
        return SG_HTTP_PARSE_INCOMPLETE;

    if (to != parser->scanned)
        memmove(buf + to, buf + parser->scanned, take);
    parser->decoded += take;
    parser->scanned += take;
    parser->chunk_left -= take;

    if (parser->chunk_left == 0)
        parser->chunk_step = SG_HTTP_CHUNK_DATA_END;
    return SG_HTTP_PARSE_COMPLETE;
}

static enum sg_http_parse_result read_data_end(struct sg_http_parser *parser, struct sg_slice buf,
                                               struct sg_http_error *error)
{
    size_t available = buf.len - parser->scanned;
    const uint8_t *end = buf.ptr + parser->scanned;

    if ((available >= 1 && end[0] != '\r') || (available >= 2 && end[1] != '\n'))
        return sg_http_fail(error, 400, "chunk data is not followed by CRLF");
    if (available < 2)
        return SG_HTTP_PARSE_INCOMPLETE;

    if (add_framing(parser, 2, error) == SG_HTTP_PARSE_ERROR)
        return SG_HTTP_PARSE_ERROR;
    parser->scanned += 2;
    parser->chunk_step = SG_HTTP_CHUNK_SIZE;
    return SG_HTTP_PARSE_COMPLETE;
}

/*
 * Reads one trailer field line, or the blank line that ends the body
 * (returned as SG_HTTP_PARSE_COMPLETE with *done set). The head and the
 * trailer section share SG_HTTP_HEADER_BYTES_MAX and
 * SG_HTTP_HEADER_COUNT_MAX.
 */
static enum sg_http_parse_result read_trailer_line(struct sg_http_parser *parser,
                                                   struct sg_slice buf, bool *done,
                                                   struct sg_http_error *error)
{
    static const char *const too_large =
        "the request head and trailer fields are larger than the server accepts";
    struct sg_slice line;
    struct sg_slice name;
    struct sg_slice value;
    enum sg_http_parse_result result = next_line(parser, buf, &line, error);

    size_t pending = pending_line_bytes(parser, buf);

    if (result == SG_HTTP_PARSE_INCOMPLETE &&
        parser->head_size + parser->trailer_bytes + pending > SG_HTTP_HEADER_BYTES_MAX)
        return sg_http_fail(error, 431, too_large);
    if (result != SG_HTTP_PARSE_COMPLETE)
        return result;

    parser->trailer_bytes += line.len + 2;
    parser->scanned += line.len + 2;
    if (parser->head_size + parser->trailer_bytes > SG_HTTP_HEADER_BYTES_MAX)
        return sg_http_fail(error, 431, too_large);

    if (line.len == 0) {
        *done = true;
        return SG_HTTP_PARSE_COMPLETE;
    }

    parser->header_lines++;
    if (parser->header_lines > SG_HTTP_HEADER_COUNT_MAX)
        return sg_http_fail(error, 431,
                            "the request has more header and trailer fields than the server accepts");
    return sg_http_split_field_line(line, &name, &value, error);
}

enum sg_http_parse_result sg_http_chunked_decode(struct sg_http_parser *parser, uint8_t *buf,
                                                 size_t len, struct sg_http_error *error)
{
    struct sg_slice view = sg_slice_make(buf, len);
    bool done = false;

    while (!done) {
        enum sg_http_parse_result result = SG_HTTP_PARSE_INCOMPLETE;

        switch (parser->chunk_step) {
        case SG_HTTP_CHUNK_SIZE:
            result = read_chunk_size(parser, view, error);
            break;
        case SG_HTTP_CHUNK_DATA:
            result = read_chunk_data(parser, buf, len);
            break;
        case SG_HTTP_CHUNK_DATA_END:
            result = read_data_end(parser, view, error);
            break;
        case SG_HTTP_CHUNK_TRAILER:
            result = read_trailer_line(parser, view, &done, error);
            break;
        }
        if (result != SG_HTTP_PARSE_COMPLETE)
            return result;
    }
    return SG_HTTP_PARSE_COMPLETE;
}
