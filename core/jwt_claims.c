/* Claim type checks for JWT-SVIDs. */
#include "core/jwt_claims.h"

#include <math.h>

/* 2^62 seconds: far beyond any real date, and leeway arithmetic cannot overflow. */
#define NUMERIC_DATE_LIMIT 4611686018427387904.0

/* Reads a NumericDate (RFC 7519 section 2); false when it is not one. */
static bool read_numeric_date(const json_t *value, int64_t *out)
{
    double real;

    if (json_is_integer(value)) {
        json_int_t integer = json_integer_value(value);

        if ((double)integer >= NUMERIC_DATE_LIMIT || (double)integer <= -NUMERIC_DATE_LIMIT)
            return false;
        *out = (int64_t)integer;
        return true;
    }
    if (!json_is_real(value))
        return false;

    real = floor(json_real_value(value));
    if (!isfinite(real) || real >= NUMERIC_DATE_LIMIT || real <= -NUMERIC_DATE_LIMIT)
        return false;
    *out = (int64_t)real;
    return true;
}

static enum sg_error read_time_claim(const json_t *claims, const char *name, bool required,
                                     bool *present, int64_t *out, struct sg_status *status)
{
    const json_t *value = json_object_get(claims, name);

    *present = value != NULL;
    if (value == NULL && required)
        return sg_fail(status, SG_ERR_MALFORMED, "JWT has no \"%s\" claim", name);
    if (value != NULL && !read_numeric_date(value, out))
        return sg_fail(status, SG_ERR_MALFORMED,
                       "JWT \"%s\" claim must be a number of seconds that fits a 64-bit time",
                       name);
    return SG_OK;
}

/* JWT-SVID section 3.2: `aud` is required; RFC 7519 allows a string or an array. */
static enum sg_error check_audience_claim(const json_t *claims, struct sg_status *status)
{
    const json_t *aud = json_object_get(claims, "aud");
    size_t index;
    const json_t *value;

    if (aud == NULL)
        return sg_fail(status, SG_ERR_MALFORMED, "JWT has no \"aud\" claim");
    if (json_is_string(aud))
        return SG_OK;
    if (!json_is_array(aud) || json_array_size(aud) == 0)
        return sg_fail(status, SG_ERR_MALFORMED,
                       "JWT \"aud\" claim must be a string or a non-empty array of strings");

    json_array_foreach(aud, index, value) {
        if (!json_is_string(value))
            return sg_fail(status, SG_ERR_MALFORMED,
                           "JWT \"aud\" array element %zu is not a string", index);
    }
    return SG_OK;
}

enum sg_error sg_jwt_claims_check(const json_t *claims, struct sg_jwt_times *times,
                                  struct sg_status *status)
{
    bool has_exp;

    SG_GUARD(read_time_claim(claims, "exp", true, &has_exp, &times->exp, status));
    SG_GUARD(read_time_claim(claims, "nbf", false, &times->has_nbf, &times->nbf, status));
    SG_GUARD(read_time_claim(claims, "iat", false, &times->has_iat, &times->iat, status));
    return check_audience_claim(claims, status);
}
