/*
 * The public API of libsvidgate (include/svidgate.h), a thin layer over
 * core/: it maps svidgate_* types to the internal sg_* ones and copies
 * verdicts into the caller's svidgate_result. Only the functions marked
 * SVIDGATE_API are exported, because the library builds with
 * -fvisibility=hidden and a version script.
 */
#define SVIDGATE_BUILDING_LIBRARY 1
#include "include/svidgate.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/bundle.h"
#include "core/error.h"
#include "core/jwt_svid.h"
#include "core/limits.h"
#include "core/verifier.h"
#include "core/x509_svid.h"

/* The public codes are the internal ones, number for number. */
static_assert(SVIDGATE_OK == (int)SG_OK, "error numbering");
static_assert(SVIDGATE_ERR_MALFORMED == (int)SG_ERR_MALFORMED, "error numbering");
static_assert(SVIDGATE_ERR_UNSUPPORTED_ALG == (int)SG_ERR_UNSUPPORTED_ALG, "error numbering");
static_assert(SVIDGATE_ERR_MISSING_KID == (int)SG_ERR_MISSING_KID, "error numbering");
static_assert(SVIDGATE_ERR_UNKNOWN_KEY == (int)SG_ERR_UNKNOWN_KEY, "error numbering");
static_assert(SVIDGATE_ERR_BAD_SIGNATURE == (int)SG_ERR_BAD_SIGNATURE, "error numbering");
static_assert(SVIDGATE_ERR_EXPIRED == (int)SG_ERR_EXPIRED, "error numbering");
static_assert(SVIDGATE_ERR_NOT_YET_VALID == (int)SG_ERR_NOT_YET_VALID, "error numbering");
static_assert(SVIDGATE_ERR_AUDIENCE_MISMATCH == (int)SG_ERR_AUDIENCE_MISMATCH, "error numbering");
static_assert(SVIDGATE_ERR_INVALID_SPIFFE_ID == (int)SG_ERR_INVALID_SPIFFE_ID, "error numbering");
static_assert(SVIDGATE_ERR_UNKNOWN_TRUST_DOMAIN == (int)SG_ERR_UNKNOWN_TRUST_DOMAIN,
              "error numbering");
static_assert(SVIDGATE_ERR_CHAIN_INVALID == (int)SG_ERR_CHAIN_INVALID, "error numbering");
static_assert(SVIDGATE_ERR_LEAF_NOT_SVID == (int)SG_ERR_LEAF_NOT_SVID, "error numbering");
static_assert(SVIDGATE_ERR_MISSING_CREDENTIAL == (int)SG_ERR_MISSING_CREDENTIAL,
              "error numbering");
static_assert(SVIDGATE_ERR_POLICY_DENIED == (int)SG_ERR_POLICY_DENIED, "error numbering");
static_assert(SVIDGATE_ERR_INTERNAL == (int)SG_ERR_INTERNAL, "error numbering");
static_assert(SG_ERROR_COUNT == SVIDGATE_ERR_INTERNAL + 1, "a new sg_error needs a public code");
static_assert(SVIDGATE_MESSAGE_MAX + 1 == SG_MESSAGE_MAX, "message size");
static_assert(SVIDGATE_SPIFFE_ID_MAX == SG_SPIFFE_ID_MAX, "SPIFFE ID size");

#define TRUST_DOMAIN_SCHEME "spiffe://"

struct svidgate_trust {
    struct sg_trust_set *set;
};

struct svidgate_verifier {
    struct sg_verifier *core;
};

/* Copies a status into the result; the ID and expiry stay empty. */
static enum svidgate_error fill_status(struct svidgate_result *result,
                                       const struct sg_status *status)
{
    if (result == NULL)
        return (enum svidgate_error)status->error;

    memset(result, 0, sizeof(*result));
    result->error = (enum svidgate_error)status->error;
    memcpy(result->message, status->message, sizeof(result->message));
    result->message[SVIDGATE_MESSAGE_MAX] = '\0';
    return result->error;
}

static void fill_identity(struct svidgate_result *result, struct sg_slice id, int64_t expires_at)
{
    if (result->error != SVIDGATE_OK || id.len > SVIDGATE_SPIFFE_ID_MAX)
        return;
    memcpy(result->spiffe_id, id.ptr, id.len);
    result->spiffe_id[id.len] = '\0';
    result->expires_at = expires_at;
}

static enum svidgate_error fail(struct svidgate_result *result, enum sg_error error,
                                const char *message)
{
    struct sg_status status;

    (void)sg_fail(&status, error, "%s", message);
    return fill_status(result, &status);
}

SVIDGATE_API const char *svidgate_version(void)
{
    return SVIDGATE_VERSION_TEXT;
}

SVIDGATE_API const char *svidgate_error_name(int error)
{
    if (error < 0 || error >= (int)SG_ERROR_COUNT)
        return "unknown";
    return sg_error_name((enum sg_error)error);
}

SVIDGATE_API svidgate_trust *svidgate_trust_new(void)
{
    svidgate_trust *trust = calloc(1, sizeof(*trust));

    if (trust == NULL)
        return NULL;
    trust->set = sg_trust_set_new(1);
    if (trust->set == NULL) {
        free(trust);
        return NULL;
    }
    return trust;
}

SVIDGATE_API void svidgate_trust_free(svidgate_trust *trust)
{
    if (trust == NULL)
        return;
    sg_trust_set_free(trust->set);
    free(trust);
}

