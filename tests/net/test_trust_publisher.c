/*
 * Tests of net/trust_publisher.c on one thread: the snapshot every worker
 * gets at start-up, what a reload publishes and what it keeps, and the
 * per-file status that GET /v1/bundles reports.
 *
 * The bundle files live in a fresh temporary folder and contain P-256
 * keys generated for each test. This thread never registers with RCU, so
 * sg_trust_publisher_reload()'s grace period has no reader to wait for.
 * A snapshot pointer is read again after every reload, because the reload
 * frees the sets it replaced.
 */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "net/trust_publisher.h"
#include "tests/net/es256_test_keys.h"

#define WORKERS 3
#define MAIN_DOMAIN "example.org"
#define OTHER_DOMAIN "other.test"

struct fixture {
    char folder[64];
    char main_path[128];
    char other_path[128];
    struct sg_bundle_file files[2];
    struct test_es256_key key_a, key_b, key_c;
    struct sg_trust_publisher publisher;
    bool publisher_ready;
};

static void write_bundle(const char *path, const struct test_es256_key *first,
                         const struct test_es256_key *second)
{
    const struct test_es256_key *keys[2] = { first, second };

    assert_true(test_write_bundle(path, keys, second == NULL ? 1 : 2));
}

static void write_text(const char *path, const char *text)
{
    assert_true(test_write_file_atomically(path, text, strlen(text)));
}

/* Writes example.org = {A} and other.test = {C} without starting the publisher. */
static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));

    assert_non_null(fixture);
    snprintf(fixture->folder, sizeof(fixture->folder), "/tmp/svidgate-publisher-XXXXXX");
    assert_non_null(mkdtemp(fixture->folder));
    snprintf(fixture->main_path, sizeof(fixture->main_path), "%s/main.json", fixture->folder);
    snprintf(fixture->other_path, sizeof(fixture->other_path), "%s/other.json", fixture->folder);
    fixture->files[0] = (struct sg_bundle_file){ MAIN_DOMAIN, fixture->main_path };
    fixture->files[1] = (struct sg_bundle_file){ OTHER_DOMAIN, fixture->other_path };

    assert_true(test_es256_key_generate(&fixture->key_a, "A"));
    assert_true(test_es256_key_generate(&fixture->key_b, "B"));
    assert_true(test_es256_key_generate(&fixture->key_c, "C"));
    write_bundle(fixture->main_path, &fixture->key_a, NULL);
    write_bundle(fixture->other_path, &fixture->key_c, NULL);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    char path[160];

    if (fixture->publisher_ready)
        sg_trust_publisher_destroy(&fixture->publisher);
    test_es256_key_free(&fixture->key_a);
    test_es256_key_free(&fixture->key_b);
    test_es256_key_free(&fixture->key_c);
    unlink(fixture->main_path);
    unlink(fixture->other_path);
    snprintf(path, sizeof(path), "%s.tmp", fixture->main_path);
    unlink(path);
    snprintf(path, sizeof(path), "%s.tmp", fixture->other_path);
    unlink(path);
    rmdir(fixture->folder);
    free(fixture);
    return 0;
}

static void start_publisher(struct fixture *fixture, size_t file_count)
{
    struct sg_status status;

    fixture->publisher_ready = true;
    if (sg_trust_publisher_init(&fixture->publisher, fixture->files, file_count, WORKERS,
                                &status) != SG_OK)
        fail_msg("sg_trust_publisher_init failed: %s", status.message);
}

static const struct sg_trust_set *snapshot(struct fixture *fixture, size_t worker)
{
    return sg_trust_publisher_current(&fixture->publisher, worker);
}

/* Returns worker `worker`'s key `kid` of `trust_domain`, or NULL. */
static const struct sg_jwk *find_key(struct fixture *fixture, size_t worker,
                                     const char *trust_domain, const char *kid)
{
    const struct sg_bundle *bundle =
        sg_trust_set_find(snapshot(fixture, worker), sg_slice_cstr(trust_domain));

    return bundle == NULL ? NULL : sg_bundle_find_jwt_key(bundle, sg_slice_cstr(kid));
}

static void assert_every_generation(struct fixture *fixture, uint64_t generation)
{
    for (size_t w = 0; w < WORKERS; w++) {
        assert_non_null(snapshot(fixture, w));
        assert_int_equal(snapshot(fixture, w)->generation, generation);
    }
    assert_int_equal(fixture->publisher.generation, generation);
}

/* ---- Start-up ------------------------------------------------------- */

