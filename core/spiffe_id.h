/*
 * SPIFFE ID parsing and validation (SPIFFE-ID standard, section 2).
 *
 * Identity data is rejected, never normalised: no lowercasing, no
 * percent-decoding, no dot-segment resolution.
 */
#ifndef SVIDGATE_CORE_SPIFFE_ID_H
#define SVIDGATE_CORE_SPIFFE_ID_H

#include "core/error.h"
#include "core/slice.h"

/* A validated SPIFFE ID. All three slices point into the parsed text. */
struct sg_spiffe_id {
    struct sg_slice id;           /* the whole ID, "spiffe://td/path" */
    struct sg_slice trust_domain; /* "td" */
    struct sg_slice path;         /* "/path", or empty for a trust domain ID */
};

/*
 * Parses and validates `text` as a SPIFFE ID. On failure returns
 * SG_ERR_INVALID_SPIFFE_ID with a message naming the broken rule.
 */
SG_MUST_CHECK enum sg_error sg_spiffe_id_parse(struct sg_slice text, struct sg_spiffe_id *out,
                                               struct sg_status *status);

/* Validates a bare trust domain name such as "example.org". */
SG_MUST_CHECK enum sg_error sg_trust_domain_validate(struct sg_slice name, struct sg_status *status);

#endif
