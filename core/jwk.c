/*
 * JWK public keys (RFC 7517, RFC 7518 section 6) turned into EVP_PKEYs.
 *
 * Only public RSA and EC P-256/384/521 keys are accepted. A JWK that
 * carries private members or a symmetric secret is refused outright,
 * since a bundle that publishes one is broken.
 */
#include "core/jwk.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "core/base64.h"
#include "core/json_util.h"

/* Members that only a private or symmetric JWK has (RFC 7518 section 6). */
static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };

struct ec_curve {
    const char *crv;        /* JWK name */
    const char *group_name; /* OpenSSL name */
    size_t coordinate_len;  /* bytes of x and of y */
    enum sg_key_type type;
    int bits;
};

static const struct ec_curve ec_curves[] = {
    { "P-256", "prime256v1", 32, SG_KEY_EC_P256, 256 },
    { "P-384", "secp384r1", 48, SG_KEY_EC_P384, 384 },
    { "P-521", "secp521r1", 66, SG_KEY_EC_P521, 521 },
};

/* Decodes the base64url string member `name` into out (at most cap bytes). */
static enum sg_error decode_member(const json_t *object, const char *name, uint8_t *out,
                                   size_t cap, size_t *len, struct sg_status *status)
{
    const json_t *value = json_object_get(object, name);

    if (!json_is_string(value))
        return sg_fail(status, SG_ERR_MALFORMED, "JWK member \"%s\" is missing or not a string",
                       name);

    if (sg_base64url_decode(sg_json_string_slice(value), out, cap, len) != SG_OK)
        return sg_fail(status, SG_ERR_MALFORMED,
                       "JWK member \"%s\" is not valid base64url or is too long", name);
    return SG_OK;
}

/*
 * Builds an EVP_PKEY of `type_name` from `params`. EC keys also pass
 * EVP_PKEY_public_check, which proves the point is on the curve. RSA keys
 * skip it: for RSA that check tests the modulus for primality, which
 * costs tens of milliseconds per 8192-bit key, and parse_rsa already
 * checks the size and the exponent.
 */
static enum sg_error key_from_params(const char *type_name, OSSL_PARAM_BLD *builder,
                                     EVP_PKEY **out, struct sg_status *status)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(builder);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type_name, NULL);
    EVP_PKEY_CTX *check_ctx = NULL;
    enum sg_error err = SG_OK;

    *out = NULL;
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        err = sg_fail(status, SG_ERR_MALFORMED, "JWK does not describe a valid %s public key",
                      type_name);
        goto done;
    }

    if (strcmp(type_name, "EC") == 0) {
        check_ctx = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
        if (check_ctx == NULL || EVP_PKEY_public_check(check_ctx) != 1)
            err = sg_fail(status, SG_ERR_MALFORMED, "EC JWK point is not on the curve");
    }

done:
    if (err != SG_OK) {
        EVP_PKEY_free(*out);
        *out = NULL;
        ERR_clear_error();
    }
    EVP_PKEY_CTX_free(check_ctx);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return err;
}

static enum sg_error parse_rsa(const json_t *object, struct sg_jwk *out, struct sg_status *status)
{
    uint8_t n_bytes[SG_RSA_BITS_MAX / 8 + 1];
    uint8_t e_bytes[16];
    size_t n_len, e_len;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *builder = NULL;
    enum sg_error err;

    SG_GUARD(decode_member(object, "n", n_bytes, sizeof(n_bytes), &n_len, status));
    SG_GUARD(decode_member(object, "e", e_bytes, sizeof(e_bytes), &e_len, status));

    n = BN_bin2bn(n_bytes, (int)n_len, NULL);
    e = BN_bin2bn(e_bytes, (int)e_len, NULL);
    builder = OSSL_PARAM_BLD_new();
    if (n == NULL || e == NULL || builder == NULL) {
        err = sg_fail(status, SG_ERR_INTERNAL, "out of memory reading an RSA JWK");
        goto done;
    }

