/*
 * libsvidgate: the verification core of svidgate as a C library.
 *
 * It verifies SPIFFE JWT-SVIDs and X.509-SVID chains against trust
 * bundles that the caller loads from bytes, with the same rules, error
 * names and JSON result objects as `svidgate verify` and the HTTP
 * service. It never logs, reads no files and opens no sockets.
 *
 * Build against it with pkg-config:
 *
 *     cc prog.c $(pkg-config --cflags --libs svidgate)
 *
 * To link the static library, name libsvidgate.a (in
 * `pkg-config --variable=libdir svidgate`) and add the libraries of
 * `pkg-config --static --libs svidgate` other than -lsvidgate, because
 * -lsvidgate selects the shared library when both are installed.
 *
 * Threads: a svidgate_trust is immutable once loaded and may be shared
 * by any number of threads that only verify against it. A
 * svidgate_verifier contains per-thread OpenSSL state and must be used
 * by one thread at a time, so create one per thread.
 *
 * Stability: every symbol starts with svidgate_ and is exported from the
 * shared library; nothing else is. Error codes are append-only and keep
 * their numbers and names across versions.
 */
#ifndef SVIDGATE_H
#define SVIDGATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SVIDGATE_BUILDING_LIBRARY)
#define SVIDGATE_API __attribute__((visibility("default")))
#else
#define SVIDGATE_API
#endif

#define SVIDGATE_VERSION_MAJOR 0
#define SVIDGATE_VERSION_MINOR 1
#define SVIDGATE_VERSION_PATCH 0

/* Verdicts and errors, with the stable names of svidgate_error_name(). */
enum svidgate_error {
    SVIDGATE_OK = 0,                   /* "ok" */
    SVIDGATE_ERR_MALFORMED = 1,        /* "malformed" */
    SVIDGATE_ERR_UNSUPPORTED_ALG = 2,  /* "unsupported_alg" */
    SVIDGATE_ERR_MISSING_KID = 3,      /* "missing_kid" */
    SVIDGATE_ERR_UNKNOWN_KEY = 4,      /* "unknown_key" */
    SVIDGATE_ERR_BAD_SIGNATURE = 5,    /* "bad_signature" */
    SVIDGATE_ERR_EXPIRED = 6,          /* "expired" */
    SVIDGATE_ERR_NOT_YET_VALID = 7,    /* "not_yet_valid" */
    SVIDGATE_ERR_AUDIENCE_MISMATCH = 8, /* "audience_mismatch" */
    SVIDGATE_ERR_INVALID_SPIFFE_ID = 9, /* "invalid_spiffe_id" */
    SVIDGATE_ERR_UNKNOWN_TRUST_DOMAIN = 10, /* "unknown_trust_domain" */
    SVIDGATE_ERR_CHAIN_INVALID = 11,   /* "chain_invalid" */
    SVIDGATE_ERR_LEAF_NOT_SVID = 12,   /* "leaf_not_svid" */
    SVIDGATE_ERR_MISSING_CREDENTIAL = 13, /* "missing_credential" */
    SVIDGATE_ERR_POLICY_DENIED = 14,   /* "policy_denied" (the service's policy; the library never returns it) */
    SVIDGATE_ERR_INTERNAL = 15,        /* "internal_error": out of memory, or OpenSSL lacks an algorithm */
};

/* The maximum lengths of svidgate_result's strings, without the NUL. */
#define SVIDGATE_MESSAGE_MAX 255
#define SVIDGATE_SPIFFE_ID_MAX 2048

/* The verdict of one verification or one bundle load. */
struct svidgate_result {
    enum svidgate_error error;
    char message[SVIDGATE_MESSAGE_MAX + 1];     /* what failed; never contains the credential */
    char spiffe_id[SVIDGATE_SPIFFE_ID_MAX + 1]; /* the verified ID, "" unless error is SVIDGATE_OK */
    int64_t expires_at;                         /* Unix seconds; 0 unless error is SVIDGATE_OK */
    char *json; /* the result object as one line of JSON (as `svidgate verify` prints it),
                   owned: release it with svidgate_result_clear(); NULL after a bundle load
                   or when out of memory */
};

