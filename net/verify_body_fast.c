/*
 * A fast reader for the common verify request body,
 *
 *     {"token":"<JWT>"}   or   {"token":"<JWT>","audience":"<text>"}
 *
 * (members in either order, JSON whitespace allowed), which gateways send
 * on every request. It accepts only that shape: member names and values
 * without escapes, a token of base64url and dots, a non-empty audience of
 * printable ASCII, each member at most once, and nothing after the
 * closing brace. Without escapes a JSON string's bytes are its value, so
 * the slices are exactly what jansson would decode. Any other body,
 * including every malformed one, is left to the full jansson parse,
 * which produces the error answers.
 */
#include "net/verify_body_fast.h"

static bool is_json_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(struct sg_cursor *cursor)
{
    while (sg_cursor_remaining(cursor) > 0 && is_json_space(cursor->buf.ptr[cursor->pos]))
        cursor->pos++;
}

static bool take(struct sg_cursor *cursor, uint8_t expected)
{
    skip_space(cursor);
    if (sg_cursor_remaining(cursor) == 0 || cursor->buf.ptr[cursor->pos] != expected)
        return false;
    cursor->pos++;
    return true;
}

static bool is_token_byte(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

static bool is_audience_byte(uint8_t c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Reads a string whose every byte passes `allowed`; the opening quote is next. */
static bool read_plain_string(struct sg_cursor *cursor, bool (*allowed)(uint8_t),
                              struct sg_slice *out)
{
    size_t start;

    if (!take(cursor, '"'))
        return false;
    start = cursor->pos;
    while (sg_cursor_remaining(cursor) > 0 && allowed(cursor->buf.ptr[cursor->pos]))
        cursor->pos++;
    if (sg_cursor_remaining(cursor) == 0 || cursor->buf.ptr[cursor->pos] != '"')
        return false;
    *out = sg_slice_make(cursor->buf.ptr + start, cursor->pos - start);
    cursor->pos++;
    return true;
}

static bool is_name_byte(uint8_t c)
{
    return c >= 'a' && c <= 'z';
}

bool sg_verify_body_read_fast(struct sg_slice text, struct sg_slice *token,
                              struct sg_slice *audience)
{
    struct sg_cursor cursor = sg_cursor_make(text);
    bool have_token = false, have_audience = false;

    *audience = sg_slice_make(NULL, 0);
    if (!take(&cursor, '{'))
        return false;

    do {
        struct sg_slice name;

        if (!read_plain_string(&cursor, is_name_byte, &name) || !take(&cursor, ':'))
            return false;
        if (sg_slice_eq_cstr(name, "token") && !have_token) {
            if (!read_plain_string(&cursor, is_token_byte, token) || token->len == 0)
                return false;
            have_token = true;
        } else if (sg_slice_eq_cstr(name, "audience") && !have_audience) {
            if (!read_plain_string(&cursor, is_audience_byte, audience) || audience->len == 0)
                return false;
            have_audience = true;
        } else {
            return false;
        }
    } while (take(&cursor, ','));

    if (!take(&cursor, '}'))
        return false;
    skip_space(&cursor);
    return have_token && sg_cursor_remaining(&cursor) == 0;
}
