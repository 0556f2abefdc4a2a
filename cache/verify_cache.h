/*
 * The verification cache: verdicts of credentials already verified,
 * shared by every worker thread, lock-free for readers and writers.
 *
 * The key is the XXH3-128 hash of the credential bytes, keyed with a
 * random per-process secret. The hash only finds the slot: a hit also
 * needs an exact byte match with the stored credential, the caller's
 * trust snapshot generation, and `now` before the entry's valid_until.
 *
 * Entries are immutable once published and are reclaimed with RCU (the
 * liburcu QSBR flavour): every thread that calls these functions must be
 * registered with rcu_register_thread() and online, and an entry returned
 * by sg_cache_lookup() stays valid until that thread's next quiescent
 * state (rcu_quiescent_state(), or going offline).
 */
#ifndef SVIDGATE_CACHE_VERIFY_CACHE_H
#define SVIDGATE_CACHE_VERIFY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/slice.h"

struct sg_cache;

/* Per-thread counters, owned by the calling thread and merged on read. */
struct sg_cache_stats {
    uint64_t hits;
    uint64_t misses;
    uint64_t inserts;
    uint64_t evictions; /* a live entry of another credential was displaced */
};

/* A published verdict. Read-only for everyone once it is in the cache. */
struct sg_cache_entry;

/*
 * Creates a cache for about `max_entries` credentials (rounded up to
 * whole buckets). All slot memory is allocated here; entries themselves
 * are allocated on insert and freed on eviction, within a budget of
 * SG_CACHE_ENTRY_BYTES_BUDGET bytes per slot. NULL when out of memory
 * or when no random secret can be read.
 */
struct sg_cache *sg_cache_new(size_t max_entries);

/* Frees the cache and every entry. No other thread may use it any more. */
void sg_cache_free(struct sg_cache *cache);

/* Number of slots: the maximum number of entries the cache contains at once. */
size_t sg_cache_capacity(const struct sg_cache *cache);

/*
 * Returns the entry for exactly these credential bytes, stored under
 * `generation`, with now < valid_until; NULL otherwise. Counts a hit or
 * a miss in `stats`.
 */
const struct sg_cache_entry *sg_cache_lookup(struct sg_cache *cache, struct sg_slice credential,
                                             uint64_t generation, int64_t now,
                                             struct sg_cache_stats *stats);

/*
 * Stores a verdict: `error` and an opaque `value` (copied), for
 * `credential` (copied) under `generation`, usable while now <
 * valid_until. Replaces an entry of the same credential, else takes a
 * free slot of its bucket, else evicts one chosen by CLOCK. Never blocks
 * readers. When another writer wins the slot, or the entry would take the
 * cache over its byte budget, the insert is dropped and true returned.
 * Returns false when out of memory or when the credential or value is
 * longer than SG_CACHE_CREDENTIAL_MAX or SG_CACHE_VALUE_MAX.
 */
bool sg_cache_insert(struct sg_cache *cache, struct sg_slice credential, uint64_t generation,
                     int64_t valid_until, enum sg_error error, struct sg_slice value,
                     struct sg_cache_stats *stats);

enum sg_error sg_cache_entry_error(const struct sg_cache_entry *entry);
struct sg_slice sg_cache_entry_value(const struct sg_cache_entry *entry);
int64_t sg_cache_entry_valid_until(const struct sg_cache_entry *entry);

/* Credentials and values longer than these are never cached. */
#define SG_CACHE_CREDENTIAL_MAX (64 * 1024)
#define SG_CACHE_VALUE_MAX (1024 * 1024)

/*
 * Bytes the cache may hold per slot on average, entry header, credential
 * and value included: a JWT-SVID verdict takes about 1.5 KiB. The total
 * (capacity times this) is fixed at creation. An insert that would exceed
 * it is dropped, so credentials near SG_CACHE_CREDENTIAL_MAX cannot make
 * the cache use 64 KiB per slot.
 */
#define SG_CACHE_ENTRY_BYTES_BUDGET 2048

#endif
