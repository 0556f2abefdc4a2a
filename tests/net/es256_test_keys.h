/*
 * ES256 key material made with OpenSSL at test run time: P-256 keys, the
 * SPIFFE bundle JSON that lists them, and JWT-SVIDs signed with them.
 *
 * Every function returns false or NULL on failure instead of failing a
 * cmocka test, so that threads other than the test's own may call them
 * (cmocka's asserts are not thread-safe).
 */
#ifndef SVIDGATE_TESTS_NET_ES256_TEST_KEYS_H
#define SVIDGATE_TESTS_NET_ES256_TEST_KEYS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

/* Base64url of a 32-byte coordinate is 43 characters. */
#define TEST_COORDINATE_TEXT_MAX 48
#define TEST_KID_MAX 32

struct test_es256_key {
    EVP_PKEY *pkey; /* the private key, owned */
    char kid[TEST_KID_MAX];
    char x[TEST_COORDINATE_TEXT_MAX]; /* base64url of the public point's coordinates */
    char y[TEST_COORDINATE_TEXT_MAX];
};

/* Writes unpadded base64url of `in` to `out`; false when `out` is too small. */
static inline bool test_base64url(const uint8_t *in, size_t len, char *out, size_t out_size)
{
    size_t encoded_max = 4 * ((len + 2) / 3) + 1;
    unsigned char *padded = malloc(encoded_max);
    int written;
    size_t used = 0;

    if (padded == NULL)
        return false;
    written = EVP_EncodeBlock(padded, in, (int)len);
    for (int i = 0; i < written && padded[i] != '='; i++) {
        char c = (char)padded[i];

        if (used + 1 >= out_size) {
            free(padded);
            return false;
        }
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
        out[used++] = c;
    }
    out[used] = '\0';
    free(padded);
    return true;
}

static inline bool test_coordinate_text(const EVP_PKEY *pkey, const char *param, char *out)
{
    BIGNUM *value = NULL;
    uint8_t raw[32];
    bool ok = EVP_PKEY_get_bn_param(pkey, param, &value) == 1 &&
              BN_bn2binpad(value, raw, sizeof(raw)) == (int)sizeof(raw) &&
              test_base64url(raw, sizeof(raw), out, TEST_COORDINATE_TEXT_MAX);

    BN_free(value);
    return ok;
}

/* Generates a P-256 key named `kid`. */
static inline bool test_es256_key_generate(struct test_es256_key *key, const char *kid)
{
    memset(key, 0, sizeof(*key));
    snprintf(key->kid, sizeof(key->kid), "%s", kid);
    key->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    return key->pkey != NULL && test_coordinate_text(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, key->x) &&
           test_coordinate_text(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, key->y);
}

static inline void test_es256_key_free(struct test_es256_key *key)
{
    EVP_PKEY_free(key->pkey);
    key->pkey = NULL;
}

/*
 * Formats a SPIFFE bundle whose `keys` are the jwt-svid entries of
 * `keys[0..count)`. Returns the length, or 0 when `out` is too small.
 */
static inline size_t test_bundle_json(const struct test_es256_key *const *keys, size_t count,
                                      char *out, size_t out_size)
{
    size_t used = 0;
    int written = snprintf(out, out_size, "{\"spiffe_sequence\": 1, \"keys\": [");

    for (size_t i = 0; written >= 0 && i < count; i++) {
        used += (size_t)written;
        if (used >= out_size)
            return 0;
        written = snprintf(out + used, out_size - used,
                           "%s{\"use\": \"jwt-svid\", \"kty\": \"EC\", \"crv\": \"P-256\", "
                           "\"kid\": \"%s\", \"x\": \"%s\", \"y\": \"%s\"}",
                           i == 0 ? "" : ", ", keys[i]->kid, keys[i]->x, keys[i]->y);
    }
    if (written < 0)
        return 0;
    used += (size_t)written;
    if (used >= out_size)
        return 0;
    written = snprintf(out + used, out_size - used, "]}\n");
    if (written < 0 || used + (size_t)written >= out_size)
        return 0;
    return used + (size_t)written;
}

/*
 * Replaces the file at `path` with `len` bytes of `text`: writes
 * `path`.tmp and renames it over `path`, so a concurrent reader sees the
 * old bytes or the new ones, never a partial file.
 */
static inline bool test_write_file_atomically(const char *path, const char *text, size_t len)
{
    char temporary[4096];
    FILE *file;
    bool ok;

    if (snprintf(temporary, sizeof(temporary), "%s.tmp", path) >= (int)sizeof(temporary))
        return false;
    file = fopen(temporary, "wb");
    if (file == NULL)
        return false;
    ok = fwrite(text, 1, len, file) == len;
    ok = fclose(file) == 0 && ok;
    return ok && rename(temporary, path) == 0;
}

/* Writes the bundle of `keys` to `path` with test_write_file_atomically(). */
static inline bool test_write_bundle(const char *path, const struct test_es256_key *const *keys,
                                     size_t count)
{
    char text[8192];
    size_t len = test_bundle_json(keys, count, text, sizeof(text));

    return len > 0 && test_write_file_atomically(path, text, len);
}

/*
 * Signs `claims_json` with `key` as a compact JWS with the header
 * {"alg":"ES256","kid":<kid>}. The signature is raw r||s (RFC 7518,
 * section 3.4), converted from the DER that OpenSSL produces. Returns a
 * heap string (free() it) or NULL.
 */
static inline char *test_es256_sign_jwt(const struct test_es256_key *key, const char *claims_json)
{
    char header_json[128];
    char header[256], payload[2048], signature[128];
    char *token = NULL;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    ECDSA_SIG *ecdsa = NULL;
    uint8_t der[80], raw[64];
    const uint8_t *der_cursor = der;
    const BIGNUM *r, *s;
    size_t der_len = sizeof(der);
    size_t token_size;

    snprintf(header_json, sizeof(header_json), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", key->kid);
    if (context == NULL ||
        !test_base64url((const uint8_t *)header_json, strlen(header_json), header, sizeof(header)) ||
        !test_base64url((const uint8_t *)claims_json, strlen(claims_json), payload,
                        sizeof(payload)))
        goto done;

    token_size = strlen(header) + strlen(payload) + sizeof(signature) + 3;
    token = malloc(token_size);
    if (token == NULL)
        goto done;
    snprintf(token, token_size, "%s.%s", header, payload);

    if (EVP_DigestSignInit(context, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
        EVP_DigestSign(context, der, &der_len, (const uint8_t *)token, strlen(token)) != 1 ||
        (ecdsa = d2i_ECDSA_SIG(NULL, &der_cursor, (long)der_len)) == NULL)
        goto fail;
    ECDSA_SIG_get0(ecdsa, &r, &s);
    if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32 ||
        !test_base64url(raw, sizeof(raw), signature, sizeof(signature)))
        goto fail;
    strcat(token, ".");
    strcat(token, signature);
    goto done;

fail:
    free(token);
    token = NULL;
done:
    ECDSA_SIG_free(ecdsa);
    EVP_MD_CTX_free(context);
    return token;
}

#endif
