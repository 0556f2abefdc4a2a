/*
 * Multi-threaded stress test of cache/verify_cache.c, meant to run under
 * ThreadSanitizer and AddressSanitizer as well as in a plain build.
 *
 * Four threads share a 64-entry cache and 512 credentials, so buckets
 * overflow and entries are replaced and evicted all the time. One thread
 * also moves the generation forward now and then. Every value encodes the
 * credential index, the generation and the error it was inserted with,
 * followed by a copy of the credential. A reader thus checks, byte for
 * byte, that a hit belongs to the credential and generation it requested.
 * Each thread also keeps its recent hits until its next quiescent state
 * and checks them again just before it, so an entry freed or changed
 * while a reader may still hold it shows up as a wrong value here, or as
 * a use-after-free under the sanitizers.
 *
 * Bounded: each thread stops after STRESS_SECONDS or STRESS_OPS_MAX
 * operations, whichever comes first.
 */
#include "tests/testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <urcu-qsbr.h>

#include "cache/verify_cache.h"

#define STRESS_THREADS 4
#define STRESS_SECONDS 2
#define STRESS_OPS_MAX 2000000
#define STRESS_CACHE_ENTRIES 64
#define STRESS_CREDENTIALS 512
#define STRESS_CREDENTIAL_MAX 96
/* Operations between two quiescent states of one thread. */
#define STRESS_QUIESCENT_EVERY 32
/* Operations of thread 0 between two generation changes. */
#define STRESS_GENERATION_EVERY 4096

/* The logical time of every lookup. Credentials whose index is a
 * multiple of 5 are inserted already expired and must never hit. */
#define STRESS_NOW 1000
#define STRESS_VALID_UNTIL 2000

struct credential {
    uint8_t bytes[STRESS_CREDENTIAL_MAX];
    size_t len;
};

/* The fixed-size head of every value. The credential bytes follow it. */
struct value_head {
    uint32_t index;
    uint32_t error;
    uint64_t generation;
};

/* A hit kept until the thread's next quiescent state. */
struct held_entry {
    const struct sg_cache_entry *entry;
    uint32_t index;
    uint64_t generation;
};

struct worker {
    pthread_t thread;
    unsigned id;
    uint64_t random_state;
    struct sg_cache_stats stats;
    uint64_t operations;
    struct held_entry held[STRESS_QUIESCENT_EVERY];
    size_t held_count;
};

static struct credential credentials[STRESS_CREDENTIALS];
static struct sg_cache *shared_cache;
static _Atomic uint64_t current_generation = 1;
static atomic_ulong failures;
static atomic_flag failure_recorded = ATOMIC_FLAG_INIT;
static char first_failure[256];

static void record_failure(const char *message, uint32_t index, uint64_t generation)
{
    atomic_fetch_add(&failures, 1);
    if (!atomic_flag_test_and_set(&failure_recorded))
        snprintf(first_failure, sizeof(first_failure), "%s (credential %u, generation %llu)",
                 message, (unsigned)index, (unsigned long long)generation);
}

/*
 * Builds credential i: "tok.NNNN." with NNNN = i / 2, then base64url-like
 * filler up to 24 to 87 bytes. Indexes 2k and 2k+1 have the same length
 * and differ only in their last byte, so only a full byte comparison
 * distinguishes them.
 */
static void make_credentials(void)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    for (uint32_t i = 0; i < STRESS_CREDENTIALS; i++) {
        struct credential *c = &credentials[i];
        uint32_t pair = i / 2;
        char prefix[16];
        int prefix_len = snprintf(prefix, sizeof(prefix), "tok.%04u.", (unsigned)pair);

        c->len = 24 + pair % 64;
        memcpy(c->bytes, prefix, (size_t)prefix_len);
        for (size_t k = (size_t)prefix_len; k < c->len; k++)
            c->bytes[k] = (uint8_t)alphabet[(pair * 31 + k * 7) % 64];
        c->bytes[c->len - 1] = (uint8_t)('0' + i % 2);
    }
}

static enum sg_error expected_error(uint32_t index, uint64_t generation)
{
    return (enum sg_error)((index + generation) % SG_ERROR_COUNT);
}

static int64_t expected_valid_until(uint32_t index)
{
    return index % 5 == 0 ? STRESS_NOW : STRESS_VALID_UNTIL;
}

static uint64_t next_random(struct worker *w)
{
    /* xorshift64 */
    uint64_t x = w->random_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w->random_state = x;
    return x;
}

static void insert_credential(struct worker *w, uint32_t index, uint64_t generation)
{
    const struct credential *c = &credentials[index];
    uint8_t value[sizeof(struct value_head) + STRESS_CREDENTIAL_MAX];
    struct value_head head = { index, (uint32_t)expected_error(index, generation), generation };

    memcpy(value, &head, sizeof(head));
    memcpy(value + sizeof(head), c->bytes, c->len);
    if (!sg_cache_insert(shared_cache, sg_slice_make(c->bytes, c->len), generation,
                         expected_valid_until(index), expected_error(index, generation),
                         sg_slice_make(value, sizeof(head) + c->len), &w->stats))
        record_failure("insert failed", index, generation);
}