    /* RFC 7518 section 3.3: RS and PS keys are at least 2048 bits. */
    out->bits = BN_num_bits(n);
    if (out->bits < 2048 || out->bits > SG_RSA_BITS_MAX) {
        err = sg_fail(status, SG_ERR_MALFORMED,
                      "RSA JWK modulus is %d bits; it must be 2048 to %d bits", out->bits,
                      SG_RSA_BITS_MAX);
        goto done;
    }

    /* An even modulus, or an even or tiny exponent (e = 1 makes every
     * signature "verify"), cannot be an RSA public key. */
    if (!BN_is_odd(n) || !BN_is_odd(e) || BN_num_bits(e) < 2 || BN_cmp(e, n) >= 0) {
        err = sg_fail(status, SG_ERR_MALFORMED,
                      "RSA JWK must have an odd modulus and an odd exponent from 3 to n - 1");
        goto done;
    }

    if (!OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, e)) {
        err = sg_fail(status, SG_ERR_INTERNAL, "out of memory reading an RSA JWK");
        goto done;
    }
    out->type = SG_KEY_RSA;
    err = key_from_params("RSA", builder, &out->pkey, status);

done:
    OSSL_PARAM_BLD_free(builder);
    BN_free(n);
    BN_free(e);
    return err;
}

static enum sg_error parse_ec(const json_t *object, struct sg_jwk *out, struct sg_status *status)
{
    const json_t *crv = json_object_get(object, "crv");
    const struct ec_curve *curve = NULL;
    uint8_t point[1 + 2 * 66];
    size_t x_len, y_len;
    OSSL_PARAM_BLD *builder;
    enum sg_error err;

    for (size_t i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++) {
        if (sg_json_string_is(crv, ec_curves[i].crv))
            curve = &ec_curves[i];
    }
    if (curve == NULL)
        return sg_fail(status, SG_ERR_MALFORMED,
                       "EC JWK \"crv\" must be \"P-256\", \"P-384\" or \"P-521\"");

    /* RFC 7518 section 6.2.1.2: x and y are full-length octet strings. */
    SG_GUARD(decode_member(object, "x", point + 1, curve->coordinate_len, &x_len, status));
    SG_GUARD(decode_member(object, "y", point + 1 + curve->coordinate_len, curve->coordinate_len,
                           &y_len, status));
    if (x_len != curve->coordinate_len || y_len != curve->coordinate_len)
        return sg_fail(status, SG_ERR_MALFORMED, "EC JWK coordinates must be %zu bytes for %s",
                       curve->coordinate_len, curve->crv);
    point[0] = 0x04; /* uncompressed point */

    builder = OSSL_PARAM_BLD_new();
    if (builder == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, curve->group_name,
                                         0) ||
        !OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point,
                                          1 + 2 * curve->coordinate_len)) {
        OSSL_PARAM_BLD_free(builder);
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory reading an EC JWK");
    }

    out->type = curve->type;
    out->bits = curve->bits;
    err = key_from_params("EC", builder, &out->pkey, status);
    OSSL_PARAM_BLD_free(builder);
    return err;
}

static enum sg_error copy_kid(const json_t *object, struct sg_jwk *out, struct sg_status *status)
{
    const json_t *kid = json_object_get(object, "kid");

    out->kid_len = 0;
    if (kid == NULL)
        return SG_OK;
    if (!json_is_string(kid))
        return sg_fail(status, SG_ERR_MALFORMED, "JWK \"kid\" is not a string");
    if (json_string_length(kid) >= SG_KID_MAX)
        return sg_fail(status, SG_ERR_MALFORMED, "JWK \"kid\" is longer than %d bytes",
                       SG_KID_MAX - 1);
    memcpy(out->kid, json_string_value(kid), json_string_length(kid));
    out->kid_len = json_string_length(kid);
    return SG_OK;
}

