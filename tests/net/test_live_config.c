/*
 * Tests of net/live_config.c: ownership of what a configuration is built
 * from, and a multi-threaded stress test of its publication, meant to run
 * under ThreadSanitizer and AddressSanitizer as well as in a plain build.
 *
 * In the stress test a publisher thread publishes configurations whose
 * leeway is their sequence number and whose audience and only allow rule
 * are derived from it, as SIGHUP does. Reader threads act as workers:
 * registered with RCU, each loads the current configuration several
 * times per loop turn, checks that the three fields belong together and
 * that the sequence never goes back, then passes a quiescent state. A
 * configuration published before it is complete, or freed while a reader
 * still uses it, fails here or under a sanitizer.
 *
 * Bounded: the publisher stops after STRESS_PUBLICATIONS_MAX
 * publications or STRESS_SECONDS, the readers when it has stopped, and a
 * watchdog alarm ends the process after STRESS_WATCHDOG_SECONDS.
 */
#include "tests/testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "net/live_config.h"
#include "tests/net/urcu_tsan_model.h"

#define STRESS_READERS 3
#define STRESS_SECONDS 2
#define STRESS_PUBLICATIONS_MAX 5000
#define STRESS_WATCHDOG_SECONDS 25
#define TURN_LOADS 8

static struct sg_live_config_slot slot;
static atomic_bool publishing_done;
static atomic_ulong failures;

/* Builds configuration `sequence`: leeway = sequence, audience "aud-N", rule "aud-N ID". */
static struct sg_live_config *make_config(unsigned long sequence)
{
    char audience[32];
    char rule[96];
    struct sg_policy policy;
    struct sg_status status;
    struct sg_slice audience_slice;
    struct sg_live_config *config;

    snprintf(audience, sizeof(audience), "aud-%lu", sequence);
    snprintf(rule, sizeof(rule), "%s spiffe://a.test/w%lu", audience, sequence);
    sg_policy_init(&policy);
    if (sg_policy_add_rule(&policy, sg_slice_cstr(rule), &status) != SG_OK)
        return NULL;
    audience_slice = sg_slice_cstr(audience);
    config = sg_live_config_new(&policy, sequence % 2 == 0, &audience_slice, 1, (int64_t)sequence);
    sg_policy_clear(&policy);
    return config;
}

/* Checks that a configuration's fields were all built for its leeway. */
static bool config_consistent(const struct sg_live_config *config)
{
    char audience[32];
    int len = snprintf(audience, sizeof(audience), "aud-%lld", (long long)config->leeway);
    const struct sg_policy_rule *rule = &config->policy.rules[0];

    return config->audience_count == 1 && config->policy.rule_count == 1 &&
           sg_slice_eq(config->audiences[0], sg_slice_make(audience, (size_t)len)) &&
           sg_slice_eq(rule->audience, config->audiences[0]) &&
           config->dry_run == (config->leeway % 2 == 0);
}

static void *publish(void *arg)
{
    struct timespec start;
    struct timespec now;
    unsigned long sequence = 1;

    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        struct sg_live_config *config = make_config(++sequence);

        if (config == NULL) {
            atomic_fetch_add(&failures, 1);
            break;
        }
        sg_live_config_publish(&slot, config);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (sequence < STRESS_PUBLICATIONS_MAX && now.tv_sec - start.tv_sec < STRESS_SECONDS);
    atomic_store(&publishing_done, true);
    return NULL;
}

static void *read_configs(void *arg)
{
    int64_t last = 0;

    (void)arg;
    rcu_register_thread();
    while (!atomic_load(&publishing_done)) {
        for (int i = 0; i < TURN_LOADS; i++) {
            const struct sg_live_config *config = sg_live_config_current(&slot);

            if (!config_consistent(config) || config->leeway < last)
                atomic_fetch_add(&failures, 1);
            last = config->leeway;
        }
        rcu_quiescent_state();
    }
    rcu_unregister_thread();
    return NULL;
}

static void live_config_readers_see_whole_configs(void **state)
{
    pthread_t publisher;
    pthread_t readers[STRESS_READERS];

    (void)state;
    sg_live_config_slot_init(&slot, make_config(1));
    assert_non_null(slot.current);
    for (size_t i = 0; i < STRESS_READERS; i++)
        assert_int_equal(pthread_create(&readers[i], NULL, read_configs, NULL), 0);
    assert_int_equal(pthread_create(&publisher, NULL, publish, NULL), 0);

    pthread_join(publisher, NULL);
    for (size_t i = 0; i < STRESS_READERS; i++)
        pthread_join(readers[i], NULL);
    assert_int_equal(atomic_load(&failures), 0);
    sg_live_config_slot_destroy(&slot);
}

static void live_config_owns_its_values(void **state)
{
    char audience[] = "gateway";
    struct sg_slice audience_slice = sg_slice_cstr(audience);
    struct sg_policy policy;
    struct sg_status status;
    struct sg_live_config *config;

    (void)state;
    sg_policy_init(&policy);
    assert_int_equal(sg_policy_add_rule(&policy, sg_slice_cstr("* spiffe://a.test/*"), &status),
                     SG_OK);
    config = sg_live_config_new(&policy, true, &audience_slice, 1, 7);
    assert_non_null(config);

    /* The policy moved into the configuration, and the audience was copied. */
    assert_int_equal(policy.rule_count, 0);
    assert_int_equal(config->policy.rule_count, 1);
    audience[0] = 'X';
    assert_true(sg_slice_eq_cstr(config->audiences[0], "gateway"));
    assert_true(config->dry_run);
    assert_int_equal(config->leeway, 7);
    sg_live_config_free(config);
}

static void live_config_without_audiences(void **state)
{
    struct sg_policy policy;
    struct sg_live_config *config;

    (void)state;
    sg_policy_init(&policy);
    config = sg_live_config_new(&policy, false, NULL, 0, 30);
    assert_non_null(config);
    assert_int_equal(config->audience_count, 0);
    assert_int_equal(config->policy.rule_count, 0);
    sg_live_config_free(config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(live_config_owns_its_values),
        cmocka_unit_test(live_config_without_audiences),
        cmocka_unit_test(live_config_readers_see_whole_configs),
    };

    tsan_model_init();
    alarm(STRESS_WATCHDOG_SECONDS);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