static void init_publishes_generation_one(void **state)
{
    struct fixture *fixture = *state;

    start_publisher(fixture, 2);

    assert_every_generation(fixture, 1);
    for (size_t w = 0; w < WORKERS; w++) {
        assert_int_equal(snapshot(fixture, w)->count, 2);
        assert_non_null(find_key(fixture, w, MAIN_DOMAIN, "A"));
        assert_non_null(find_key(fixture, w, OTHER_DOMAIN, "C"));
        assert_null(find_key(fixture, w, MAIN_DOMAIN, "C"));
    }
    assert_int_equal(fixture->publisher.reloads, 0);
    assert_int_equal(fixture->publisher.reload_errors, 0);
}

static void init_worker_sets_distinct(void **state)
{
    struct fixture *fixture = *state;

    start_publisher(fixture, 1);

    for (size_t w = 0; w < WORKERS; w++) {
        for (size_t other = w + 1; other < WORKERS; other++) {
            const struct sg_jwk *mine = find_key(fixture, w, MAIN_DOMAIN, "A");
            const struct sg_jwk *theirs = find_key(fixture, other, MAIN_DOMAIN, "A");

            assert_ptr_not_equal(snapshot(fixture, w), snapshot(fixture, other));
            assert_ptr_not_equal(snapshot(fixture, w)->bundles[0],
                                 snapshot(fixture, other)->bundles[0]);
            assert_ptr_not_equal(snapshot(fixture, w)->bundles[0]->x509_store,
                                 snapshot(fixture, other)->bundles[0]->x509_store);
            assert_non_null(mine);
            assert_non_null(theirs);
            assert_ptr_not_equal(mine->pkey, theirs->pkey);
            assert_int_equal(EVP_PKEY_eq(mine->pkey, theirs->pkey), 1);
        }
    }
}

static void init_records_status_times(void **state)
{
    struct fixture *fixture = *state;
    int64_t before = (int64_t)time(NULL);

    start_publisher(fixture, 2);

    int64_t after = (int64_t)time(NULL);
    for (size_t i = 0; i < 2; i++) {
        const struct sg_bundle_file_status *status = &fixture->publisher.status[i];

        assert_true(status->last_success >= before);
        assert_true(status->last_success <= after);
        assert_int_equal(status->last_attempt, status->last_success);
        assert_string_equal(status->last_error, "");
    }
}

static void init_bad_file_fails(void **state)
{
    struct fixture *fixture = *state;
    struct sg_status status;

    write_text(fixture->other_path, "{\"keys\": [");
    fixture->publisher_ready = true;
    assert_int_equal(sg_trust_publisher_init(&fixture->publisher, fixture->files, 2, WORKERS,
                                             &status),
                     SG_ERR_MALFORMED);
    assert_non_null(strstr(status.message, fixture->other_path));
    assert_non_null(strstr(status.message, OTHER_DOMAIN));
    /* teardown() destroys the half-built publisher, as `serve` does. */
}

static void init_missing_file_fails(void **state)
{
    struct fixture *fixture = *state;
    struct sg_status status;

    assert_int_equal(unlink(fixture->main_path), 0);
    fixture->publisher_ready = true;
    assert_int_equal(sg_trust_publisher_init(&fixture->publisher, fixture->files, 1, WORKERS,
                                             &status),
                     SG_ERR_MALFORMED);
    assert_non_null(strstr(status.message, fixture->main_path));
}

/* ---- Reload --------------------------------------------------------- */

static void reload_unchanged_publishes_nothing(void **state)
{
    struct fixture *fixture = *state;
    const struct sg_trust_set *before[WORKERS];

    start_publisher(fixture, 2);
    for (size_t w = 0; w < WORKERS; w++)
        before[w] = snapshot(fixture, w);

    assert_false(sg_trust_publisher_reload(&fixture->publisher, "test"));

    assert_every_generation(fixture, 1);
    for (size_t w = 0; w < WORKERS; w++)
        assert_ptr_equal(snapshot(fixture, w), before[w]);
    assert_int_equal(fixture->publisher.reloads, 0);
}

static void reload_same_bytes_rewritten_publishes_nothing(void **state)
{
    struct fixture *fixture = *state;
    size_t len;
    char *text = sg_test_read_file(fixture->main_path, &len);

    start_publisher(fixture, 2);

    /* A new inode and modification time, the same bytes. */
    assert_true(test_write_file_atomically(fixture->main_path, text, len));
    free(text);
    assert_false(sg_trust_publisher_reload(&fixture->publisher, "test"));

    assert_every_generation(fixture, 1);
    assert_int_equal(fixture->publisher.reloads, 0);
}

