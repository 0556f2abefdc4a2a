/*
 * One server worker: a thread with its own io_uring, its own
 * SO_REUSEPORT listening socket, its connections and their buffers.
 * Workers share nothing writable; the kernel spreads new connections
 * over their listening sockets.
 */
#ifndef SVIDGATE_NET_WORKER_H
#define SVIDGATE_NET_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>
#include <pthread.h>

#include "core/error.h"
#include "net/conn.h"
#include "net/routes.h"

/*
 * Connections one worker serves at once (the default and the upper bound
 * of `serve --max-connections`). A connection over the cap gets a 503
 * from one of SG_WORKER_REFUSAL_SLOTS spare slots; when those are taken
 * too, it is closed without a response.
 */
#define SG_WORKER_CONNECTIONS_MAX 4096
#define SG_WORKER_REFUSAL_SLOTS 64

/*
 * Default seconds a stopping worker waits for its connections to finish
 * before it closes them. That is enough for a request already under way
 * from a working client, and well within the 30 s that Kubernetes allows
 * a pod between SIGTERM and SIGKILL by default.
 */
#define SG_WORKER_DRAIN_TIMEOUT 10

struct sg_worker_options {
    struct sg_conn_timeouts timeouts;
    size_t max_connections; /* 1 .. SG_WORKER_CONNECTIONS_MAX */
    int64_t drain_timeout;  /* seconds */
};

/* Counts of one worker's stop, read by the server thread after pthread_join(). */
struct sg_worker_drain_stats {
    size_t open_at_start; /* connections open when the stop began */
    size_t closed_idle;   /* of those, closed at once: no request under way */
    size_t forced;        /* connections still open at the drain deadline */
};

/* Receive buffers in a worker's provided-buffer ring (a power of two),
 * each SG_RECV_BUFFER_SIZE bytes, and the ring's buffer group id. */
#define SG_WORKER_BUFFER_COUNT 256
#define SG_WORKER_BUFFER_GROUP 0

/* The fields are the worker thread's own, apart from those marked. */
struct sg_worker {
    pthread_t thread;    /* set and joined by the server thread */
    size_t index;
    struct io_uring ring;
    bool ring_ready;
    bool ring_disabled;  /* created disabled; the worker thread enables it */
    int listen_fd;
    int wake_fd;         /* eventfd; another thread writes to it to stop the loop */
    uint64_t wake_value; /* the eventfd read lands here */
    uint64_t batch_wake_value; /* the read of this worker's batch mailbox eventfd lands here */
    struct sg_worker_options options;

    struct io_uring_buf_ring *buffer_ring; /* mmap'd, shared with the kernel */
    size_t buffer_ring_bytes;
    bool buffer_ring_registered;
    uint8_t *buffers; /* SG_WORKER_BUFFER_COUNT receive buffers, back to back */

    struct sg_conn *conns;  /* slot_count slots */
    size_t slot_count;      /* options.max_connections + SG_WORKER_REFUSAL_SLOTS */
    struct sg_byte_budget buffer_budget; /* all connection buffers, SG_HTTP_WORKER_BUFFER_MAX */
    uint32_t *free_slots;   /* stack of free slot indexes */
    size_t free_count;
    size_t served_count;    /* slots in use that are not refused connections */

    struct __kernel_timespec tick_interval;
    int64_t now;            /* CLOCK_MONOTONIC seconds, read once per loop turn */
    bool stopping;          /* draining: no more accepts, connections end after their requests */
    bool stopped;           /* leave the loop */
    int64_t drain_deadline;
    struct sg_worker_drain_stats drain; /* read by the server thread after pthread_join() */
    bool failed;            /* read by the server thread after pthread_join() */
    bool accept_armed;
    bool accept_rearm_on_tick;

    /* Loop turns so far, at least one a second through the tick. Written
     * by the worker only; the server thread reads it (relaxed) to feed
     * the systemd watchdog only while every worker's loop turns. */
    _Atomic uint64_t heartbeat;

    struct sg_route_context routes;

    uint64_t accept_errors;       /* since the last tick's log line */
    int last_accept_error;
    uint64_t connections_refused; /* sent 503 over the cap, since the last tick's log line */
    uint64_t connections_dropped; /* closed over the cap without a response, likewise */
};

/*
 * Sets up `worker` on `listen_fd`: ring, provided-buffer ring, connection
 * slots. The worker owns `listen_fd` and routes->verifier from now on,
 * even when this fails. Runs on the
 * server thread before the worker thread starts. On failure writes a
 * message naming the step to `message`; call sg_worker_destroy() either
 * way.
 */
SG_MUST_CHECK bool sg_worker_init(struct sg_worker *worker, size_t index, int listen_fd,
                                  const struct sg_route_context *routes,
                                  const struct sg_worker_options *options, char *message,
                                  size_t message_size);

/*
 * The worker thread: serves until sg_worker_wake() or a fatal ring
 * error. On a fatal error it sets worker->failed, logs it and sends
 * SIGTERM to the process so that the server stops as a whole.
 *
 * After sg_worker_wake() the worker drains: it stops listening, so new
 * connections are refused by the kernel, closes connections with no
 * request under way, responds to the requests that have arrived (the last
 * one on each connection with "Connection: close") and leaves its loop
 * once every connection has closed, or one tick after
 * options.drain_timeout seconds, when it closes what is still open.
 */
void *sg_worker_run(void *worker);

/* Asks the worker to drain and leave its loop; callable from any thread. */
void sg_worker_wake(struct sg_worker *worker);

/* Closes every socket and frees everything; the thread must have ended. */
void sg_worker_destroy(struct sg_worker *worker);

#endif
