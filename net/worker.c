/*
 * The worker's io_uring event loop: multishot accept, multishot receive
 * into the provided-buffer ring, one send per batch of responses, a
 * one-second tick for timeouts, and an eventfd read that stops the loop.
 *
 * user_data of every submission:
 *
 *    63        56 55                  32 31                   0
 *   +------------+----------------------+----------------------+
 *   |  op kind   | generation (24 bits) |   connection slot    |
 *   +------------+----------------------+----------------------+
 *
 * The kind selects the completion handler. For a connection operation
 * the slot indexes worker->conns, and the generation is the slot's
 * generation at submission. A slot's generation grows each time the slot
 * is freed, so a completion that arrives after its connection closed and
 * the slot was reused carries an old generation and is dropped, after
 * its receive buffer is returned. Slots are freed only when none of
 * their operations is in flight, so this check is a second line of
 * defence; 24 bits wrap after 16 million reuses of one slot.
 *
 * Buffer lifecycle of the provided-buffer ring: at start-up every
 * receive buffer is published to the kernel. A multishot receive takes
 * one buffer per completion and names it in the CQE (IORING_CQE_F_BUFFER,
 * id in the flags above IORING_CQE_BUFFER_SHIFT). From then on the worker
 * owns it. The connection parses the bytes in place, copies an
 * unfinished request into its own input buffer and writes responses into
 * its output buffer, so nothing points into the receive buffer
 * afterwards. The buffer goes back to the ring before the next completion
 * is handled.
 * When the ring runs empty because more data arrived than the worker
 * has handled yet, the receive ends with -ENOBUFS; the buffers in hand
 * return while the batch is handled, and the receive is armed again.
 */
#include "net/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "net/batch.h"
#include "net/log.h"
#include "net/metrics.h"
#include "net/trust_publisher.h"

enum op_kind {
    OP_ACCEPT = 1,
    OP_RECV,
    OP_SEND,
    OP_CANCEL, /* the completion of a cancel request itself; nothing to do */
    OP_WAKE,
    OP_TICK,
    OP_BATCH, /* the batch mailbox eventfd: a job finished or chunks wait */
};

#define GENERATION_MASK 0xffffffu

static uint64_t make_user_data(enum op_kind kind, uint32_t generation, uint32_t slot)
{
    return (uint64_t)kind << 56 | (uint64_t)(generation & GENERATION_MASK) << 32 | slot;
}

static enum op_kind user_data_kind(uint64_t user_data)
{
    return (enum op_kind)(user_data >> 56);
}

static uint32_t user_data_slot(uint64_t user_data)
{
    return (uint32_t)user_data;
}

/* Returns the connection a completion belongs to, or NULL when it is stale. */
static struct sg_conn *find_conn(struct sg_worker *worker, uint64_t user_data)
{
    uint32_t slot = user_data_slot(user_data);
    uint32_t generation = (uint32_t)(user_data >> 32) & GENERATION_MASK;
    struct sg_conn *conn;

    if (slot >= worker->slot_count)
        return NULL;
    conn = &worker->conns[slot];
    if (conn->state == SG_CONN_FREE || (conn->generation & GENERATION_MASK) != generation)
        return NULL;
    return conn;
}

static int64_t monotonic_seconds(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec;
}

/* Returns a free SQE, submitting the queue first when it is full; NULL if that fails. */
static struct io_uring_sqe *get_sqe(struct sg_worker *worker)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&worker->ring);

    if (sqe == NULL && io_uring_submit(&worker->ring) >= 0)
        sqe = io_uring_get_sqe(&worker->ring);
    return sqe;
}

static void recycle_buffer(struct sg_worker *worker, uint16_t id)
{
    io_uring_buf_ring_add(worker->buffer_ring, worker->buffers + (size_t)id * SG_RECV_BUFFER_SIZE,
                          SG_RECV_BUFFER_SIZE, id,
                          io_uring_buf_ring_mask(SG_WORKER_BUFFER_COUNT), 0);
    io_uring_buf_ring_advance(worker->buffer_ring, 1);
}

/* ---- Submissions ---------------------------------------------------- */

static bool arm_accept(struct sg_worker *worker)
{
    struct io_uring_sqe *sqe = get_sqe(worker);

    if (sqe == NULL)
        return false;
    io_uring_prep_multishot_accept(sqe, worker->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, make_user_data(OP_ACCEPT, 0, 0));
    worker->accept_armed = true;
    return true;
}

