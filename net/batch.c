#include "net/batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/limits.h"
#include "net/log.h"
#include "net/metrics.h"

/* ---- Jobs ----------------------------------------------------------- */

struct sg_batch_job *sg_batch_job_new(struct sg_batch_body *body, size_t owner)
{
    struct sg_batch_job *job = calloc(1, sizeof(*job));

    if (job != NULL)
        job->results = calloc(body->item_count + 1, sizeof(*job->results));
    if (job == NULL || job->results == NULL) {
        free(job);
        sg_batch_body_free(body);
        return NULL;
    }

    job->body = *body;
    memset(body, 0, sizeof(*body));
    job->chunk_count = (job->body.item_count + SG_BATCH_CHUNK_ITEMS - 1) / SG_BATCH_CHUNK_ITEMS;
    job->owner = owner;
    atomic_init(&job->refs, 1);
    atomic_init(&job->next_chunk, 0);
    atomic_init(&job->done_chunks, 0);
    atomic_init(&job->cancelled, false);
    return job;
}

static void job_retain(struct sg_batch_job *job)
{
    atomic_fetch_add_explicit(&job->refs, 1, memory_order_relaxed);
}

/* acq_rel: every write to the job happens before the thread that frees it reads it. */
void sg_batch_job_release(struct sg_batch_job *job)
{
    if (job == NULL || atomic_fetch_sub_explicit(&job->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < job->body.item_count; i++)
        free(job->results[i]);
    free(job->results);
    sg_batch_body_free(&job->body);
    free(job);
}

void sg_batch_job_cancel(struct sg_batch_job *job)
{
    if (job == NULL)
        return;
    atomic_store_explicit(&job->cancelled, true, memory_order_relaxed);
    sg_batch_job_release(job);
}

/* ---- The hub -------------------------------------------------------- */

bool sg_batch_hub_init(struct sg_batch_hub *hub, size_t worker_count, sg_batch_verify_fn verify,
                       char *message, size_t message_size)
{
    memset(hub, 0, sizeof(*hub));
    pthread_mutex_init(&hub->lock, NULL);
    atomic_init(&hub->queued_hint, 0);
    hub->verify = verify;
    hub->mailboxes = calloc(worker_count, sizeof(*hub->mailboxes));
    if (hub->mailboxes == NULL) {
        snprintf(message, message_size, "allocating batch mailboxes failed");
        return false;
    }

    for (size_t i = 0; i < worker_count; i++) {
        struct sg_batch_mailbox *mailbox = &hub->mailboxes[i];

        pthread_mutex_init(&mailbox->lock, NULL);
        mailbox->wake_fd = eventfd(0, EFD_CLOEXEC);
        hub->worker_count++;
        if (mailbox->wake_fd < 0) {
            snprintf(message, message_size, "creating a batch eventfd failed: %s",
                     strerror(errno));
            return false;
        }
    }
    return true;
}

void sg_batch_hub_destroy(struct sg_batch_hub *hub)
{
    struct sg_batch_job *job;

    if (hub->mailboxes == NULL)
        return;

    for (size_t i = 0; i < hub->queued; i++)
        sg_batch_job_release(hub->queue[i]);
    hub->queued = 0;

    for (size_t i = 0; i < hub->worker_count; i++) {
        while ((job = sg_batch_mailbox_take(hub, i)) != NULL)
            sg_batch_job_release(job);
        if (hub->mailboxes[i].wake_fd >= 0)
            close(hub->mailboxes[i].wake_fd);
        pthread_mutex_destroy(&hub->mailboxes[i].lock);
    }
    free(hub->mailboxes);
    pthread_mutex_destroy(&hub->lock);
    memset(hub, 0, sizeof(*hub));
}

static void wake_worker(struct sg_batch_hub *hub, size_t index)
{
    uint64_t one = 1;

    /* A write blocks only when the counter would pass 2^64 - 2, which wake-ups never reach. */
    if (write(hub->mailboxes[index].wake_fd, &one, sizeof(one)) < 0)
        sg_log(SG_LOG_ERROR, "waking a worker for a batch failed", "worker=%zu error=\"%s\"",
               index, strerror(errno));
}

bool sg_batch_publish(struct sg_batch_hub *hub, struct sg_batch_job *job)
{
    pthread_mutex_lock(&hub->lock);
    if (hub->queued == SG_BATCH_QUEUE_MAX) {
        pthread_mutex_unlock(&hub->lock);
        return false;
    }
    job_retain(job);
    hub->queue[hub->queued++] = job;
    atomic_store_explicit(&hub->queued_hint, hub->queued, memory_order_relaxed);
    pthread_mutex_unlock(&hub->lock);

    for (size_t i = 0; i < hub->worker_count; i++) {
        if (i != job->owner)
            wake_worker(hub, i);
    }
    return true;
}

/* Removes `job` from the queue if it is still there, dropping the queue's reference. */
static void unqueue(struct sg_batch_hub *hub, struct sg_batch_job *job)
{
    bool found = false;

    pthread_mutex_lock(&hub->lock);
    for (size_t i = 0; i < hub->queued; i++) {
        if (hub->queue[i] == job) {
            memmove(&hub->queue[i], &hub->queue[i + 1], (hub->queued - i - 1) * sizeof(job));
            hub->queued--;
            found = true;
            break;
        }
    }
    atomic_store_explicit(&hub->queued_hint, hub->queued, memory_order_relaxed);
    pthread_mutex_unlock(&hub->lock);
    if (found)
        sg_batch_job_release(job);
}

/* Returns the oldest queued job with a reference for the caller, or NULL. */
static struct sg_batch_job *first_queued(struct sg_batch_hub *hub)
{
    struct sg_batch_job *job = NULL;

    pthread_mutex_lock(&hub->lock);
    if (hub->queued > 0) {
        job = hub->queue[0];
        job_retain(job);
    }
    pthread_mutex_unlock(&hub->lock);
    return job;
}

/* ---- Verifying ------------------------------------------------------ */

/* Verifies one chunk; returns its item count. */
static size_t verify_chunk(struct sg_batch_job *job, size_t chunk, sg_batch_verify_fn verify,
                           void *context, int64_t now)
{
    size_t first = chunk * SG_BATCH_CHUNK_ITEMS;
    size_t end = first + SG_BATCH_CHUNK_ITEMS;

    if (end > job->body.item_count)
        end = job->body.item_count;
    for (size_t i = first; i < end; i++)
        job->results[i] = verify(context, &job->body.items[i], now);
    return end - first;
}

void sg_batch_verify_all(struct sg_batch_job *job, sg_batch_verify_fn verify, void *context,
                         int64_t now)
{
    for (size_t chunk = 0; chunk < job->chunk_count; chunk++)
        (void)verify_chunk(job, chunk, verify, context, now);
}

/* Puts a finished job in its owner's mailbox, with a new reference, and wakes the owner. */
static void deliver(struct sg_batch_hub *hub, struct sg_batch_job *job)
{
    struct sg_batch_mailbox *mailbox = &hub->mailboxes[job->owner];
    struct sg_batch_job **tail;

    job_retain(job);
    pthread_mutex_lock(&mailbox->lock);
    tail = &mailbox->done;
    while (*tail != NULL)
        tail = &(*tail)->next_done;
    job->next_done = NULL;
    *tail = job;
    pthread_mutex_unlock(&mailbox->lock);
    wake_worker(hub, job->owner);
}

/*
 * Claims and verifies chunks of `job` until it has none left or
 * `budget` chunks were verified. The release on done_chunks makes this
 * chunk's results visible to the worker whose increment completes the
 * count, which hands the job to the owner.
 */
static size_t work_on(struct sg_batch_hub *hub, struct sg_batch_job *job, size_t budget,
                      void *context, int64_t now, _Atomic uint64_t *item_counter)
{
    size_t verified = 0;

    while (verified < budget) {
        size_t chunk = atomic_fetch_add_explicit(&job->next_chunk, 1, memory_order_relaxed);
        size_t done;

        if (chunk >= job->chunk_count) {
            unqueue(hub, job);
            break;
        }
        if (!atomic_load_explicit(&job->cancelled, memory_order_relaxed)) {
            size_t items = verify_chunk(job, chunk, hub->verify, context, now);

            verified++;
            if (item_counter != NULL)
                sg_metric_add(item_counter, items);
        }

        done = atomic_fetch_add_explicit(&job->done_chunks, 1, memory_order_acq_rel) + 1;
        if (done == job->chunk_count)
            deliver(hub, job);
    }
    return verified;
}

bool sg_batch_work(struct sg_batch_hub *hub, void *context, int64_t now,
                   _Atomic uint64_t *chunk_counter, _Atomic uint64_t *item_counter)
{
    size_t budget = SG_BATCH_CHUNKS_PER_TURN;

    while (budget > 0 && atomic_load_explicit(&hub->queued_hint, memory_order_relaxed) > 0) {
        struct sg_batch_job *job = first_queued(hub);
        size_t verified;

        if (job == NULL)
            break;
        verified = work_on(hub, job, budget, context, now, item_counter);
        budget -= verified;
        if (chunk_counter != NULL)
            sg_metric_add(chunk_counter, verified);
        sg_batch_job_release(job);
    }
    return atomic_load_explicit(&hub->queued_hint, memory_order_relaxed) > 0;
}

struct sg_batch_job *sg_batch_mailbox_take(struct sg_batch_hub *hub, size_t worker_index)
{
    struct sg_batch_mailbox *mailbox = &hub->mailboxes[worker_index];
    struct sg_batch_job *job;

    pthread_mutex_lock(&mailbox->lock);
    job = mailbox->done;
    if (job != NULL)
        mailbox->done = job->next_done;
    pthread_mutex_unlock(&mailbox->lock);
    return job;
}

/* ---- The response --------------------------------------------------- */

/* Returns the body's size, or 0 (and logs why) when a result is missing or it is too large. */
static size_t response_size(const struct sg_batch_job *job)
{
    size_t size = sizeof("{\"results\":[]}") - 1;

    for (size_t i = 0; i < job->body.item_count; i++) {
        if (job->results[i] == NULL) {
            sg_log(SG_LOG_ERROR, "batch response failed",
                   "items=%zu item=%zu error=\"out of memory while verifying\"",
                   job->body.item_count, i);
            return 0;
        }
        size += strlen(job->results[i]) + 1;
        if (size > SG_BATCH_RESPONSE_MAX) {
            sg_log(SG_LOG_ERROR, "batch response failed",
                   "items=%zu error=\"response larger than %d bytes\"", job->body.item_count,
                   SG_BATCH_RESPONSE_MAX);
            return 0;
        }
    }
    return size;
}

char *sg_batch_render(const struct sg_batch_job *job)
{
    size_t size = response_size(job);
    char *text = size > 0 ? malloc(size + 1) : NULL;
    size_t used = 0;

    if (text == NULL)
        return NULL;
    memcpy(text, "{\"results\":[", 12);
    used = 12;
    for (size_t i = 0; i < job->body.item_count; i++) {
        size_t len = strlen(job->results[i]);

        if (i > 0)
            text[used++] = ',';
        memcpy(text + used, job->results[i], len);
        used += len;
    }
    memcpy(text + used, "]}", 3);
    return text;
}

int sg_batch_write_response(const struct sg_batch_job *job, struct sg_byte_buffer *out,
                            const struct sg_http_date *date)
{
    char *text = sg_batch_render(job);
    int status = text != NULL ? 200 : 500;
    bool written;

    if (text == NULL)
        text = sg_http_error_body(500, SG_BATCH_RENDER_FAILED);
    if (text == NULL)
        return 0;

    struct sg_http_response response = {
        .status = status,
        .content_type = "application/json",
        .body = sg_slice_cstr(text),
        .close = job->close,
        .keep_alive_http10 = job->keep_alive_http10,
    };
    written = sg_http_response_write(out, &response, date);
    free(text);
    return written ? status : 0;
}
