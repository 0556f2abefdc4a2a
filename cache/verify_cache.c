/*
 * The verification cache: a fixed-size, set-associative table of
 * immutable verdicts, shared by every worker without locks.
 *
 * Where it sits: a route calls sg_cache_lookup() with the raw credential
 * bytes before any parsing or signature check, and sg_cache_insert() with
 * the verdict after a full verification. The audience and policy are
 * checked per request and are never part of a cached verdict.
 *
 * Layout. The table is an array of buckets, a power of two of them, each
 * with SG_CACHE_WAYS slots. A slot is an atomic pointer to an entry or
 * NULL. An entry is one heap block holding the 128-bit hash, the
 * generation, valid_until, the error, the credential bytes and the value
 * bytes. A credential lives only in the bucket that the low 64 bits of
 * its hash select. The bucket array is allocated by sg_cache_new() and
 * never grows; entries are allocated by inserts and freed by RCU.
 *
 * Keys. The hash is XXH3-128 keyed with SG_CACHE_SECRET_SIZE random bytes
 * read from getrandom() when the cache is created, so a sender cannot
 * predict which credentials share a bucket and evict each other on
 * purpose. The hash only finds the slot: a hit also needs the same length
 * and the same bytes, so even a full 128-bit collision returns no wrong
 * verdict.
 *
 * Publication and memory orders.
 *  - An inserting thread writes every field of a new entry, then installs
 *    the pointer with a compare-and-swap of release order. Nothing writes
 *    the fields a reader uses after that: an entry is immutable from its
 *    publication to its free. The one exception is the struct rcu_head,
 *    which call_rcu() fills in after the entry has left its slot; no
 *    reader ever reads it.
 *  - Readers load slot pointers with acquire order. A reader that loads a
 *    pointer synchronizes with the release compare-and-swap that stored
 *    it, so every write that built the entry happens before the reader's
 *    plain reads of it. A slot contains either an old complete entry or
 *    a new complete entry, never a half-written one, which is why a torn
 *    entry can never be returned.
 *  - Reference bits and the CLOCK hand are hints for choosing a victim.
 *    They publish no data, so they use relaxed order.
 *
 * Replacement. An insert prefers, in this order: the slot that already
 * holds the same credential, an empty slot, a slot whose entry carries
 * another generation (it can no longer hit once workers moved on), and
 * last a CLOCK victim. A hit sets the slot's reference bit, and writes
 * the shared bucket only when the bit was clear, so a hot entry costs no
 * cache-line transfer per hit. The hand skips and clears set bits and
 * stops at the first clear one. Expired entries get no more hits, so
 * once the hand has cleared their bits, CLOCK takes them. Every choice
 * rests on one scan of the bucket, and a single compare-and-swap checks
 * that the chosen slot still holds what the scan saw. When another
 * writer changed it first, the insert is dropped: no retry loop, so an
 * insert costs a bounded number of steps.
 *
 * Reclamation (liburcu QSBR). Each entry is installed in exactly one slot,
 * once, and never moved, so the compare-and-swap that displaces it
 * removes its last reference from the table. The displacing thread then
 * hands it to call_rcu(). A reader that loaded it earlier may still use
 * it until that reader's next quiescent state. call_rcu() frees it after
 * a grace period, that is, after every registered online thread has
 * passed a quiescent state, and so only once no reader can hold it. The
 * same rule rules out ABA: the displacing thread loaded the pointer in
 * the same call without passing a quiescent state, so the entry cannot
 * have been freed and its address reused before the compare-and-swap.
 */
#include "cache/verify_cache.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <urcu-qsbr.h>
#include <xxhash.h>

#include "cache/verify_cache_testing.h"

/* Slots per bucket. Eight pointers fill one 64-byte cache line, and the
 * reference bits of a bucket fit one byte. */
#define SG_CACHE_WAYS 8

/* Bytes of the random XXH3 secret. 192 is XXH3_SECRET_DEFAULT_SIZE in
 * xxhash 0.8, above the XXH3_SECRET_SIZE_MIN (136) that it requires. */
#define SG_CACHE_SECRET_SIZE 192