static bool arm_wake(struct sg_worker *worker)
{
    struct io_uring_sqe *sqe = get_sqe(worker);

    if (sqe == NULL)
        return false;
    io_uring_prep_read(sqe, worker->wake_fd, &worker->wake_value, sizeof(worker->wake_value), 0);
    io_uring_sqe_set_data64(sqe, make_user_data(OP_WAKE, 0, 0));
    return true;
}

static bool arm_batch_wake(struct sg_worker *worker)
{
    struct sg_batch_hub *hub = worker->routes.batch;
    struct io_uring_sqe *sqe;

    if (hub == NULL)
        return true;
    sqe = get_sqe(worker);
    if (sqe == NULL)
        return false;
    io_uring_prep_read(sqe, hub->mailboxes[worker->index].wake_fd, &worker->batch_wake_value,
                       sizeof(worker->batch_wake_value), 0);
    io_uring_sqe_set_data64(sqe, make_user_data(OP_BATCH, 0, 0));
    return true;
}

static bool arm_tick(struct sg_worker *worker)
{
    struct io_uring_sqe *sqe = get_sqe(worker);

    if (sqe == NULL)
        return false;
    io_uring_prep_timeout(sqe, &worker->tick_interval, 0, 0);
    io_uring_sqe_set_data64(sqe, make_user_data(OP_TICK, 0, 0));
    return true;
}

static bool arm_recv(struct sg_worker *worker, uint32_t slot)
{
    struct sg_conn *conn = &worker->conns[slot];
    struct io_uring_sqe *sqe = get_sqe(worker);

    if (sqe == NULL)
        return false;
    io_uring_prep_recv_multishot(sqe, conn->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = SG_WORKER_BUFFER_GROUP;
    io_uring_sqe_set_data64(sqe, make_user_data(OP_RECV, conn->generation, slot));
    conn->recv_armed = true;
    return true;
}

static bool arm_send(struct sg_worker *worker, uint32_t slot)
{
    struct sg_conn *conn = &worker->conns[slot];
    struct sg_slice unsent = sg_conn_unsent(conn);
    struct io_uring_sqe *sqe = get_sqe(worker);

    if (sqe == NULL)
        return false;
    io_uring_prep_send(sqe, conn->fd, unsent.ptr, unsent.len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, make_user_data(OP_SEND, conn->generation, slot));
    conn->send_inflight = true;
    return true;
}

/* ---- Closing -------------------------------------------------------- */

/*
 * Starts closing a connection at once. shutdown() ends both directions,
 * which completes a pending send and receive; the multishot receive is
 * also cancelled in case shutdown does not wake it.
 */
static void close_conn(struct sg_worker *worker, uint32_t slot)
{
    struct sg_conn *conn = &worker->conns[slot];
    struct io_uring_sqe *sqe;

    if (conn->state == SG_CONN_CLOSING || conn->state == SG_CONN_FREE)
        return;
    conn->state = SG_CONN_CLOSING;
    shutdown(conn->fd, SHUT_RDWR);

    if (conn->recv_armed && (sqe = get_sqe(worker)) != NULL) {
        io_uring_prep_cancel64(sqe, make_user_data(OP_RECV, conn->generation, slot), 0);
        io_uring_sqe_set_data64(sqe, make_user_data(OP_CANCEL, 0, 0));
    }
}

/* Frees a CLOSING slot once none of its operations is in flight. */
static void release_if_idle(struct sg_worker *worker, uint32_t slot)
{
    struct sg_conn *conn = &worker->conns[slot];

    if (conn->state != SG_CONN_CLOSING || conn->recv_armed || conn->send_inflight)
        return;
    if (worker->routes.worker_metrics != NULL)
        sg_metric_add(&worker->routes.worker_metrics->connections_open, (uint64_t)-1);
    if (!conn->refused)
        worker->served_count--;
    close(conn->fd);
    sg_conn_release(conn);
    worker->free_slots[worker->free_count++] = slot;
}

/* Ends an OPEN connection after its last response: FIN, then input is discarded. */
static void finish_conn(struct sg_worker *worker, uint32_t slot)
{
    struct sg_conn *conn = &worker->conns[slot];

    shutdown(conn->fd, SHUT_WR);
    sg_conn_start_draining(conn, worker->now);
}

/*
 * Moves a connection forward once its output may be sent: sends what
 * waits, or, when everything is sent, starts draining after the final
 * response, or closes a connection whose client has gone or that has no
 * request under way while the server stops.
 */
static void flush(struct sg_worker *worker, uint32_t slot)
{
    struct sg_conn *conn = &worker->conns[slot];

    if (conn->state != SG_CONN_OPEN || conn->send_inflight)
        return;

    if (sg_conn_unsent(conn).len > 0) {
        if (!arm_send(worker, slot))
            close_conn(worker, slot);
        return;
    }

    /* A batch response is still being verified: keep the connection as it is. */
    if (conn->batch != NULL)
        return;

    if (conn->close_after_send)
        finish_conn(worker, slot);

    /* No input waits unread, so the close sends FIN, not a reset. */
    if (conn->peer_closed || (conn->stopping && sg_conn_is_idle(conn)))
        close_conn(worker, slot);
}

/* ---- Completions ---------------------------------------------------- */

/*
 * Takes a new connection. Over options.max_connections it gets a 503
 * from a spare slot without its request being read, or, with no spare
 * slot left, a bare close.
 */
static void accept_conn(struct sg_worker *worker, int fd)
{
    static const int enable = 1;
    bool over_cap = worker->served_count >= worker->options.max_connections;
    struct sg_conn *conn;
    uint32_t slot;
    bool ok = true;

    if (worker->free_count == 0) {
        close(fd);
        worker->connections_dropped++;
        if (worker->routes.worker_metrics != NULL)
            sg_metric_add(&worker->routes.worker_metrics->connections_refused, 1);
        return;
    }

    if (worker->routes.worker_metrics != NULL) {
        sg_metric_add(&worker->routes.worker_metrics->connections_accepted, 1);
        sg_metric_add(&worker->routes.worker_metrics->connections_open, 1);
    }
    slot = worker->free_slots[--worker->free_count];
    conn = &worker->conns[slot];
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &enable, sizeof(enable));

    if (over_cap) {
        worker->connections_refused++;
        if (worker->routes.worker_metrics != NULL)
            sg_metric_add(&worker->routes.worker_metrics->connections_refused, 1);
        ok = sg_conn_open_refused(conn, fd, worker->now, &worker->buffer_budget,
                                  &worker->options.timeouts, &worker->routes.date);
    } else {
        worker->served_count++;
        sg_conn_open(conn, fd, worker->now, &worker->buffer_budget, &worker->options.timeouts);
        conn->stopping = worker->stopping;
    }

    if (!ok || !arm_recv(worker, slot)) {
        close_conn(worker, slot);
        release_if_idle(worker, slot);
        return;
    }
    flush(worker, slot);
}

