/*
 * HTTP/1.1 request parsing in two passes.
 *
 * The first pass walks the head line by line as bytes arrive, and
 * enforces what can be decided before the head is complete: CRLF line
 * endings, the request-line limit (414), the head size and header count
 * limits (431). Its progress lives in struct sg_http_parser, so each
 * byte is walked once. The second pass runs once the blank line has
 * arrived: it splits the request line and the header fields into
 * slices, checks every character class, and decides the body length.
 * It runs once more when the body completes in a later receive, because
 * the caller's buffer may have moved in between. A chunked body is read
 * after the head by net/http_chunked.c.
 */
#include "net/http_parser.h"

#include <stdint.h>

#include "net/http_parser_internal.h"

/* tchar of RFC 9110, section 5.6.2: the characters of methods and field names. */
static const bool tchar_table[256] = {
    ['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true,
    ['\''] = true, ['*'] = true, ['+'] = true, ['-'] = true, ['.'] = true,
    ['^'] = true, ['_'] = true, ['`'] = true, ['|'] = true, ['~'] = true,
    ['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true,
    ['5'] = true, ['6'] = true, ['7'] = true, ['8'] = true, ['9'] = true,
    ['A'] = true, ['B'] = true, ['C'] = true, ['D'] = true, ['E'] = true,
    ['F'] = true, ['G'] = true, ['H'] = true, ['I'] = true, ['J'] = true,
    ['K'] = true, ['L'] = true, ['M'] = true, ['N'] = true, ['O'] = true,
    ['P'] = true, ['Q'] = true, ['R'] = true, ['S'] = true, ['T'] = true,
    ['U'] = true, ['V'] = true, ['W'] = true, ['X'] = true, ['Y'] = true,
    ['Z'] = true, ['a'] = true, ['b'] = true, ['c'] = true, ['d'] = true,
    ['e'] = true, ['f'] = true, ['g'] = true, ['h'] = true, ['i'] = true,
    ['j'] = true, ['k'] = true, ['l'] = true, ['m'] = true, ['n'] = true,
    ['o'] = true, ['p'] = true, ['q'] = true, ['r'] = true, ['s'] = true,
    ['t'] = true, ['u'] = true, ['v'] = true, ['w'] = true, ['x'] = true,
    ['y'] = true, ['z'] = true,
};

/* Framing and connection facts collected from the header fields of one request. */
struct head_facts {
    size_t host_count;
    size_t content_length_count;
    size_t content_length;
    size_t transfer_encoding_count;
    size_t chunked_count;       /* "chunked" list elements over all Transfer-Encoding lines */
    bool last_coding_chunked;   /* the final transfer coding is chunked */
    bool other_coding;          /* a transfer coding other than chunked appears */
    bool connection_close;
    bool connection_keep_alive;
    bool expect_continue;
};

enum sg_http_parse_result sg_http_fail(struct sg_http_error *error, int status,
                                       const char *message)
{
    error->status = status;
    error->message = message;
    return SG_HTTP_PARSE_ERROR;
}

bool sg_http_is_tchar(uint8_t c)
{
    return tchar_table[c];
}

static bool is_token(struct sg_slice s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!tchar_table[s.ptr[i]])
            return false;
    }
    return true;
}

static bool is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* field-vchar, SP and HTAB (RFC 9110, section 5.5); obs-text is allowed. */
static bool is_field_value(struct sg_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (c == 0x7f || (c < 0x20 && c != '\t'))
            return false;
    }
    return true;
}

/* The request-target: visible ASCII only; the route decides what it names. */
static bool is_target(struct sg_slice s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < 0x21 || s.ptr[i] > 0x7e)
            return false;
    }
    return true;
}