/* getrandom() calls before sg_cache_new() gives up on the secret. */
#define SG_CACHE_GETRANDOM_ATTEMPTS 8

#define SG_CACHE_LINE 64

/*
 * ThreadSanitizer and RCU. liburcu 0.13, as Debian 12 ships it, is not
 * built with ThreadSanitizer. So TSan cannot see that a grace period
 * orders every reader's last use of an entry before the callback that
 * frees it, and it would report each of those frees as a race. In a TSan
 * build the callback hides its free() from TSan, and only that call.
 * An entry freed while a reader may still hold it is caught instead by
 * the AddressSanitizer run of tests/cache/test_cache_stress.c.
 */
#if defined(__SANITIZE_THREAD__)
#define SG_CACHE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SG_CACHE_TSAN 1
#endif
#endif

#ifdef SG_CACHE_TSAN
/* libtsan exports these, but GCC 12's tsan_interface.h does not declare them. */
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
#define sg_cache_tsan_ignore_begin() __tsan_ignore_thread_begin()
#define sg_cache_tsan_ignore_end() __tsan_ignore_thread_end()
#else
#define sg_cache_tsan_ignore_begin() ((void)0)
#define sg_cache_tsan_ignore_end() ((void)0)
#endif

_Static_assert(SG_CACHE_SECRET_SIZE >= XXH3_SECRET_SIZE_MIN, "XXH3 secret too short");
_Static_assert((SG_CACHE_WAYS & (SG_CACHE_WAYS - 1)) == 0, "ways must be a power of two");
_Static_assert(SG_CACHE_WAYS <= 8, "reference bits of a bucket are one byte");
_Static_assert(SG_CACHE_CREDENTIAL_MAX <= UINT32_MAX, "credential length is stored in 32 bits");

/* Immutable after publication, except `rcu` (see the top of this file). */
struct sg_cache_entry {
    struct sg_cache *cache; /* charged for size bytes until freed */
    size_t size;
    uint64_t hash_low;
    uint64_t hash_high;
    uint64_t generation;
    int64_t valid_until;
    enum sg_error error;
    uint32_t credential_len;
    size_t value_len;
    struct rcu_head rcu;
    /* credential_len credential bytes, then value_len value bytes. */
    uint8_t bytes[];
};

struct sg_cache_bucket {
    /* Read by every lookup, so it gets a cache line of its own. */
    alignas(SG_CACHE_LINE) _Atomic(struct sg_cache_entry *) slots[SG_CACHE_WAYS];
    /* Written by hits that find their bit clear and by inserts that run
     * the CLOCK hand, so kept off the slot line. Bit i is slot i. */
    alignas(SG_CACHE_LINE) atomic_uchar referenced;
    atomic_uchar hand;
};

_Static_assert(sizeof(struct sg_cache_bucket) == 2 * SG_CACHE_LINE, "bucket is two cache lines");

/* Read-only after sg_cache_new(), so shared without synchronisation. */
struct sg_cache {
    struct sg_cache_bucket *buckets;
    size_t bucket_mask;
    sg_cache_hash_fn hash;
    uint8_t secret[SG_CACHE_SECRET_SIZE];

    /* Bytes of entries allocated and not yet freed, against a budget fixed
     * at creation. Only inserts and frees touch it, never lookups, and the
     * count is an accounting total that publishes no data: relaxed order. */
    _Atomic size_t bytes_used;
    size_t bytes_max;
};

static struct sg_cache_hash sg_cache_hash_xxh3(struct sg_slice credential, const uint8_t *secret,
                                               size_t secret_len)
{
    static const uint8_t empty;
    const void *data = credential.len ? (const void *)credential.ptr : (const void *)&empty;
    XXH128_hash_t h = XXH3_128bits_withSecret(data, credential.len, secret, secret_len);
    struct sg_cache_hash out = { h.low64, h.high64 };

    return out;
}

static bool sg_cache_read_secret(uint8_t *secret, size_t len)
{
    size_t filled = 0;

    for (int attempt = 0; attempt < SG_CACHE_GETRANDOM_ATTEMPTS && filled < len; attempt++) {
        ssize_t got = getrandom(secret + filled, len - filled, 0);

        if (got > 0)
            filled += (size_t)got;
        else if (got < 0 && errno != EINTR)
            return false;
    }
    return filled == len;
}