static void on_accept(struct sg_worker *worker, const struct io_uring_cqe *cqe)
{
    if (!(cqe->flags & IORING_CQE_F_MORE))
        worker->accept_armed = false;

    if (cqe->res >= 0) {
        accept_conn(worker, cqe->res);
    } else if (!worker->stopping) {
        /* While stopping, an error is the end of the listen that stop_listening() caused. */
        worker->accept_errors++;
        worker->last_accept_error = -cqe->res;
    }

    if (worker->accept_armed || worker->stopping)
        return;

    /* After an error such as EMFILE, wait a tick instead of spinning on it. */
    if (cqe->res < 0 || !arm_accept(worker))
        worker->accept_rearm_on_tick = true;
}

/* Handles what a receive completion brought; `data` is NULL unless res > 0. */
static void handle_received(struct sg_worker *worker, uint32_t slot, int res, uint8_t *data)
{
    struct sg_conn *conn = &worker->conns[slot];

    if (res > 0) {
        if (!sg_conn_receive(conn, &worker->routes, data, (size_t)res, worker->now))
            close_conn(worker, slot);
    } else if (res == 0) {
        /* The client closed its side: flush() closes once the responses are sent. */
        conn->peer_closed = true;
        if (conn->state != SG_CONN_OPEN)
            close_conn(worker, slot);
    } else if (res != -ENOBUFS) {
        close_conn(worker, slot);
    }

    bool open = conn->state == SG_CONN_OPEN || conn->state == SG_CONN_DRAINING;
    if (open && !conn->recv_armed && res != 0 && !arm_recv(worker, slot))
        close_conn(worker, slot);
}

