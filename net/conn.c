#include "net/conn.h"

#include <stdlib.h>
#include <time.h>

#include "net/batch.h"
#include "net/http_response.h"
#include "net/metrics.h"

/* The Retry-After value, in seconds, of the 503 sent to a connection over the cap. */
#define REFUSED_RETRY_AFTER 1

void sg_conn_open(struct sg_conn *conn, int fd, int64_t now, struct sg_byte_budget *budget,
                  const struct sg_conn_timeouts *timeouts)
{
    uint32_t generation = conn->generation;

    memset(conn, 0, sizeof(*conn));
    conn->fd = fd;
    conn->generation = generation;
    conn->state = SG_CONN_OPEN;
    conn->timeouts = timeouts;
    conn->wait = SG_CONN_WAIT_IDLE;
    conn->deadline = now + timeouts->idle;
    sg_http_parser_init(&conn->parser);
    sg_byte_buffer_init(&conn->in, SG_CONN_INPUT_MAX, budget);
    sg_byte_buffer_init(&conn->out, SG_CONN_OUTPUT_MAX, budget);
}

/* Appends the 503 of a refused connection; sg_http_error_write() has no Retry-After. */
static bool write_unavailable(struct sg_byte_buffer *out, const struct sg_http_date *date)
{
    char *body = sg_http_error_body(503, "the server has too many open connections; retry later");
    bool ok = body != NULL &&
              sg_byte_buffer_appendf(out,
                                     "HTTP/1.1 503 Service Unavailable\r\n"
                                     "Date: %s\r\n"
                                     "Content-Length: %zu\r\n"
                                     "Content-Type: application/json\r\n"
                                     "Retry-After: %d\r\n"
                                     "Connection: close\r\n"
                                     "\r\n"
                                     "%s",
                                     date->text, strlen(body), REFUSED_RETRY_AFTER, body);

    free(body);
    return ok;
}

bool sg_conn_open_refused(struct sg_conn *conn, int fd, int64_t now, struct sg_byte_budget *budget,
                          const struct sg_conn_timeouts *timeouts, struct sg_http_date *date)
{
    sg_conn_open(conn, fd, now, budget, timeouts);
    conn->refused = true;
    conn->close_after_send = true;

    /* The slot is one of a few spare ones, so it is held only briefly. */
    conn->wait = SG_CONN_WAIT_OUTPUT;
    conn->deadline = now + SG_CONN_DRAIN_TIMEOUT;

    sg_http_date_update(date, time(NULL));
    return write_unavailable(&conn->out, date);
}

/* Responds to a request the parser rejected, and ends the connection after it. */
static bool respond_to_parse_error(struct sg_conn *conn, struct sg_route_context *routes,
                                   const struct sg_http_error *error)
{
    conn->close_after_send = true;
    sg_metrics_count_request(routes->worker_metrics, SG_METRIC_ROUTE_INVALID_REQUEST,
                             error->status, 0);
    sg_http_date_update(&routes->date, time(NULL));
    return sg_http_error_write(&conn->out, error->status, error->message, NULL, true,
                               &routes->date);
}

/*
 * Parses and responds to the requests at the front of input[0..len), in
 * order, until the input ends in a partial request, the connection is to
 * close, or SG_CONN_OUTPUT_PAUSE bytes of output wait. Returns the bytes
 * of `input` consumed; sets *ok to false when a response did not fit.
 */
static size_t respond_to_requests(struct sg_conn *conn, struct sg_route_context *routes,
                                  uint8_t *input, size_t len, bool *ok)
{
    size_t used = 0;

    *ok = true;
    while (!conn->close_after_send && conn->batch == NULL && conn->out.len < SG_CONN_OUTPUT_PAUSE) {
        struct sg_http_request request;
        struct sg_http_error error;

        switch (sg_http_parse_request(&conn->parser, input + used, len - used, &request, &error)) {
        case SG_HTTP_PARSE_COMPLETE:
            used += request.size;

            /* While stopping, the last request that has arrived ends the connection. */
            if (conn->stopping && used == len)
                request.keep_alive = false;

            conn->continue_sent = false;
            conn->close_after_send = !request.keep_alive;
            *ok = sg_route_request(routes, &request, &conn->out);
            if (routes->deferred != NULL) {
                conn->batch = routes->deferred;
                conn->batch->conn = conn;
                routes->deferred = NULL;
            }
            if (!*ok)
                return used;
            break;

        case SG_HTTP_PARSE_INCOMPLETE:
            if (sg_http_parser_awaits_continue(&conn->parser) && !conn->continue_sent) {
                conn->continue_sent = true;
                *ok = sg_http_continue_write(&conn->out);
            }
            return used;

        case SG_HTTP_PARSE_ERROR:
            *ok = respond_to_parse_error(conn, routes, &error);
            return used;
        }
    }
    return used;
}

bool sg_conn_respond_buffered(struct sg_conn *conn, struct sg_route_context *routes, int64_t now)
{
    bool ok;
    size_t used = respond_to_requests(conn, routes, conn->in.data, conn->in.len, &ok);

    sg_byte_buffer_consume(&conn->in, used);

    /* No request after the final one gets a response. */
    if (conn->close_after_send)
        sg_byte_buffer_release(&conn->in);
    sg_conn_update_wait(conn, now);
    return ok;
}

