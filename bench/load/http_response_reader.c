/*
 * Strict HTTP/1.1 response reader: see http_response_reader.h for what it
 * accepts. Request bytes are never NUL-terminated, so every step works on
 * a pointer and a length.
 */
#include "bench/load/http_response_reader.h"

#include <string.h>

struct cursor {
    const uint8_t *data;
    size_t length;
    size_t offset;
};

/* Find the CRLF CRLF that ends the head within the first `limit` bytes.
 * Returns the head length including it, 0 when it is not there yet, or
 * SIZE_MAX when a LF without its CR comes first. */
static size_t find_head_end(const uint8_t *data, size_t limit)
{
    for (size_t i = 0; i < limit; i++) {
        if (data[i] != '\n') {
            continue;
        }
        if (i == 0 || data[i - 1] != '\r') {
            return SIZE_MAX;
        }
        if (i >= 3 && data[i - 2] == '\n' && data[i - 3] == '\r') {
            return i + 1;
        }
    }
    return 0;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* tchar of RFC 9110, section 5.6.2. */
static bool is_token_char(uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) {
        return true;
    }
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field value bytes: visible ASCII, obs-text, space and tab. */
static bool is_field_char(uint8_t c)
{
    return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

static bool equals_ignoring_case(const uint8_t *data, size_t length, const char *name)
{
    size_t name_length = strlen(name);
    if (length != name_length) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        uint8_t c = data[i];
        if (c >= 'A' && c <= 'Z') {
            c = (uint8_t)(c - 'A' + 'a');
        }
        if (c != (uint8_t)name[i]) {
            return false;
        }
    }
    return true;
}

/* The index of the CR of the next CRLF; find_head_end has already
 * checked that every LF of the head follows a CR. */
static size_t line_end(const struct cursor *cursor)
{
    size_t end = cursor->offset;
    while (end + 1 < cursor->length && !(cursor->data[end] == '\r' && cursor->data[end + 1] == '\n')) {
        end++;
    }
    return end;
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] */
static enum response_error read_status_line(struct cursor *cursor, struct http_response *response)
{
    const uint8_t *line = cursor->data + cursor->offset;
    size_t length = line_end(cursor) - cursor->offset;

    if (length < 13 || memcmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' || line[12] != ' ') {
        return RESPONSE_ERROR_STATUS_LINE;
    }
    if (line[7] != '0' && line[7] != '1') {
        return RESPONSE_ERROR_VERSION;
    }
    if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) || line[9] == '0') {
        return RESPONSE_ERROR_STATUS_LINE;
    }
    for (size_t i = 13; i < length; i++) {
        if (!is_field_char(line[i])) {
            return RESPONSE_ERROR_STATUS_LINE;
        }
    }

    response->status_code = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (response->status_code < 200) {
        return RESPONSE_ERROR_INFORMATIONAL;
    }
    response->close = line[7] == '0';
    cursor->offset += length + 2;
    return RESPONSE_ERROR_NONE;
}

/* Content-Length = 1*DIGIT, capped well below SIZE_MAX. */
static enum response_error parse_content_length(const uint8_t *value, size_t length, size_t *out)
{
    if (length == 0 || length > 12) {
        return RESPONSE_ERROR_CONTENT_LENGTH;
    }
    size_t number = 0;
    for (size_t i = 0; i < length; i++) {
        if (!is_digit(value[i])) {
            return RESPONSE_ERROR_CONTENT_LENGTH;
        }
        number = number * 10 + (size_t)(value[i] - '0');
    }
    *out = number;
    return RESPONSE_ERROR_NONE;
}

/* True when the comma-separated Connection value lists `close`. */
static bool lists_close(const uint8_t *value, size_t length)
{
    size_t start = 0;
    while (start <= length) {
        size_t end = start;
        while (end < length && value[end] != ',') {
            end++;
        }
        size_t first = start;
        size_t last = end;
        while (first < last && (value[first] == ' ' || value[first] == '\t')) {
            first++;
        }
        while (last > first && (value[last - 1] == ' ' || value[last - 1] == '\t')) {
            last--;
        }
        if (equals_ignoring_case(value + first, last - first, "close")) {
            return true;
        }
        start = end + 1;
    }
    return false;
}

struct head_fields {
    bool has_content_length;
    size_t content_length;
};

/* field-line = field-name ":" OWS field-value OWS */
static enum response_error read_field_line(const uint8_t *line, size_t length,
                                           struct head_fields *fields,
                                           struct http_response *response)
{
    if (line[0] == ' ' || line[0] == '\t') {
        return RESPONSE_ERROR_OBSOLETE_FOLD;
    }

    size_t colon = 0;
    while (colon < length && is_token_char(line[colon])) {
        colon++;
    }
    if (colon == 0 || colon == length || line[colon] != ':') {
        return RESPONSE_ERROR_HEADER_SYNTAX;
    }

    size_t first = colon + 1;
    size_t last = length;
    for (size_t i = first; i < last; i++) {
        if (!is_field_char(line[i])) {
            return RESPONSE_ERROR_HEADER_SYNTAX;
        }
    }
    while (first < last && (line[first] == ' ' || line[first] == '\t')) {
        first++;
    }
    while (last > first && (line[last - 1] == ' ' || line[last - 1] == '\t')) {
        last--;
    }
    const uint8_t *value = line + first;
    size_t value_length = last - first;

