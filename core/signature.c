/*
 * JWS signature verification with OpenSSL 3 EVP (RFC 7518 section 3).
 *
 * Each algorithm is bound to one key type: RS and PS to RSA keys, and
 * each ES variant to its own curve. ES signatures arrive as raw r||s of
 * a fixed length and are re-encoded as the DER SEQUENCE OpenSSL verifies.
 * PS fixes MGF1 to the signature hash and the salt to the hash length.
 */
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "core/jws.h"
#include "core/verifier_internal.h"

enum alg_family {
    FAMILY_RSA_PKCS1,
    FAMILY_RSA_PSS,
    FAMILY_ECDSA,
};

struct alg_info {
    enum alg_family family;
    unsigned family_bit; /* enum sg_alg_family */
    enum sg_hash hash;
    enum sg_key_type key_type;
    size_t ec_signature_len; /* raw r||s length for ES; 0 otherwise */
};

static const struct alg_info alg_table[] = {
    [SG_ALG_RS256] = { FAMILY_RSA_PKCS1, SG_FAMILY_RS, SG_HASH_SHA256, SG_KEY_RSA, 0 },
    [SG_ALG_RS384] = { FAMILY_RSA_PKCS1, SG_FAMILY_RS, SG_HASH_SHA384, SG_KEY_RSA, 0 },
    [SG_ALG_RS512] = { FAMILY_RSA_PKCS1, SG_FAMILY_RS, SG_HASH_SHA512, SG_KEY_RSA, 0 },
    [SG_ALG_PS256] = { FAMILY_RSA_PSS, SG_FAMILY_PS, SG_HASH_SHA256, SG_KEY_RSA, 0 },
    [SG_ALG_PS384] = { FAMILY_RSA_PSS, SG_FAMILY_PS, SG_HASH_SHA384, SG_KEY_RSA, 0 },
    [SG_ALG_PS512] = { FAMILY_RSA_PSS, SG_FAMILY_PS, SG_HASH_SHA512, SG_KEY_RSA, 0 },
    [SG_ALG_ES256] = { FAMILY_ECDSA, SG_FAMILY_ES, SG_HASH_SHA256, SG_KEY_EC_P256, 64 },
    [SG_ALG_ES384] = { FAMILY_ECDSA, SG_FAMILY_ES, SG_HASH_SHA384, SG_KEY_EC_P384, 96 },
    [SG_ALG_ES512] = { FAMILY_ECDSA, SG_FAMILY_ES, SG_HASH_SHA512, SG_KEY_EC_P521, 132 },
};

/* The largest DER ECDSA-Sig-Value for P-521: two 67-byte INTEGERs plus headers. */
#define EC_DER_SIGNATURE_MAX 160

/*
 * Re-encodes raw r||s (RFC 7518 section 3.4) as DER. The length was
 * already checked to be exactly twice the curve's coordinate length.
 */
static bool ecdsa_raw_to_der(struct sg_slice raw, uint8_t *der, size_t *der_len)
{
    size_t half = raw.len / 2;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw.ptr, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(raw.ptr + half, (int)half, NULL);
    unsigned char *cursor = der;
    int len;

    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return false;
    }

    len = i2d_ECDSA_SIG(sig, NULL);
    if (len <= 0 || len > EC_DER_SIGNATURE_MAX) {
        ECDSA_SIG_free(sig);
        return false;
    }
    len = i2d_ECDSA_SIG(sig, &cursor);
    ECDSA_SIG_free(sig);
    *der_len = (size_t)len;
    return len > 0;
}

static bool configure_pss(EVP_PKEY_CTX *pkey_ctx, const EVP_MD *digest)
{
    return EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey_ctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pkey_ctx, digest) > 0;
}

_Static_assert(sizeof(alg_table) / sizeof(alg_table[0]) == SG_JWS_ALG_COUNT,
               "alg_table covers every JWS algorithm");

/* Digests for preparing contexts at load time; verification uses the verifier's. */
static const EVP_MD *load_time_digest(enum sg_hash hash)
{
    switch (hash) {
    case SG_HASH_SHA256:
        return EVP_sha256();
    case SG_HASH_SHA384:
        return EVP_sha384();
    case SG_HASH_SHA512:
        return EVP_sha512();
    case SG_HASH_COUNT:
        break;
    }
    return NULL;
}

static bool key_fits(const struct sg_jwk *key, const struct alg_info *info)
{
    return key->type == info->key_type && (key->allowed_families & info->family_bit) != 0;
}

