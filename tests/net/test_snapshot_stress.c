/*
 * Multi-threaded stress test of trust snapshot publication
 * (net/trust_publisher.c) together with the shared verification cache
 * (net/verdict_cache.c, cache/verify_cache.c), meant to run under
 * ThreadSanitizer and AddressSanitizer as well as in a plain build.
 *
 * A writer thread rewrites the example.org bundle file, adding and
 * removing the key K on every write, and calls
 * sg_trust_publisher_reload(). A second publisher thread calls
 * sg_trust_publisher_reload() without changing anything, as SIGHUP does,
 * so it sometimes publishes the writer's change first. Before each write
 * the writer records in `key_present` whether the next generation
 * contains K. That record is stored before the file changes, so it is
 * visible before any reload can publish the generation.
 *
 * Reader threads act as workers. Each is registered with RCU and owns a
 * verifier and a worker index. In every loop turn it loads its snapshot
 * once and verifies a JWT signed by K several times, the way net/routes.c
 * does. That is a cache lookup under the snapshot's generation, else a
 * verification that is then cached, and the audience check either way.
 * Then it drops the snapshot and passes a quiescent state or goes offline
 * for a moment. The verdict must be valid exactly when the recorded
 * generation contains K, and unknown_key otherwise. A cached verdict of
 * one generation served for another, a snapshot that is published before
 * it is complete, or a snapshot freed while a reader still uses it fails
 * the test here or under a sanitizer.
 *
 * Bounded: the writer stops after STRESS_SECONDS or STRESS_WRITES_MAX
 * writes, the readers when the publishers have stopped, and a watchdog
 * alarm ends the process after STRESS_WATCHDOG_SECONDS.
 */
#include "tests/testutil.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "core/jwt_svid.h"
#include "core/verifier.h"
#include "net/trust_publisher.h"
#include "net/verdict_cache.h"
#include "tests/net/es256_test_keys.h"
#include "tests/net/urcu_tsan_model.h"

#define STRESS_READERS 3
#define STRESS_SECONDS 2
#define STRESS_WRITES_MAX 2000
#define STRESS_READER_ITERATIONS_MAX 100000000
/* Pause between two reloads of the SIGHUP-like thread, so it does not starve the writer. */
#define STRESS_RELOADER_PAUSE_NS 200000
#define STRESS_WATCHDOG_SECONDS 25
#define STRESS_CACHE_ENTRIES 1024
/* Requests a reader verifies with one snapshot, and turns between two offline pauses. */
#define TURN_REQUESTS 8
#define OFFLINE_EVERY 8

/* Generations are 1 + the writes published, so they stay below this. */
#define GENERATIONS_MAX (STRESS_WRITES_MAX + 2)

/* key_present values. */
enum key_state {
    KEY_UNRECORDED = 0,
    KEY_ABSENT = 1,
    KEY_PRESENT = 2,
};

#define TRUST_DOMAIN "example.org"
#define AUDIENCE "a"
/* exp is 2100-01-01T00:00:00Z, so the token never expires during the test. */
#define TOKEN_CLAIMS "{\"sub\":\"spiffe://example.org/w\",\"aud\":\"a\",\"exp\":4102444800}"

static struct sg_trust_publisher publisher;
static struct sg_cache *shared_cache;
static char bundle_path[128];
static struct test_es256_key base_key, key_k;
static char *token;

static _Atomic unsigned char key_present[GENERATIONS_MAX];
static atomic_bool publishing_done;

static atomic_ulong failures;
static atomic_flag failure_recorded = ATOMIC_FLAG_INIT;
static char first_failure[256];

struct reader {
    pthread_t thread;
    size_t index; /* the worker index whose snapshot this thread reads */
    struct sg_verifier *verifier;
    struct sg_verdict_cache verdicts;
    uint64_t iterations;
    uint64_t valid;
    uint64_t unknown_key;
    uint64_t cache_hits;
};

struct publisher_thread {
    pthread_t thread;
    uint64_t reloads;
    uint64_t published;
};

