/*
 * Unit tests of cache/verify_cache.c on one thread. The thread is a
 * registered QSBR reader, as every caller of the cache must be.
 */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

#include "cache/verify_cache.h"
#include "cache/verify_cache_testing.h"

#define GENERATION 7
#define NOW 1000000
#define VALID_UNTIL (NOW + 60)

static struct sg_slice text(const char *str)
{
    return sg_slice_cstr(str);
}

static void insert_ok(struct sg_cache *cache, const char *credential, uint64_t generation,
                      const char *value, struct sg_cache_stats *stats)
{
    assert_true(sg_cache_insert(cache, text(credential), generation, VALID_UNTIL, SG_OK,
                                text(value), stats));
}

static void assert_value(const struct sg_cache_entry *entry, const char *expected)
{
    assert_non_null(entry);
    struct sg_slice value = sg_cache_entry_value(entry);

    assert_int_equal(value.len, strlen(expected));
    assert_memory_equal(value.ptr, expected, value.len);
}

/* Every credential hashes to the same 128-bit value and so to one bucket. */
static struct sg_cache_hash constant_hash(struct sg_slice credential, const uint8_t *secret,
                                          size_t secret_len)
{
    (void)credential;
    (void)secret;
    (void)secret_len;
    struct sg_cache_hash hash = { 0x0123456789abcdefu, 0xfedcba9876543210u };
    return hash;
}

static void test_hit_after_insert(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new(64);
    struct sg_cache_stats stats = { 0 };

    assert_non_null(cache);
    assert_null(sg_cache_lookup(cache, text("token-a"), GENERATION, NOW, &stats));
    insert_ok(cache, "token-a", GENERATION, "verdict-a", &stats);

    const struct sg_cache_entry *entry =
        sg_cache_lookup(cache, text("token-a"), GENERATION, NOW, &stats);
    assert_value(entry, "verdict-a");
    assert_int_equal(sg_cache_entry_valid_until(entry), VALID_UNTIL);
    assert_int_equal(stats.hits, 1);
    assert_int_equal(stats.misses, 1);
    assert_int_equal(stats.inserts, 1);
    assert_int_equal(stats.evictions, 0);
    sg_cache_free(cache);
}

static void test_miss_other_credential_same_length(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new(64);
    struct sg_cache_stats stats = { 0 };

    insert_ok(cache, "token-a", GENERATION, "verdict-a", &stats);
    assert_null(sg_cache_lookup(cache, text("token-b"), GENERATION, NOW, &stats));
    assert_null(sg_cache_lookup(cache, text("token-"), GENERATION, NOW, &stats));
    assert_null(sg_cache_lookup(cache, text("token-aa"), GENERATION, NOW, &stats));
    assert_int_equal(stats.hits, 0);
    assert_int_equal(stats.misses, 3);
    sg_cache_free(cache);
}

static void test_miss_other_generation(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new(64);
    struct sg_cache_stats stats = { 0 };

    insert_ok(cache, "token-a", GENERATION, "verdict-a", &stats);
    assert_null(sg_cache_lookup(cache, text("token-a"), GENERATION + 1, NOW, &stats));
    assert_null(sg_cache_lookup(cache, text("token-a"), GENERATION - 1, NOW, &stats));
    assert_non_null(sg_cache_lookup(cache, text("token-a"), GENERATION, NOW, &stats));
    sg_cache_free(cache);
}

static void test_miss_at_valid_until(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new(64);
    struct sg_cache_stats stats = { 0 };

    insert_ok(cache, "token-a", GENERATION, "verdict-a", &stats);
    assert_non_null(sg_cache_lookup(cache, text("token-a"), GENERATION, VALID_UNTIL - 1, &stats));
    assert_null(sg_cache_lookup(cache, text("token-a"), GENERATION, VALID_UNTIL, &stats));
    assert_null(sg_cache_lookup(cache, text("token-a"), GENERATION, VALID_UNTIL + 1, &stats));
    sg_cache_free(cache);
}