static void on_recv(struct sg_worker *worker, const struct io_uring_cqe *cqe)
{
    uint64_t user_data = io_uring_cqe_get_data64(cqe);
    struct sg_conn *conn = find_conn(worker, user_data);
    uint32_t slot = user_data_slot(user_data);
    bool has_buffer = cqe->flags & IORING_CQE_F_BUFFER;
    uint16_t buffer_id = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    uint8_t *data = NULL;

    if (has_buffer && cqe->res > 0)
        data = worker->buffers + (size_t)buffer_id * SG_RECV_BUFFER_SIZE;

    if (conn != NULL) {
        if (!(cqe->flags & IORING_CQE_F_MORE))
            conn->recv_armed = false;
        handle_received(worker, slot, cqe->res, data);
    }

    if (has_buffer)
        recycle_buffer(worker, buffer_id);

    if (conn != NULL) {
        flush(worker, slot);
        release_if_idle(worker, slot);
    }
}

static void on_send(struct sg_worker *worker, const struct io_uring_cqe *cqe)
{
    uint64_t user_data = io_uring_cqe_get_data64(cqe);
    struct sg_conn *conn = find_conn(worker, user_data);
    uint32_t slot = user_data_slot(user_data);

    if (conn == NULL)
        return;
    conn->send_inflight = false;

    if (cqe->res <= 0) {
        close_conn(worker, slot);
    } else if (conn->state == SG_CONN_OPEN) {
        /* A short send leaves the rest unsent; flush() sends it next. */
        sg_conn_mark_sent(conn, (size_t)cqe->res, worker->now);
        if (conn->in.len > 0 && !sg_conn_respond_buffered(conn, &worker->routes, worker->now))
            close_conn(worker, slot);
        sg_conn_update_wait(conn, worker->now);
        flush(worker, slot);
    }

    release_if_idle(worker, slot);
}

static void log_tick_counters(struct sg_worker *worker)
{
    if (worker->accept_errors > 0) {
        sg_log(SG_LOG_WARN, "accept failed", "worker=%zu count=%llu error=\"%s\"", worker->index,
               (unsigned long long)worker->accept_errors, strerror(worker->last_accept_error));
        worker->accept_errors = 0;
    }
    if (worker->connections_refused > 0 || worker->connections_dropped > 0) {
        sg_log(SG_LOG_WARN, "connection limit reached",
               "worker=%zu refused_503=%llu closed_without_response=%llu limit=%zu",
               worker->index, (unsigned long long)worker->connections_refused,
               (unsigned long long)worker->connections_dropped, worker->options.max_connections);
        worker->connections_refused = 0;
        worker->connections_dropped = 0;
    }
}

/* Handles a connection past its deadline: a late request gets 408, anything else a close. */
static void expire_conn(struct sg_worker *worker, uint32_t slot)
{
    struct sg_conn *conn = &worker->conns[slot];

    if (conn->state == SG_CONN_OPEN && sg_conn_time_out(conn, &worker->routes)) {
        flush(worker, slot);
        return;
    }
    close_conn(worker, slot);
    release_if_idle(worker, slot);
}

/* At the drain deadline: closes every connection that is still open. */
static void force_close_all(struct sg_worker *worker)
{
    for (uint32_t slot = 0; slot < worker->slot_count; slot++) {
        struct sg_conn *conn = &worker->conns[slot];

        if (conn->state == SG_CONN_OPEN || conn->state == SG_CONN_DRAINING) {
            worker->drain.forced++;
            close_conn(worker, slot);
            release_if_idle(worker, slot);
        }
    }
}

/* Once a second: handle connections past their deadline and retry a failed accept. */
static bool on_tick(struct sg_worker *worker)
{
    if (worker->stopping && worker->now >= worker->drain_deadline)
        force_close_all(worker);

    for (uint32_t slot = 0; slot < worker->slot_count; slot++) {
        struct sg_conn *conn = &worker->conns[slot];
        bool timed = conn->state == SG_CONN_OPEN || conn->state == SG_CONN_DRAINING;

        if (timed && conn->deadline <= worker->now)
            expire_conn(worker, slot);
    }

    log_tick_counters(worker);
    if (worker->index == 0)
        sg_log_flush_suppressed();

    if (worker->accept_rearm_on_tick && !worker->accept_armed && !worker->stopping) {
        worker->accept_rearm_on_tick = false;
        if (!arm_accept(worker))
            worker->accept_rearm_on_tick = true;
    }
    return arm_tick(worker);
}