/* Returns the number of buckets for `max_entries`, a power of two of at
 * least one, or 0 when the bucket array would not fit in memory. */
static size_t sg_cache_bucket_count(size_t max_entries)
{
    size_t needed = max_entries / SG_CACHE_WAYS + (max_entries % SG_CACHE_WAYS != 0);
    size_t limit = SIZE_MAX / 2 / sizeof(struct sg_cache_bucket);
    size_t count = 1;

    while (count < needed) {
        if (count > limit / 2)
            return 0;
        count *= 2;
    }
    return count;
}

struct sg_cache *sg_cache_new_with_hash(size_t max_entries, sg_cache_hash_fn hash)
{
    size_t count = sg_cache_bucket_count(max_entries);
    struct sg_cache *cache;

    if (count == 0)
        return NULL;
    cache = calloc(1, sizeof(*cache));
    if (!cache)
        return NULL;
    if (!sg_cache_read_secret(cache->secret, sizeof(cache->secret))) {
        free(cache);
        return NULL;
    }

    cache->buckets = aligned_alloc(SG_CACHE_LINE, count * sizeof(struct sg_cache_bucket));
    if (!cache->buckets) {
        free(cache);
        return NULL;
    }
    for (size_t b = 0; b < count; b++) {
        for (size_t way = 0; way < SG_CACHE_WAYS; way++)
            atomic_init(&cache->buckets[b].slots[way], NULL);
        atomic_init(&cache->buckets[b].referenced, 0);
        atomic_init(&cache->buckets[b].hand, 0);
    }
    cache->bucket_mask = count - 1;
    cache->hash = hash;
    atomic_init(&cache->bytes_used, 0);
    cache->bytes_max = count * SG_CACHE_WAYS * SG_CACHE_ENTRY_BYTES_BUDGET;
    return cache;
}

struct sg_cache *sg_cache_new(size_t max_entries)
{
    return sg_cache_new_with_hash(max_entries, sg_cache_hash_xxh3);
}

/* Frees an entry and returns its bytes to the cache's budget. */
static void sg_cache_entry_release(struct sg_cache_entry *entry)
{
    atomic_fetch_sub_explicit(&entry->cache->bytes_used, entry->size, memory_order_relaxed);
    free(entry);
}

/* Runs on liburcu's call_rcu thread after a grace period. */
static void sg_cache_entry_free_rcu(struct rcu_head *head)
{
    sg_cache_tsan_ignore_begin();
    sg_cache_entry_release(
        (struct sg_cache_entry *)((char *)head - offsetof(struct sg_cache_entry, rcu)));
    sg_cache_tsan_ignore_end();
}

void sg_cache_free(struct sg_cache *cache)
{
    if (!cache)
        return;

    /* No other thread uses the cache any more, so the entries still in
     * slots are unreachable and can be freed at once. */
    for (size_t b = 0; b <= cache->bucket_mask; b++) {
        for (size_t way = 0; way < SG_CACHE_WAYS; way++)
            free(atomic_load_explicit(&cache->buckets[b].slots[way], memory_order_relaxed));
    }

    /* Displaced entries may still wait in call_rcu() queues. rcu_barrier()
     * runs every callback queued so far, so all entry memory is back when
     * this function returns. It takes a registered QSBR caller offline
     * while it waits (the unit tests call it online), and it waits for
     * every other registered thread to pass a quiescent state. */
    rcu_barrier();

    free(cache->buckets);
    free(cache);
}

size_t sg_cache_capacity(const struct sg_cache *cache)
{
    return (cache->bucket_mask + 1) * SG_CACHE_WAYS;
}

static struct sg_cache_bucket *sg_cache_bucket_of(struct sg_cache *cache, struct sg_cache_hash hash)
{
    return &cache->buckets[hash.low & cache->bucket_mask];
}

/* Compares the hash first (one cache line, rejects almost every other
 * credential), then the length, then every byte. */
