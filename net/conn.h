/*
 * One client connection: its bytes, its parser, its timer and its place
 * in the connection's life. This file decides how to respond; net/worker.c
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
 * While OPEN, the connection waits for one thing at a time (enum
 * sg_conn_wait), and each wait has its own deadline, set when the wait
 * begins: the next request (idle), the rest of a request head, the rest
 * of a body, or the client reading the responses. A head or body that
 * misses its deadline gets 408; the other waits end in a silent close.
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
 * (a batch; a chunked one is larger than its body by its framing) plus
 * one receive of the next. A client that pipelines more than that ahead
 * of reading its responses is disconnected.
 */
#define SG_CONN_INPUT_MAX                                                                  \
    (SG_HTTP_HEADER_BYTES_MAX + SG_BATCH_BODY_MAX + SG_HTTP_CHUNK_FRAMING_MAX +           \
     SG_RECV_BUFFER_SIZE)

/* Output held for one connection. Responses to pipelined requests are
 * written until SG_CONN_OUTPUT_PAUSE bytes wait, and the rest after that
 * output is sent, so only one large response (a batch) can pass the
 * pause. Buffers grow on demand, within the worker's budget. */
#define SG_CONN_OUTPUT_PAUSE (64 * 1024)
#define SG_CONN_OUTPUT_MAX (SG_CONN_OUTPUT_PAUSE + SG_BATCH_RESPONSE_MAX)

/*
 * Default timeouts, in seconds; `serve` has hidden flags to shorten them
 * for tests. The idle timeout (no request under way, or responses not
 * read) is longer than nginx's default upstream keepalive_timeout of
 * 60 s (nginx 1.15.3 and later). So a gateway usually closes its pooled
 * connection first, and sends no request into a connection that
 * svidgate is closing.
 * A client on a working network sends a head (at most 16 KiB) in well
 * under 10 s; the header timeout is what frees a slot from a client
 * that sends a byte at a time. The body timeout allows 1 MiB at about
 * 35 KiB/s.
 */
#define SG_CONN_IDLE_TIMEOUT 65
#define SG_CONN_HEADER_TIMEOUT 10
#define SG_CONN_BODY_TIMEOUT 30

/* Seconds and bytes a connection may take to close after its last response. */
#define SG_CONN_DRAIN_TIMEOUT 2
#define SG_CONN_DRAIN_MAX (64 * 1024)

struct sg_conn_timeouts {
    int64_t idle;   /* seconds without a request under way or output sent */
    int64_t header; /* seconds from the first byte of a request to the end of its head */
    int64_t body;   /* seconds from the end of the head to the end of the body */
};

/* The event an OPEN connection waits for; its deadline belongs to this wait. */
enum sg_conn_wait {
    SG_CONN_WAIT_IDLE,   /* the first byte of a request */
    SG_CONN_WAIT_HEAD,   /* the rest of a request head */
    SG_CONN_WAIT_BODY,   /* the rest of a request body */
    SG_CONN_WAIT_OUTPUT, /* the client reading the responses */
};

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
    bool refused;          /* opened over the connection cap, only to send 503 */
    bool stopping;         /* the server is stopping: close once no request is under way */
    enum sg_conn_wait wait;
    const struct sg_conn_timeouts *timeouts; /* the worker's */
    struct sg_http_parser parser;
    struct sg_byte_buffer in;  /* request bytes not yet responded to; in[0] starts a request */
    struct sg_byte_buffer out; /* responses not yet sent */
    size_t out_sent;           /* bytes of `out` already sent */
    size_t drained;            /* bytes thrown away while DRAINING */
    int64_t deadline;          /* CLOCK_MONOTONIC second that ends the current state or wait */
    struct sg_batch_job *batch; /* a spread batch whose response is awaited; later
                                 * requests wait in `in` until it is written */
};

/* Turns a free slot into an OPEN connection on `fd`, waiting for a request. */
void sg_conn_open(struct sg_conn *conn, int fd, int64_t now, struct sg_byte_budget *budget,
                  const struct sg_conn_timeouts *timeouts);

/*
 * Turns a free slot into an OPEN connection that reads no request: its
 * output is one 503 with "Retry-After" and "Connection: close", and it
 * ends after that. For a connection over the worker's cap. Returns false
 * when the response does not fit; close the connection then.
 */
SG_MUST_CHECK bool sg_conn_open_refused(struct sg_conn *conn, int fd, int64_t now,
                                        struct sg_byte_budget *budget,
                                        const struct sg_conn_timeouts *timeouts,
                                        struct sg_http_date *date);

/*
 * Takes bytes the connection received, responds to every complete
 * request while no send is in flight, and keeps the rest. Returns false when the
 * connection must be closed at once: input over SG_CONN_INPUT_MAX,
 * draining too long, a response that does not fit, or no memory.
 */
SG_MUST_CHECK bool sg_conn_receive(struct sg_conn *conn, struct sg_route_context *routes,
                                   uint8_t *data, size_t len, int64_t now);

/*
 * Responds to the requests that waited in the input buffer during a
 * send. Returns false as sg_conn_receive() does.
 */
SG_MUST_CHECK bool sg_conn_respond_buffered(struct sg_conn *conn, struct sg_route_context *routes,
                                           int64_t now);

/* Returns the output not yet sent (empty when there is none). */
struct sg_slice sg_conn_unsent(const struct sg_conn *conn);

/* Records that `len` bytes of sg_conn_unsent() were sent, which restarts the output wait. */
void sg_conn_mark_sent(struct sg_conn *conn, size_t len, int64_t now);

/*
 * Moves an OPEN connection to the wait its buffers show and starts that
 * wait's deadline when the wait changed. Call after every receive and send.
 */
void sg_conn_update_wait(struct sg_conn *conn, int64_t now);

/*
 * Handles a passed deadline of an OPEN connection. A request head or body
 * that did not arrive in time gets 408 with "Connection: close"; returns
 * true then, and the caller sends it. Returns false when the connection
 * is to close without a response.
 */
SG_MUST_CHECK bool sg_conn_time_out(struct sg_conn *conn, struct sg_route_context *routes);

/*
 * Marks the connection for a server stop: the response to the last
 * request that has arrived carries "Connection: close". Returns true
 * when no request is under way and nothing waits to be sent, so the
 * caller can close it at once.
 */
bool sg_conn_stop(struct sg_conn *conn);

/* Returns true when an OPEN connection waits for a request with nothing to send. */
bool sg_conn_is_idle(const struct sg_conn *conn);

/* Enters DRAINING after the final response; input is discarded from now on. */
void sg_conn_start_draining(struct sg_conn *conn, int64_t now);

/* Frees the buffers and turns the slot FREE with the next generation. */
void sg_conn_release(struct sg_conn *conn);

#endif
