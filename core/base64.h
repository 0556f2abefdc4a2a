/*
 * Strict base64url (RFC 4648 section 5, as JWS uses it: no padding) and
 * standard padded base64 (for JWK x5c values).
 */
#ifndef SVIDGATE_CORE_BASE64_H
#define SVIDGATE_CORE_BASE64_H

#include "core/error.h"
#include "core/slice.h"

/* The largest decoded size of `encoded_len` input bytes. */
static inline size_t sg_base64_decoded_max(size_t encoded_len)
{
    return encoded_len / 4 * 3 + 3;
}

/*
 * Decodes unpadded base64url. Rejects padding, whitespace, bytes outside
 * the URL-safe alphabet, a length of 1 mod 4, and non-zero trailing bits.
 * Returns SG_ERR_MALFORMED, or SG_ERR_INTERNAL when out_cap is too small.
 */
SG_MUST_CHECK enum sg_error sg_base64url_decode(struct sg_slice in, uint8_t *out, size_t out_cap,
                                                size_t *out_len);

/*
 * Decodes standard base64 with mandatory padding. Rejects whitespace,
 * the URL-safe alphabet and non-zero trailing bits.
 */
SG_MUST_CHECK enum sg_error sg_base64_decode(struct sg_slice in, uint8_t *out, size_t out_cap,
                                             size_t *out_len);

#endif