static void test_replace_same_credential(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new(8);
    struct sg_cache_stats stats = { 0 };

    insert_ok(cache, "token-a", GENERATION, "first", &stats);
    insert_ok(cache, "token-b", GENERATION, "other", &stats);
    insert_ok(cache, "token-a", GENERATION + 1, "second", &stats);

    assert_null(sg_cache_lookup(cache, text("token-a"), GENERATION, NOW, &stats));
    assert_value(sg_cache_lookup(cache, text("token-a"), GENERATION + 1, NOW, &stats), "second");
    assert_value(sg_cache_lookup(cache, text("token-b"), GENERATION, NOW, &stats), "other");
    assert_int_equal(stats.inserts, 3);
    assert_int_equal(stats.evictions, 0);

    /* The replaced entry freed its slot: six more credentials still fit
     * in the one bucket of eight without an eviction. */
    for (int i = 0; i < 6; i++) {
        char credential[32];
        snprintf(credential, sizeof(credential), "filler-%d", i);
        insert_ok(cache, credential, GENERATION + 1, "filler", &stats);
    }
    assert_int_equal(stats.evictions, 0);
    sg_cache_free(cache);
}

/* Fills the single bucket of an 8-entry cache with credential-0..7. */
static void fill_bucket(struct sg_cache *cache, struct sg_cache_stats *stats)
{
    for (int i = 0; i < 8; i++) {
        char credential[32];
        snprintf(credential, sizeof(credential), "credential-%d", i);
        insert_ok(cache, credential, GENERATION, credential, stats);
    }
}

static int count_hits(struct sg_cache *cache, int count, struct sg_cache_stats *stats)
{
    int hits = 0;

    for (int i = 0; i < count; i++) {
        char credential[32];
        snprintf(credential, sizeof(credential), "credential-%d", i);
        const struct sg_cache_entry *entry =
            sg_cache_lookup(cache, text(credential), GENERATION, NOW, stats);
        if (entry) {
            assert_value(entry, credential);
            hits++;
        }
    }
    return hits;
}

static void test_eviction_when_bucket_full(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new(8);
    struct sg_cache_stats stats = { 0 };

    assert_int_equal(sg_cache_capacity(cache), 8);
    fill_bucket(cache, &stats);
    assert_int_equal(stats.evictions, 0);
    assert_int_equal(count_hits(cache, 8, &stats), 8);

    insert_ok(cache, "credential-8", GENERATION, "credential-8", &stats);
    assert_int_equal(stats.inserts, 9);
    assert_int_equal(stats.evictions, 1);
    assert_int_equal(count_hits(cache, 9, &stats), 8);
    assert_non_null(sg_cache_lookup(cache, text("credential-8"), GENERATION, NOW, &stats));
    sg_cache_free(cache);
}

static void test_clock_evicts_unreferenced(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new(8);
    struct sg_cache_stats stats = { 0 };

    fill_bucket(cache, &stats);
    /* Hit every entry but credential-5, so only its reference bit is clear. */
    for (int i = 0; i < 8; i++) {
        char credential[32];
        snprintf(credential, sizeof(credential), "credential-%d", i);
        if (i != 5)
            assert_non_null(sg_cache_lookup(cache, text(credential), GENERATION, NOW, &stats));
    }

    insert_ok(cache, "newcomer", GENERATION, "newcomer", &stats);
    assert_int_equal(stats.evictions, 1);
    assert_null(sg_cache_lookup(cache, text("credential-5"), GENERATION, NOW, &stats));
    assert_int_equal(count_hits(cache, 8, &stats), 7);
    assert_value(sg_cache_lookup(cache, text("newcomer"), GENERATION, NOW, &stats), "newcomer");
    sg_cache_free(cache);
}

static void test_other_generation_replaced_first(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new(8);
    struct sg_cache_stats stats = { 0 };

    fill_bucket(cache, &stats);
    insert_ok(cache, "next-generation", GENERATION + 1, "next", &stats);
    assert_int_equal(stats.evictions, 0);
    assert_int_equal(count_hits(cache, 8, &stats), 7);
    assert_value(sg_cache_lookup(cache, text("next-generation"), GENERATION + 1, NOW, &stats),
                 "next");
    sg_cache_free(cache);
}

