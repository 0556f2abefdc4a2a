/*
 * SPIFFE bundle parsing (Trust Domain and Bundle standard, section 4).
 *
 * A bundle as a whole is refused only when it cannot be a JWK Set: bad
 * JSON, duplicate members, no `keys` array, bad sequence or hint types,
 * or too many entries. A single unusable entry is skipped and counted by
 * reason (section 4.1.3 requires validators to ignore such JWKs), so one bad
 * key never takes the trust domain's good keys down with it.
 */
#include "core/bundle.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/base64.h"
#include "core/json_util.h"
#include "core/spiffe_id.h"
#include "core/x509_internal.h"

static const char *const skip_reason_names[SG_SKIP_REASON_COUNT] = {
    [SG_SKIP_UNKNOWN_USE] = "unknown_use",
    [SG_SKIP_BAD_KEY] = "bad_key",
    [SG_SKIP_MISSING_KID] = "missing_kid",
    [SG_SKIP_DUPLICATE_KID] = "duplicate_kid",
    [SG_SKIP_BAD_X5C] = "bad_x5c",
};

const char *sg_skip_reason_name(enum sg_skip_reason reason)
{
    return (unsigned)reason < SG_SKIP_REASON_COUNT ? skip_reason_names[reason] : "unknown";
}

static struct sg_bundle *bundle_new(struct sg_slice trust_domain, enum sg_bundle_format format,
                                    size_t key_capacity)
{
    struct sg_bundle *bundle = calloc(1, sizeof(*bundle));

    if (bundle == NULL)
        return NULL;
    bundle->format = format;
    memcpy(bundle->trust_domain, trust_domain.ptr, trust_domain.len);
    bundle->trust_domain_len = trust_domain.len;
    bundle->x509_authorities = sk_X509_new_null();
    bundle->jwt_keys = calloc(key_capacity ? key_capacity : 1, sizeof(struct sg_jwk));
    if (bundle->x509_authorities == NULL || bundle->jwt_keys == NULL) {
        sg_bundle_free(bundle);
        return NULL;
    }
    return bundle;
}

void sg_bundle_free(struct sg_bundle *bundle)
{
    if (bundle == NULL)
        return;
    X509_STORE_free(bundle->x509_store);
    for (size_t i = 0; i < bundle->jwt_key_count; i++)
        sg_jwk_clear(&bundle->jwt_keys[i]);
    free(bundle->jwt_keys);
    sk_X509_pop_free(bundle->x509_authorities, X509_free);
    free(bundle);
}

/*
 * Reads the first `x5c` value of an x509-svid entry (X509-SVID section
 * 6.2: later values are ignored). When the entry also carries key
 * members, they must describe the certificate's key (RFC 7517 4.7).
 */
static enum sg_skip_reason add_x509_entry(struct sg_bundle *bundle, const json_t *entry)
{
    const json_t *x5c = json_object_get(entry, "x5c");
    const json_t *first = json_array_get(x5c, 0);
    struct sg_slice encoded = sg_json_string_slice(first);
    uint8_t *der = NULL;
    size_t der_len = 0;
    X509 *cert = NULL;
    enum sg_skip_reason result = SG_SKIP_BAD_X5C;

    if (!json_is_string(first) || encoded.len > SG_X509_CERT_MAX * 4 / 3 + 4)
        return SG_SKIP_BAD_X5C;

    der = malloc(sg_base64_decoded_max(encoded.len));
    if (der != NULL &&
        sg_base64_decode(encoded, der, sg_base64_decoded_max(encoded.len), &der_len) == SG_OK)
        cert = sg_x509_parse_der(sg_slice_make(der, der_len));
    free(der);
    if (cert == NULL)
        goto done;

    if (json_object_get(entry, "kty") != NULL) {
        struct sg_jwk jwk;
        struct sg_status ignored;
        bool same = sg_jwk_parse(entry, &jwk, &ignored) == SG_OK &&
                    EVP_PKEY_eq(jwk.pkey, X509_get0_pubkey(cert)) == 1;

        sg_jwk_clear(&jwk);
        if (!same)
            goto done;
    }

    if (sk_X509_push(bundle->x509_authorities, cert) > 0) {
        cert = NULL;
        result = SG_SKIP_REASON_COUNT;
    }

done:
    X509_free(cert);
    ERR_clear_error();
    return result;
}