static bool sg_cache_entry_has_credential(const struct sg_cache_entry *entry,
                                          struct sg_cache_hash hash, struct sg_slice credential)
{
    if (entry->hash_low != hash.low || entry->hash_high != hash.high)
        return false;
    if (entry->credential_len != credential.len)
        return false;
    return credential.len == 0 || memcmp(entry->bytes, credential.ptr, credential.len) == 0;
}

static void sg_cache_mark_referenced(struct sg_cache_bucket *bucket, unsigned way)
{
    unsigned char bit = (unsigned char)(1u << way);

    if (!(atomic_load_explicit(&bucket->referenced, memory_order_relaxed) & bit))
        atomic_fetch_or_explicit(&bucket->referenced, bit, memory_order_relaxed);
}

const struct sg_cache_entry *sg_cache_lookup(struct sg_cache *cache, struct sg_slice credential,
                                             uint64_t generation, int64_t now,
                                             struct sg_cache_stats *stats)
{
    struct sg_cache_hash hash;
    struct sg_cache_bucket *bucket;

    if (credential.len > SG_CACHE_CREDENTIAL_MAX) {
        stats->misses++;
        return NULL;
    }
    hash = cache->hash(credential, cache->secret, sizeof(cache->secret));
    bucket = sg_cache_bucket_of(cache, hash);

    /* Two racing inserts of one credential can leave it in two slots, so
     * the scan continues past a match of another generation or expired. */
    for (unsigned way = 0; way < SG_CACHE_WAYS; way++) {
        const struct sg_cache_entry *entry =
            atomic_load_explicit(&bucket->slots[way], memory_order_acquire);

        if (!entry || !sg_cache_entry_has_credential(entry, hash, credential))
            continue;
        if (entry->generation != generation || now >= entry->valid_until)
            continue;
        sg_cache_mark_referenced(bucket, way);
        stats->hits++;
        return entry;
    }
    stats->misses++;
    return NULL;
}

static struct sg_cache_entry *sg_cache_entry_new(struct sg_cache *cache, struct sg_cache_hash hash,
                                                 struct sg_slice credential, uint64_t generation,
                                                 int64_t valid_until, enum sg_error error,
                                                 struct sg_slice value)
{
    size_t head = sizeof(struct sg_cache_entry) + credential.len;
    struct sg_cache_entry *entry = malloc(head + value.len);

    if (!entry)
        return NULL;
    entry->cache = cache;
    entry->size = head + value.len;

    entry->hash_low = hash.low;
    entry->hash_high = hash.high;
    entry->generation = generation;
    entry->valid_until = valid_until;
    entry->error = error;
    entry->credential_len = (uint32_t)credential.len;
    entry->value_len = value.len;
    if (credential.len)
        memcpy(entry->bytes, credential.ptr, credential.len);
    if (value.len)
        memcpy(entry->bytes + credential.len, value.ptr, value.len);
    return entry;
}

/*
 * Runs the CLOCK hand once around the bucket, clearing the reference
 * bits it passes, and returns the first slot whose bit was clear. When
 * every bit was set, all are cleared and the slot under the hand is the
 * victim, as a second turn of the hand would find.
 */
static unsigned sg_cache_clock_victim(struct sg_cache_bucket *bucket)
{
    unsigned hand = atomic_load_explicit(&bucket->hand, memory_order_relaxed);
    unsigned referenced = atomic_load_explicit(&bucket->referenced, memory_order_relaxed);
    unsigned passed = 0;
    unsigned victim = hand % SG_CACHE_WAYS;

    for (unsigned step = 0; step < SG_CACHE_WAYS; step++) {
        unsigned way = (hand + step) % SG_CACHE_WAYS;
        unsigned bit = 1u << way;

        if (!(referenced & bit)) {
            victim = way;
            break;
        }
        passed |= bit;
    }
    if (passed)
        atomic_fetch_and_explicit(&bucket->referenced, (unsigned char)~passed,
                                  memory_order_relaxed);
    atomic_store_explicit(&bucket->hand, (unsigned char)((victim + 1) % SG_CACHE_WAYS),
                          memory_order_relaxed);
    return victim;
}