SVIDGATE_API enum svidgate_error svidgate_trust_add_bundle(svidgate_trust *trust,
                                                           const char *trust_domain,
                                                           const void *bundle, size_t length,
                                                           struct svidgate_result *result)
{
    struct sg_slice name;
    struct sg_bundle *parsed = NULL;
    struct sg_status status;

    if (trust == NULL || trust_domain == NULL || (bundle == NULL && length > 0))
        return fail(result, SG_ERR_MALFORMED, "a NULL trust set, trust domain or bundle was passed");
    if (length > SG_BUNDLE_MAX)
        return fail(result, SG_ERR_MALFORMED, "the bundle is larger than 1 MiB");

    /* Both spellings that `svidgate --bundle TD=PATH` accepts. */
    name = sg_slice_make(trust_domain, strnlen(trust_domain, SG_TRUST_DOMAIN_MAX + 1));
    if (sg_slice_starts_with(name, sg_slice_cstr(TRUST_DOMAIN_SCHEME)))
        name = sg_slice_make(name.ptr + strlen(TRUST_DOMAIN_SCHEME),
                             name.len - strlen(TRUST_DOMAIN_SCHEME));

    if (sg_bundle_parse(name, sg_slice_make(bundle, length), &parsed, &status) != SG_OK)
        return fill_status(result, &status);
    if (sg_trust_set_add(trust->set, parsed, &status) != SG_OK) {
        sg_bundle_free(parsed);
        return fill_status(result, &status);
    }
    sg_status_ok(&status);
    return fill_status(result, &status);
}

SVIDGATE_API svidgate_verifier *svidgate_verifier_new(void)
{
    svidgate_verifier *verifier = calloc(1, sizeof(*verifier));

    if (verifier == NULL)
        return NULL;
    verifier->core = sg_verifier_new();
    if (verifier->core == NULL) {
        free(verifier);
        return NULL;
    }
    return verifier;
}

SVIDGATE_API void svidgate_verifier_free(svidgate_verifier *verifier)
{
    if (verifier == NULL)
        return;
    sg_verifier_free(verifier->core);
    free(verifier);
}

/* Converts NUL-terminated audiences into slices; NULL when out of memory. */
static struct sg_slice *audience_slices(const char *const *audiences, size_t count)
{
    struct sg_slice *slices = calloc(count > 0 ? count : 1, sizeof(*slices));

    if (slices == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++)
        slices[i] = sg_slice_cstr(audiences[i] != NULL ? audiences[i] : "");
    return slices;
}

SVIDGATE_API enum svidgate_error svidgate_verify_jwt(svidgate_verifier *verifier,
                                                     const svidgate_trust *trust,
                                                     const char *token, size_t length,
                                                     const char *const *audiences,
                                                     size_t audience_count,
                                                     const struct svidgate_time *time,
                                                     struct svidgate_result *result)
{
    struct sg_jwt_options options;
    struct sg_jwt_svid svid;
    struct sg_slice *slices;
    enum sg_error error;

    if (result == NULL)
        return SVIDGATE_ERR_INTERNAL;
    if (verifier == NULL || trust == NULL || time == NULL || (token == NULL && length > 0) ||
        (audiences == NULL && audience_count > 0))
        return fail(result, SG_ERR_MALFORMED, "a NULL verifier, trust set, time or token was passed");
    if (length > SG_JWT_MAX)
        return fail(result, SG_ERR_MALFORMED, "the JWT is longer than 16384 bytes");

    slices = audience_slices(audiences, audience_count);
    if (slices == NULL)
        return fail(result, SG_ERR_INTERNAL, "out of memory");

    options.now = time->now;
    options.leeway = time->leeway;
    memset(&svid, 0, sizeof(svid));
    error = sg_jwt_svid_verify(verifier->core, trust->set, sg_slice_make(token, length), &options,
                               &svid);
    if (error == SG_OK)
        error = sg_jwt_svid_check_audience(&svid, slices, audience_count);
    free(slices);

    fill_status(result, &svid.status);
    fill_identity(result, svid.id.id, svid.expires_at);
    result->json = sg_jwt_svid_result_json(&svid);
    sg_jwt_svid_clear(&svid);
    return result->error;
}

SVIDGATE_API enum svidgate_error svidgate_verify_x509_pem(svidgate_verifier *verifier,
                                                          const svidgate_trust *trust,
                                                          const void *pem, size_t length,
                                                          const struct svidgate_time *time,
                                                          struct svidgate_result *result)
{
    struct sg_x509_options options;
    struct sg_x509_svid svid;
    STACK_OF(X509) *chain = NULL;
    enum sg_error error;

    if (result == NULL)
        return SVIDGATE_ERR_INTERNAL;
    if (verifier == NULL || trust == NULL || time == NULL || (pem == NULL && length > 0))
        return fail(result, SG_ERR_MALFORMED, "a NULL verifier, trust set, time or chain was passed");

    options.now = time->now;
    options.leeway = time->leeway;
    memset(&svid, 0, sizeof(svid));
    error = sg_x509_chain_from_pem(sg_slice_make(pem, length), &chain, &svid.status);
    if (error == SG_OK)
        error = sg_x509_svid_verify(verifier->core, trust->set, chain, &options, &svid);
    sg_x509_chain_free(chain);

    fill_status(result, &svid.status);
    fill_identity(result, svid.id.id, svid.expires_at);
    result->json = sg_x509_svid_result_json(&svid);
    return result->error;
}

SVIDGATE_API void svidgate_result_clear(struct svidgate_result *result)
{
    if (result == NULL)
        return;
    free(result->json);
    memset(result, 0, sizeof(*result));
}
