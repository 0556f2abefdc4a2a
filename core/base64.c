/*
 * Strict base64 decoders.
 *
 * JWS (RFC 7515 section 2) uses unpadded base64url; a lenient decoder
 * that skips whitespace, accepts padding or ignores non-zero trailing
 * bits lets many byte strings decode to one value, so every such input
 * is rejected here. JWK `x5c` (RFC 7517 section 4.7) uses padded
 * standard base64.
 */
#include "core/base64.h"

enum { INVALID = 0xff };

/* Returns the 6-bit value of c in the alphabet, or INVALID. */
static uint8_t decode_char(uint8_t c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return (uint8_t)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (uint8_t)(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (uint8_t)(c - '0' + 52);
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return INVALID;
}

/*
 * Decodes in (no padding, length not 1 mod 4) into out. The last
 * partial group must carry zero bits where it has no data.
 */
static enum sg_error decode_unpadded(struct sg_slice in, bool url, uint8_t *out, size_t out_cap,
                                     size_t *out_len)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t n = 0;

    if (in.len % 4 == 1)
        return SG_ERR_MALFORMED;
    if (in.len / 4 * 3 + (in.len % 4 ? in.len % 4 - 1 : 0) > out_cap)
        return SG_ERR_INTERNAL;

    for (size_t i = 0; i < in.len; i++) {
        uint8_t v = decode_char(in.ptr[i], url);

        if (v == INVALID)
            return SG_ERR_MALFORMED;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    /* Non-canonical encoding: the unused low bits must be zero. */
    if (acc != 0)
        return SG_ERR_MALFORMED;

    *out_len = n;
    return SG_OK;
}

enum sg_error sg_base64url_decode(struct sg_slice in, uint8_t *out, size_t out_cap,
                                  size_t *out_len)
{
    return decode_unpadded(in, true, out, out_cap, out_len);
}

enum sg_error sg_base64_decode(struct sg_slice in, uint8_t *out, size_t out_cap, size_t *out_len)
{
    size_t pad = 0;

    if (in.len % 4 != 0)
        return SG_ERR_MALFORMED;
    if (in.len >= 1 && in.ptr[in.len - 1] == '=')
        pad = (in.len >= 2 && in.ptr[in.len - 2] == '=') ? 2 : 1;
    return decode_unpadded(sg_slice_make(in.ptr, in.len - pad), false, out, out_cap, out_len);
}
