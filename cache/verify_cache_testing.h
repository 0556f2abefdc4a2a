/*
 * Test hooks of the verification cache. Only tests and benchmarks include
 * this header; svidgate itself always uses sg_cache_new().
 */
#ifndef SVIDGATE_CACHE_VERIFY_CACHE_TESTING_H
#define SVIDGATE_CACHE_VERIFY_CACHE_TESTING_H

#include <stddef.h>
#include <stdint.h>

#include "cache/verify_cache.h"
#include "core/slice.h"

/* A 128-bit credential hash. `low` selects the bucket, and both halves
 * are stored in the entry and compared before the credential bytes. */
struct sg_cache_hash {
    uint64_t low;
    uint64_t high;
};

/* Hashes `credential` with the cache's random `secret`. */
typedef struct sg_cache_hash (*sg_cache_hash_fn)(struct sg_slice credential, const uint8_t *secret,
                                                 size_t secret_len);

/*
 * Creates a cache like sg_cache_new() that hashes with `hash` in place of
 * keyed XXH3-128. A constant `hash` puts every credential in one bucket
 * under one full 128-bit hash, which is how the tests show that a hit
 * still needs an exact byte match.
 */
struct sg_cache *sg_cache_new_with_hash(size_t max_entries, sg_cache_hash_fn hash);

#endif