/* Writes example.org = {key} with the given spiffe_sequence and refresh hint. */
static void write_sequenced(struct fixture *fixture, const struct test_es256_key *key,
                            int sequence, int hint)
{
    const struct test_es256_key *keys[1] = { key };
    json_t *root;
    char *text;

    assert_true(test_write_bundle(fixture->main_path, keys, 1));
    root = json_load_file(fixture->main_path, 0, NULL);
    assert_true(json_is_object(root));
    assert_int_equal(json_object_set_new(root, "spiffe_sequence", json_integer(sequence)), 0);
    assert_int_equal(json_object_set_new(root, "spiffe_refresh_hint", json_integer(hint)), 0);
    text = json_dumps(root, JSON_COMPACT);
    assert_non_null(text);
    write_text(fixture->main_path, text);
    free(text);
    json_decref(root);
}

/* A new sequence or hint alone publishes, but keeps cached verdicts valid. */
static void reload_sequence_keeps_verdict_generation(void **state)
{
    struct fixture *fixture = *state;

    write_sequenced(fixture, &fixture->key_a, 1, 300);
    start_publisher(fixture, 2);
    assert_int_equal(snapshot(fixture, 0)->verdict_generation, 1);

    write_sequenced(fixture, &fixture->key_a, 2, 60);
    assert_true(sg_trust_publisher_reload(&fixture->publisher, "test"));
    assert_every_generation(fixture, 2);
    for (size_t w = 0; w < WORKERS; w++)
        assert_int_equal(snapshot(fixture, w)->verdict_generation, 1);

    /* A key change moves the verdict generation to the new generation. */
    write_sequenced(fixture, &fixture->key_b, 3, 60);
    assert_true(sg_trust_publisher_reload(&fixture->publisher, "test"));
    assert_every_generation(fixture, 3);
    for (size_t w = 0; w < WORKERS; w++)
        assert_int_equal(snapshot(fixture, w)->verdict_generation, 3);

    /* So does a change in another trust domain's keys. */
    write_bundle(fixture->other_path, &fixture->key_a, NULL);
    assert_true(sg_trust_publisher_reload(&fixture->publisher, "test"));
    for (size_t w = 0; w < WORKERS; w++)
        assert_int_equal(snapshot(fixture, w)->verdict_generation, 4);
}

static void reload_change_bumps_every_worker(void **state)
{
    struct fixture *fixture = *state;

    start_publisher(fixture, 2);
    write_bundle(fixture->main_path, &fixture->key_a, &fixture->key_b);

    assert_true(sg_trust_publisher_reload(&fixture->publisher, "test"));

    assert_every_generation(fixture, 2);
    for (size_t w = 0; w < WORKERS; w++) {
        assert_non_null(find_key(fixture, w, MAIN_DOMAIN, "A"));
        assert_non_null(find_key(fixture, w, MAIN_DOMAIN, "B"));
        assert_non_null(find_key(fixture, w, OTHER_DOMAIN, "C"));
    }
    assert_int_equal(fixture->publisher.reloads, 1);

    /* Removing a key publishes again, and the key is gone for every worker. */
    write_bundle(fixture->main_path, &fixture->key_b, NULL);
    assert_true(sg_trust_publisher_reload(&fixture->publisher, "test"));

    assert_every_generation(fixture, 3);
    for (size_t w = 0; w < WORKERS; w++) {
        assert_null(find_key(fixture, w, MAIN_DOMAIN, "A"));
        assert_non_null(find_key(fixture, w, MAIN_DOMAIN, "B"));
    }
    assert_int_equal(fixture->publisher.reloads, 2);
}

static void reload_change_distinct_worker_keys(void **state)
{
    struct fixture *fixture = *state;

    start_publisher(fixture, 1);
    write_bundle(fixture->main_path, &fixture->key_b, NULL);
    assert_true(sg_trust_publisher_reload(&fixture->publisher, "test"));

    for (size_t w = 0; w + 1 < WORKERS; w++) {
        assert_ptr_not_equal(snapshot(fixture, w), snapshot(fixture, w + 1));
        assert_ptr_not_equal(find_key(fixture, w, MAIN_DOMAIN, "B")->pkey,
                             find_key(fixture, w + 1, MAIN_DOMAIN, "B")->pkey);
    }
}

static void reload_bad_json_keeps_bundle(void **state)
{
    struct fixture *fixture = *state;
    struct sg_bundle_file_status *status;
    int64_t before;

    start_publisher(fixture, 2);
    status = &fixture->publisher.status[0];
    /* Marks the start-up load as long ago, so the new attempt's time differs from it. */
    status->last_success = status->last_attempt = 1;
    write_text(fixture->main_path, "{\"keys\": [ this is not JSON");
    before = (int64_t)time(NULL);

    assert_false(sg_trust_publisher_reload(&fixture->publisher, "test"));

    assert_every_generation(fixture, 1);
    for (size_t w = 0; w < WORKERS; w++)
        assert_non_null(find_key(fixture, w, MAIN_DOMAIN, "A"));
    assert_int_equal(fixture->publisher.reload_errors, 1);
    assert_int_equal(fixture->publisher.reloads, 0);
    assert_string_not_equal(status->last_error, "");
    assert_int_equal(status->last_success, 1);
    assert_true(status->last_attempt >= before);
    assert_string_equal(fixture->publisher.status[1].last_error, "");
}

