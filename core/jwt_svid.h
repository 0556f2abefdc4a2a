/*
 * JWT-SVID verification (JWT-SVID standard; RFC 7515, 7518, 7519).
 *
 * The credential's own verdict (signature, claims, times) and the
 * audience check are separate steps, so a cached verdict can be reused
 * with a different requested audience. Callers must always run both:
 * svidgate never verifies a token without an expected audience.
 */
#ifndef SVIDGATE_CORE_JWT_SVID_H
#define SVIDGATE_CORE_JWT_SVID_H

#include <stdint.h>

#include <jansson.h>

#include "core/bundle.h"
#include "core/error.h"
#include "core/slice.h"
#include "core/spiffe_id.h"

struct sg_verifier;

struct sg_jwt_options {
    int64_t now;    /* Unix seconds: the one clock reading of this request */
    int64_t leeway; /* seconds, applied to exp, nbf and iat alike */
};

struct sg_jwt_svid {
    struct sg_status status;
    json_t *claims;         /* owned; set once the payload parsed */
    struct sg_spiffe_id id; /* slices into the `sub` string held by claims */
    int64_t expires_at;
};

/*
 * Verifies `token` against the bundle of its own `sub`'s trust domain in
 * `trust`. The checks run in this order, and the first failure decides
 * the error: compact JWS and header (malformed, unsupported_alg), claims
 * types (malformed), `sub` (invalid_spiffe_id), kid (missing_kid),
 * bundle (unknown_trust_domain), key (unknown_key), signature
 * (unsupported_alg, bad_signature), then exp, nbf and iat (expired,
 * not_yet_valid). Fills out->status and returns its error.
 */
SG_MUST_CHECK enum sg_error sg_jwt_svid_verify(struct sg_verifier *verifier,
                                               const struct sg_trust_set *trust,
                                               struct sg_slice token,
                                               const struct sg_jwt_options *options,
                                               struct sg_jwt_svid *out);

/*
 * Checks that at least one of `audiences` equals one `aud` value of a
 * verified token (exact, case-sensitive). An empty audience list is a
 * caller error and fails with SG_ERR_AUDIENCE_MISMATCH.
 */
SG_MUST_CHECK enum sg_error sg_jwt_svid_check_audience(struct sg_jwt_svid *svid,
                                                       const struct sg_slice *audiences,
                                                       size_t audience_count);

/* The message of an audience_mismatch verdict, with the number of audiences requested. */
#define SG_AUDIENCE_MISMATCH_FORMAT "none of the %zu requested audiences is in the JWT \"aud\" claim"

/* Returns whether `audience` (not empty) is one of the verified token's `aud` values. */
bool sg_jwt_svid_has_audience(const struct sg_jwt_svid *svid, struct sg_slice audience);

/* Frees what `svid` owns and resets it. */
void sg_jwt_svid_clear(struct sg_jwt_svid *svid);

/*
 * Renders the interface's result object as compact one-line JSON. The
 * caller frees the returned string with free(); NULL when out of memory.
 */
char *sg_jwt_svid_result_json(const struct sg_jwt_svid *svid);

/* Renders {"valid":false,"error":...,"message":...} for any verdict; free() it. */
char *sg_result_error_json(enum sg_error error, const char *message);

#endif
