/* Typed reads of JWT-SVID claims (RFC 7519 section 4.1), core/ only. */
#ifndef SVIDGATE_CORE_JWT_CLAIMS_H
#define SVIDGATE_CORE_JWT_CLAIMS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"

struct sg_jwt_times {
    int64_t exp;
    bool has_nbf;
    int64_t nbf;
    bool has_iat;
    int64_t iat;
};

/*
 * Checks the claim types: `exp` required and `nbf`/`iat` optional, each a
 * JSON number that fits a 64-bit time (fractions are truncated toward
 * minus infinity); `aud` required, a string or a non-empty array of
 * strings. Anything else is SG_ERR_MALFORMED.
 */
SG_MUST_CHECK enum sg_error sg_jwt_claims_check(const json_t *claims, struct sg_jwt_times *times,
                                                struct sg_status *status);

#endif