/*
 * The JWK "alg" member (RFC 7517 section 4.4) names the one algorithm a
 * key is meant for. Only its family is binding, so a key published as
 * "PS256" still verifies PS384, but never RS256: one RSA key used with
 * two paddings is a cross-algorithm risk. An EC key's "alg" must name its
 * own curve ("ES521" is read as the common misspelling of ES512).
 */
static enum sg_error apply_alg_member(const json_t *object, struct sg_jwk *out,
                                      struct sg_status *status)
{
    struct sg_slice alg = sg_json_string_slice(json_object_get(object, "alg"));
    static const struct {
        const char *name;
        unsigned family;
        int ec_bits; /* 0 for RSA algorithms */
    } names[] = {
        { "RS256", SG_FAMILY_RS, 0 },   { "RS384", SG_FAMILY_RS, 0 },
        { "RS512", SG_FAMILY_RS, 0 },   { "PS256", SG_FAMILY_PS, 0 },
        { "PS384", SG_FAMILY_PS, 0 },   { "PS512", SG_FAMILY_PS, 0 },
        { "ES256", SG_FAMILY_ES, 256 }, { "ES384", SG_FAMILY_ES, 384 },
        { "ES512", SG_FAMILY_ES, 521 }, { "ES521", SG_FAMILY_ES, 521 },
    };

    out->allowed_families = out->type == SG_KEY_RSA ? SG_FAMILY_RS | SG_FAMILY_PS : SG_FAMILY_ES;
    if (json_object_get(object, "alg") == NULL)
        return SG_OK;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        bool fits_key = out->type == SG_KEY_RSA ? names[i].ec_bits == 0
                                                : names[i].ec_bits == out->bits;

        if (sg_slice_eq_cstr(alg, names[i].name) && fits_key) {
            out->allowed_families = names[i].family;
            return SG_OK;
        }
    }
    return sg_fail(status, SG_ERR_MALFORMED,
                   "JWK \"alg\" does not name a signature algorithm for this key type and curve");
}

static enum sg_error parse_key_material(const json_t *object, struct sg_jwk *out,
                                        struct sg_status *status)
{
    const json_t *kty = json_object_get(object, "kty");

    if (!json_is_string(kty))
        return sg_fail(status, SG_ERR_MALFORMED, "JWK \"kty\" is missing or not a string");
    if (sg_json_string_is(kty, "RSA"))
        return parse_rsa(object, out, status);
    if (sg_json_string_is(kty, "EC"))
        return parse_ec(object, out, status);
    return sg_fail(status, SG_ERR_MALFORMED, "JWK \"kty\" must be \"RSA\" or \"EC\"");
}

enum sg_error sg_jwk_parse(const json_t *object, struct sg_jwk *out, struct sg_status *status)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(object))
        return sg_fail(status, SG_ERR_MALFORMED, "JWK is not a JSON object");

    for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
        if (json_object_get(object, private_members[i]) != NULL)
            return sg_fail(status, SG_ERR_MALFORMED,
                           "JWK has private or secret member \"%s\"; only public keys are "
                           "accepted",
                           private_members[i]);
    }

    SG_GUARD(copy_kid(object, out, status));
    if (parse_key_material(object, out, status) != SG_OK ||
        apply_alg_member(object, out, status) != SG_OK ||
        sg_jwk_prepare_verify(out, status) != SG_OK) {
        sg_jwk_clear(out);
        return status->error;
    }
    return SG_OK;
}

void sg_jwk_clear(struct sg_jwk *jwk)
{
    for (int i = 0; i < SG_JWS_ALG_COUNT; i++) {
        EVP_PKEY_CTX_free(jwk->verify_ctx[i]);
        jwk->verify_ctx[i] = NULL;
    }
    EVP_PKEY_free(jwk->pkey);
    jwk->pkey = NULL;
}
