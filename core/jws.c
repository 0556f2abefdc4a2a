/*
 * Compact JWS parsing and the JOSE header rules for JWT-SVIDs.
 *
 * The header is checked before anything else is trusted. The token must
 * split into exactly three parts, and the header must be a JSON object
 * without duplicate members. Then `alg` must be on the allowlist before
 * any other member is looked at (JWT-SVID section 2.1).
 */
#include "core/jws.h"

#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/json_util.h"

static const char *const alg_names[] = {
    [SG_ALG_RS256] = "RS256", [SG_ALG_RS384] = "RS384", [SG_ALG_RS512] = "RS512",
    [SG_ALG_PS256] = "PS256", [SG_ALG_PS384] = "PS384", [SG_ALG_PS512] = "PS512",
    [SG_ALG_ES256] = "ES256", [SG_ALG_ES384] = "ES384", [SG_ALG_ES512] = "ES512",
};

#define ALG_COUNT (sizeof(alg_names) / sizeof(alg_names[0]))

/*
 * Header members a JWT-SVID must not carry. `crit` demands extensions
 * that svidgate does not implement. `jwk`, `jku`, `x5c` and `x5u` offer a
 * key from the token itself, and `b64` changes what is signed.
 */
static const char *const forbidden_header_members[] = { "crit", "jwk", "jku", "x5c", "x5u", "b64" };

const char *sg_jws_alg_name(enum sg_jws_alg alg)
{
    return (unsigned)alg < ALG_COUNT ? alg_names[alg] : "unknown";
}

/* Decodes one base64url part into a fresh heap buffer. */
static enum sg_error decode_part(struct sg_slice part, const char *what, uint8_t **out,
                                 size_t *out_len, struct sg_status *status)
{
    uint8_t *buffer = malloc(sg_base64_decoded_max(part.len));

    if (buffer == NULL)
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory decoding the JWT %s", what);

    if (sg_base64url_decode(part, buffer, sg_base64_decoded_max(part.len), out_len) != SG_OK) {
        free(buffer);
        return sg_fail(status, SG_ERR_MALFORMED,
                       "JWT %s is not valid unpadded base64url", what);
    }
    *out = buffer;
    return SG_OK;
}

/* Splits "header.payload.signature"; any other number of dots is malformed. */
static enum sg_error split_compact(struct sg_slice token, struct sg_slice parts[3],
                                   struct sg_status *status)
{
    struct sg_cursor cursor = sg_cursor_make(token);

    if (sg_slice_count(token, '.') != 2)
        return sg_fail(status, SG_ERR_MALFORMED,
                       "JWT must be a compact JWS of three parts separated by two dots; "
                       "found %zu dots",
                       sg_slice_count(token, '.'));

    (void)sg_cursor_read_until(&cursor, '.', &parts[0]);
    (void)sg_cursor_read_until(&cursor, '.', &parts[1]);
    parts[2] = sg_cursor_rest(&cursor);
    return SG_OK;
}

static enum sg_error parse_header_json(struct sg_slice part, struct sg_jws *out,
                                       struct sg_status *status)
{
    uint8_t *text = NULL;
    size_t text_len = 0;
    json_error_t json_error;

    SG_GUARD(decode_part(part, "header", &text, &text_len, status));
    out->header = sg_json_parse(sg_slice_make(text, text_len), &json_error);
    free(text);

    if (out->header == NULL)
        return sg_fail(status, SG_ERR_MALFORMED, "JWT header %s (column %d)",
                       sg_json_error_reason(&json_error), json_error.column);
    if (!json_is_object(out->header))
        return sg_fail(status, SG_ERR_MALFORMED, "JWT header is not a JSON object");
    return SG_OK;
}

/* The allowlist: exact, case-sensitive names; `none` and HS* never match. */
static enum sg_error check_alg(struct sg_jws *out, struct sg_status *status)
{
    const json_t *alg = json_object_get(out->header, "alg");

    for (size_t i = 0; i < ALG_COUNT; i++) {
        if (sg_json_string_is(alg, alg_names[i])) {
            out->alg = (enum sg_jws_alg)i;
            return SG_OK;
        }
    }
    if (alg == NULL)
        return sg_fail(status, SG_ERR_UNSUPPORTED_ALG, "JWT header has no \"alg\"");
    return sg_fail(status, SG_ERR_UNSUPPORTED_ALG,
                   "JWT \"alg\" is not one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, "
                   "ES384, ES512");
}

static enum sg_error check_header_members(struct sg_jws *out, struct sg_status *status)
{
    const json_t *typ = json_object_get(out->header, "typ");
    const json_t *kid = json_object_get(out->header, "kid");

    /* JWT-SVID section 2.3: typ, when present, is "JWT" or "JOSE". */
    if (typ != NULL && !sg_json_string_is(typ, "JWT") && !sg_json_string_is(typ, "JOSE"))
        return sg_fail(status, SG_ERR_MALFORMED, "JWT \"typ\" must be \"JWT\" or \"JOSE\"");

    for (size_t i = 0; i < sizeof(forbidden_header_members) / sizeof(forbidden_header_members[0]);
         i++) {
        if (json_object_get(out->header, forbidden_header_members[i]) != NULL)
            return sg_fail(status, SG_ERR_MALFORMED,
                           "JWT header carries \"%s\", which a JWT-SVID must not use",
                           forbidden_header_members[i]);
    }

    if (kid != NULL && !json_is_string(kid))
        return sg_fail(status, SG_ERR_MALFORMED, "JWT \"kid\" is not a string");
    if (json_string_length(kid) >= SG_KID_MAX)
        return sg_fail(status, SG_ERR_MALFORMED, "JWT \"kid\" is longer than %d bytes",
                       SG_KID_MAX - 1);
    out->kid = sg_json_string_slice(kid);
    return SG_OK;
}

static enum sg_error decode_signature(struct sg_slice part, struct sg_jws *out,
                                      struct sg_status *status)
{
    if (sg_base64_decoded_max(part.len) > SG_SIGNATURE_MAX + 3)
        return sg_fail(status, SG_ERR_MALFORMED, "JWT signature is longer than %d bytes",
                       SG_SIGNATURE_MAX);

    if (sg_base64url_decode(part, out->signature, sizeof(out->signature), &out->signature_len) !=
        SG_OK)
        return sg_fail(status, SG_ERR_MALFORMED, "JWT signature is not valid unpadded base64url");
    return SG_OK;
}

enum sg_error sg_jws_parse(struct sg_slice token, struct sg_jws *out, struct sg_status *status)
{
    struct sg_slice parts[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };

    memset(out, 0, sizeof(*out));
    if (token.len > SG_JWT_MAX)
        return sg_fail(status, SG_ERR_MALFORMED, "JWT is %zu bytes long; the maximum is %d",
                       token.len, SG_JWT_MAX);

    SG_GUARD(split_compact(token, parts, status));
    SG_GUARD(parse_header_json(parts[0], out, status));
    SG_GUARD(check_alg(out, status));
    SG_GUARD(check_header_members(out, status));
    SG_GUARD(decode_part(parts[1], "payload", &out->payload, &out->payload_len, status));
    SG_GUARD(decode_signature(parts[2], out, status));

    /* RFC 7515 section 5.2: the signature covers the exact received bytes. */
    out->signing_input = sg_slice_make(token.ptr, parts[0].len + 1 + parts[1].len);
    return SG_OK;
}

void sg_jws_clear(struct sg_jws *jws)
{
    json_decref(jws->header);
    free(jws->payload);
    memset(jws, 0, sizeof(*jws));
}