static void reload_missing_file_keeps_bundle(void **state)
{
    struct fixture *fixture = *state;

    start_publisher(fixture, 1);
    assert_int_equal(unlink(fixture->main_path), 0);

    assert_false(sg_trust_publisher_reload(&fixture->publisher, "test"));

    assert_every_generation(fixture, 1);
    assert_non_null(find_key(fixture, 0, MAIN_DOMAIN, "A"));
    assert_non_null(strstr(fixture->publisher.status[0].last_error, fixture->main_path));
    assert_int_equal(fixture->publisher.reload_errors, 1);
}

static void reload_no_keys_member_keeps_bundle(void **state)
{
    struct fixture *fixture = *state;

    start_publisher(fixture, 1);
    write_text(fixture->main_path, "{\"spiffe_sequence\": 2}");

    assert_false(sg_trust_publisher_reload(&fixture->publisher, "test"));

    assert_every_generation(fixture, 1);
    assert_non_null(find_key(fixture, 0, MAIN_DOMAIN, "A"));
    assert_string_not_equal(fixture->publisher.status[0].last_error, "");
}

/* A failed file keeps its last good bytes in the generation another file's change publishes. */
static void reload_failed_file_kept_in_new_generation(void **state)
{
    struct fixture *fixture = *state;

    start_publisher(fixture, 2);
    write_text(fixture->main_path, "not a bundle");
    write_bundle(fixture->other_path, &fixture->key_c, &fixture->key_b);

    assert_true(sg_trust_publisher_reload(&fixture->publisher, "test"));

    assert_every_generation(fixture, 2);
    for (size_t w = 0; w < WORKERS; w++) {
        assert_non_null(find_key(fixture, w, MAIN_DOMAIN, "A"));
        assert_non_null(find_key(fixture, w, OTHER_DOMAIN, "B"));
    }
    assert_string_not_equal(fixture->publisher.status[0].last_error, "");
    assert_string_equal(fixture->publisher.status[1].last_error, "");
    assert_int_equal(fixture->publisher.reload_errors, 1);
}

static void reload_recovery_clears_error(void **state)
{
    struct fixture *fixture = *state;
    struct sg_bundle_file_status *status;

    start_publisher(fixture, 1);
    status = &fixture->publisher.status[0];
    write_text(fixture->main_path, "{");
    assert_false(sg_trust_publisher_reload(&fixture->publisher, "test"));
    assert_string_not_equal(status->last_error, "");
    status->last_success = 1;

    write_bundle(fixture->main_path, &fixture->key_b, NULL);
    assert_true(sg_trust_publisher_reload(&fixture->publisher, "test"));

    assert_every_generation(fixture, 2);
    assert_non_null(find_key(fixture, 0, MAIN_DOMAIN, "B"));
    assert_null(find_key(fixture, 0, MAIN_DOMAIN, "A"));
    assert_string_equal(status->last_error, "");
    assert_true(status->last_success > 1);
    assert_int_equal(status->last_success, status->last_attempt);
}

/* Restoring the bytes of the last good load after a failure is no change. */
static void reload_restored_bytes_publish_nothing(void **state)
{
    struct fixture *fixture = *state;
    size_t len;
    char *text = sg_test_read_file(fixture->main_path, &len);

    start_publisher(fixture, 1);
    write_text(fixture->main_path, "{");
    assert_false(sg_trust_publisher_reload(&fixture->publisher, "test"));

    assert_true(test_write_file_atomically(fixture->main_path, text, len));
    free(text);
    assert_false(sg_trust_publisher_reload(&fixture->publisher, "test"));

    assert_every_generation(fixture, 1);
    assert_string_equal(fixture->publisher.status[0].last_error, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(init_publishes_generation_one, setup, teardown),
        cmocka_unit_test_setup_teardown(init_worker_sets_distinct, setup, teardown),
        cmocka_unit_test_setup_teardown(init_records_status_times, setup, teardown),
        cmocka_unit_test_setup_teardown(init_bad_file_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(init_missing_file_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_unchanged_publishes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_same_bytes_rewritten_publishes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reload_change_bumps_every_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_sequence_keeps_verdict_generation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reload_change_distinct_worker_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_bad_json_keeps_bundle, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_missing_file_keeps_bundle, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_no_keys_member_keeps_bundle, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_failed_file_kept_in_new_generation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reload_recovery_clears_error, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_restored_bytes_publish_nothing, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
