/*
 * Public keys of JWT authorities, read from JWK members (RFC 7517/7518).
 */
#ifndef SVIDGATE_CORE_JWK_H
#define SVIDGATE_CORE_JWK_H

#include <jansson.h>
#include <openssl/evp.h>

#include "core/error.h"
#include "core/limits.h"
#include "core/slice.h"

enum sg_key_type {
    SG_KEY_RSA,
    SG_KEY_EC_P256,
    SG_KEY_EC_P384,
    SG_KEY_EC_P521,
};

/* Signature algorithm families, as a bit mask of what a key may verify. */
enum sg_alg_family {
    SG_FAMILY_RS = 1 << 0, /* RSASSA-PKCS1-v1_5 */
    SG_FAMILY_PS = 1 << 1, /* RSASSA-PSS */
    SG_FAMILY_ES = 1 << 2, /* ECDSA */
};

/* Number of JWS algorithms on the allowlist (enum sg_jws_alg in core/jws.h). */
#define SG_JWS_ALG_COUNT 9

struct sg_jwk {
    char kid[SG_KID_MAX];
    size_t kid_len;
    enum sg_key_type type;
    int bits;                  /* modulus size for RSA, field size for EC */
    unsigned allowed_families; /* enum sg_alg_family bits; narrowed by the JWK "alg" */
    EVP_PKEY *pkey;            /* owned */

    /*
     * Verify contexts prepared at load time, one per algorithm this key
     * may verify (NULL for the others), so that a verification fetches
     * nothing from OpenSSL's provider tables. They carry per-call state:
     * a key is used by one thread at a time.
     */
    EVP_PKEY_CTX *verify_ctx[SG_JWS_ALG_COUNT];
};

/*
 * Builds a public key from one JWK object: `kty` RSA (n, e) or EC (crv
 * P-256/384/521, x, y). Rejects private members, symmetric keys, RSA
 * moduli under 2048 bits, even or tiny exponents, and EC points that are
 * not on the curve. `kid` is copied when present. An `alg` member, when
 * present, narrows the key to that algorithm's family (RS, PS or ES) and
 * must agree with an EC key's curve. Returns
 * SG_ERR_MALFORMED with a message on any problem.
 */
SG_MUST_CHECK enum sg_error sg_jwk_parse(const json_t *object, struct sg_jwk *out,
                                         struct sg_status *status);

/*
 * Prepares jwk->verify_ctx for every algorithm the key's type, curve and
 * allowed families admit. Called by sg_jwk_parse; defined in
 * core/signature.c next to the algorithm table.
 */
SG_MUST_CHECK enum sg_error sg_jwk_prepare_verify(struct sg_jwk *jwk, struct sg_status *status);

/* Frees the key of `jwk` and its verify contexts (not jwk itself). */
void sg_jwk_clear(struct sg_jwk *jwk);

static inline struct sg_slice sg_jwk_kid(const struct sg_jwk *jwk)
{
    return sg_slice_make(jwk->kid, jwk->kid_len);
}

#endif
