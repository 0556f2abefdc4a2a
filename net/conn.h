/*
 * One client connection: its bytes, its parser and its place in the
 * connection's life. This file decides how to respond; net/worker.c
 * moves the bytes with io_uring and owns the file descriptor.
 *
 * Life of a connection slot:
 *
 *   FREE --accept--> OPEN --last response sent--> DRAINING --EOF/timeout--> CLOSING --> FREE
 *                      \_____________error, EOF or timeout______________/
 *
 * OPEN reads requests and responds to them. Once the response that ends
 * the connection (an error, or "Connection: close") is sent, the write
 * side is shut and the connection is DRAINING. Input is then read and
 * discarded until the client closes, because closing with unread bytes
 * sends a reset, which can destroy the response before the client reads
 * it. CLOSING waits for the operations still in flight; only then is the
 * descriptor closed and the slot freed.
 *
 * Why responses leave in request order: HTTP/1.1 has no request ids, so
 * a client pairs responses with pipelined requests by their order
 * (RFC 9112, section 9.3.2). A connection parses its input front to
 * back, appends each response to the one output buffer, and has at most
 * one send in flight; requests that arrive during a send wait in the
 * input buffer until it completes.
 */
#ifndef SVIDGATE_NET_CONN_H
#define SVIDGATE_NET_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/limits.h"
#include "net/byte_buffer.h"
#include "net/http_parser.h"
#include "net/routes.h"

struct sg_batch_job;

/* Bytes of one provided receive buffer; a typical request fits in one. */
#define SG_RECV_BUFFER_SIZE 8192

/*
 * Input held for one connection: the largest request the parser accepts
 * (a batch) plus one receive of the next. A client that pipelines more
 * than that ahead of reading its responses is disconnected.
 */
#define SG_CONN_INPUT_MAX (SG_HTTP_HEADER_BYTES_MAX + SG_BATCH_BODY_MAX + SG_RECV_BUFFER_SIZE)

/* Output held for one connection. Responses to pipelined requests are
 * written until SG_CONN_OUTPUT_PAUSE bytes wait, and the rest after that
 * output is sent, so only one large response (a batch) can pass the
 * pause. Buffers grow on demand, within the worker's budget. */
#define SG_CONN_OUTPUT_PAUSE (64 * 1024)
#define SG_CONN_OUTPUT_MAX (SG_CONN_OUTPUT_PAUSE + SG_BATCH_RESPONSE_MAX)

/* Seconds a connection may go without completing a request, and seconds
 * and bytes it may take to close after its last response. */
#define SG_CONN_IDLE_TIMEOUT 60
#define SG_CONN_DRAIN_TIMEOUT 2
#define SG_CONN_DRAIN_MAX (64 * 1024)

enum sg_conn_state {
    SG_CONN_FREE,
    SG_CONN_OPEN,
    SG_CONN_DRAINING,
    SG_CONN_CLOSING,
};

struct sg_conn {
    int fd;
    uint32_t generation; /* bumped when the slot is freed; see net/worker.c */
    enum sg_conn_state state;
    bool recv_armed;       /* a multishot receive is in flight */
    bool send_inflight;    /* `out` is being sent; it must not move or grow */
    bool close_after_send; /* the last response in `out` ends the connection */
    bool continue_sent;    /* "100 Continue" went out for the current request */
    bool peer_closed;      /* a receive returned 0: the client sends nothing more */
    struct sg_http_parser parser;
    struct sg_byte_buffer in;  /* request bytes not yet responded to; in[0] starts a request */
    struct sg_byte_buffer out; /* responses not yet sent */
    size_t out_sent;           /* bytes of `out` already sent */
    size_t drained;            /* bytes thrown away while DRAINING */
    int64_t deadline;          /* CLOCK_MONOTONIC second that ends the current state */
    struct sg_batch_job *batch; /* a spread batch whose response is awaited; later
                                 * requests wait in `in` until it is written */
};

/* Turns a free slot into an OPEN connection on `fd`. */
void sg_conn_open(struct sg_conn *conn, int fd, int64_t now, struct sg_byte_budget *budget);

/*
 * Takes bytes the connection received, responds to every complete
 * request while no send is in flight, and keeps the rest. Returns false when the
 * connection must be closed at once: input over SG_CONN_INPUT_MAX,
 * draining too long, a response that does not fit, or no memory.
 */
SG_MUST_CHECK bool sg_conn_receive(struct sg_conn *conn, struct sg_route_context *routes,
                                   struct sg_slice data, int64_t now);

/*
 * Responds to the requests that waited in the input buffer during a
 * send. Returns false as sg_conn_receive() does.
 */
SG_MUST_CHECK bool sg_conn_respond_buffered(struct sg_conn *conn, struct sg_route_context *routes,
                                           int64_t now);

/* Returns the output not yet sent (empty when there is none). */
struct sg_slice sg_conn_unsent(const struct sg_conn *conn);

/* Records that `len` bytes of sg_conn_unsent() were sent. */
void sg_conn_mark_sent(struct sg_conn *conn, size_t len);

/* Enters DRAINING after the final response; input is discarded from now on. */
void sg_conn_start_draining(struct sg_conn *conn, int64_t now);

/* Frees the buffers and turns the slot FREE with the next generation. */
void sg_conn_release(struct sg_conn *conn);

#endif