/*
 * Writes the response of a spread batch that finished, when its
 * connection still waits for it, and serves the requests queued behind
 * it. Drops the mailbox's reference.
 */
static void finish_batch(struct sg_worker *worker, struct sg_batch_job *job)
{
    struct sg_conn *conn = job->conn;
    uint32_t slot = (uint32_t)(conn - worker->conns);
    int status;

    /* A connection that closed has cancelled the job and drops its own reference when freed. */
    if (conn->batch != job || conn->state != SG_CONN_OPEN) {
        sg_batch_job_release(job);
        return;
    }

    sg_http_date_update(&worker->routes.date, time(NULL));
    status = sg_batch_write_response(job, &conn->out, &worker->routes.date);
    sg_metrics_count_request(worker->routes.worker_metrics, SG_METRIC_ROUTE_JWT_VERIFY_BATCH,
                             status, sg_metrics_clock_ns() - job->started_ns);
    conn->batch = NULL;
    sg_batch_job_release(job); /* the connection's reference */
    sg_batch_job_release(job); /* the mailbox's reference */

    if (status == 0 ||
        (conn->in.len > 0 && !sg_conn_respond_buffered(conn, &worker->routes, worker->now)))
        close_conn(worker, slot);
    flush(worker, slot);
    release_if_idle(worker, slot);
}

static bool on_batch_wake(struct sg_worker *worker)
{
    struct sg_batch_job *job;

    while ((job = sg_batch_mailbox_take(worker->routes.batch, worker->index)) != NULL)
        finish_batch(worker, job);
    return arm_batch_wake(worker);
}

/* ---- Stopping ------------------------------------------------------- */

/*
 * Accepts the connections already in the backlog, then stops listening.
 * shutdown(SHUT_RD) on a listening TCP socket stops the listen (Linux
 * disconnects it), so the kernel refuses new connections at once, while
 * close() would wait for the accept that io_uring holds.
 */
static void stop_listening(struct sg_worker *worker)
{
    int flags = fcntl(worker->listen_fd, F_GETFL);

    if (flags >= 0 && fcntl(worker->listen_fd, F_SETFL, flags | O_NONBLOCK) == 0) {
        for (size_t i = 0; i < worker->slot_count; i++) {
            int fd = accept4(worker->listen_fd, NULL, NULL, SOCK_CLOEXEC);

            if (fd < 0)
                break;
            accept_conn(worker, fd);
        }
    }

    if (shutdown(worker->listen_fd, SHUT_RD) != 0)
        sg_log(SG_LOG_WARN, "stopping the listening socket failed", "worker=%zu error=\"%s\"",
               worker->index, strerror(errno));
}

/*
 * Starts the drain that sg_worker_run() describes. Idle connections are
 * closed before the backlog is accepted: a connection just taken from the
 * backlog has received nothing yet, but its request may be on its way.
 */
static void start_drain(struct sg_worker *worker)
{
    worker->stopping = true;
    worker->drain_deadline = worker->now + worker->options.drain_timeout;

    for (uint32_t slot = 0; slot < worker->slot_count; slot++) {
        struct sg_conn *conn = &worker->conns[slot];

        if (conn->state == SG_CONN_FREE)
            continue;
        worker->drain.open_at_start++;
        if (conn->state == SG_CONN_OPEN && sg_conn_stop(conn)) {
            worker->drain.closed_idle++;
            flush(worker, slot);
        }
    }

    /* NOTE: a connection accepted from now on that never sends a request
     * stays open until the drain deadline. */
    stop_listening(worker);

    sg_log(SG_LOG_INFO, "draining", "worker=%zu connections=%zu closed_idle=%zu", worker->index,
           worker->drain.open_at_start, worker->drain.closed_idle);
}

/* Handles one completion; false on an error the worker cannot go on after. */
static bool dispatch(struct sg_worker *worker, const struct io_uring_cqe *cqe)
{
    switch (user_data_kind(io_uring_cqe_get_data64(cqe))) {
    case OP_ACCEPT:
        on_accept(worker, cqe);
        return true;
    case OP_RECV:
        on_recv(worker, cqe);
        return true;
    case OP_SEND:
        on_send(worker, cqe);
        return true;
    case OP_CANCEL:
        return true;
    case OP_WAKE:
        start_drain(worker);
        return true;
    case OP_TICK:
        return on_tick(worker);
    case OP_BATCH:
        return on_batch_wake(worker);
    }
    return true;
}

