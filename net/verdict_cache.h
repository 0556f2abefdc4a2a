/*
 * The server's use of the verification cache: cache keys, what a cached
 * verdict stores, and answering a request from a cached verdict.
 *
 * A key is one byte naming the kind of credential followed by its exact
 * bytes, so a JWT and an X.509 request body of the same bytes never share
 * an entry. What is cached is the credential's own verdict, bound to the
 * worker's snapshot generation; the audience of a JWT request is checked
 * against the stored `aud` values on every hit. `not_yet_valid` is never
 * cached, because time alone cures it.
 */
#ifndef SVIDGATE_NET_VERDICT_CACHE_H
#define SVIDGATE_NET_VERDICT_CACHE_H

#ifndef __cplusplus
#include <stdatomic.h>
#endif
#include <stdbool.h>
#include <stdint.h>

#include "cache/verify_cache.h"
#include "core/jwt_svid.h"
#include "core/x509_svid.h"

enum sg_credential_kind {
    SG_CREDENTIAL_JWT = 'J',
    SG_CREDENTIAL_X509_PEM = 'P',  /* a PEM request body */
    SG_CREDENTIAL_X509_JSON = 'X', /* a {"chain": [...]} request body */
};

/* One worker's cache counters as other threads read them (relaxed atomics,
 * written only by that worker). C++ code (the benchmarks) gets only the
 * declaration, since C11 _Atomic is not C++. */
struct sg_cache_counters;
#ifndef __cplusplus
struct sg_cache_counters {
    _Atomic uint64_t hits;
    _Atomic uint64_t misses;
    _Atomic uint64_t inserts;
    _Atomic uint64_t evictions;
};
#endif

/* One worker's view of the shared cache. */
struct sg_verdict_cache {
    struct sg_cache *cache;             /* shared by every worker; NULL disables caching */
    struct sg_cache_stats stats;        /* this worker's counts */
    struct sg_cache_counters *counters; /* this worker's published counts */
    uint8_t *key;                       /* SG_CACHE_CREDENTIAL_MAX bytes of scratch */
};

/* Allocates the key scratch; false when out of memory. */
bool sg_verdict_cache_init(struct sg_verdict_cache *verdicts, struct sg_cache *cache,
                           struct sg_cache_counters *counters);
void sg_verdict_cache_destroy(struct sg_verdict_cache *verdicts);

/* Returns the verdict of `credential` cached with this leeway, or NULL. */
const struct sg_cache_entry *sg_verdict_cache_find(struct sg_verdict_cache *verdicts,
                                                   enum sg_credential_kind kind,
                                                   struct sg_slice credential,
                                                   uint64_t generation, int64_t leeway,
                                                   int64_t now);

/*
 * Stores a JWT's verdict and its rendered result object. A valid verdict
 * lives until exp + leeway; a failure lives as long as the generation.
 */
void sg_verdict_cache_store_jwt(struct sg_verdict_cache *verdicts, struct sg_slice token,
                                uint64_t generation, int64_t leeway,
                                const struct sg_jwt_svid *svid, struct sg_slice result_json);

/* Stores an X.509 chain's verdict; a valid one lives until notAfter + leeway. */
void sg_verdict_cache_store_x509(struct sg_verdict_cache *verdicts, enum sg_credential_kind kind,
                                 struct sg_slice body, uint64_t generation, int64_t leeway,
                                 const struct sg_x509_svid *svid, struct sg_slice result_json);

/*
 * Answers a JWT request from a cached verdict: checks the requested
 * audiences against the stored `aud` values, sets *json to the result
 * object (inside the entry, valid for this loop turn) or, for an
 * audience mismatch, to a new string in *owned (free() it). Returns the
 * verdict; SG_ERR_INTERNAL when out of memory.
 */
enum sg_error sg_verdict_cache_answer_jwt(const struct sg_cache_entry *entry,
                                          const struct sg_slice *audiences, size_t audience_count,
                                          struct sg_slice *json, char **owned);

/*
 * Sets *spiffe_id (inside the entry, valid for this loop turn) and
 * *expires_at from a cached valid verdict. Returns false for a failed
 * verdict.
 */
bool sg_verdict_cache_identity(const struct sg_cache_entry *entry, struct sg_slice *spiffe_id,
                               int64_t *expires_at);

/*
 * Sets listed[i] to whether audiences[i] is one of the `aud` values of a
 * cached valid JWT verdict. Returns false for a failed verdict or a
 * damaged value.
 */
bool sg_verdict_cache_jwt_audiences(const struct sg_cache_entry *entry,
                                    const struct sg_slice *audiences, size_t audience_count,
                                    bool *listed);

/* Answers an X.509 request: the stored result object. */
enum sg_error sg_verdict_cache_answer_x509(const struct sg_cache_entry *entry,
                                           struct sg_slice *json);

/* Adds up the published counts of `count` workers. */
void sg_cache_counters_merge(const struct sg_cache_counters *counters, size_t count,
                             struct sg_cache_stats *total);

/* Publishes this worker's counts for readers on other threads. */
void sg_verdict_cache_publish_counts(struct sg_verdict_cache *verdicts);

#endif