/* Returns SG_SKIP_REASON_COUNT when the entry was added. */
static enum sg_skip_reason add_jwt_entry(struct sg_bundle *bundle, const json_t *entry)
{
    struct sg_jwk *jwk = &bundle->jwt_keys[bundle->jwt_key_count];
    struct sg_status ignored;
    const json_t *kid = json_object_get(entry, "kid");

    /* JWT-SVID section 6.1: every JWT authority has a key ID. */
    if (!json_is_string(kid) || json_string_length(kid) == 0)
        return SG_SKIP_MISSING_KID;

    if (sg_jwk_parse(entry, jwk, &ignored) != SG_OK) {
        sg_jwk_clear(jwk);
        return SG_SKIP_BAD_KEY;
    }
    bundle->jwt_key_count++;
    return SG_SKIP_REASON_COUNT;
}

static void add_entry(struct sg_bundle *bundle, const json_t *entry)
{
    const json_t *use = json_is_object(entry) ? json_object_get(entry, "use") : NULL;
    enum sg_skip_reason reason = SG_SKIP_UNKNOWN_USE;

    /* Section 4.2.2: `use` is case-sensitive; anything else is not ours. */
    if (!json_is_object(entry))
        reason = SG_SKIP_BAD_KEY;
    else if (sg_json_string_is(use, "jwt-svid"))
        reason = add_jwt_entry(bundle, entry);
    else if (sg_json_string_is(use, "x509-svid"))
        reason = add_x509_entry(bundle, entry);

    if (reason != SG_SKIP_REASON_COUNT)
        bundle->skipped[reason]++;
}

/* Counts the jwt-svid and wit-svid entries of `keys` whose kid is `kid`. */
static size_t count_kid_claims(const json_t *keys, struct sg_slice kid)
{
    size_t index, count = 0;
    const json_t *entry;

    json_array_foreach(keys, index, entry) {
        const json_t *use = json_object_get(entry, "use");

        if ((sg_json_string_is(use, "jwt-svid") || sg_json_string_is(use, "wit-svid")) &&
            sg_slice_eq(sg_json_string_slice(json_object_get(entry, "kid")), kid))
            count++;
    }
    return count;
}

/*
 * A kid named by two entries is ambiguous, so every jwt-svid key with it
 * is dropped and a token naming it fails as unknown_key. Entries that
 * were skipped as unusable still count, and so do wit-svid entries, whose
 * kids must be unique across both uses.
 */
static void drop_duplicate_kids(struct sg_bundle *bundle, const json_t *keys)
{
    size_t kept = 0;

    for (size_t i = 0; i < bundle->jwt_key_count; i++) {
        if (count_kid_claims(keys, sg_jwk_kid(&bundle->jwt_keys[i])) > 1) {
            sg_jwk_clear(&bundle->jwt_keys[i]);
            bundle->skipped[SG_SKIP_DUPLICATE_KID]++;
        } else {
            bundle->jwt_keys[kept++] = bundle->jwt_keys[i];
        }
    }
    bundle->jwt_key_count = kept;
}

/* Reads spiffe_sequence (section 4.1.1) and spiffe_refresh_hint (4.1.2). */
static enum sg_error read_spiffe_members(struct sg_bundle *bundle, const json_t *root,
                                         struct sg_status *status)
{
    const json_t *sequence = json_object_get(root, "spiffe_sequence");
    const json_t *hint = json_object_get(root, "spiffe_refresh_hint");

    if (sequence != NULL) {
        if (!json_is_integer(sequence) || json_integer_value(sequence) < 0)
            return sg_fail(status, SG_ERR_MALFORMED,
                           "bundle \"spiffe_sequence\" must be a non-negative integer");
        bundle->has_sequence = true;
        bundle->sequence = (uint64_t)json_integer_value(sequence);
    }

    if (hint != NULL) {
        if (!json_is_integer(hint))
            return sg_fail(status, SG_ERR_MALFORMED,
                           "bundle \"spiffe_refresh_hint\" must be an integer number of seconds");
        bundle->has_refresh_hint = true;
        bundle->refresh_hint = (int64_t)json_integer_value(hint);
    }
    return SG_OK;
}

