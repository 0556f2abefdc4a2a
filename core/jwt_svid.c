/*
 * JWT-SVID verification: the order of checks and the key lookup.
 *
 * The signing key is looked up only in the bundle of the trust domain
 * named by the token's own `sub` (Workload API section 6.3), so a kid
 * that exists in another trust domain's bundle never verifies. Time
 * checks come after the signature, so a forged token reports
 * bad_signature rather than a claim about its times.
 */
#include "core/jwt_svid.h"

#include <string.h>

#include "core/json_util.h"
#include "core/jws.h"
#include "core/jwt_claims.h"

static enum sg_error parse_claims(const struct sg_jws *jws, struct sg_jwt_svid *out)
{
    json_error_t json_error;

    out->claims = sg_json_parse(sg_slice_make(jws->payload, jws->payload_len), &json_error);
    if (out->claims == NULL)
        return sg_fail(&out->status, SG_ERR_MALFORMED, "JWT claims %s (column %d)",
                       sg_json_error_reason(&json_error), json_error.column);
    if (!json_is_object(out->claims))
        return sg_fail(&out->status, SG_ERR_MALFORMED, "JWT claims are not a JSON object");
    return SG_OK;
}

/* JWT-SVID section 3.1: `sub` is required and is the SVID's SPIFFE ID. */
static enum sg_error parse_subject(struct sg_jwt_svid *out)
{
    const json_t *sub = json_object_get(out->claims, "sub");

    if (sub == NULL)
        return sg_fail(&out->status, SG_ERR_INVALID_SPIFFE_ID, "JWT has no \"sub\" claim");
    if (!json_is_string(sub))
        return sg_fail(&out->status, SG_ERR_MALFORMED, "JWT \"sub\" claim is not a string");

    if (sg_spiffe_id_parse(sg_json_string_slice(sub), &out->id, &out->status) != SG_OK)
        return out->status.error;
    return SG_OK;
}

static const struct sg_jwk *find_key(const struct sg_trust_set *trust, const struct sg_jws *jws,
                                     struct sg_jwt_svid *out)
{
    const struct sg_bundle *bundle = sg_trust_set_find(trust, out->id.trust_domain);
    const struct sg_jwk *key;

    if (bundle == NULL) {
        sg_fail(&out->status, SG_ERR_UNKNOWN_TRUST_DOMAIN,
                "no trust bundle is loaded for trust domain \"%.*s\"",
                (int)out->id.trust_domain.len, (const char *)out->id.trust_domain.ptr);
        return NULL;
    }

    key = sg_bundle_find_jwt_key(bundle, jws->kid);
    if (key == NULL)
        sg_fail(&out->status, SG_ERR_UNKNOWN_KEY,
                "trust domain \"%.*s\" has no JWT authority with kid \"%.*s\"",
                (int)out->id.trust_domain.len, (const char *)out->id.trust_domain.ptr,
                (int)jws->kid.len, (const char *)jws->kid.ptr);
    return key;
}

/* One leeway for every time check; inputs are bounded to +-2^62, so nothing overflows. */
static enum sg_error check_times(const struct sg_jwt_times *times,
                                 const struct sg_jwt_options *options, struct sg_jwt_svid *out)
{
    int64_t now = options->now;
    int64_t leeway = options->leeway;

    /* RFC 7519 section 4.1.4: reject on or after exp. */
    if (now - leeway >= times->exp)
        return sg_fail(&out->status, SG_ERR_EXPIRED,
                       "JWT expired at %lld, %lld seconds ago (leeway %lld s)",
                       (long long)times->exp, (long long)(now - times->exp), (long long)leeway);

    if (times->has_nbf && now + leeway < times->nbf)
        return sg_fail(&out->status, SG_ERR_NOT_YET_VALID,
                       "JWT is not valid before %lld (\"nbf\"), %lld seconds from now",
                       (long long)times->nbf, (long long)(times->nbf - now));

    if (times->has_iat && times->iat > now + leeway)
        return sg_fail(&out->status, SG_ERR_NOT_YET_VALID,
                       "JWT was issued in the future (\"iat\" %lld is %lld seconds from now)",
                       (long long)times->iat, (long long)(times->iat - now));
    return SG_OK;
}

static enum sg_error verify_parsed(struct sg_verifier *verifier, const struct sg_trust_set *trust,
                                   const struct sg_jws *jws, const struct sg_jwt_options *options,
                                   struct sg_jwt_svid *out)
{
    struct sg_jwt_times times;
    const struct sg_jwk *key;

    SG_GUARD(parse_claims(jws, out));
    SG_GUARD(sg_jwt_claims_check(out->claims, &times, &out->status));
    SG_GUARD(parse_subject(out));

    if (jws->kid.len == 0)
        return sg_fail(&out->status, SG_ERR_MISSING_KID, "JWT header has no \"kid\"");

    key = find_key(trust, jws, out);
    if (key == NULL)
        return out->status.error;

    SG_GUARD(sg_jws_verify(verifier, jws, key, &out->status));
    SG_GUARD(check_times(&times, options, out));

    out->expires_at = times.exp;
    sg_status_ok(&out->status);
    return SG_OK;
}

enum sg_error sg_jwt_svid_verify(struct sg_verifier *verifier, const struct sg_trust_set *trust,
                                 struct sg_slice token, const struct sg_jwt_options *options,
                                 struct sg_jwt_svid *out)
{
    struct sg_jws jws;

    memset(out, 0, sizeof(*out));
    if (sg_jws_parse(token, &jws, &out->status) == SG_OK)
        (void)verify_parsed(verifier, trust, &jws, options, out);
    sg_jws_clear(&jws);
    return out->status.error;
}

static bool audience_contains(const json_t *aud, struct sg_slice expected)
{
    size_t index;
    const json_t *value;

    if (json_is_string(aud))
        return sg_slice_eq(sg_json_string_slice(aud), expected);

    json_array_foreach(aud, index, value) {
        if (sg_slice_eq(sg_json_string_slice(value), expected))
            return true;
    }
    return false;
}

enum sg_error sg_jwt_svid_check_audience(struct sg_jwt_svid *svid, const struct sg_slice *audiences,
                                         size_t audience_count)
{
    const json_t *aud;

    if (svid->status.error != SG_OK)
        return svid->status.error;
    if (audience_count == 0)
        return sg_fail(&svid->status, SG_ERR_AUDIENCE_MISMATCH,
                       "no expected audience was given; a JWT-SVID is never accepted without one");

    aud = json_object_get(svid->claims, "aud");
    for (size_t i = 0; i < audience_count; i++) {
        /* An empty expected audience never matches, so `"aud": ""` cannot slip through. */
        if (audiences[i].len > 0 && audience_contains(aud, audiences[i]))
            return SG_OK;
    }
    return sg_fail(&svid->status, SG_ERR_AUDIENCE_MISMATCH, SG_AUDIENCE_MISMATCH_FORMAT,
                   audience_count);
}

bool sg_jwt_svid_has_audience(const struct sg_jwt_svid *svid, struct sg_slice audience)
{
    return audience.len > 0 && svid->claims != NULL &&
           audience_contains(json_object_get(svid->claims, "aud"), audience);
}

void sg_jwt_svid_clear(struct sg_jwt_svid *svid)
{
    json_decref(svid->claims);
    memset(svid, 0, sizeof(*svid));
}