/* A set of trust bundles, one per trust domain. */
typedef struct svidgate_trust svidgate_trust;

/* Per-thread verification state. */
typedef struct svidgate_verifier svidgate_verifier;

/* Returns the library version, e.g. "0.1.0". */
SVIDGATE_API const char *svidgate_version(void);

/* Returns the stable name of `error`, e.g. "bad_signature"; "unknown" for other values. */
SVIDGATE_API const char *svidgate_error_name(int error);

/* Creates an empty trust set; NULL when out of memory. */
SVIDGATE_API svidgate_trust *svidgate_trust_new(void);

/* Frees a trust set; NULL is allowed. No thread may still verify against it. */
SVIDGATE_API void svidgate_trust_free(svidgate_trust *trust);

/*
 * Parses `bundle` (`length` bytes: SPIFFE bundle JSON, or PEM CA
 * certificates) as the bundle of `trust_domain` ("example.org" or
 * "spiffe://example.org", NUL-terminated) and adds it to `trust`.
 * Fails with SVIDGATE_ERR_MALFORMED on an unusable bundle, an invalid
 * trust domain name, a bundle over 1 MiB, or a trust domain that
 * `trust` already contains. Fills `result` (which may be NULL) and
 * returns its error.
 */
SVIDGATE_API enum svidgate_error svidgate_trust_add_bundle(svidgate_trust *trust,
                                                           const char *trust_domain,
                                                           const void *bundle, size_t length,
                                                           struct svidgate_result *result);

/* Creates a verifier for the calling thread; NULL when out of memory or
 * when OpenSSL cannot provide SHA-256, SHA-384 and SHA-512. */
SVIDGATE_API svidgate_verifier *svidgate_verifier_new(void);

SVIDGATE_API void svidgate_verifier_free(svidgate_verifier *verifier);

/* Time of a verification: `now` in Unix seconds, and the clock skew in
 * seconds allowed on exp, nbf, iat, notBefore and notAfter. */
struct svidgate_time {
    int64_t now;
    int64_t leeway;
};

/*
 * Verifies the JWT-SVID `token` (`length` bytes, compact JWS, at most
 * 16 KiB) against `trust` as of `time`, and requires at least one of the
 * `audience_count` NUL-terminated `audiences` in its `aud` claim. An
 * empty audience list fails with SVIDGATE_ERR_AUDIENCE_MISMATCH, because
 * a JWT-SVID is never valid for any audience. Fills `result` and returns
 * its error; call svidgate_result_clear() afterwards.
 */
SVIDGATE_API enum svidgate_error svidgate_verify_jwt(svidgate_verifier *verifier,
                                                     const svidgate_trust *trust,
                                                     const char *token, size_t length,
                                                     const char *const *audiences,
                                                     size_t audience_count,
                                                     const struct svidgate_time *time,
                                                     struct svidgate_result *result);

/*
 * Verifies the X.509-SVID chain in `pem` (`length` bytes of PEM, leaf
 * first, then intermediates; blocks other than CERTIFICATE are skipped)
 * against the X.509 authorities of the leaf's trust domain in `trust`.
 * Fills `result` and returns its error; call svidgate_result_clear()
 * afterwards.
 */
SVIDGATE_API enum svidgate_error svidgate_verify_x509_pem(svidgate_verifier *verifier,
                                                          const svidgate_trust *trust,
                                                          const void *pem, size_t length,
                                                          const struct svidgate_time *time,
                                                          struct svidgate_result *result);

/* Frees result->json and resets the result; a zeroed result is allowed. */
SVIDGATE_API void svidgate_result_clear(struct svidgate_result *result);

#ifdef __cplusplus
}
#endif

#endif