static bool handle_completions(struct sg_worker *worker)
{
    struct io_uring_cqe *cqe;
    unsigned head;
    unsigned seen = 0;
    bool ok = true;

    io_uring_for_each_cqe(&worker->ring, head, cqe) {
        ok = dispatch(worker, cqe) && ok;
        seen++;
    }
    io_uring_cq_advance(&worker->ring, seen);
    return ok;
}

static void fail_worker(struct sg_worker *worker, const char *step, const char *error)
{
    sg_log(SG_LOG_ERROR, "worker failed", "worker=%zu step=%s error=\"%s\"", worker->index, step,
           error);
    worker->failed = true;
    kill(getpid(), SIGTERM);
}

/*
 * Verifies a few chunks of queued batches with this turn's snapshot.
 * Returns true when chunks remain.
 */
static bool work_on_batches(struct sg_worker *worker)
{
    struct sg_worker_metrics *metrics = worker->routes.worker_metrics;

    if (worker->routes.batch == NULL ||
        atomic_load_explicit(&worker->routes.batch->queued_hint, memory_order_relaxed) == 0)
        return false;
    sg_route_load_settings(&worker->routes);
    return sg_batch_work(worker->routes.batch, &worker->routes, (int64_t)time(NULL),
                         metrics != NULL ? &metrics->batch_chunks : NULL,
                         metrics != NULL ? &metrics->batch_items : NULL);
}

/*
 * The event loop. RCU (liburcu QSBR): the thread is an RCU reader that is
 * offline while it waits in io_uring_enter, which is its quiescent state
 * once per loop turn. Online, it loads its trust snapshot once and uses
 * it for every request of the turn, so a snapshot never changes in the
 * middle of a request, and one that was replaced is freed only after
 * every worker has been offline once since.
 */
static void serve_loop(struct sg_worker *worker)
{
    bool batch_pending = false;

    while (!worker->stopped) {
        int ret;

        /* With batch chunks left, only collect completions and come back to them. */
        rcu_thread_offline();
        if (batch_pending)
            ret = io_uring_submit_and_get_events(&worker->ring);
        else
            ret = io_uring_submit_and_wait(&worker->ring, 1);
        rcu_thread_online();

        /* -EBUSY: the completion queue is full; handling it makes room. */
        if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) {
            fail_worker(worker, "io_uring_submit_and_wait", strerror(-ret));
            return;
        }

        atomic_store_explicit(&worker->heartbeat,
                              atomic_load_explicit(&worker->heartbeat, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        worker->now = monotonic_seconds();
        worker->routes.trust = sg_trust_publisher_current(worker->routes.publisher, worker->index);
        if (!handle_completions(worker)) {
            fail_worker(worker, "arm tick", "no submission queue entry is free");
            return;
        }
        batch_pending = work_on_batches(worker);

        /* One tick after the deadline, connections still closing are left to ring teardown. */
        if (worker->stopping && (worker->free_count == worker->slot_count ||
                                 worker->now > worker->drain_deadline))
            worker->stopped = true;
    }
}

void *sg_worker_run(void *arg)
{
    struct sg_worker *worker = arg;

    worker->now = monotonic_seconds();

    /* A SINGLE_ISSUER ring belongs to the thread that enables it. liburing
     * 2.3 declares io_uring_enable_rings() but does not export it, so the
     * register call is made directly. */
    if (worker->ring_disabled &&
        syscall(__NR_io_uring_register, worker->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL,
                0) < 0) {
        fail_worker(worker, "IORING_REGISTER_ENABLE_RINGS", strerror(errno));
        return NULL;
    }
    if (!arm_wake(worker) || !arm_tick(worker) || !arm_accept(worker) ||
        !arm_batch_wake(worker)) {
        fail_worker(worker, "arm", "no submission queue entry is free");
        return NULL;
    }

    rcu_register_thread();
    serve_loop(worker);
    worker->routes.trust = NULL;
    rcu_unregister_thread();
    return NULL;
}

void sg_worker_wake(struct sg_worker *worker)
{
    uint64_t one = 1;

    if (write(worker->wake_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
        sg_log(SG_LOG_ERROR, "waking worker failed", "worker=%zu error=\"%s\"", worker->index,
               strerror(errno));
}
