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

/* Runs one EVP_DigestVerify; true only on a verified signature. */
static bool digest_verify(struct sg_verifier *verifier, const struct alg_info *info,
                          EVP_PKEY *pkey, struct sg_slice message, struct sg_slice signature)
{
    const EVP_MD *digest = verifier->digests[info->hash];
    EVP_PKEY_CTX *pkey_ctx = NULL;
    int verified;

    EVP_MD_CTX_reset(verifier->md_ctx);
    if (EVP_DigestVerifyInit(verifier->md_ctx, &pkey_ctx, digest, NULL, pkey) != 1)
        return false;
    if (info->family == FAMILY_RSA_PSS && !configure_pss(pkey_ctx, digest))
        return false;
    if (info->family == FAMILY_RSA_PKCS1 &&
        EVP_PKEY_CTX_set_rsa_padding(pkey_ctx, RSA_PKCS1_PADDING) <= 0)
        return false;

    verified = EVP_DigestVerify(verifier->md_ctx, signature.ptr, signature.len, message.ptr,
                                message.len);
    return verified == 1;
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
    }

    verified = digest_verify(verifier, info, key->pkey, message, signature);
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
