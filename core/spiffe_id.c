/*
 * SPIFFE ID parsing (SPIFFE-ID standard, section 2).
 *
 * The text is scanned once, left to right: scheme, trust domain, then
 * path segments. Every byte is checked against the allowed alphabet, so
 * an embedded NUL, a percent sign or a byte >= 0x80 is rejected where it
 * stands; nothing is decoded, lowercased or resolved.
 */
#include "core/spiffe_id.h"

#include "core/limits.h"

static const char spiffe_scheme[] = "spiffe://";
#define SPIFFE_SCHEME_LEN (sizeof(spiffe_scheme) - 1)

/* Trust domain bytes (section 2.1): lowercase letters, digits, '.', '-', '_'. */
static bool is_trust_domain_byte(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* Path segment bytes (section 2.2): letters of both cases, digits, '.', '-', '_'. */
static bool is_path_byte(uint8_t c)
{
    return is_trust_domain_byte(c) || (c >= 'A' && c <= 'Z');
}

enum sg_error sg_trust_domain_validate(struct sg_slice name, struct sg_status *status)
{
    if (name.len == 0)
        return sg_fail(status, SG_ERR_INVALID_SPIFFE_ID, "SPIFFE ID trust domain is missing");

    if (name.len > SG_TRUST_DOMAIN_MAX)
        return sg_fail(status, SG_ERR_INVALID_SPIFFE_ID,
                       "SPIFFE ID trust domain is %zu bytes long; the maximum is %d", name.len,
                       SG_TRUST_DOMAIN_MAX);

    for (size_t i = 0; i < name.len; i++) {
        if (!is_trust_domain_byte(name.ptr[i]))
            return sg_fail(status, SG_ERR_INVALID_SPIFFE_ID,
                           "SPIFFE ID trust domain has byte 0x%02x at offset %zu; only "
                           "lowercase letters, digits, '.', '-' and '_' are allowed",
                           name.ptr[i], i);
    }
    return SG_OK;
}

/* Checks one segment between two '/' (or after the last one). */
static enum sg_error validate_segment(struct sg_slice segment, struct sg_status *status)
{
    if (segment.len == 0)
        return sg_fail(status, SG_ERR_INVALID_SPIFFE_ID,
                       "SPIFFE ID path has an empty segment or a trailing '/'");

    if (sg_slice_eq_cstr(segment, ".") || sg_slice_eq_cstr(segment, ".."))
        return sg_fail(status, SG_ERR_INVALID_SPIFFE_ID,
                       "SPIFFE ID path has a '.' or '..' segment");

    for (size_t i = 0; i < segment.len; i++) {
        if (!is_path_byte(segment.ptr[i]))
            return sg_fail(status, SG_ERR_INVALID_SPIFFE_ID,
                           "SPIFFE ID path has byte 0x%02x; only letters, digits, '.', '-' "
                           "and '_' are allowed",
                           segment.ptr[i]);
    }
    return SG_OK;
}

/* Checks a path: empty, or one or more "/segment" (section 2.2). */
static enum sg_error validate_path(struct sg_slice path, struct sg_status *status)
{
    struct sg_cursor cursor;
    struct sg_slice segment;

    if (path.len == 0)
        return SG_OK;

    /* The path starts right after the trust domain, which ends at the first '/'. */
    cursor = sg_cursor_make(path);
    cursor.pos = 1;
    while (sg_cursor_read_until(&cursor, '/', &segment))
        SG_GUARD(validate_segment(segment, status));
    return validate_segment(sg_cursor_rest(&cursor), status);
}

enum sg_error sg_spiffe_id_parse(struct sg_slice text, struct sg_spiffe_id *out,
                                 struct sg_status *status)
{
    struct sg_slice rest;
    size_t td_len;

    if (text.len == 0)
        return sg_fail(status, SG_ERR_INVALID_SPIFFE_ID, "SPIFFE ID is empty");

    if (text.len > SG_SPIFFE_ID_MAX)
        return sg_fail(status, SG_ERR_INVALID_SPIFFE_ID,
                       "SPIFFE ID is %zu bytes long; the maximum is %d", text.len,
                       SG_SPIFFE_ID_MAX);

    /* Only the lowercase scheme is accepted, as go-spiffe does. */
    if (!sg_slice_starts_with(text, sg_slice_make(spiffe_scheme, SPIFFE_SCHEME_LEN)))
        return sg_fail(status, SG_ERR_INVALID_SPIFFE_ID,
                       "SPIFFE ID must start with \"spiffe://\"");

    rest = sg_slice_make(text.ptr + SPIFFE_SCHEME_LEN, text.len - SPIFFE_SCHEME_LEN);
    td_len = sg_slice_find(rest, '/');
    SG_GUARD(sg_trust_domain_validate(sg_slice_make(rest.ptr, td_len), status));
    SG_GUARD(validate_path(sg_slice_make(rest.ptr + td_len, rest.len - td_len), status));

    out->id = text;
    out->trust_domain = sg_slice_make(rest.ptr, td_len);
    out->path = sg_slice_make(rest.ptr + td_len, rest.len - td_len);
    return SG_OK;
}
