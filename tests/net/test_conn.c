/*
 * Tests of net/conn.c: the responses a connection writes for the bytes it
 * receives, without sockets or io_uring. Only /healthz and unknown paths
 * are requested, so the route context needs no verifier or trust set.
 */
#include "tests/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "net/conn.h"

static const char healthz[] = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
static const char missing[] = "GET /missing HTTP/1.1\r\nHost: a\r\n\r\n";

static const struct sg_conn_timeouts timeouts = {
    .idle = SG_CONN_IDLE_TIMEOUT,
    .header = SG_CONN_HEADER_TIMEOUT,
    .body = SG_CONN_BODY_TIMEOUT,
};

struct fixture {
    struct sg_conn conn;
    struct sg_route_context routes;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));

    assert_non_null(fixture);
    sg_conn_open(&fixture->conn, -1, 0, NULL, &timeouts);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;

    sg_conn_release(&fixture->conn);
    free(fixture);
    return 0;
}

/* Receives a copy of `text` at second `now`, as a receive buffer that the parser may rewrite. */
static bool receive_text_at(struct fixture *fixture, const char *text, int64_t now)
{
    size_t len = strlen(text);
    uint8_t *copy = malloc(len ? len : 1);
    bool ok;

    assert_non_null(copy);
    memcpy(copy, text, len);
    ok = sg_conn_receive(&fixture->conn, &fixture->routes, copy, len, now);
    free(copy);
    return ok;
}

static bool receive_text(struct fixture *fixture, const char *text)
{
    return receive_text_at(fixture, text, 0);
}

/* Returns the number of status lines of `status` in the unsent output. */
static size_t count_status(const struct sg_conn *conn, int status)
{
    char line[32];
    struct sg_slice out = sg_conn_unsent(conn);
    size_t count = 0;

    snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
    for (size_t i = 0; i + strlen(line) <= out.len; i++)
        count += memcmp(out.ptr + i, line, strlen(line)) == 0;
    return count;
}

/* Returns the offset of `needle` in the unsent output, or SIZE_MAX. */
static size_t find_output(const struct sg_conn *conn, const char *needle)
{
    struct sg_slice out = sg_conn_unsent(conn);
    size_t len = strlen(needle);

    for (size_t i = 0; i + len <= out.len; i++) {
        if (memcmp(out.ptr + i, needle, len) == 0)
            return i;
    }
    return SIZE_MAX;
}

static void conn_responds_to_one_request(void **state)
{
    struct fixture *fixture = *state;

    assert_true(receive_text(fixture, healthz));
    assert_int_equal(count_status(&fixture->conn, 200), 1);
    assert_int_not_equal(find_output(&fixture->conn, "{\"status\":\"ok\"}"), SIZE_MAX);
    assert_int_equal(fixture->conn.in.len, 0);
    assert_false(fixture->conn.close_after_send);
}

static void conn_pipelined_responses_in_order(void **state)
{
    struct fixture *fixture = *state;
    char batch[256];

    snprintf(batch, sizeof(batch), "%s%s%s", healthz, missing, healthz);
    assert_true(receive_text(fixture, batch));

    size_t first_ok = find_output(&fixture->conn, "HTTP/1.1 200 ");
    size_t not_found = find_output(&fixture->conn, "HTTP/1.1 404 ");
    assert_int_equal(count_status(&fixture->conn, 200), 2);
    assert_int_equal(count_status(&fixture->conn, 404), 1);
    assert_true(first_ok < not_found);
    assert_int_not_equal(find_output(&fixture->conn, "not_found"), SIZE_MAX);
}

static void conn_partial_request_kept(void **state)
{
    struct fixture *fixture = *state;
    char head[64];
    size_t half = sizeof(healthz) / 2;

    memcpy(head, healthz, half);
    head[half] = '\0';
    assert_true(receive_text(fixture, head));
    assert_int_equal(sg_conn_unsent(&fixture->conn).len, 0);
    assert_int_equal(fixture->conn.in.len, half);

    assert_true(receive_text(fixture, healthz + half));
    assert_int_equal(count_status(&fixture->conn, 200), 1);
    assert_int_equal(fixture->conn.in.len, 0);
}

static void conn_waits_while_sending(void **state)
{
    struct fixture *fixture = *state;

    fixture->conn.send_inflight = true;
    assert_true(receive_text(fixture, healthz));
    assert_int_equal(sg_conn_unsent(&fixture->conn).len, 0);
    assert_int_equal(fixture->conn.in.len, strlen(healthz));

    fixture->conn.send_inflight = false;
    assert_true(sg_conn_respond_buffered(&fixture->conn, &fixture->routes, 0));
    assert_int_equal(count_status(&fixture->conn, 200), 1);
    assert_int_equal(fixture->conn.in.len, 0);
}

