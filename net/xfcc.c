#include "net/xfcc.h"

#include "net/http_parser.h"

/* The bytes of the last element: after the last ',' outside quotes. */
static enum sg_error last_element(struct sg_slice header, struct sg_slice *element,
                                  struct sg_status *status)
{
    size_t start = 0;
    bool quoted = false;

    for (size_t i = 0; i < header.len; i++) {
        uint8_t c = header.ptr[i];

        if (quoted && c == '\\')
            i++;
        else if (c == '"')
            quoted = !quoted;
        else if (!quoted && c == ',')
            start = i + 1;
    }
    if (quoted)
        return sg_fail(status, SG_ERR_MALFORMED,
                       "x-forwarded-client-cert has an unterminated quoted value");

    *element = sg_slice_make(header.ptr + start, header.len - start);
    return SG_OK;
}

/* Reads one pair up to the next ';' outside quotes. */
static enum sg_error next_pair(struct sg_cursor *cursor, struct sg_slice *key,
                               struct sg_slice *value, struct sg_status *status)
{
    struct sg_slice rest = sg_cursor_rest(cursor);
    size_t equals = sg_slice_find(rest, '=');
    size_t end = equals;
    bool quoted = false;

    if (equals == rest.len)
        return sg_fail(status, SG_ERR_MALFORMED,
                       "an x-forwarded-client-cert pair has no '='");
    for (; end < rest.len && (quoted || rest.ptr[end] != ';'); end++) {
        if (quoted && rest.ptr[end] == '\\')
            end++;
        else if (rest.ptr[end] == '"')
            quoted = !quoted;
    }
    if (end > rest.len)
        end = rest.len;

    *key = sg_slice_make(rest.ptr, equals);
    *value = sg_slice_make(rest.ptr + equals + 1, end - equals - 1);
    cursor->pos += end < rest.len ? end + 1 : end;
    return SG_OK;
}

/* Strips the quotes of a Cert or Chain value, which contains no escapes. */
static enum sg_error unquote_certificate(struct sg_slice value, struct sg_slice *out,
                                         struct sg_status *status)
{
    if (value.len >= 2 && value.ptr[0] == '"' && value.ptr[value.len - 1] == '"')
        value = sg_slice_make(value.ptr + 1, value.len - 2);
    for (size_t i = 0; i < value.len; i++) {
        if (value.ptr[i] == '"' || value.ptr[i] == '\\')
            return sg_fail(status, SG_ERR_MALFORMED,
                           "an x-forwarded-client-cert certificate has a quote or '\\' inside");
    }
    *out = value;
    return SG_OK;
}

/* Trims spaces and tabs at both ends; Envoy writes none, other proxies may. */
static struct sg_slice trim(struct sg_slice text)
{
    while (text.len > 0 && (text.ptr[0] == ' ' || text.ptr[0] == '\t'))
        text = sg_slice_make(text.ptr + 1, text.len - 1);
    while (text.len > 0 && (text.ptr[text.len - 1] == ' ' || text.ptr[text.len - 1] == '\t'))
        text.len--;
    return text;
}

enum sg_error sg_xfcc_find_certificate(struct sg_slice header, struct sg_slice *encoded,
                                       struct sg_status *status)
{
    static const char *const keys[] = { "by", "hash", "cert", "chain", "subject", "uri", "dns" };
    struct sg_slice element = { 0 };
    struct sg_slice found[2] = { { 0 } }; /* Cert, Chain */
    size_t seen[sizeof(keys) / sizeof(keys[0])] = { 0 };
    struct sg_cursor cursor;

    SG_GUARD(last_element(header, &element, status));
    cursor = sg_cursor_make(trim(element));
    while (sg_cursor_remaining(&cursor) > 0) {
        struct sg_slice key = { 0 };
        struct sg_slice value = { 0 };

        SG_GUARD(next_pair(&cursor, &key, &value, status));
        key = trim(key);
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            if (!sg_http_token_eq(key, keys[i]))
                continue;
            /* URI and DNS repeat for each SAN; a second Cert or Chain is ambiguous. */
            if (i == 2 || i == 3) {
                if (seen[i]++ > 0)
                    return sg_fail(status, SG_ERR_MALFORMED,
                                   "the last x-forwarded-client-cert element has %s twice",
                                   keys[i]);
                SG_GUARD(unquote_certificate(value, &found[i - 2], status));
            }
        }
    }

    *encoded = found[1].ptr != NULL ? found[1] : found[0];
    if (encoded->ptr == NULL || encoded->len == 0)
        return sg_fail(status, SG_ERR_MALFORMED,
                       "the last x-forwarded-client-cert element has no Cert or Chain");
    return SG_OK;
}

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

enum sg_error sg_url_decode(struct sg_slice encoded, uint8_t *out, size_t *out_len,
                            struct sg_status *status)
{
    size_t len = 0;

    if (encoded.len > SG_FORWARDED_CERT_MAX)
        return sg_fail(status, SG_ERR_MALFORMED,
                       "the forwarded certificate is %zu bytes; the maximum is %d", encoded.len,
                       SG_FORWARDED_CERT_MAX);
    for (size_t i = 0; i < encoded.len; i++) {
        uint8_t c = encoded.ptr[i];

        if (c == '%') {
            int high = i + 1 < encoded.len ? hex_value(encoded.ptr[i + 1]) : -1;
            int low = i + 2 < encoded.len ? hex_value(encoded.ptr[i + 2]) : -1;

            if (high < 0 || low < 0)
                return sg_fail(status, SG_ERR_MALFORMED,
                               "the forwarded certificate has a '%%' without two hex digits "
                               "at byte %zu", i + 1);
            out[len++] = (uint8_t)(high * 16 + low);
            i += 2;
        } else if (c > 0x20 && c < 0x7f) {
            out[len++] = c;
        } else {
            return sg_fail(status, SG_ERR_MALFORMED,
                           "the forwarded certificate has byte 0x%02x at byte %zu; it must be "
                           "URL-encoded PEM", c, i + 1);
        }
    }
    *out_len = len;
    return SG_OK;
}
