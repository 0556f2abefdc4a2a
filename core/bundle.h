/*
 * SPIFFE trust bundles and the set of them that verification reads.
 *
 * A bundle is a JWK Set with the SPIFFE members (spiffe_sequence,
 * spiffe_refresh_hint, keys with `use` jwt-svid or x509-svid), or a PEM
 * file of X.509 authorities. A bundle does not name its trust domain:
 * the configuration binds it to one, and bundles of different trust
 * domains are never merged.
 */
#ifndef SVIDGATE_CORE_BUNDLE_H
#define SVIDGATE_CORE_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "core/error.h"
#include "core/jwk.h"
#include "core/limits.h"
#include "core/slice.h"

/* The reason a key entry was left out. Unusable entries are counted, never fatal. */
enum sg_skip_reason {
    SG_SKIP_UNKNOWN_USE,    /* `use` missing or not jwt-svid / x509-svid */
    SG_SKIP_BAD_KEY,        /* unknown kty or curve, bad members, weak RSA, private key */
    SG_SKIP_MISSING_KID,    /* a jwt-svid entry without `kid` */
    SG_SKIP_DUPLICATE_KID,  /* every jwt-svid entry that shares a kid */
    SG_SKIP_BAD_X5C,        /* x509-svid entry without a usable certificate */
    SG_SKIP_REASON_COUNT,
};

const char *sg_skip_reason_name(enum sg_skip_reason reason);

enum sg_bundle_format {
    SG_BUNDLE_SPIFFE_JSON,
    SG_BUNDLE_PEM,
};

struct sg_bundle {
    char trust_domain[SG_TRUST_DOMAIN_MAX + 1];
    size_t trust_domain_len;
    enum sg_bundle_format format;

    struct sg_jwk *jwt_keys; /* owned, jwt_key_count entries */
    size_t jwt_key_count;
    STACK_OF(X509) *x509_authorities; /* owned, never NULL */
    X509_STORE *x509_store;           /* owned: the authorities, built at load time */

    bool has_sequence;
    uint64_t sequence;
    bool has_refresh_hint;
    int64_t refresh_hint; /* seconds, as published; clamping is the caller's */

    size_t skipped[SG_SKIP_REASON_COUNT];
};

/*
 * Parses `text` as the bundle of `trust_domain`: SPIFFE bundle JSON when
 * the first non-blank byte is '{', PEM otherwise. Returns SG_ERR_MALFORMED
 * with a message when the bundle as a whole is unusable (bad JSON,
 * duplicate members, no `keys`, no PEM certificate, over the limits).
 */
SG_MUST_CHECK enum sg_error sg_bundle_parse(struct sg_slice trust_domain, struct sg_slice text,
                                            struct sg_bundle **out, struct sg_status *status);

void sg_bundle_free(struct sg_bundle *bundle);

/* Returns the jwt-svid key with this kid, or NULL. */
const struct sg_jwk *sg_bundle_find_jwt_key(const struct sg_bundle *bundle, struct sg_slice kid);

static inline struct sg_slice sg_bundle_trust_domain(const struct sg_bundle *bundle)
{
    return sg_slice_make(bundle->trust_domain, bundle->trust_domain_len);
}

/* An immutable map from trust domain to bundle, stamped with a generation. */
struct sg_trust_set {
    struct sg_bundle **bundles; /* owned */
    size_t count;
    uint64_t generation;
    /* The generation that cached verdicts are bound to: the generation of
     * the last set whose keys, authorities or trust domains differed. A
     * change of spiffe_sequence or spiffe_refresh_hint alone keeps it, so
     * cached verdicts stay valid. Equal to `generation` unless the
     * publisher sets it. */
    uint64_t verdict_generation;
};

/* Creates an empty set; NULL when out of memory. */
struct sg_trust_set *sg_trust_set_new(uint64_t generation);

/*
 * Adds `bundle` (ownership passes to the set). Fails with
 * SG_ERR_MALFORMED when the set already contains that trust domain.
 */
SG_MUST_CHECK enum sg_error sg_trust_set_add(struct sg_trust_set *set, struct sg_bundle *bundle,
                                             struct sg_status *status);

const struct sg_bundle *sg_trust_set_find(const struct sg_trust_set *set,
                                          struct sg_slice trust_domain);

void sg_trust_set_free(struct sg_trust_set *set);

#endif
