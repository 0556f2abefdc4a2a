/*
 * Creating and destroying a worker: its ring, its provided-buffer ring
 * and its connection slots. Both run on the server thread, before the
 * worker thread starts and after it has ended.
 */
#include "net/worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/verifier.h"

/* Submission queue entries; the completion queue is larger because one
 * multishot operation can post many completions per submission. */
#define RING_ENTRIES 1024
#define RING_CQ_ENTRIES 8192

static bool fail_setup(char *message, size_t size, const char *step, int error)
{
    snprintf(message, size, "%s failed: %s", step, strerror(error));
    return false;
}

/*
 * Ring set-up flags, best first. DEFER_TASKRUN (Linux 6.1) runs completion
 * work only when the worker enters the kernel to wait, instead of
 * interrupting it; it needs SINGLE_ISSUER, and since the ring is created
 * on the server thread but used by the worker, it starts disabled and the
 * worker enables it (sg_worker_run). COOP_TASKRUN (5.19) is the fallback,
 * then no flag at all.
 */
static const unsigned ring_flag_choices[] = {
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
    IORING_SETUP_COOP_TASKRUN,
    0,
};

static bool setup_ring(struct sg_worker *worker, char *message, size_t size)
{
    int ret = -EINVAL;

    for (size_t i = 0; i < sizeof(ring_flag_choices) / sizeof(ring_flag_choices[0]); i++) {
        struct io_uring_params params = {
            .flags = IORING_SETUP_CQSIZE | ring_flag_choices[i],
            .cq_entries = RING_CQ_ENTRIES,
        };

        ret = io_uring_queue_init_params(RING_ENTRIES, &worker->ring, &params);
        if (ret != -EINVAL)
            break;
    }
    if (ret < 0)
        return fail_setup(message, size, "io_uring_setup", -ret);
    worker->ring_ready = true;
    worker->ring_disabled = (worker->ring.flags & IORING_SETUP_R_DISABLED) != 0;
    return true;
}

/*
 * Maps the buffer ring, registers it as group SG_WORKER_BUFFER_GROUP and
 * publishes every receive buffer to the kernel. liburing 2.3 has no
 * io_uring_setup_buf_ring(), so the ring memory is mapped here.
 */
static bool setup_buffer_ring(struct sg_worker *worker, char *message, size_t size)
{
    size_t buffers_bytes = (size_t)SG_WORKER_BUFFER_COUNT * SG_RECV_BUFFER_SIZE;
    struct io_uring_buf_reg reg = { 0 };
    void *ring;
    int ret;

    worker->buffers = malloc(buffers_bytes);
    if (worker->buffers == NULL)
        return fail_setup(message, size, "allocating receive buffers", ENOMEM);

    worker->buffer_ring_bytes = SG_WORKER_BUFFER_COUNT * sizeof(struct io_uring_buf);
    ring = mmap(NULL, worker->buffer_ring_bytes, PROT_READ | PROT_WRITE,
                MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring == MAP_FAILED)
        return fail_setup(message, size, "mapping the buffer ring", errno);
    worker->buffer_ring = ring;

    reg.ring_addr = (uint64_t)(uintptr_t)ring;
    reg.ring_entries = SG_WORKER_BUFFER_COUNT;
    reg.bgid = SG_WORKER_BUFFER_GROUP;
    ret = io_uring_register_buf_ring(&worker->ring, &reg, 0);
    if (ret < 0)
        return fail_setup(message, size, "registering the provided-buffer ring", -ret);
    worker->buffer_ring_registered = true;

    io_uring_buf_ring_init(worker->buffer_ring);
    for (uint16_t id = 0; id < SG_WORKER_BUFFER_COUNT; id++) {
        io_uring_buf_ring_add(worker->buffer_ring, worker->buffers + (size_t)id * SG_RECV_BUFFER_SIZE,
                              SG_RECV_BUFFER_SIZE, id,
                              io_uring_buf_ring_mask(SG_WORKER_BUFFER_COUNT), id);
    }
    io_uring_buf_ring_advance(worker->buffer_ring, SG_WORKER_BUFFER_COUNT);
    return true;
}

static bool setup_slots(struct sg_worker *worker, char *message, size_t size)
{
    worker->slot_count = worker->options.max_connections + SG_WORKER_REFUSAL_SLOTS;
    worker->conns = calloc(worker->slot_count, sizeof(*worker->conns));
    worker->free_slots = calloc(worker->slot_count, sizeof(*worker->free_slots));
    if (worker->conns == NULL || worker->free_slots == NULL)
        return fail_setup(message, size, "allocating connection slots", ENOMEM);

    worker->buffer_budget.used = 0;
    worker->buffer_budget.max = SG_HTTP_WORKER_BUFFER_MAX;

    /* Pushed in reverse, so that slot 0 is taken first. */
    for (uint32_t i = 0; i < worker->slot_count; i++) {
        uint32_t slot = (uint32_t)(worker->slot_count - 1 - i);

        worker->conns[slot].fd = -1;
        worker->free_slots[worker->free_count++] = slot;
    }
    return true;
}

bool sg_worker_init(struct sg_worker *worker, size_t index, int listen_fd,
                    const struct sg_route_context *routes, const struct sg_worker_options *options,
                    char *message, size_t message_size)
{
    memset(worker, 0, sizeof(*worker));
    worker->index = index;
    worker->listen_fd = listen_fd;
    worker->routes = *routes;
    worker->options = *options;
    worker->tick_interval.tv_sec = 1;

    worker->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (worker->wake_fd < 0)
        return fail_setup(message, message_size, "eventfd", errno);

    return setup_ring(worker, message, message_size) &&
           setup_buffer_ring(worker, message, message_size) &&
           setup_slots(worker, message, message_size);
}

static void close_connections(struct sg_worker *worker)
{
    if (worker->conns == NULL)
        return;
    for (size_t slot = 0; slot < worker->slot_count; slot++) {
        struct sg_conn *conn = &worker->conns[slot];

        if (conn->state != SG_CONN_FREE) {
            close(conn->fd);
            sg_conn_release(conn);
        }
    }
}

void sg_worker_destroy(struct sg_worker *worker)
{
    /*
     * The buffer ring is unregistered first, so that no receive selects
     * a buffer any more, and the ring is torn down (cancelling what is in
     * flight) before the buffers and sockets it refers to are freed.
     */
    if (worker->buffer_ring_registered)
        io_uring_unregister_buf_ring(&worker->ring, SG_WORKER_BUFFER_GROUP);
    if (worker->ring_ready)
        io_uring_queue_exit(&worker->ring);

    close_connections(worker);
    if (worker->listen_fd >= 0)
        close(worker->listen_fd);
    if (worker->wake_fd >= 0)
        close(worker->wake_fd);

    if (worker->buffer_ring != NULL)
        munmap(worker->buffer_ring, worker->buffer_ring_bytes);
    free(worker->buffers);
    free(worker->conns);
    free(worker->free_slots);
    sg_verifier_free(worker->routes.verifier);
    sg_verdict_cache_destroy(&worker->routes.verdicts);
    memset(worker, 0, sizeof(*worker));
    worker->listen_fd = -1;
    worker->wake_fd = -1;
}