static void conn_input_over_max_rejected(void **state)
{
    struct fixture *fixture = *state;
    size_t chunk = 64 * 1024;
    char *data = malloc(chunk);
    bool ok = true;
    size_t received = 0;

    assert_non_null(data);
    memset(data, 'x', chunk);
    fixture->conn.send_inflight = true;
    for (size_t i = 0; ok && i < SG_CONN_INPUT_MAX / chunk + 2; i++) {
        ok = sg_conn_receive(&fixture->conn, &fixture->routes, (uint8_t *)data, chunk, 0);
        received += ok ? chunk : 0;
    }

    assert_false(ok);
    assert_true(received <= SG_CONN_INPUT_MAX);
    assert_true(received + chunk > SG_CONN_INPUT_MAX);
    free(data);
}

static void conn_output_pause_resumes(void **state)
{
    struct fixture *fixture = *state;
    size_t count = 2 * SG_CONN_OUTPUT_PAUSE / 100;
    size_t len = strlen(missing);
    char *batch = malloc(count * len);
    size_t responded;

    assert_non_null(batch);
    for (size_t i = 0; i < count; i++)
        memcpy(batch + i * len, missing, len);

    assert_true(sg_conn_receive(&fixture->conn, &fixture->routes, (uint8_t *)batch, count * len, 0));
    responded = count_status(&fixture->conn, 404);
    assert_true(responded < count);
    assert_true(fixture->conn.out.len >= SG_CONN_OUTPUT_PAUSE);
    assert_int_equal(fixture->conn.in.len, (count - responded) * len);

    for (size_t round = 0; round < 10 && responded < count; round++) {
        sg_conn_mark_sent(&fixture->conn, sg_conn_unsent(&fixture->conn).len, 0);
        assert_true(sg_conn_respond_buffered(&fixture->conn, &fixture->routes, 0));
        responded += count_status(&fixture->conn, 404);
    }
    assert_int_equal(responded, count);
    free(batch);
}

static void conn_parse_error_closes(void **state)
{
    struct fixture *fixture = *state;

    assert_true(receive_text(fixture, "GET / HTTP/1.1\nHost: a\n\n"));
    assert_int_equal(count_status(&fixture->conn, 400), 1);
    assert_int_not_equal(find_output(&fixture->conn, "Connection: close\r\n"), SIZE_MAX);
    assert_int_not_equal(find_output(&fixture->conn, " GMT\r\n"), SIZE_MAX);
    assert_true(fixture->conn.close_after_send);

    /* Nothing after the rejected request is responded. */
    assert_true(receive_text(fixture, healthz));
    assert_int_equal(count_status(&fixture->conn, 200), 0);
}

static void conn_connection_close_ends(void **state)
{
    struct fixture *fixture = *state;
    char batch[256];

    snprintf(batch, sizeof(batch), "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n%s",
             healthz);
    assert_true(receive_text(fixture, batch));
    assert_int_equal(count_status(&fixture->conn, 200), 1);
    assert_true(fixture->conn.close_after_send);
    assert_int_equal(fixture->conn.in.len, 0);
}

