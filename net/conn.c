#include "net/conn.h"

#include <time.h>

#include "net/batch.h"
#include "net/http_response.h"
#include "net/metrics.h"

void sg_conn_open(struct sg_conn *conn, int fd, int64_t now, struct sg_byte_budget *budget)
{
    uint32_t generation = conn->generation;

    memset(conn, 0, sizeof(*conn));
    conn->fd = fd;
    conn->generation = generation;
    conn->state = SG_CONN_OPEN;
    conn->deadline = now + SG_CONN_IDLE_TIMEOUT;
    sg_http_parser_init(&conn->parser);
    sg_byte_buffer_init(&conn->in, SG_CONN_INPUT_MAX, budget);
    sg_byte_buffer_init(&conn->out, SG_CONN_OUTPUT_MAX, budget);
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
 * Parses and responds to the requests at the front of `input`, in order,
 * until the input ends in a partial request, the connection is to close,
 * or SG_CONN_OUTPUT_PAUSE bytes of output wait. Returns the bytes of
 * `input` consumed; sets *ok to false when a response did not fit.
 */
static size_t respond_to_requests(struct sg_conn *conn, struct sg_route_context *routes,
                              struct sg_slice input, int64_t now, bool *ok)
{
    size_t used = 0;

    *ok = true;
    while (!conn->close_after_send && conn->batch == NULL && conn->out.len < SG_CONN_OUTPUT_PAUSE) {
        struct sg_slice rest = sg_slice_make(input.ptr + used, input.len - used);
        struct sg_http_request request;
        struct sg_http_error error;

        switch (sg_http_parse_request(&conn->parser, rest, &request, &error)) {
        case SG_HTTP_PARSE_COMPLETE:
            used += request.size;
            conn->continue_sent = false;
            conn->close_after_send = !request.keep_alive;
            conn->deadline = now + SG_CONN_IDLE_TIMEOUT;
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
    size_t used = respond_to_requests(conn, routes, sg_byte_buffer_slice(&conn->in), now, &ok);

    sg_byte_buffer_consume(&conn->in, used);

    /* No request after the final one gets a response. */
    if (conn->close_after_send)
        sg_byte_buffer_release(&conn->in);
    return ok;
}

bool sg_conn_receive(struct sg_conn *conn, struct sg_route_context *routes, struct sg_slice data,
                     int64_t now)
{
    if (conn->state == SG_CONN_DRAINING) {
        conn->drained += data.len;
        return conn->drained <= SG_CONN_DRAIN_MAX;
    }

    if (conn->state != SG_CONN_OPEN || conn->close_after_send)
        return true;

    /* Fast path: parse in the receive buffer itself and copy only a partial tail. */
    if (conn->in.len == 0 && !conn->send_inflight && conn->batch == NULL) {
        bool ok;
        size_t used = respond_to_requests(conn, routes, data, now, &ok);

        if (!ok || conn->close_after_send)
            return ok;
        return sg_byte_buffer_append(&conn->in, data.ptr + used, data.len - used);
    }

    if (!sg_byte_buffer_append(&conn->in, data.ptr, data.len))
        return false;
    if (conn->send_inflight || conn->batch != NULL)
        return true;
    return sg_conn_respond_buffered(conn, routes, now);
}

struct sg_slice sg_conn_unsent(const struct sg_conn *conn)
{
    if (conn->out.len == 0)
        return sg_slice_make(NULL, 0);
    return sg_slice_make(conn->out.data + conn->out_sent, conn->out.len - conn->out_sent);
}

void sg_conn_mark_sent(struct sg_conn *conn, size_t len)
{
    conn->out_sent += len;
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
