/*
 * Spreading a large batch over the workers.
 *
 * A batch of more than SG_BATCH_SPREAD_MIN items becomes a job: its items
 * are cut into chunks of SG_BATCH_CHUNK_ITEMS, and the job goes on the
 * hub's queue. The worker that received the request (the owner) wakes
 * the others through their eventfds. Every worker, the owner included,
 * looks at the queue once per loop turn and claims chunks with an atomic
 * counter, so each chunk is verified exactly once, by whichever worker
 * is free first. A chunk is verified with the claiming worker's own
 * verifier, cache and trust snapshot. Two workers can hold different
 * snapshot generations for the length of one loop turn after a reload,
 * so one batch may mix verdicts of the old and the new bundles, just as
 * two single requests sent at that moment could.
 *
 * The worker that finishes the last chunk puts the job in the owner's
 * mailbox and wakes the owner, which alone touches the connection: it
 * writes the response in input order, then goes on with the requests
 * that waited behind the batch.
 *
 * Why a queue and a counter rather than sending chunks to each worker:
 * a worker busy with its own connections simply claims fewer chunks,
 * and no worker waits for another. Why eventfds rather than
 * IORING_OP_MSG_RING: every worker already waits on an eventfd read, it
 * needs no kernel feature beyond those the server requires, and a
 * message to a ring created with IORING_SETUP_DEFER_TASKRUN depends on
 * the kernel version.
 *
 * Lifetime: a job is reference-counted. The connection, the queue, each
 * worker verifying a chunk and the owner's mailbox each hold a
 * reference, so a connection that closes mid-batch only cancels the job
 * (the remaining chunks are skipped) and the last reference frees it, on
 * whichever thread drops it. At shutdown the workers stop first; the hub
 * is destroyed after every worker, and drops what its queue and
 * mailboxes still hold.
 */
#ifndef SVIDGATE_NET_BATCH_H
#define SVIDGATE_NET_BATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "net/batch_body.h"
#include "net/byte_buffer.h"
#include "net/http_response.h"

/* Batches up to this many items are verified at once by the worker that
 * received them: spreading costs a wake-up of each other worker. */
#define SG_BATCH_SPREAD_MIN 64

/* Items per chunk. 64 ES256 verifications without cache hits take a few
 * milliseconds (about 7 ms measured on a loaded 2-core test host), so a
 * worker that claims a chunk is soon back at its own connections. */
#define SG_BATCH_CHUNK_ITEMS 64

/* Chunks a worker verifies per loop turn before it serves its ring again. */
#define SG_BATCH_CHUNKS_PER_TURN 4

/* Jobs waiting for workers at once; a batch that finds the queue full
 * is verified by its own worker alone. */
#define SG_BATCH_QUEUE_MAX 64

/*
 * Verifies one item with the state of worker `context` and returns its
 * result object as a new string (free() it), or NULL when out of memory.
 */
typedef char *(*sg_batch_verify_fn)(void *context, const struct sg_batch_item *item,
                                    int64_t now);

struct sg_batch_job {
    _Atomic unsigned refs;
    _Atomic size_t next_chunk;  /* the next chunk to claim */
    _Atomic size_t done_chunks; /* chunks verified (or skipped after a cancel) */
    _Atomic bool cancelled;     /* the connection closed; skip the remaining chunks */
    size_t chunk_count;
    struct sg_batch_body body;
    char **results; /* per item; written by the worker that verified its chunk */

    /* The owner's fields: only the owning worker reads or writes them. */
    size_t owner;            /* worker index */
    void *conn;              /* the connection waiting for the response */
    struct sg_batch_job *next_done; /* link in the owner's mailbox, under its lock */
    uint64_t started_ns;     /* when the request was parsed, for the latency metric */
    bool close;              /* the response ends the connection */
    bool keep_alive_http10;
};

/* One worker's mailbox: finished jobs it owns, and the eventfd that wakes it. */
struct sg_batch_mailbox {
    pthread_mutex_t lock;
    struct sg_batch_job *done;
    int wake_fd;
};

/* The batch state every worker shares. */
struct sg_batch_hub {
    pthread_mutex_t lock; /* guards `queue` and `queued` */
    struct sg_batch_job *queue[SG_BATCH_QUEUE_MAX];
    size_t queued;
    _Atomic size_t queued_hint; /* `queued`, read without the lock once per loop turn */
    struct sg_batch_mailbox *mailboxes;
    size_t worker_count;
    sg_batch_verify_fn verify;
};

/* Sets up the queue and one mailbox with an eventfd per worker. */
SG_MUST_CHECK bool sg_batch_hub_init(struct sg_batch_hub *hub, size_t worker_count,
                                     sg_batch_verify_fn verify, char *message,
                                     size_t message_size);

/* Drops every job still queued or in a mailbox; every worker must have stopped. */
void sg_batch_hub_destroy(struct sg_batch_hub *hub);

/*
 * Creates a job of `body` (taken over: the job frees it) owned by worker
 * `owner`, with one reference for the caller. NULL when out of memory;
 * `body` is freed then too.
 */
struct sg_batch_job *sg_batch_job_new(struct sg_batch_body *body, size_t owner);

/* Drops one reference; the last frees the job. */
void sg_batch_job_release(struct sg_batch_job *job);

/* Marks the job cancelled and drops the caller's reference. */
void sg_batch_job_cancel(struct sg_batch_job *job);

/*
 * Queues the job and wakes every worker but the owner. False when the
 * queue is full; the caller then verifies it with sg_batch_verify_all().
 */
SG_MUST_CHECK bool sg_batch_publish(struct sg_batch_hub *hub, struct sg_batch_job *job);

/*
 * Verifies up to SG_BATCH_CHUNKS_PER_TURN chunks of queued jobs with the
 * calling worker's `context`, counting chunks and items when the
 * counters are not NULL. Returns true when chunks remain
 * unclaimed, so the caller polls its ring without sleeping.
 */
bool sg_batch_work(struct sg_batch_hub *hub, void *context, int64_t now,
                   _Atomic uint64_t *chunk_counter, _Atomic uint64_t *item_counter);

/* Verifies every item of `job` on the calling thread (a small batch, or a full queue). */
void sg_batch_verify_all(struct sg_batch_job *job, sg_batch_verify_fn verify, void *context,
                         int64_t now);

/* Takes the next finished job of worker `worker_index`, with the mailbox's reference. */
struct sg_batch_job *sg_batch_mailbox_take(struct sg_batch_hub *hub, size_t worker_index);

/*
 * Renders {"results": [...]} in input order. Returns NULL when a result
 * is missing because memory ran out while verifying, when the body would
 * exceed SG_BATCH_RESPONSE_MAX, or when memory runs out now. The
 * response is then a 500 with the message SG_BATCH_RENDER_FAILED.
 */
char *sg_batch_render(const struct sg_batch_job *job);

#define SG_BATCH_RENDER_FAILED                                                             \
    "the batch results exceed the response size limit or memory ran out; send fewer tokens"

/*
 * Appends the whole response of a finished job to `out`. Returns the
 * HTTP status written (200 or 500), or 0 when `out` cannot take it.
 */
int sg_batch_write_response(const struct sg_batch_job *job, struct sg_byte_buffer *out,
                            const struct sg_http_date *date);

#endif
