/*
 * JWS compact serialization (RFC 7515) as JWT-SVIDs use it: parsing,
 * the protected header rules, and signature verification.
 */
#ifndef SVIDGATE_CORE_JWS_H
#define SVIDGATE_CORE_JWS_H

#include <jansson.h>

#include "core/error.h"
#include "core/jwk.h"
#include "core/limits.h"
#include "core/slice.h"

struct sg_verifier;

/* The JWT-SVID algorithm allowlist; nothing else is ever accepted. */
enum sg_jws_alg {
    SG_ALG_RS256,
    SG_ALG_RS384,
    SG_ALG_RS512,
    SG_ALG_PS256,
    SG_ALG_PS384,
    SG_ALG_PS512,
    SG_ALG_ES256,
    SG_ALG_ES384,
    SG_ALG_ES512,
};

const char *sg_jws_alg_name(enum sg_jws_alg alg);

/* A parsed compact JWS. Slices point into the token passed to sg_jws_parse. */
struct sg_jws {
    struct sg_slice signing_input; /* "header.payload", exactly as received */
    enum sg_jws_alg alg;
    struct sg_slice kid; /* empty when the header has no kid */
    json_t *header;      /* owned */
    uint8_t *payload;    /* owned, decoded payload bytes */
    size_t payload_len;
    uint8_t signature[SG_SIGNATURE_MAX];
    size_t signature_len;
};

/*
 * Splits and decodes a compact JWS and applies the header rules: exactly
 * three base64url parts; a JSON object header without duplicate members;
 * `alg` on the allowlist (checked before any other member); `typ` absent,
 * "JWT" or "JOSE"; no `crit`, `jwk`, `jku`, `x5c`, `x5u` or `b64`.
 * A missing kid is not an error here: callers decide when to check it.
 */
SG_MUST_CHECK enum sg_error sg_jws_parse(struct sg_slice token, struct sg_jws *out,
                                         struct sg_status *status);

void sg_jws_clear(struct sg_jws *jws);

/*
 * Verifies the signature of `jws` with `key`. The key's type and curve
 * must match the algorithm (RS and PS need RSA; ES256, ES384 and ES512
 * need P-256, P-384 and P-521), else SG_ERR_UNSUPPORTED_ALG.
 */
SG_MUST_CHECK enum sg_error sg_jws_verify(struct sg_verifier *verifier, const struct sg_jws *jws,
                                          const struct sg_jwk *key, struct sg_status *status);

/*
 * The signature primitive alone: verifies `signature` over `message`
 * with `alg` and `key`. ES signatures are raw r||s of exactly 64, 96 or
 * 132 bytes; PS uses MGF1 with the same hash and a salt as long as the
 * hash. Returns SG_ERR_BAD_SIGNATURE or SG_ERR_UNSUPPORTED_ALG.
 */
SG_MUST_CHECK enum sg_error sg_signature_verify(struct sg_verifier *verifier, enum sg_jws_alg alg,
                                                const struct sg_jwk *key, struct sg_slice message,
                                                struct sg_slice signature,
                                                struct sg_status *status);

#endif