/* Creates a verify context over a precomputed digest for one algorithm. */
static EVP_PKEY_CTX *new_verify_ctx(EVP_PKEY *pkey, const struct alg_info *info)
{
    const EVP_MD *digest = load_time_digest(info->hash);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    bool ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_signature_md(ctx, digest) > 0;

    if (ok && info->family == FAMILY_RSA_PKCS1)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
    if (ok && info->family == FAMILY_RSA_PSS)
        ok = configure_pss(ctx, digest);
    if (!ok) {
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    return ctx;
}

enum sg_error sg_jwk_prepare_verify(struct sg_jwk *jwk, struct sg_status *status)
{
    for (int alg = 0; alg < SG_JWS_ALG_COUNT; alg++) {
        if (!key_fits(jwk, &alg_table[alg]))
            continue;
        jwk->verify_ctx[alg] = new_verify_ctx(jwk->pkey, &alg_table[alg]);
        if (jwk->verify_ctx[alg] == NULL)
            return sg_fail(status, SG_ERR_INTERNAL,
                           "OpenSSL cannot prepare %s verification for this key",
                           sg_jws_alg_name((enum sg_jws_alg)alg));
    }
    return SG_OK;
}

/*
 * Hashes the message with the thread's digest context, then verifies the
 * signature over that digest with the key's prepared context. Splitting
 * the two avoids EVP_DigestVerifyInit, which fetches the signature
 * algorithm from the provider tables (under a lock) on every call.
 */
static bool digest_verify(struct sg_verifier *verifier, const struct alg_info *info,
                          EVP_PKEY_CTX *verify_ctx, struct sg_slice message,
                          struct sg_slice signature)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;

    if (EVP_DigestInit_ex(verifier->md_ctx, verifier->digests[info->hash], NULL) != 1 ||
        EVP_DigestUpdate(verifier->md_ctx, message.ptr, message.len) != 1 ||
        EVP_DigestFinal_ex(verifier->md_ctx, digest, &digest_len) != 1)
        return false;

    return EVP_PKEY_verify(verify_ctx, signature.ptr, signature.len, digest, digest_len) == 1;
}

enum sg_error sg_signature_verify(struct sg_verifier *verifier, enum sg_jws_alg alg,
                                  const struct sg_jwk *key, struct sg_slice message,
                                  struct sg_slice signature, struct sg_status *status)
{
    const struct alg_info *info = &alg_table[alg];
    uint8_t der[EC_DER_SIGNATURE_MAX];
    size_t der_len = 0;
    bool verified;

    /* RFC 7518 sections 3.3-3.5: the key must fit the algorithm. */
    if (key->type != info->key_type)
        return sg_fail(status, SG_ERR_UNSUPPORTED_ALG,
                       "JWT \"alg\" %s does not match the type or curve of key \"%.*s\"",
                       sg_jws_alg_name(alg), (int)key->kid_len, key->kid);
    if ((key->allowed_families & info->family_bit) == 0)
        return sg_fail(status, SG_ERR_UNSUPPORTED_ALG,
                       "JWT \"alg\" %s is not the algorithm family that key \"%.*s\" is "
                       "published for",
                       sg_jws_alg_name(alg), (int)key->kid_len, key->kid);
    if (key->verify_ctx[alg] == NULL)
        return sg_fail(status, SG_ERR_INTERNAL, "key \"%.*s\" has no prepared %s context",
                       (int)key->kid_len, key->kid, sg_jws_alg_name(alg));

    if (info->family == FAMILY_ECDSA) {
        /* RFC 7518 section 3.4: exactly 64, 96 or 132 bytes, never DER. */
        if (signature.len != info->ec_signature_len)
            return sg_fail(status, SG_ERR_BAD_SIGNATURE,
                           "%s signature must be %zu bytes of r||s; it is %zu bytes",
                           sg_jws_alg_name(alg), info->ec_signature_len, signature.len);
        if (!ecdsa_raw_to_der(signature, der, &der_len)) {
            ERR_clear_error();
            return sg_fail(status, SG_ERR_INTERNAL, "cannot re-encode the ECDSA signature");
        }
        signature = sg_slice_make(der, der_len);
    } else if (signature.len != (size_t)EVP_PKEY_get_size(key->pkey)) {
        /* RFC 8017 sections 8.1.2 and 8.2.2: exactly k octets, so one
         * token never has a second spelling with a leading zero dropped. */
        return sg_fail(status, SG_ERR_BAD_SIGNATURE, "%s signature must be %d bytes; it is %zu bytes",
                       sg_jws_alg_name(alg), EVP_PKEY_get_size(key->pkey), signature.len);
    }

    verified = digest_verify(verifier, info, key->verify_ctx[alg], message, signature);
    if (!verified) {
        ERR_clear_error();
        return sg_fail(status, SG_ERR_BAD_SIGNATURE, "%s signature does not verify",
                       sg_jws_alg_name(alg));
    }
    return SG_OK;
}

enum sg_error sg_jws_verify(struct sg_verifier *verifier, const struct sg_jws *jws,
                            const struct sg_jwk *key, struct sg_status *status)
{
    return sg_signature_verify(verifier, jws->alg, key, jws->signing_input,
                               sg_slice_make(jws->signature, jws->signature_len), status);
}