/* Checks that `entry` is the verdict inserted for (index, generation). */
static void check_entry(const struct sg_cache_entry *entry, uint32_t index, uint64_t generation)
{
    const struct credential *c = &credentials[index];
    struct sg_slice value = sg_cache_entry_value(entry);
    struct value_head head;

    if (value.len != sizeof(head) + c->len) {
        record_failure("value length differs", index, generation);
        return;
    }
    memcpy(&head, value.ptr, sizeof(head));
    if (head.index != index)
        record_failure("hit returned another credential's value", index, generation);
    if (head.generation != generation)
        record_failure("hit returned another generation's value", index, generation);
    if (head.error != (uint32_t)expected_error(index, generation) ||
        sg_cache_entry_error(entry) != expected_error(index, generation))
        record_failure("error differs", index, generation);
    if (memcmp(value.ptr + sizeof(head), c->bytes, c->len) != 0)
        record_failure("stored credential bytes differ", index, generation);
    if (sg_cache_entry_valid_until(entry) != expected_valid_until(index) ||
        sg_cache_entry_valid_until(entry) <= STRESS_NOW)
        record_failure("valid_until differs or has passed", index, generation);
}

static void lookup_credential(struct worker *w, uint32_t index, uint64_t generation)
{
    const struct credential *c = &credentials[index];
    const struct sg_cache_entry *entry = sg_cache_lookup(
        shared_cache, sg_slice_make(c->bytes, c->len), generation, STRESS_NOW, &w->stats);

    if (!entry) {
        insert_credential(w, index, generation);
        return;
    }
    check_entry(entry, index, generation);
    if (w->held_count < STRESS_QUIESCENT_EVERY) {
        struct held_entry held = { entry, index, generation };
        w->held[w->held_count++] = held;
    }
}

/* Checks every held entry once more, then lets RCU free what it displaced. */
static void pass_quiescent_state(struct worker *w)
{
    for (size_t i = 0; i < w->held_count; i++)
        check_entry(w->held[i].entry, w->held[i].index, w->held[i].generation);
    w->held_count = 0;
    rcu_quiescent_state();
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    struct timespec start;

    clock_gettime(CLOCK_MONOTONIC, &start);
    rcu_register_thread();
    for (uint64_t op = 0; op < STRESS_OPS_MAX; op++) {
        uint64_t r = next_random(w);
        uint32_t index = (uint32_t)(r % STRESS_CREDENTIALS);
        uint64_t generation = atomic_load_explicit(&current_generation, memory_order_relaxed);

        /* One operation in four replaces the entry without looking first. */
        if ((r >> 32) % 4 == 0)
            insert_credential(w, index, generation);
        else
            lookup_credential(w, index, generation);

        if (w->id == 0 && op % STRESS_GENERATION_EVERY == STRESS_GENERATION_EVERY - 1)
            atomic_fetch_add_explicit(&current_generation, 1, memory_order_relaxed);
        if (op % STRESS_QUIESCENT_EVERY == STRESS_QUIESCENT_EVERY - 1)
            pass_quiescent_state(w);
        w->operations = op + 1;
        if (op % 1024 == 0 && seconds_since(&start) >= STRESS_SECONDS)
            break;
    }
    pass_quiescent_state(w);
    rcu_unregister_thread();
    return NULL;
}

static void test_concurrent_lookup_insert(void **state)
{
    (void)state;
    struct worker workers[STRESS_THREADS];
    struct sg_cache_stats total = { 0 };
    uint64_t operations = 0;

    make_credentials();
    shared_cache = sg_cache_new(STRESS_CACHE_ENTRIES);
    assert_non_null(shared_cache);

    memset(workers, 0, sizeof(workers));
    for (unsigned i = 0; i < STRESS_THREADS; i++) {
        workers[i].id = i;
        workers[i].random_state = 0x9e3779b97f4a7c15u * (i + 1);
        assert_int_equal(pthread_create(&workers[i].thread, NULL, run_worker, &workers[i]), 0);
    }
    for (unsigned i = 0; i < STRESS_THREADS; i++) {
        assert_int_equal(pthread_join(workers[i].thread, NULL), 0);
        total.hits += workers[i].stats.hits;
        total.misses += workers[i].stats.misses;
        total.inserts += workers[i].stats.inserts;
        total.evictions += workers[i].stats.evictions;
        operations += workers[i].operations;
    }
    sg_cache_free(shared_cache);

    print_message("stress: %llu operations, %llu hits, %llu misses, %llu inserts, "
                  "%llu evictions, final generation %llu\n",
                  (unsigned long long)operations, (unsigned long long)total.hits,
                  (unsigned long long)total.misses, (unsigned long long)total.inserts,
                  (unsigned long long)total.evictions,
                  (unsigned long long)atomic_load(&current_generation));
    if (atomic_load(&failures) != 0)
        print_error("first failure: %s\n", first_failure);
    assert_int_equal(atomic_load(&failures), 0);
    assert_true(total.hits > 0);
    assert_true(total.misses > 0);
    assert_true(total.inserts > 0);
    assert_true(total.evictions > 0);
    assert_true(atomic_load(&current_generation) > 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_lookup_insert),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