static enum sg_error parse_json_bundle(struct sg_slice trust_domain, struct sg_slice text,
                                       struct sg_bundle **out, struct sg_status *status)
{
    json_error_t json_error;
    json_t *root = sg_json_parse(text, &json_error);
    const json_t *keys = json_object_get(root, "keys");
    struct sg_bundle *bundle = NULL;
    enum sg_error err = SG_OK;
    size_t index;
    const json_t *entry;

    if (root == NULL)
        return sg_fail(status, SG_ERR_MALFORMED, "bundle %s (line %d, column %d)",
                       sg_json_error_reason(&json_error), json_error.line, json_error.column);

    if (!json_is_object(root) || !json_is_array(keys)) {
        err = sg_fail(status, SG_ERR_MALFORMED, "bundle has no \"keys\" array");
        goto done;
    }
    if (json_array_size(keys) > SG_BUNDLE_KEYS_MAX) {
        err = sg_fail(status, SG_ERR_MALFORMED, "bundle has %zu keys; the maximum is %d",
                      json_array_size(keys), SG_BUNDLE_KEYS_MAX);
        goto done;
    }

    bundle = bundle_new(trust_domain, SG_BUNDLE_SPIFFE_JSON, json_array_size(keys));
    if (bundle == NULL) {
        err = sg_fail(status, SG_ERR_INTERNAL, "out of memory loading a bundle");
        goto done;
    }
    err = read_spiffe_members(bundle, root, status);
    if (err != SG_OK)
        goto done;

    json_array_foreach(keys, index, entry)
        add_entry(bundle, entry);
    drop_duplicate_kids(bundle, keys);

done:
    json_decref(root);
    if (err != SG_OK)
        sg_bundle_free(bundle);
    else
        *out = bundle;
    return err;
}

/* Reads every CERTIFICATE block; other PEM block types are skipped. */
static enum sg_error parse_pem_bundle(struct sg_slice trust_domain, struct sg_slice text,
                                      struct sg_bundle **out, struct sg_status *status)
{
    struct sg_bundle *bundle = bundle_new(trust_domain, SG_BUNDLE_PEM, 0);
    STACK_OF(X509) *certs = NULL;
    struct sg_status pem_status;

    if (bundle == NULL)
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory loading a bundle");

    if (sg_x509_read_pem(text, SG_BUNDLE_KEYS_MAX, &certs, &pem_status) != SG_OK) {
        sg_bundle_free(bundle);
        return sg_fail(status, pem_status.error, "bundle is neither SPIFFE bundle JSON nor "
                       "usable PEM: %s", pem_status.message);
    }
    sk_X509_pop_free(bundle->x509_authorities, X509_free);
    bundle->x509_authorities = certs;
    *out = bundle;
    return SG_OK;
}

static bool starts_like_json(struct sg_slice text)
{
    for (size_t i = 0; i < text.len; i++) {
        uint8_t c = text.ptr[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return c == '{';
    }
    return false;
}

enum sg_error sg_bundle_parse(struct sg_slice trust_domain, struct sg_slice text,
                              struct sg_bundle **out, struct sg_status *status)
{
    struct sg_bundle *bundle = NULL;

    SG_GUARD(sg_trust_domain_validate(trust_domain, status));

    if (text.len > SG_BUNDLE_MAX)
        return sg_fail(status, SG_ERR_MALFORMED, "bundle is %zu bytes long; the maximum is %d",
                       text.len, SG_BUNDLE_MAX);

    if (starts_like_json(text))
        SG_GUARD(parse_json_bundle(trust_domain, text, &bundle, status));
    else
        SG_GUARD(parse_pem_bundle(trust_domain, text, &bundle, status));

    /* The store of X.509 authorities is built once here, never per request. */
    bundle->x509_store = sg_x509_store_new(bundle->x509_authorities);
    if (bundle->x509_store == NULL) {
        sg_bundle_free(bundle);
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory building the X.509 store");
    }
    *out = bundle;
    return SG_OK;
}

const struct sg_jwk *sg_bundle_find_jwt_key(const struct sg_bundle *bundle, struct sg_slice kid)
{
    for (size_t i = 0; i < bundle->jwt_key_count; i++) {
        if (sg_slice_eq(sg_jwk_kid(&bundle->jwt_keys[i]), kid))
            return &bundle->jwt_keys[i];
    }
    return NULL;
}