/* Counts a failure and keeps the message of the first one for the report. */
static void record_failure(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void record_failure(const char *format, ...)
{
    va_list arguments;

    atomic_fetch_add(&failures, 1);
    if (atomic_flag_test_and_set(&failure_recorded))
        return;
    va_start(arguments, format);
    vsnprintf(first_failure, sizeof(first_failure), format, arguments);
    va_end(arguments);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static bool write_bundle(bool with_k)
{
    const struct test_es256_key *keys[2] = { &base_key, &key_k };

    return test_write_bundle(bundle_path, keys, with_k ? 2 : 1);
}

/* ---- Publishers ----------------------------------------------------- */

static uint64_t publisher_generation(void)
{
    uint64_t generation;

    pthread_mutex_lock(&publisher.lock);
    generation = publisher.generation;
    pthread_mutex_unlock(&publisher.lock);
    return generation;
}

/*
 * Toggles K in the bundle file and reloads. Only this thread changes the
 * file. Every change is published by the time its reload returns, by this
 * reload or by the other publisher's when that one read the file first.
 * So the next publication contains exactly the bytes written here.
 */
static void *run_writer(void *argument)
{
    struct publisher_thread *self = argument;
    struct timespec start;
    bool with_k = false;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < STRESS_WRITES_MAX && seconds_since(&start) < STRESS_SECONDS; i++) {
        uint64_t next = publisher_generation() + 1;

        with_k = !with_k;
        if (next >= GENERATIONS_MAX) {
            record_failure("generation %llu is past the table", (unsigned long long)next);
            break;
        }
        atomic_store_explicit(&key_present[next], with_k ? KEY_PRESENT : KEY_ABSENT,
                              memory_order_release);
        if (!write_bundle(with_k)) {
            record_failure("writing %s failed", bundle_path);
            break;
        }
        self->published += sg_trust_publisher_reload(&publisher, "stress_write");
        self->reloads++;
    }
    atomic_store(&publishing_done, true);
    return NULL;
}

/* Reloads without changing anything, as a SIGHUP does, until the writer stops. */
static void *run_reloader(void *argument)
{
    struct publisher_thread *self = argument;
    struct timespec start;

    const struct timespec pause = { .tv_nsec = STRESS_RELOADER_PAUSE_NS };

    clock_gettime(CLOCK_MONOTONIC, &start);
    while (!atomic_load(&publishing_done) && seconds_since(&start) < STRESS_WATCHDOG_SECONDS) {
        self->published += sg_trust_publisher_reload(&publisher, "stress_sighup");
        self->reloads++;
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* ---- Readers -------------------------------------------------------- */

/* Verifies the token as net/routes.c does: from the cache, else verify and cache. */
static enum sg_error answer_token(struct reader *reader, const struct sg_trust_set *trust,
                                  int64_t now)
{
    const struct sg_slice audience = sg_slice_cstr(AUDIENCE);
    const struct sg_slice credential = sg_slice_cstr(token);
    const struct sg_cache_entry *entry = sg_verdict_cache_find(
        &reader->verdicts, SG_CREDENTIAL_JWT, credential, trust->verdict_generation, 0, now);
    struct sg_jwt_options options = { .now = now, .leeway = 0 };
    struct sg_jwt_svid svid;
    enum sg_error verdict;
    char *result_json;

    if (entry != NULL) {
        struct sg_slice json;
        char *owned;

        reader->cache_hits++;
        verdict = sg_verdict_cache_answer_jwt(entry, &audience, 1, &json, &owned);
        free(owned);
        return verdict;
    }

    verdict = sg_jwt_svid_verify(reader->verifier, trust, credential, &options, &svid);
    result_json = sg_jwt_svid_result_json(&svid);
    if (result_json != NULL)
        sg_verdict_cache_store_jwt(&reader->verdicts, credential, trust->verdict_generation,
                                   options.leeway, &svid, sg_slice_cstr(result_json));
    if (verdict == SG_OK)
        verdict = sg_jwt_svid_check_audience(&svid, &audience, 1);
    free(result_json);
    sg_jwt_svid_clear(&svid);
    return verdict;
}

static void check_verdict(struct reader *reader, uint64_t generation, enum sg_error verdict)
{
    unsigned char state = atomic_load_explicit(&key_present[generation], memory_order_acquire);

    if (state == KEY_UNRECORDED) {
        record_failure("reader %zu saw generation %llu, which the writer never recorded",
                       reader->index, (unsigned long long)generation);
    } else if (state == KEY_PRESENT && verdict != SG_OK) {
        record_failure("reader %zu: generation %llu holds K but the verdict is %s",
                       reader->index, (unsigned long long)generation, sg_error_name(verdict));
    } else if (state == KEY_ABSENT && verdict != SG_ERR_UNKNOWN_KEY) {
        record_failure("reader %zu: generation %llu lacks K but the verdict is %s",
                       reader->index, (unsigned long long)generation, sg_error_name(verdict));
    }
    reader->valid += verdict == SG_OK;
    reader->unknown_key += verdict == SG_ERR_UNKNOWN_KEY;
}

/*
 * One worker loop turn: loads the snapshot once, verifies TURN_REQUESTS
 * tokens with it and checks each verdict. The snapshot pointer does not
 * outlive this call, so the caller's quiescent state comes after its last
 * use.
 */
static bool run_turn(struct reader *reader)
{
    const struct sg_trust_set *trust = sg_trust_publisher_current(&publisher, reader->index);
    uint64_t generation = trust->generation;

    if (generation >= GENERATIONS_MAX) {
        record_failure("reader %zu saw generation %llu, past the table", reader->index,
                       (unsigned long long)generation);
        return false;
    }
    for (int i = 0; i < TURN_REQUESTS; i++) {
        check_verdict(reader, generation, answer_token(reader, trust, (int64_t)time(NULL)));
        reader->iterations++;
    }
    return true;
}

/*
 * Ends most turns with rcu_quiescent_state(). Every OFFLINE_EVERY turns
 * it goes offline and yields the CPU instead, as a worker does while it
 * waits in io_uring_enter(). Without those pauses three spinning readers
 * on a two-CPU machine hold each grace period for a scheduler time slice.
 */
static void *run_reader(void *argument)
{
    struct reader *reader = argument;

    rcu_register_thread();
    for (uint64_t turn = 1; !atomic_load(&publishing_done) &&
                            reader->iterations < STRESS_READER_ITERATIONS_MAX;
         turn++) {
        if (!run_turn(reader))
            break;
        if (turn % OFFLINE_EVERY == 0) {
            rcu_thread_offline();
            sched_yield();
            rcu_thread_online();
        } else {
            rcu_quiescent_state();
        }
    }
    rcu_unregister_thread();
    return NULL;
}

/* ---- The test ------------------------------------------------------- */

static void snapshot_readers_agree_with_publisher(void **state)
{
    char folder[] = "/tmp/svidgate-snapshot-stress-XXXXXX";
    struct sg_bundle_file file = { TRUST_DOMAIN, bundle_path };
    struct reader readers[STRESS_READERS];
    struct publisher_thread writer = { 0 }, reloader = { 0 };
    struct sg_status status;
    uint64_t valid = 0, unknown_key = 0, cache_hits = 0, iterations = 0;
    uint64_t generation;

    (void)state;
    assert_non_null(mkdtemp(folder));
    snprintf(bundle_path, sizeof(bundle_path), "%s/bundle.json", folder);
    assert_true(test_es256_key_generate(&base_key, "base"));
    assert_true(test_es256_key_generate(&key_k, "K"));
    token = test_es256_sign_jwt(&key_k, TOKEN_CLAIMS);
    assert_non_null(token);

    /* Generation 1 lacks K. */
    atomic_store(&key_present[1], KEY_ABSENT);
    assert_true(write_bundle(false));
    if (sg_trust_publisher_init(&publisher, &file, 1, STRESS_READERS, &status) != SG_OK)
        fail_msg("sg_trust_publisher_init failed: %s", status.message);
    shared_cache = sg_cache_new(STRESS_CACHE_ENTRIES);
    assert_non_null(shared_cache);

    for (size_t i = 0; i < STRESS_READERS; i++) {
        memset(&readers[i], 0, sizeof(readers[i]));
        readers[i].index = i;
        readers[i].verifier = sg_verifier_new();
        assert_non_null(readers[i].verifier);
        assert_true(sg_verdict_cache_init(&readers[i].verdicts, shared_cache, NULL));
    }
    for (size_t i = 0; i < STRESS_READERS; i++)
        assert_int_equal(pthread_create(&readers[i].thread, NULL, run_reader, &readers[i]), 0);
    assert_int_equal(pthread_create(&writer.thread, NULL, run_writer, &writer), 0);
    assert_int_equal(pthread_create(&reloader.thread, NULL, run_reloader, &reloader), 0);

    pthread_join(writer.thread, NULL);
    pthread_join(reloader.thread, NULL);
    for (size_t i = 0; i < STRESS_READERS; i++) {
        pthread_join(readers[i].thread, NULL);
        valid += readers[i].valid;
        unknown_key += readers[i].unknown_key;
        cache_hits += readers[i].cache_hits;
        iterations += readers[i].iterations;
        sg_verdict_cache_destroy(&readers[i].verdicts);
        sg_verifier_free(readers[i].verifier);
    }
    generation = publisher.generation;
    fprintf(stderr,
            "writes=%llu generations=%llu published_by_write=%llu published_by_sighup=%llu "
            "sighup_reloads=%llu reader_iterations=%llu valid=%llu unknown_key=%llu "
            "cache_hits=%llu\n",
            (unsigned long long)writer.reloads, (unsigned long long)generation,
            (unsigned long long)writer.published, (unsigned long long)reloader.published,
            (unsigned long long)reloader.reloads, (unsigned long long)iterations,
            (unsigned long long)valid, (unsigned long long)unknown_key,
            (unsigned long long)cache_hits);

    sg_cache_free(shared_cache);
    sg_trust_publisher_destroy(&publisher);
    unlink(bundle_path);
    rmdir(folder);
    free(token);
    test_es256_key_free(&base_key);
    test_es256_key_free(&key_k);

    if (atomic_load(&failures) != 0)
        fail_msg("%lu failures; the first: %s", atomic_load(&failures), first_failure);
    /* Every write changed the file, so every write published one generation. */
    assert_int_equal(generation, writer.reloads + 1);
    assert_int_equal(writer.published + reloader.published, writer.reloads);
    assert_true(writer.reloads >= 10);
    /* The test proves nothing unless both states and both cache paths were seen. */
    assert_true(valid > 0);
    assert_true(unknown_key > 0);
    assert_true(cache_hits > 0);
    assert_true(cache_hits < iterations);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapshot_readers_agree_with_publisher),
    };

    tsan_model_init();
    alarm(STRESS_WATCHDOG_SECONDS);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
