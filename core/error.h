/*
 * The one error space of svidgate.
 *
 * Each verdict code is a stable string of the public interface (the
 * `error` field of every result object, metric labels, X-Svid-Error).
 * Codes are append-only: never renumber or rename one. Switches over
 * enum sg_error carry no `default`, so a new code that a switch misses
 * breaks the build.
 */
#ifndef SVIDGATE_CORE_ERROR_H
#define SVIDGATE_CORE_ERROR_H

#include <stddef.h>

/* X(enum constant, stable name, default message) */
#define SG_ERRORS(X)                                                                        \
    X(SG_OK, "ok", "the credential is valid")                                               \
    X(SG_ERR_MALFORMED, "malformed", "the credential is not well-formed")                   \
    X(SG_ERR_UNSUPPORTED_ALG, "unsupported_alg", "the signature algorithm is not allowed")  \
    X(SG_ERR_MISSING_KID, "missing_kid", "the JWT header has no kid")                       \
    X(SG_ERR_UNKNOWN_KEY, "unknown_key", "the trust bundle has no key with this kid")       \
    X(SG_ERR_BAD_SIGNATURE, "bad_signature", "the signature does not verify")               \
    X(SG_ERR_EXPIRED, "expired", "the credential has expired")                              \
    X(SG_ERR_NOT_YET_VALID, "not_yet_valid", "the credential is not valid yet")             \
    X(SG_ERR_AUDIENCE_MISMATCH, "audience_mismatch", "no requested audience is in aud")     \
    X(SG_ERR_INVALID_SPIFFE_ID, "invalid_spiffe_id", "the SPIFFE ID is invalid")            \
    X(SG_ERR_UNKNOWN_TRUST_DOMAIN, "unknown_trust_domain",                                  \
      "no trust bundle is loaded for this trust domain")                                    \
    X(SG_ERR_CHAIN_INVALID, "chain_invalid", "the certificate chain does not verify")       \
    X(SG_ERR_LEAF_NOT_SVID, "leaf_not_svid", "the leaf certificate is not an X.509-SVID")   \
    X(SG_ERR_MISSING_CREDENTIAL, "missing_credential", "the request carries no credential") \
    X(SG_ERR_POLICY_DENIED, "policy_denied", "the policy does not admit this SPIFFE ID")    \
    X(SG_ERR_INTERNAL, "internal_error", "an internal error occurred (out of memory?)")

enum sg_error {
#define SG_ERROR_ENUM(id, name, message) id,
    SG_ERRORS(SG_ERROR_ENUM)
#undef SG_ERROR_ENUM
        SG_ERROR_COUNT
};

#define SG_MUST_CHECK __attribute__((warn_unused_result))

/* Returns the stable interface name of `err`, e.g. "bad_signature". */
const char *sg_error_name(enum sg_error err);

/* Returns the generic one-sentence message of `err`. */
const char *sg_error_default_message(enum sg_error err);

/*
 * A verdict with the sentence that explains it. Failure sites fill
 * `message` with what exactly failed; the message never contains the
 * credential, a signature or key material.
 */
#define SG_MESSAGE_MAX 256

struct sg_status {
    enum sg_error error;
    char message[SG_MESSAGE_MAX];
};

/*
 * Sets status to err with a printf-style message and returns err, so a
 * failure site reads `return sg_fail(st, SG_ERR_EXPIRED, "...", ...);`.
 */
enum sg_error sg_fail(struct sg_status *status, enum sg_error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears status to SG_OK with the default message. */
void sg_status_ok(struct sg_status *status);

#define SG_GUARD(expr)                          \
    do {                                        \
        enum sg_error sg_guard_err_ = (expr);   \
        if (sg_guard_err_ != SG_OK)             \
            return sg_guard_err_;               \
    } while (0)

#endif