    if (equals_ignoring_case(line, colon, "content-length")) {
        if (fields->has_content_length) {
            return RESPONSE_ERROR_DUPLICATE_CONTENT_LENGTH;
        }
        fields->has_content_length = true;
        return parse_content_length(value, value_length, &fields->content_length);
    }
    if (equals_ignoring_case(line, colon, "transfer-encoding")) {
        return RESPONSE_ERROR_TRANSFER_ENCODING;
    }
    if (equals_ignoring_case(line, colon, "connection") && lists_close(value, value_length)) {
        response->close = true;
    }
    return RESPONSE_ERROR_NONE;
}

static enum response_error read_fields(struct cursor *cursor, struct head_fields *fields,
                                       struct http_response *response)
{
    size_t count = 0;
    for (;;) {
        size_t end = line_end(cursor);
        size_t length = end - cursor->offset;
        if (length == 0) {
            cursor->offset += 2;
            return RESPONSE_ERROR_NONE;
        }
        if (++count > RESPONSE_MAX_HEADERS) {
            return RESPONSE_ERROR_TOO_MANY_HEADERS;
        }

        enum response_error error =
            read_field_line(cursor->data + cursor->offset, length, fields, response);
        if (error != RESPONSE_ERROR_NONE) {
            return error;
        }
        cursor->offset = end + 2;
    }
}

static enum response_state fail(enum response_error *error, enum response_error why)
{
    *error = why;
    return RESPONSE_INVALID;
}

enum response_state http_response_read(const uint8_t *data, size_t length, size_t max_body,
                                       struct http_response *response,
                                       enum response_error *error)
{
    *error = RESPONSE_ERROR_NONE;
    memset(response, 0, sizeof(*response));

    size_t limit = length < RESPONSE_MAX_HEAD ? length : RESPONSE_MAX_HEAD;
    size_t head_length = find_head_end(data, limit);
    if (head_length == SIZE_MAX) {
        return fail(error, RESPONSE_ERROR_BARE_LF);
    }
    if (head_length == 0) {
        return length >= RESPONSE_MAX_HEAD ? fail(error, RESPONSE_ERROR_HEAD_TOO_LARGE)
                                           : RESPONSE_INCOMPLETE;
    }

    /* Parse only the head, so no line search runs into the body. */
    struct cursor cursor = {.data = data, .length = head_length, .offset = 0};
    enum response_error why = read_status_line(&cursor, response);
    if (why != RESPONSE_ERROR_NONE) {
        return fail(error, why);
    }
    struct head_fields fields = {0};
    why = read_fields(&cursor, &fields, response);
    if (why != RESPONSE_ERROR_NONE) {
        return fail(error, why);
    }

    /* 204 and 304 never carry a body (RFC 9110, sections 15.3.5 and 15.4.5). */
    bool bodiless = response->status_code == 204 || response->status_code == 304;
    if (!fields.has_content_length && !bodiless) {
        return fail(error, RESPONSE_ERROR_MISSING_CONTENT_LENGTH);
    }
    size_t body_length = bodiless ? 0 : fields.content_length;
    if (body_length > max_body) {
        return fail(error, RESPONSE_ERROR_BODY_TOO_LARGE);
    }
    if (length - head_length < body_length) {
        return RESPONSE_INCOMPLETE;
    }

    response->head_length = head_length;
    response->body = data + head_length;
    response->body_length = body_length;
    response->total_length = head_length + body_length;
    return RESPONSE_COMPLETE;
}

const char *response_error_name(enum response_error error)
{
    switch (error) {
    case RESPONSE_ERROR_NONE:
        return "none";
    case RESPONSE_ERROR_STATUS_LINE:
        return "invalid status line";
    case RESPONSE_ERROR_VERSION:
        return "unsupported HTTP version";
    case RESPONSE_ERROR_INFORMATIONAL:
        return "unexpected 1xx response";
    case RESPONSE_ERROR_BARE_LF:
        return "LF without CR";
    case RESPONSE_ERROR_HEADER_SYNTAX:
        return "invalid header field";
    case RESPONSE_ERROR_OBSOLETE_FOLD:
        return "obsolete line folding";
    case RESPONSE_ERROR_TOO_MANY_HEADERS:
        return "too many header fields";
    case RESPONSE_ERROR_HEAD_TOO_LARGE:
        return "response head too large";
    case RESPONSE_ERROR_CONTENT_LENGTH:
        return "invalid Content-Length";
    case RESPONSE_ERROR_DUPLICATE_CONTENT_LENGTH:
        return "duplicate Content-Length";
    case RESPONSE_ERROR_MISSING_CONTENT_LENGTH:
        return "missing Content-Length";
    case RESPONSE_ERROR_TRANSFER_ENCODING:
        return "Transfer-Encoding is not supported";
    case RESPONSE_ERROR_BODY_TOO_LARGE:
        return "response body too large";
    }
    return "unknown";
}