bool sg_conn_receive(struct sg_conn *conn, struct sg_route_context *routes, uint8_t *data,
                     size_t len, int64_t now)
{
    if (conn->state == SG_CONN_DRAINING) {
        conn->drained += len;
        return conn->drained <= SG_CONN_DRAIN_MAX;
    }

    if (conn->state != SG_CONN_OPEN || conn->close_after_send)
        return true;

    /*
     * Fast path: parse in the receive buffer itself and copy only a
     * partial tail, as the parser left it (a chunked body is decoded in
     * place).
     */
    if (conn->in.len == 0 && !conn->send_inflight && conn->batch == NULL) {
        bool ok;
        size_t used = respond_to_requests(conn, routes, data, len, &ok);

        if (ok && !conn->close_after_send)
            ok = sg_byte_buffer_append(&conn->in, data + used, len - used);
        sg_conn_update_wait(conn, now);
        return ok;
    }

    if (!sg_byte_buffer_append(&conn->in, data, len))
        return false;
    if (conn->send_inflight || conn->batch != NULL)
        return true;
    return sg_conn_respond_buffered(conn, routes, now);
}

/* Returns the wait that the connection's buffers and parser show. */
static enum sg_conn_wait current_wait(const struct sg_conn *conn)
{
    if (conn->send_inflight || conn->out.len > 0 || conn->close_after_send || conn->batch != NULL)
        return SG_CONN_WAIT_OUTPUT;
    if (conn->parser.head_size != 0)
        return SG_CONN_WAIT_BODY;
    if (conn->in.len > 0)
        return SG_CONN_WAIT_HEAD;
    return SG_CONN_WAIT_IDLE;
}

static int64_t wait_timeout(const struct sg_conn *conn, enum sg_conn_wait wait)
{
    switch (wait) {
    case SG_CONN_WAIT_HEAD:
        return conn->timeouts->header;
    case SG_CONN_WAIT_BODY:
        return conn->timeouts->body;
    case SG_CONN_WAIT_IDLE:
    case SG_CONN_WAIT_OUTPUT:
        break;
    }
    return conn->timeouts->idle;
}

void sg_conn_update_wait(struct sg_conn *conn, int64_t now)
{
    enum sg_conn_wait wait = current_wait(conn);

    if (conn->state != SG_CONN_OPEN || wait == conn->wait)
        return;
    conn->wait = wait;
    conn->deadline = now + wait_timeout(conn, wait);
}

bool sg_conn_time_out(struct sg_conn *conn, struct sg_route_context *routes)
{
    static const struct sg_http_error head_late = {
        408, "the request head did not arrive within the header timeout",
    };
    static const struct sg_http_error body_late = {
        408, "the request body did not arrive within the body timeout",
    };

    if (conn->state != SG_CONN_OPEN || conn->send_inflight || conn->out.len > 0)
        return false;
    if (conn->wait != SG_CONN_WAIT_HEAD && conn->wait != SG_CONN_WAIT_BODY)
        return false;

    bool ok = respond_to_parse_error(conn, routes,
                                     conn->wait == SG_CONN_WAIT_HEAD ? &head_late : &body_late);

    sg_byte_buffer_release(&conn->in);
    return ok;
}

bool sg_conn_stop(struct sg_conn *conn)
{
    conn->stopping = true;
    return sg_conn_is_idle(conn);
}

bool sg_conn_is_idle(const struct sg_conn *conn)
{
    return conn->state == SG_CONN_OPEN && current_wait(conn) == SG_CONN_WAIT_IDLE;
}

struct sg_slice sg_conn_unsent(const struct sg_conn *conn)
{
    if (conn->out.len == 0)
        return sg_slice_make(NULL, 0);
    return sg_slice_make(conn->out.data + conn->out_sent, conn->out.len - conn->out_sent);
}

void sg_conn_mark_sent(struct sg_conn *conn, size_t len, int64_t now)
{
    conn->out_sent += len;
    if (conn->wait == SG_CONN_WAIT_OUTPUT && !conn->refused)
        conn->deadline = now + conn->timeouts->idle;
    if (conn->out_sent < conn->out.len)
        return;

    conn->out.len = 0;
    conn->out_sent = 0;
}

void sg_conn_start_draining(struct sg_conn *conn, int64_t now)
{
    conn->state = SG_CONN_DRAINING;
    conn->deadline = now + SG_CONN_DRAIN_TIMEOUT;
    sg_byte_buffer_release(&conn->in);
    sg_byte_buffer_release(&conn->out);
}

void sg_conn_release(struct sg_conn *conn)
{
    sg_batch_job_cancel(conn->batch);
    conn->batch = NULL;
    sg_byte_buffer_release(&conn->in);
    sg_byte_buffer_release(&conn->out);
    conn->state = SG_CONN_FREE;
    conn->fd = -1;
    conn->generation++;
}