static void test_hash_collision_needs_byte_match(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new_with_hash(8, constant_hash);
    struct sg_cache_stats stats = { 0 };
    const char *credentials[] = { "aaaa", "aaab", "baaa", "aaa", "aaaaa", "", "zzzz", "aaac" };

    assert_non_null(cache);
    for (size_t i = 0; i < 8; i++) {
        char value[16];
        snprintf(value, sizeof(value), "value-%zu", i);
        insert_ok(cache, credentials[i], GENERATION, value, &stats);
    }
    assert_int_equal(stats.evictions, 0);

    for (size_t i = 0; i < 8; i++) {
        char value[16];
        snprintf(value, sizeof(value), "value-%zu", i);
        assert_value(sg_cache_lookup(cache, text(credentials[i]), GENERATION, NOW, &stats), value);
    }
    assert_null(sg_cache_lookup(cache, text("aaad"), GENERATION, NOW, &stats));
    assert_null(sg_cache_lookup(cache, text("aa"), GENERATION, NOW, &stats));
    assert_null(sg_cache_lookup(cache, text("aaaaaa"), GENERATION, NOW, &stats));
    sg_cache_free(cache);
}

static void test_distinct_credentials_never_alias(void **state)
{
    (void)state;
    enum { COUNT = 2000 };
    struct sg_cache *cache = sg_cache_new(4 * COUNT);
    struct sg_cache_stats stats = { 0 };
    int hits = 0;

    for (int i = 0; i < COUNT; i++) {
        char credential[32];
        snprintf(credential, sizeof(credential), "eyJ.%08d.sig", i);
        insert_ok(cache, credential, GENERATION, credential, &stats);
    }
    for (int i = 0; i < COUNT; i++) {
        char credential[32];
        snprintf(credential, sizeof(credential), "eyJ.%08d.sig", i);
        const struct sg_cache_entry *entry =
            sg_cache_lookup(cache, text(credential), GENERATION, NOW, &stats);
        if (entry) {
            assert_value(entry, credential);
            hits++;
        }
    }
    /* Buckets fill unevenly, so a few may have been evicted, never most. */
    assert_true(hits > COUNT * 9 / 10);
    assert_int_equal(hits + (int)stats.evictions, COUNT);
    sg_cache_free(cache);
}

static void test_value_and_error_round_trip(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new(64);
    struct sg_cache_stats stats = { 0 };
    const uint8_t binary[] = { 0x00, 0xff, 0x00, 0x7f, 0x80 };

    assert_true(sg_cache_insert(cache, text("bad"), GENERATION, VALID_UNTIL, SG_ERR_BAD_SIGNATURE,
                                sg_slice_make(binary, sizeof(binary)), &stats));
    assert_true(sg_cache_insert(cache, text("empty"), GENERATION, VALID_UNTIL,
                                SG_ERR_UNKNOWN_TRUST_DOMAIN, sg_slice_make(NULL, 0), &stats));

    const struct sg_cache_entry *bad = sg_cache_lookup(cache, text("bad"), GENERATION, NOW, &stats);
    assert_non_null(bad);
    assert_int_equal(sg_cache_entry_error(bad), SG_ERR_BAD_SIGNATURE);
    assert_int_equal(sg_cache_entry_value(bad).len, sizeof(binary));
    assert_memory_equal(sg_cache_entry_value(bad).ptr, binary, sizeof(binary));

    const struct sg_cache_entry *empty =
        sg_cache_lookup(cache, text("empty"), GENERATION, NOW, &stats);
    assert_non_null(empty);
    assert_int_equal(sg_cache_entry_error(empty), SG_ERR_UNKNOWN_TRUST_DOMAIN);
    assert_int_equal(sg_cache_entry_value(empty).len, 0);
    sg_cache_free(cache);
}