static void conn_expect_continue_once(void **state)
{
    struct fixture *fixture = *state;

    assert_true(receive_text(fixture, "POST /healthz HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                                      "Content-Length: 4\r\n\r\n"));
    assert_int_equal(count_status(&fixture->conn, 100), 1);

    assert_true(receive_text(fixture, "ab"));
    assert_int_equal(count_status(&fixture->conn, 100), 1);

    assert_true(receive_text(fixture, "cd"));
    assert_int_equal(count_status(&fixture->conn, 405), 1);
    assert_true(find_output(&fixture->conn, "HTTP/1.1 100 ") < find_output(&fixture->conn, "HTTP/1.1 405 "));
}

static void conn_draining_bounded(void **state)
{
    struct fixture *fixture = *state;
    static char chunk[4096];
    bool ok = true;
    size_t rounds = 0;

    sg_conn_start_draining(&fixture->conn, 0);
    assert_int_equal(fixture->conn.deadline, SG_CONN_DRAIN_TIMEOUT);
    while (ok && rounds < SG_CONN_DRAIN_MAX / sizeof(chunk) + 2) {
        ok = sg_conn_receive(&fixture->conn, &fixture->routes, (uint8_t *)chunk, sizeof(chunk), 0);
        rounds++;
    }

    assert_false(ok);
    assert_int_equal(rounds, SG_CONN_DRAIN_MAX / sizeof(chunk) + 1);
    assert_int_equal(sg_conn_unsent(&fixture->conn).len, 0);
}

static void conn_mark_sent_partial(void **state)
{
    struct fixture *fixture = *state;
    size_t total;

    assert_true(receive_text(fixture, healthz));
    total = sg_conn_unsent(&fixture->conn).len;

    sg_conn_mark_sent(&fixture->conn, 10, 0);
    assert_int_equal(sg_conn_unsent(&fixture->conn).len, total - 10);
    assert_memory_equal(sg_conn_unsent(&fixture->conn).ptr, fixture->conn.out.data + 10, total - 10);

    sg_conn_mark_sent(&fixture->conn, total - 10, 0);
    assert_int_equal(sg_conn_unsent(&fixture->conn).len, 0);
    assert_int_equal(fixture->conn.out_sent, 0);
}

static void conn_idle_deadline_moves(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(fixture->conn.deadline, SG_CONN_IDLE_TIMEOUT);
    assert_true(receive_text_at(fixture, healthz, 100));
    assert_int_equal(fixture->conn.deadline, 100 + SG_CONN_IDLE_TIMEOUT);
}

static void conn_chunked_split_then_pipelined(void **state)
{
    struct fixture *fixture = *state;
    char batch[256];
    size_t split;

    snprintf(batch, sizeof(batch),
             "POST /missing HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
             "4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n%s", healthz);

    /* The first receive ends inside the second chunk's data: its tail is kept as decoded so far. */
    split = (size_t)(strstr(batch, "efg") - batch) + 1;
    char saved = batch[split];
    batch[split] = '\0';
    assert_true(receive_text(fixture, batch));
    assert_int_equal(sg_conn_unsent(&fixture->conn).len, 0);
    assert_true(fixture->conn.in.len > 0);

    batch[split] = saved;
    assert_true(receive_text(fixture, batch + split));
    assert_int_equal(count_status(&fixture->conn, 404), 1);
    assert_int_equal(count_status(&fixture->conn, 200), 1);
    assert_true(find_output(&fixture->conn, "HTTP/1.1 404 ") < find_output(&fixture->conn, "HTTP/1.1 200 "));
    assert_int_equal(fixture->conn.in.len, 0);
}

static void conn_expect_continue_chunked(void **state)
{
    struct fixture *fixture = *state;

    assert_true(receive_text(fixture, "POST /missing HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                                      "Transfer-Encoding: chunked\r\n\r\n"));
    assert_int_equal(count_status(&fixture->conn, 100), 1);

    assert_true(receive_text(fixture, "2\r\nab\r\n0\r\n\r\n"));
    assert_int_equal(count_status(&fixture->conn, 100), 1);
    assert_int_equal(count_status(&fixture->conn, 404), 1);
}

static void conn_waits_start_deadlines(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(fixture->conn.wait, SG_CONN_WAIT_IDLE);
    assert_int_equal(fixture->conn.deadline, SG_CONN_IDLE_TIMEOUT);

    assert_true(receive_text_at(fixture, "POST /missing HTTP/1.1\r\nHo", 5));
    assert_int_equal(fixture->conn.wait, SG_CONN_WAIT_HEAD);
    assert_int_equal(fixture->conn.deadline, 5 + SG_CONN_HEADER_TIMEOUT);

    /* More bytes of the same head do not move its deadline. */
    assert_true(receive_text_at(fixture, "st: a\r\nContent-Length: 4\r\n", 8));
    assert_int_equal(fixture->conn.deadline, 5 + SG_CONN_HEADER_TIMEOUT);

    assert_true(receive_text_at(fixture, "\r\nab", 9));
    assert_int_equal(fixture->conn.wait, SG_CONN_WAIT_BODY);
    assert_int_equal(fixture->conn.deadline, 9 + SG_CONN_BODY_TIMEOUT);

    assert_true(receive_text_at(fixture, "cd", 12));
    assert_int_equal(fixture->conn.wait, SG_CONN_WAIT_OUTPUT);
    assert_int_equal(fixture->conn.deadline, 12 + SG_CONN_IDLE_TIMEOUT);

    sg_conn_mark_sent(&fixture->conn, sg_conn_unsent(&fixture->conn).len, 20);
    sg_conn_update_wait(&fixture->conn, 20);
    assert_int_equal(fixture->conn.wait, SG_CONN_WAIT_IDLE);
    assert_int_equal(fixture->conn.deadline, 20 + SG_CONN_IDLE_TIMEOUT);
}

static void conn_head_timeout_408(void **state)
{
    struct fixture *fixture = *state;

    assert_true(receive_text_at(fixture, "GET /healthz HTTP/1.1\r\n", 1));
    assert_true(sg_conn_time_out(&fixture->conn, &fixture->routes));
    assert_int_equal(count_status(&fixture->conn, 408), 1);
    assert_int_not_equal(find_output(&fixture->conn, "request_timeout"), SIZE_MAX);
    assert_int_not_equal(find_output(&fixture->conn, "Connection: close\r\n"), SIZE_MAX);
    assert_true(fixture->conn.close_after_send);
    assert_int_equal(fixture->conn.in.len, 0);
}

static void conn_body_timeout_408(void **state)
{
    struct fixture *fixture = *state;

    assert_true(receive_text_at(fixture, "POST /missing HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nab", 1));
    assert_int_equal(fixture->conn.wait, SG_CONN_WAIT_BODY);
    assert_true(sg_conn_time_out(&fixture->conn, &fixture->routes));
    assert_int_equal(count_status(&fixture->conn, 408), 1);
    assert_int_not_equal(find_output(&fixture->conn, "body timeout"), SIZE_MAX);
}

static void conn_idle_timeout_silent(void **state)
{
    struct fixture *fixture = *state;

    assert_false(sg_conn_time_out(&fixture->conn, &fixture->routes));
    assert_int_equal(sg_conn_unsent(&fixture->conn).len, 0);

    /* A connection whose responses wait to be read is closed silently too. */
    assert_true(receive_text(fixture, healthz));
    assert_false(sg_conn_time_out(&fixture->conn, &fixture->routes));
    assert_int_equal(count_status(&fixture->conn, 408), 0);
}

static void conn_refused_sends_503(void **state)
{
    struct fixture *fixture = *state;

    sg_conn_release(&fixture->conn);
    assert_true(sg_conn_open_refused(&fixture->conn, -1, 0, NULL, &timeouts, &fixture->routes.date));
    assert_int_equal(count_status(&fixture->conn, 503), 1);
    assert_int_not_equal(find_output(&fixture->conn, "Retry-After: 1\r\n"), SIZE_MAX);
    assert_int_not_equal(find_output(&fixture->conn, "Connection: close\r\n"), SIZE_MAX);
    assert_int_not_equal(find_output(&fixture->conn, "\"unavailable\""), SIZE_MAX);
    assert_true(fixture->conn.close_after_send);
    assert_true(fixture->conn.deadline <= SG_CONN_DRAIN_TIMEOUT);

    /* Its request is not read. */
    assert_true(receive_text(fixture, healthz));
    assert_int_equal(count_status(&fixture->conn, 200), 0);
}

static void conn_stop_closes_after_last_request(void **state)
{
    struct fixture *fixture = *state;
    char batch[256];

    assert_true(sg_conn_stop(&fixture->conn));
    snprintf(batch, sizeof(batch), "%s%s", healthz, healthz);
    assert_true(receive_text(fixture, batch));

    /* Both requests that arrived are answered; only the last response closes. */
    assert_int_equal(count_status(&fixture->conn, 200), 2);
    size_t close = find_output(&fixture->conn, "Connection: close\r\n");
    assert_int_not_equal(close, SIZE_MAX);
    assert_true(close > find_output(&fixture->conn, "{\"status\":\"ok\"}"));
    assert_true(fixture->conn.close_after_send);
}

static void conn_stop_waits_for_partial_request(void **state)
{
    struct fixture *fixture = *state;

    assert_true(receive_text(fixture, "GET /healthz HTTP/1.1\r\n"));
    assert_false(sg_conn_stop(&fixture->conn));
    assert_false(sg_conn_is_idle(&fixture->conn));

    assert_true(receive_text(fixture, "Host: a\r\n\r\n"));
    assert_int_equal(count_status(&fixture->conn, 200), 1);
    assert_int_not_equal(find_output(&fixture->conn, "Connection: close\r\n"), SIZE_MAX);
}

static void conn_release_bumps_generation(void **state)
{
    struct fixture *fixture = *state;
    uint32_t generation = fixture->conn.generation;

    sg_conn_release(&fixture->conn);
    assert_int_equal(fixture->conn.state, SG_CONN_FREE);
    assert_int_equal(fixture->conn.generation, generation + 1);

    sg_conn_open(&fixture->conn, -1, 0, NULL, &timeouts);
    assert_int_equal(fixture->conn.generation, generation + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(conn_responds_to_one_request, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_pipelined_responses_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_partial_request_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_waits_while_sending, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_input_over_max_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_output_pause_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_parse_error_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_connection_close_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_expect_continue_once, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_draining_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_mark_sent_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_idle_deadline_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_chunked_split_then_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_expect_continue_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_waits_start_deadlines, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_head_timeout_408, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_body_timeout_408, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_idle_timeout_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_refused_sends_503, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_stop_closes_after_last_request, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_stop_waits_for_partial_request, setup, teardown),
        cmocka_unit_test_setup_teardown(conn_release_bumps_generation, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
