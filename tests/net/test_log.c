/*
 * Tests of net/log.c: repeat rate limiting with a fake clock, and
 * credential fingerprints. Standard error is redirected to a temporary
 * file, so each test reads back the exact lines written.
 */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/log.h"

static int64_t fake_now;

static int64_t fake_clock(void)
{
    return fake_now;
}

static const char event[] = "credential rejected";
static const char other_event[] = "other event";

/* The real standard error, restored after each test so cmocka's failure messages show. */
static int saved_stderr = -1;

/* Redirects standard error to a fresh temporary file and resets the limiter. */
static int setup(void **state)
{
    FILE *capture = tmpfile();

    if (capture == NULL)
        return -1;
    fflush(stderr);
    *state = capture;
    saved_stderr = dup(STDERR_FILENO);
    if (saved_stderr < 0 || dup2(fileno(capture), STDERR_FILENO) < 0)
        return -1;
    fake_now = 1000;
    sg_log_set_rate_limit(3, 10, fake_clock);
    return 0;
}

static int teardown(void **state)
{
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    fclose(*state);
    sg_log_set_rate_limit(SG_LOG_REPEATS_MAX, SG_LOG_REPEAT_INTERVAL, NULL);
    return 0;
}

/* Returns everything written to standard error since setup(); free() it. */
static char *captured(void **state)
{
    FILE *capture = *state;
    long size;
    char *text;

    fflush(stderr);
    size = lseek(fileno(capture), 0, SEEK_END);
    text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(pread(fileno(capture), text, (size_t)size, 0), size);
    return text;
}

static size_t count_lines_with(const char *text, const char *needle)
{
    size_t count = 0;

    for (const char *line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        char *copy = strndup(line, len);

        count += strstr(copy, needle) != NULL;
        free(copy);
        line += len + (end != NULL);
    }
    return count;
}

/* Logs one event the way the server does: admitted lines only. */
static void log_event(const char *name, const char *key)
{
    if (sg_log_admit(SG_LOG_INFO, name, key))
        sg_log(SG_LOG_INFO, name, "key=%s", key);
}

static void test_repeats_past_limit_suppressed(void **state)
{
    char *text;

    for (int i = 0; i < 10; i++)
        log_event(event, "jwt/expired");
    text = captured(state);
    assert_int_equal(count_lines_with(text, "key=jwt/expired"), 3);
    assert_int_equal(count_lines_with(text, "suppressed="), 0);
    free(text);
}

static void test_summary_after_interval(void **state)
{
    char *text;

    for (int i = 0; i < 10; i++)
        log_event(event, "jwt/expired");
    fake_now += 10;
    sg_log_flush_suppressed();
    text = captured(state);
    assert_int_equal(count_lines_with(text, "level=info msg=\"credential rejected\" "
                                            "key=jwt/expired suppressed=7 interval_seconds=10"),
                     1);
    free(text);
}

static void test_no_summary_without_suppression(void **state)
{
    char *text;

    log_event(event, "jwt/expired");
    fake_now += 60;
    sg_log_flush_suppressed();
    text = captured(state);
    assert_int_equal(count_lines_with(text, "suppressed="), 0);
    free(text);
}

static void test_new_interval_admits_again(void **state)
{
    char *text;

    for (int i = 0; i < 5; i++)
        log_event(event, "jwt/expired");
    fake_now += 10;
    for (int i = 0; i < 5; i++)
        log_event(event, "jwt/expired");
    text = captured(state);
    /* 3 + 3 lines, and the summary of the first interval's 2, written by the next call. */
    assert_int_equal(count_lines_with(text, "suppressed=2"), 1);
    assert_int_equal(count_lines_with(text, "key=jwt/expired"), 7);
    free(text);
}

static void test_keys_and_events_counted_apart(void **state)
{
    char *text;

    for (int i = 0; i < 5; i++) {
        log_event(event, "jwt/expired");
        log_event(event, "jwt/bad_signature");
        log_event(other_event, "jwt/expired");
    }
    text = captured(state);
    assert_int_equal(count_lines_with(text, "msg=\"credential rejected\" key=jwt/expired"), 3);
    assert_int_equal(count_lines_with(text, "key=jwt/bad_signature"), 3);
    assert_int_equal(count_lines_with(text, "msg=\"other event\""), 3);
    free(text);
}

static void test_many_keys_reuse_slots(void **state)
{
    char key[32];
    char *text;

    /* More distinct keys than the limiter has slots: each is still admitted. */
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        log_event(event, key);
    }
    text = captured(state);
    assert_int_equal(count_lines_with(text, "msg=\"credential rejected\" key=k"), 300);
    free(text);
}

static void test_fingerprint_is_sha256_prefix(void **state)
{
    char fingerprint[SG_LOG_FINGERPRINT_SIZE];

    (void)state;
    /* SHA-256("abc") starts with ba7816bf8f01cfea (Python's hashlib agrees). */
    assert_string_equal(sg_log_fingerprint(sg_slice_cstr("abc"), fingerprint),
                        "ba7816bf8f01cfea");
    assert_int_equal(strlen(fingerprint), 16);
}

static void test_fingerprint_of_empty_input(void **state)
{
    char fingerprint[SG_LOG_FINGERPRINT_SIZE];

    (void)state;
    /* SHA-256("") starts with e3b0c44298fc1c14. */
    assert_string_equal(sg_log_fingerprint(sg_slice_make(NULL, 0), fingerprint),
                        "e3b0c44298fc1c14");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repeats_past_limit_suppressed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_after_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_summary_without_suppression, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_interval_admits_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_and_events_counted_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_keys_reuse_slots, setup, teardown),
        cmocka_unit_test(test_fingerprint_is_sha256_prefix),
        cmocka_unit_test(test_fingerprint_of_empty_input),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