static void test_credential_length_limit(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new(64);
    struct sg_cache_stats stats = { 0 };
    uint8_t *bytes = malloc(SG_CACHE_CREDENTIAL_MAX + 1);

    assert_non_null(bytes);
    memset(bytes, 'x', SG_CACHE_CREDENTIAL_MAX + 1);
    struct sg_slice at_limit = sg_slice_make(bytes, SG_CACHE_CREDENTIAL_MAX);
    struct sg_slice past_limit = sg_slice_make(bytes, SG_CACHE_CREDENTIAL_MAX + 1);

    assert_true(
        sg_cache_insert(cache, at_limit, GENERATION, VALID_UNTIL, SG_OK, text("v"), &stats));
    assert_non_null(sg_cache_lookup(cache, at_limit, GENERATION, NOW, &stats));

    assert_false(
        sg_cache_insert(cache, past_limit, GENERATION, VALID_UNTIL, SG_OK, text("v"), &stats));
    assert_null(sg_cache_lookup(cache, past_limit, GENERATION, NOW, &stats));
    assert_int_equal(stats.inserts, 1);
    free(bytes);
    sg_cache_free(cache);
}

/* An entry that would take the cache over its byte budget is dropped, not stored. */
static void test_byte_budget_drops_large_entry(void **state)
{
    (void)state;
    struct sg_cache *cache = sg_cache_new(8);
    struct sg_cache_stats stats = { 0 };
    size_t budget = sg_cache_capacity(cache) * SG_CACHE_ENTRY_BYTES_BUDGET;
    uint8_t *bytes = malloc(budget + 1);

    assert_non_null(bytes);
    memset(bytes, 'y', budget + 1);
    struct sg_slice too_large = sg_slice_make(bytes, budget);

    assert_true(
        sg_cache_insert(cache, too_large, GENERATION, VALID_UNTIL, SG_OK, text("v"), &stats));
    assert_null(sg_cache_lookup(cache, too_large, GENERATION, NOW, &stats));
    assert_int_equal(stats.inserts, 0);

    assert_int_equal(stats.inserts, 0);

    /* Small, distinct entries within the budget are still stored. */
    for (size_t i = 0; i < 4; i++) {
        struct sg_slice small = sg_slice_make(bytes + i * 100, 100);

        bytes[i * 100] = (uint8_t)('a' + i);
        assert_true(sg_cache_insert(cache, small, GENERATION, VALID_UNTIL, SG_OK, text("v"),
                                    &stats));
        assert_non_null(sg_cache_lookup(cache, small, GENERATION, NOW, &stats));
    }
    free(bytes);
    sg_cache_free(cache);
}

static void test_capacity_rounding(void **state)
{
    (void)state;
    const struct {
        size_t requested;
        size_t capacity;
    } cases[] = {
        { 0, 8 },    { 1, 8 },     { 8, 8 },       { 9, 16 },     { 16, 16 },
        { 17, 32 },  { 100, 128 }, { 1000, 1024 }, { 1024, 1024 }, { 1025, 2048 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sg_cache *cache = sg_cache_new(cases[i].requested);
        assert_non_null(cache);
        assert_int_equal(sg_cache_capacity(cache), cases[i].capacity);
        sg_cache_free(cache);
    }
}

static void test_capacity_too_large(void **state)
{
    (void)state;
    assert_null(sg_cache_new(SIZE_MAX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_after_insert),
        cmocka_unit_test(test_miss_other_credential_same_length),
        cmocka_unit_test(test_miss_other_generation),
        cmocka_unit_test(test_miss_at_valid_until),
        cmocka_unit_test(test_replace_same_credential),
        cmocka_unit_test(test_eviction_when_bucket_full),
        cmocka_unit_test(test_clock_evicts_unreferenced),
        cmocka_unit_test(test_other_generation_replaced_first),
        cmocka_unit_test(test_hash_collision_needs_byte_match),
        cmocka_unit_test(test_distinct_credentials_never_alias),
        cmocka_unit_test(test_value_and_error_round_trip),
        cmocka_unit_test(test_credential_length_limit),
        cmocka_unit_test(test_byte_budget_drops_large_entry),
        cmocka_unit_test(test_capacity_rounding),
        cmocka_unit_test(test_capacity_too_large),
    };

    rcu_register_thread();
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rcu_unregister_thread();
    return failed;
}