static struct sg_slice trim_ows(struct sg_slice s)
{
    while (s.len > 0 && is_ows(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && is_ows(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

bool sg_http_token_eq(struct sg_slice token, const char *lowercase)
{
    size_t i = 0;

    for (; i < token.len && lowercase[i] != '\0'; i++) {
        uint8_t c = token.ptr[i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (c != (uint8_t)lowercase[i])
            return false;
    }
    return i == token.len && lowercase[i] == '\0';
}

/*
 * Reads the next element of a comma-separated list (RFC 9110, section
 * 5.6.1), trimmed of OWS. Empty elements are skipped. Returns false at
 * the end of the list.
 */
static bool next_list_element(struct sg_cursor *list, struct sg_slice *element)
{
    while (sg_cursor_remaining(list) > 0) {
        struct sg_slice item;

        if (!sg_cursor_read_until(list, ',', &item))
            sg_cursor_read(list, sg_cursor_remaining(list), &item);

        item = trim_ows(item);
        if (item.len > 0) {
            *element = item;
            return true;
        }
    }
    return false;
}

void sg_http_parser_init(struct sg_http_parser *parser)
{
    memset(parser, 0, sizeof(*parser));
}

/* ---- First pass: line framing and the size limits ------------------- */

bool sg_http_find_line_end(struct sg_http_parser *parser, struct sg_slice buf, size_t *lf)
{
    size_t from = parser->line_searched > parser->scanned ? parser->line_searched : parser->scanned;
    struct sg_slice rest = sg_slice_make(buf.ptr + from, buf.len - from);
    size_t found = sg_slice_find(rest, '\n');

    if (found == rest.len) {
        parser->line_searched = buf.len;
        return false;
    }
    *lf = from + found;
    return true;
}

/* Checks the limits that an unfinished line at the end of `buf` already breaks. */
static enum sg_http_parse_result check_partial_line(const struct sg_http_parser *parser,
                                                    struct sg_slice buf,
                                                    struct sg_http_error *error)
{
    size_t pending = buf.len - parser->scanned;

    /* A trailing CR may be the first half of the line's CRLF. */
    if (pending > 0 && buf.ptr[buf.len - 1] == '\r')
        pending--;

    if (parser->scanned == parser->start && pending > SG_HTTP_URI_MAX)
        return sg_http_fail(error, 414, "the request line is longer than the server accepts");

    /* Every byte so far belongs to the head, which has not ended yet. */
    if (buf.len > SG_HTTP_HEADER_BYTES_MAX)
        return sg_http_fail(error, 431, "the request head is larger than the server accepts");

    return SG_HTTP_PARSE_INCOMPLETE;
}

/*
 * Walks the head lines that have arrived since the last call. Returns
 * SG_HTTP_PARSE_COMPLETE with *head_end set to the offset just past the
 * blank line that ends the head.
 */
static enum sg_http_parse_result scan_head(struct sg_http_parser *parser, struct sg_slice buf,
                                           size_t *head_end, struct sg_http_error *error)
{
    while (parser->scanned < buf.len) {
        size_t lf;

        if (!sg_http_find_line_end(parser, buf, &lf))
            break;

        size_t line_end = lf + 1;
        size_t line_len = lf - parser->scanned; /* without the LF */

        /* RFC 9112, section 2.2: a bare LF as line terminator is rejected here. */
        if (line_len == 0 || buf.ptr[lf - 1] != '\r')
            return sg_http_fail(error, 400, "a line of the request head ends in a bare LF instead of CRLF");

        bool empty = line_len == 1;
        bool request_line = parser->scanned == parser->start;

        if (request_line && line_len - 1 > SG_HTTP_URI_MAX)
            return sg_http_fail(error, 414, "the request line is longer than the server accepts");

        if (line_end > SG_HTTP_HEADER_BYTES_MAX)
            return sg_http_fail(error, 431, "the request head is larger than the server accepts");

        parser->scanned = line_end;

        /* RFC 9112, section 2.2: empty lines before the request line are ignored. */
        if (request_line && empty) {
            parser->start = line_end;
            continue;
        }

        if (request_line)
            continue;

        if (empty) {
            *head_end = line_end;
            return SG_HTTP_PARSE_COMPLETE;
        }

        parser->header_lines++;
        if (parser->header_lines > SG_HTTP_HEADER_COUNT_MAX)
            return sg_http_fail(error, 431, "the request has more header fields than the server accepts");
    }

    return check_partial_line(parser, buf, error);
}

/* ---- Second pass: request line, header fields, framing -------------- */

/* Reads one head line without its CRLF; the first pass checked the CRLF. */
static bool read_line(struct sg_cursor *head, struct sg_slice *line)
{
    if (!sg_cursor_read_until(head, '\n', line))
        return false;
    line->len--;
    return true;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112, section 2.3). */
static enum sg_http_parse_result parse_version(struct sg_slice version, int *minor,
                                               struct sg_http_error *error)
{
    static const char prefix[] = "HTTP/";
    size_t prefix_len = sizeof(prefix) - 1;

    if (version.len != prefix_len + 3 || memcmp(version.ptr, prefix, prefix_len) != 0)
        return sg_http_fail(error, 400, "the request line does not end in an HTTP version");

    uint8_t major_digit = version.ptr[prefix_len];
    uint8_t dot = version.ptr[prefix_len + 1];
    uint8_t minor_digit = version.ptr[prefix_len + 2];

    if (major_digit < '0' || major_digit > '9' || dot != '.' || minor_digit < '0' || minor_digit > '9')
        return sg_http_fail(error, 400, "the request line does not end in an HTTP version");

    if (major_digit != '1')
        return sg_http_fail(error, 505, "only HTTP/1.0 and HTTP/1.1 are supported");

    /* RFC 9110, section 2.5: a later 1.x minor version is served as HTTP/1.1. */
    *minor = minor_digit == '0' ? 0 : 1;
    return SG_HTTP_PARSE_COMPLETE;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112, section 3). */
static enum sg_http_parse_result parse_request_line(struct sg_slice line,
                                                    struct sg_http_request *request,
                                                    struct sg_http_error *error)
{
    struct sg_cursor cursor = sg_cursor_make(line);

    if (!sg_cursor_read_until(&cursor, ' ', &request->method) || !is_token(request->method))
        return sg_http_fail(error, 400, "the request method is missing or not a token");

    if (!sg_cursor_read_until(&cursor, ' ', &request->target) || !is_target(request->target))
        return sg_http_fail(error, 400, "the request target is missing or contains invalid characters");

    return parse_version(sg_cursor_rest(&cursor), &request->version_minor, error);
}

enum sg_http_parse_result sg_http_split_field_line(struct sg_slice line, struct sg_slice *name_out,
                                                   struct sg_slice *value_out,
                                                   struct sg_http_error *error)
{
    /* RFC 9112, section 5.2: obsolete line folding is rejected with 400. */
    if (is_ows(line.ptr[0]))
        return sg_http_fail(error, 400, "obsolete line folding is not accepted");

    size_t colon = sg_slice_find(line, ':');
    if (colon == line.len)
        return sg_http_fail(error, 400, "a header field line has no colon");

    struct sg_slice name = sg_slice_make(line.ptr, colon);

    /* RFC 9112, section 5.1: whitespace before the colon is rejected with 400. */
    if (name.len > 0 && is_ows(name.ptr[name.len - 1]))
        return sg_http_fail(error, 400, "a header field name is followed by whitespace before the colon");

    if (!is_token(name))
        return sg_http_fail(error, 400, "a header field name is empty or not a token");

    struct sg_slice value = trim_ows(sg_slice_make(line.ptr + colon + 1, line.len - colon - 1));
    if (!is_field_value(value))
        return sg_http_fail(error, 400, "a header field value contains a control character");

    *name_out = name;
    *value_out = value;
    return SG_HTTP_PARSE_COMPLETE;
}

static enum sg_http_parse_result parse_header_line(struct sg_slice line,
                                                   struct sg_http_request *request,
                                                   struct sg_http_error *error)
{
    struct sg_slice name;
    struct sg_slice value;

    if (sg_http_split_field_line(line, &name, &value, error) == SG_HTTP_PARSE_ERROR)
        return SG_HTTP_PARSE_ERROR;

    if (request->header_count == SG_HTTP_HEADER_COUNT_MAX)
        return sg_http_fail(error, 431, "the request has more header fields than the server accepts");

    request->headers[request->header_count].name = name;
    request->headers[request->header_count].value = value;
    request->header_count++;
    return SG_HTTP_PARSE_COMPLETE;
}

/*
 * Content-Length = 1*DIGIT (RFC 9110, section 8.6). The value saturates
 * past SG_BATCH_BODY_MAX, the largest body limit of any route, so no
 * length of any digit count can overflow.
 */
static enum sg_http_parse_result read_content_length(struct sg_slice value, struct head_facts *facts,
                                                     struct sg_http_error *error)
{
    size_t length = 0;

    facts->content_length_count++;
    if (value.len == 0)
        return sg_http_fail(error, 400, "Content-Length is not a decimal number");

    for (size_t i = 0; i < value.len; i++) {
        uint8_t c = value.ptr[i];
        if (c < '0' || c > '9')
            return sg_http_fail(error, 400, "Content-Length is not a decimal number");
        if (length <= SG_BATCH_BODY_MAX)
            length = length * 10 + (size_t)(c - '0');
    }

    facts->content_length = length;
    return SG_HTTP_PARSE_COMPLETE;
}

/*
 * Returns the largest body the request's route accepts. Only the batch
 * route takes more than SG_HTTP_BODY_MAX. The limit is decided here,
 * from the head, so no other route ever buffers a body that large.
 */
static size_t body_limit(const struct sg_http_request *request)
{
    if (sg_slice_eq_cstr(sg_http_request_path(request), "/v1/jwt-svid/verify-batch"))
        return SG_BATCH_BODY_MAX;
    return SG_HTTP_BODY_MAX;
}

static void read_transfer_encoding(struct sg_slice value, struct head_facts *facts)
{
    struct sg_cursor list = sg_cursor_make(value);
    struct sg_slice coding;

    facts->transfer_encoding_count++;
    while (next_list_element(&list, &coding)) {
        bool chunked = sg_http_token_eq(coding, "chunked");

        facts->chunked_count += chunked;
        facts->other_coding |= !chunked;
        facts->last_coding_chunked = chunked;
    }
}

static void read_connection(struct sg_slice value, struct head_facts *facts)
{
    struct sg_cursor list = sg_cursor_make(value);
    struct sg_slice option;

    while (next_list_element(&list, &option)) {
        facts->connection_close |= sg_http_token_eq(option, "close");
        facts->connection_keep_alive |= sg_http_token_eq(option, "keep-alive");
    }
}

static enum sg_http_parse_result collect_facts(const struct sg_http_request *request,
                                               struct head_facts *facts,
                                               struct sg_http_error *error)
{
    for (size_t i = 0; i < request->header_count; i++) {
        struct sg_slice name = request->headers[i].name;
        struct sg_slice value = request->headers[i].value;

        if (sg_http_token_eq(name, "content-length")) {
            if (read_content_length(value, facts, error) == SG_HTTP_PARSE_ERROR)
                return SG_HTTP_PARSE_ERROR;
        } else if (sg_http_token_eq(name, "transfer-encoding")) {
            read_transfer_encoding(value, facts);
        } else if (sg_http_token_eq(name, "connection")) {
            read_connection(value, facts);
        } else if (sg_http_token_eq(name, "host")) {
            facts->host_count++;
        } else if (sg_http_token_eq(name, "expect")) {
            facts->expect_continue |= sg_http_token_eq(value, "100-continue");
        }
    }
    return SG_HTTP_PARSE_COMPLETE;
}

/*
 * RFC 9112, section 6.1: the rules for a request with Transfer-Encoding.
 * The one coding accepted is a single "chunked".
 */
static enum sg_http_parse_result check_transfer_encoding(const struct sg_http_request *request,
                                                          const struct head_facts *facts,
                                                          struct sg_http_error *error)
{
    if (facts->content_length_count > 0)
        return sg_http_fail(error, 400, "Content-Length and Transfer-Encoding must not both be present");

    if (request->version_minor == 0)
        return sg_http_fail(error, 400, "an HTTP/1.0 request must not carry Transfer-Encoding");

    if (!facts->last_coding_chunked || facts->chunked_count > 1)
        return sg_http_fail(error, 400, "the final transfer coding must be chunked, applied once");

    if (facts->other_coding)
        return sg_http_fail(error, 501, "the only transfer coding the server understands is chunked");

    return SG_HTTP_PARSE_COMPLETE;
}

static bool method_requires_length(struct sg_slice method)
{
    return sg_slice_eq_cstr(method, "POST") || sg_slice_eq_cstr(method, "PUT") ||
           sg_slice_eq_cstr(method, "PATCH");
}

/* Decides the body length (RFC 9112, section 6.3) and the connection's fate. */
static enum sg_http_parse_result apply_facts(struct sg_http_parser *parser,
                                             struct sg_http_request *request,
                                             const struct head_facts *facts,
                                             struct sg_http_error *error)
{
    /* RFC 9112, section 3.2: an HTTP/1.1 request carries exactly one Host. */
    if (facts->host_count > 1 || (request->version_minor == 1 && facts->host_count == 0))
        return sg_http_fail(error, 400, "an HTTP/1.1 request must carry exactly one Host header");

    if (facts->content_length_count > 1)
        return sg_http_fail(error, 400, "Content-Length must not be given more than once");

    parser->body_max = body_limit(request);
    if (facts->transfer_encoding_count > 0) {
        if (check_transfer_encoding(request, facts, error) == SG_HTTP_PARSE_ERROR)
            return SG_HTTP_PARSE_ERROR;
        parser->chunked = true;
        parser->chunk_step = SG_HTTP_CHUNK_SIZE;
    } else if (facts->content_length > parser->body_max) {
        return sg_http_fail(error, 413, "the request body is larger than the server accepts");
    } else if (facts->content_length_count == 0 && method_requires_length(request->method)) {
        return sg_http_fail(error, 411,
                            "a request with this method must carry Content-Length or a chunked body");
    }

    parser->body_size = facts->content_length;

    /* RFC 9110, section 10.1.1: 100-continue in an HTTP/1.0 request is ignored. */
    parser->expect_continue = facts->expect_continue && request->version_minor == 1;

    if (request->version_minor == 1)
        request->keep_alive = !facts->connection_close;
    else
        request->keep_alive = facts->connection_keep_alive && !facts->connection_close;

    return SG_HTTP_PARSE_COMPLETE;
}

static enum sg_http_parse_result parse_head(struct sg_http_parser *parser, struct sg_slice buf,
                                            size_t head_end, struct sg_http_request *request,
                                            struct sg_http_error *error)
{
    struct sg_cursor head = sg_cursor_make(sg_slice_make(buf.ptr + parser->start,
                                                         head_end - parser->start));
    struct head_facts facts = { 0 };
    struct sg_slice line;

    request->header_count = 0;
    if (!read_line(&head, &line) || parse_request_line(line, request, error) == SG_HTTP_PARSE_ERROR)
        return SG_HTTP_PARSE_ERROR;

    while (read_line(&head, &line) && line.len > 0) {
        if (parse_header_line(line, request, error) == SG_HTTP_PARSE_ERROR)
            return SG_HTTP_PARSE_ERROR;
    }

    if (collect_facts(request, &facts, error) == SG_HTTP_PARSE_ERROR)
        return SG_HTTP_PARSE_ERROR;

    return apply_facts(parser, request, &facts, error);
}

enum sg_http_parse_result sg_http_parse_request(struct sg_http_parser *parser, uint8_t *bytes,
                                                size_t len, struct sg_http_request *request,
                                                struct sg_http_error *error)
{
    struct sg_slice buf = sg_slice_make(bytes, len);
    bool parsed_now = false;
    size_t request_size;
    size_t body_len;

    if (parser->head_size == 0) {
        size_t head_end = 0;
        enum sg_http_parse_result result = scan_head(parser, buf, &head_end, error);
        if (result != SG_HTTP_PARSE_COMPLETE)
            return result;

        /* Header errors are reported before any body byte is waited for. */
        if (parse_head(parser, buf, head_end, request, error) == SG_HTTP_PARSE_ERROR)
            return SG_HTTP_PARSE_ERROR;
        parser->head_size = head_end;
        parsed_now = true;
    }

    if (parser->chunked) {
        enum sg_http_parse_result result = sg_http_chunked_decode(parser, bytes, len, error);
        if (result != SG_HTTP_PARSE_COMPLETE)
            return result;
        request_size = parser->scanned;
        body_len = parser->decoded;
    } else {
        if (len - parser->head_size < parser->body_size)
            return SG_HTTP_PARSE_INCOMPLETE;
        request_size = parser->head_size + parser->body_size;
        body_len = parser->body_size;
    }

    /* The body completed in a later call: the slices must point into this buffer. */
    if (!parsed_now && parse_head(parser, buf, parser->head_size, request, error) == SG_HTTP_PARSE_ERROR)
        return SG_HTTP_PARSE_ERROR;

    request->body = sg_slice_make(bytes + parser->head_size, body_len);
    request->size = request_size;
    sg_http_parser_init(parser);
    return SG_HTTP_PARSE_COMPLETE;
}

bool sg_http_parser_awaits_continue(const struct sg_http_parser *parser)
{
    bool body_expected = parser->chunked || parser->body_size > 0;

    return parser->head_size != 0 && parser->expect_continue && body_expected;
}

const struct sg_http_header *sg_http_request_find_header(const struct sg_http_request *request,
                                                         const char *name)
{
    for (size_t i = 0; i < request->header_count; i++) {
        if (sg_http_token_eq(request->headers[i].name, name))
            return &request->headers[i];
    }
    return NULL;
}

struct sg_slice sg_http_request_path(const struct sg_http_request *request)
{
    size_t query = sg_slice_find(request->target, '?');

    return sg_slice_make(request->target.ptr, query);
}