/* The slot an insert takes, and what the scan saw in it. */
struct sg_cache_choice {
    unsigned way;
    struct sg_cache_entry *expected;
    bool evicts; /* expected is a live entry of another credential */
};

static struct sg_cache_choice sg_cache_choose_slot(struct sg_cache_bucket *bucket,
                                                   const struct sg_cache_entry *entry,
                                                   struct sg_cache_hash hash,
                                                   struct sg_slice credential)
{
    struct sg_cache_entry *seen[SG_CACHE_WAYS];
    int empty = -1;
    int stale = -1;
    struct sg_cache_choice choice = { 0, NULL, false };

    for (unsigned way = 0; way < SG_CACHE_WAYS; way++) {
        struct sg_cache_entry *current =
            atomic_load_explicit(&bucket->slots[way], memory_order_acquire);

        seen[way] = current;
        if (!current) {
            if (empty < 0)
                empty = (int)way;
            continue;
        }
        if (sg_cache_entry_has_credential(current, hash, credential)) {
            choice.way = way;
            choice.expected = current;
            return choice;
        }
        if (stale < 0 && current->generation != entry->generation)
            stale = (int)way;
    }

    if (empty >= 0) {
        choice.way = (unsigned)empty;
    } else if (stale >= 0) {
        choice.way = (unsigned)stale;
        choice.expected = seen[stale];
    } else {
        choice.way = sg_cache_clock_victim(bucket);
        choice.expected = seen[choice.way];
        choice.evicts = true;
    }
    return choice;
}

bool sg_cache_insert(struct sg_cache *cache, struct sg_slice credential, uint64_t generation,
                     int64_t valid_until, enum sg_error error, struct sg_slice value,
                     struct sg_cache_stats *stats)
{
    struct sg_cache_hash hash;
    struct sg_cache_entry *entry;
    struct sg_cache_bucket *bucket;
    struct sg_cache_choice choice;
    size_t size;

    if (credential.len > SG_CACHE_CREDENTIAL_MAX || value.len > SG_CACHE_VALUE_MAX)
        return false;

    /* Over the byte budget the insert is dropped, like one that loses its
     * slot to another writer: entries are as large as their credentials,
     * so without the budget large junk could pin far more memory than
     * the number of slots suggests. Displaced entries return their bytes
     * only after a grace period, so a burst of inserts can be dropped
     * until the frees catch up. */
    size = sizeof(struct sg_cache_entry) + credential.len + value.len;
    if (atomic_fetch_add_explicit(&cache->bytes_used, size, memory_order_relaxed) + size >
        cache->bytes_max) {
        atomic_fetch_sub_explicit(&cache->bytes_used, size, memory_order_relaxed);
        return true;
    }

    hash = cache->hash(credential, cache->secret, sizeof(cache->secret));
    entry = sg_cache_entry_new(cache, hash, credential, generation, valid_until, error, value);
    if (!entry) {
        atomic_fetch_sub_explicit(&cache->bytes_used, size, memory_order_relaxed);
        return false;
    }

    bucket = sg_cache_bucket_of(cache, hash);
    choice = sg_cache_choose_slot(bucket, entry, hash, credential);

    /* Release order makes the entry's fields visible with the pointer.
     * On failure another writer changed the slot after the scan. The new
     * entry was never visible to anyone, so it is freed at once. */
    if (!atomic_compare_exchange_strong_explicit(&bucket->slots[choice.way], &choice.expected,
                                                 entry, memory_order_release,
                                                 memory_order_relaxed)) {
        sg_cache_entry_release(entry);
        return true;
    }

    stats->inserts++;
    if (choice.expected) {
        if (choice.evicts)
            stats->evictions++;
        call_rcu(&choice.expected->rcu, sg_cache_entry_free_rcu);
    }
    return true;
}

enum sg_error sg_cache_entry_error(const struct sg_cache_entry *entry)
{
    return entry->error;
}

struct sg_slice sg_cache_entry_value(const struct sg_cache_entry *entry)
{
    return sg_slice_make(entry->bytes + entry->credential_len, entry->value_len);
}

int64_t sg_cache_entry_valid_until(const struct sg_cache_entry *entry)
{
    return entry->valid_until;
}
