/*
 * X.509-SVID verification (X.509-SVID standard; RFC 5280 path validation).
 *
 * A chain is the leaf first, then untrusted intermediates. It is verified
 * only against the X.509 authorities of the trust domain named by the
 * leaf's own URI SAN.
 */
#ifndef SVIDGATE_CORE_X509_SVID_H
#define SVIDGATE_CORE_X509_SVID_H

#include <stdint.h>

#include <openssl/x509.h>

#include "core/bundle.h"
#include "core/error.h"
#include "core/limits.h"
#include "core/slice.h"
#include "core/spiffe_id.h"

struct sg_verifier;

/*
 * Parses one certificate per slice of DER. Each must be exactly one
 * certificate: trailing bytes are malformed. At most SG_X509_CHAIN_MAX
 * certificates of at most SG_X509_CERT_MAX bytes each.
 */
SG_MUST_CHECK enum sg_error sg_x509_chain_from_der(const struct sg_slice *ders, size_t count,
                                                   STACK_OF(X509) **out, struct sg_status *status);

/*
 * Parses every CERTIFICATE block of a PEM text, in order; blocks of other
 * types (a private key, say) are skipped. No certificate is malformed.
 */
SG_MUST_CHECK enum sg_error sg_x509_chain_from_pem(struct sg_slice pem, STACK_OF(X509) **out,
                                                   struct sg_status *status);

/* Frees a chain from sg_x509_chain_from_der or _from_pem; NULL is allowed. */
void sg_x509_chain_free(STACK_OF(X509) *chain);

struct sg_x509_options {
    int64_t now;    /* Unix seconds */
    int64_t leeway; /* seconds, applied to every notBefore and notAfter */
};

struct sg_x509_svid {
    struct sg_status status;
    char id_text[SG_SPIFFE_ID_MAX + 1];
    size_t id_len;          /* bytes of the URI SAN in id_text, NULs included */
    struct sg_spiffe_id id; /* slices into id_text */
    int64_t expires_at;     /* earliest notAfter of the verified chain */
};

/*
 * Verifies `chain` (leaf first) against the trust set. Checks, in order:
 * leaf SAN and SPIFFE ID (leaf_not_svid, invalid_spiffe_id), leaf basic
 * constraints and key usage (leaf_not_svid), the bundle of the leaf's
 * trust domain (unknown_trust_domain), CA flag and keyCertSign of every
 * certificate after the leaf and the RFC 5280 path to one of the trust
 * domain's X.509 authorities (chain_invalid), then every certificate's validity
 * with the leeway (expired, not_yet_valid). Fills out->status and
 * returns its error.
 */
SG_MUST_CHECK enum sg_error sg_x509_svid_verify(struct sg_verifier *verifier,
                                                const struct sg_trust_set *trust,
                                                STACK_OF(X509) *chain,
                                                const struct sg_x509_options *options,
                                                struct sg_x509_svid *out);

/* Renders the result object as one line of JSON; free() it. NULL when out of memory. */
char *sg_x509_svid_result_json(const struct sg_x509_svid *svid);

#endif
