/*
 * The load run's event loop: see load_run.h for the closed and open loop.
 *
 * Every connection is registered once with EPOLLIN | EPOLLOUT | EPOLLET,
 * so the loop reads and writes until EAGAIN and never calls epoll_ctl
 * again. One request is in flight per connection (no pipelining).
 */
#include "bench/load/load_run.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/load/http_response_reader.h"
#include "bench/load/process_stats.h"

#define NS_PER_SECOND 1000000000ull
/* Connections that fail in a row before the run gives up. */
#define MAX_CONSECUTIVE_FAILURES 1000

enum connection_state {
    CONNECTION_CLOSED,
    CONNECTION_CONNECTING,
    CONNECTION_IDLE,
    CONNECTION_BUSY,
};

struct connection {
    int fd;
    enum connection_state state;
    const struct request *request;
    size_t written;
    /* When the request was due: its send time in the closed loop, its
     * slot in the open loop. Latency is measured from here. */
    uint64_t due_ns;
    uint8_t *buffer;
    size_t capacity;
    size_t length;
    /* In the idle stack: a connection that breaks and reconnects while
     * it waits there must not be pushed a second time. */
    bool queued;
};

struct engine {
    const struct load_options *options;
    const struct request_set *requests;
    struct load_result *result;
    int epoll_fd;
    struct connection *connections;
    /* Idle connections, as a stack of indexes (open loop). */
    unsigned *idle;
    unsigned idle_count;
    unsigned in_flight;
    uint64_t issued;
    size_t next_request;
    uint64_t start_ns;
    uint64_t window_ns;
    uint64_t end_ns;
    /* 0 for the closed loop. */
    uint64_t interval_ns;
    uint64_t next_slot;
    unsigned consecutive_failures;
    bool fatal;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SECOND + (uint64_t)ts.tv_nsec;
}

static bool sending_allowed(const struct engine *engine)
{
    return engine->options->max_requests == 0 || engine->issued < engine->options->max_requests;
}

static void connection_open(struct engine *engine, unsigned index);
static void connection_became_idle(struct engine *engine, unsigned index, uint64_t now);

/* Close a connection after an error and open a new one in its place. */
static void connection_fail(struct engine *engine, unsigned index)
{
    struct connection *connection = &engine->connections[index];
    if (connection->state == CONNECTION_BUSY) {
        engine->in_flight--;
    }
    close(connection->fd);
    connection->fd = -1;
    connection->state = CONNECTION_CLOSED;
    engine->result->connection_errors++;

    if (++engine->consecutive_failures > MAX_CONSECUTIVE_FAILURES) {
        engine->fatal = true;
        return;
    }
    engine->result->reconnects++;
    connection_open(engine, index);
}

static void connection_open(struct engine *engine, unsigned index)
{
    struct connection *connection = &engine->connections[index];
    connection->length = 0;
    connection->state = CONNECTION_CLOSED;

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        engine->fatal = true;
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    connection->fd = fd;
    connection->state = CONNECTION_CONNECTING;

    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP,
                                .data.u32 = index};
    if (epoll_ctl(engine->epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
        engine->fatal = true;
        return;
    }
    const struct sockaddr *address = (const struct sockaddr *)&engine->options->address;
    if (connect(fd, address, sizeof(engine->options->address)) != 0 && errno != EINPROGRESS) {
        connection_fail(engine, index);
    }
}

static void try_write(struct engine *engine, unsigned index)
{
    struct connection *connection = &engine->connections[index];
    const struct request *request = connection->request;

    while (connection->written < request->length) {
        ssize_t sent = send(connection->fd, request->bytes + connection->written,
                            request->length - connection->written, MSG_NOSIGNAL);
        if (sent > 0) {
            connection->written += (size_t)sent;
            continue;
        }
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        connection_fail(engine, index);
        return;
    }
}

static void start_request(struct engine *engine, unsigned index, uint64_t due_ns)
{
    struct connection *connection = &engine->connections[index];
    connection->request = &engine->requests->items[engine->next_request];
    engine->next_request = (engine->next_request + 1) % engine->requests->count;
    connection->written = 0;
    connection->length = 0;
    connection->due_ns = due_ns;
    connection->state = CONNECTION_BUSY;
    engine->issued++;
    engine->in_flight++;
    try_write(engine, index);
}

static void connection_became_idle(struct engine *engine, unsigned index, uint64_t now)
{
    engine->connections[index].state = CONNECTION_IDLE;
    if (engine->interval_ns == 0) {
        if (sending_allowed(engine) && now < engine->end_ns) {
            start_request(engine, index, now);
        }
        return;
    }
    if (!engine->connections[index].queued) {
        engine->connections[index].queued = true;
        engine->idle[engine->idle_count++] = index;
    }
}

static bool body_contains(const uint8_t *body, size_t length, const char *needle)
{
    size_t needle_length = strlen(needle);
    if (needle_length == 0) {
        return true;
    }
    for (size_t i = 0; i + needle_length <= length; i++) {
        if (memcmp(body + i, needle, needle_length) == 0) {
            return true;
        }
    }
    return false;
}

static void finish_response(struct engine *engine, unsigned index, const struct http_response *response)
{
    struct connection *connection = &engine->connections[index];
    struct load_result *result = engine->result;
    uint64_t now = now_ns();

    engine->in_flight--;
    engine->consecutive_failures = 0;
    if (connection->due_ns >= engine->window_ns) {
        histogram_record(result->latency, now - connection->due_ns);
        result->completed++;
        if (response->status_code != engine->options->expect_status) {
            result->unexpected_status++;
        } else if (engine->options->expect_body &&
                   !body_contains(response->body, response->body_length, engine->options->expect_body)) {
            result->unexpected_body++;
        }
    }

    /* Bytes after the response were never requested. */
    if (connection->length != response->total_length) {
        result->invalid_responses++;
        result->last_error = "bytes after the response";
        connection->state = CONNECTION_IDLE;
        connection_fail(engine, index);
        return;
    }
    if (response->close) {
        close(connection->fd);
        connection->state = CONNECTION_CLOSED;
        result->reconnects++;
        connection_open(engine, index);
        return;
    }
    connection->length = 0;
    connection_became_idle(engine, index, now);
}

/* Make room for more response bytes; false when the limit is reached. */
static bool reserve_buffer(struct connection *connection, size_t limit)
{
    if (connection->length < connection->capacity) {
        return true;
    }
    if (connection->capacity >= limit) {
        return false;
    }
    size_t grown = connection->capacity ? connection->capacity * 2 : 4096;
    if (grown > limit) {
        grown = limit;
    }
    uint8_t *buffer = realloc(connection->buffer, grown);
    if (!buffer) {
        return false;
    }
    connection->buffer = buffer;
    connection->capacity = grown;
    return true;
}

static void parse_buffer(struct engine *engine, unsigned index)
{
    struct connection *connection = &engine->connections[index];
    struct http_response response;
    enum response_error why;
    enum response_state state = http_response_read(connection->buffer, connection->length,
                                                   engine->options->max_body, &response, &why);
    if (state == RESPONSE_COMPLETE) {
        finish_response(engine, index, &response);
    } else if (state == RESPONSE_INVALID) {
        engine->result->invalid_responses++;
        engine->result->last_error = response_error_name(why);
        connection_fail(engine, index);
    }
}

static void try_read(struct engine *engine, unsigned index)
{
    struct connection *connection = &engine->connections[index];
    size_t limit = RESPONSE_MAX_HEAD + engine->options->max_body;

    while (connection->state == CONNECTION_BUSY || connection->state == CONNECTION_IDLE) {
        if (!reserve_buffer(connection, limit)) {
            engine->result->invalid_responses++;
            engine->result->last_error = "response longer than the limit";
            connection_fail(engine, index);
            return;
        }
        ssize_t received = recv(connection->fd, connection->buffer + connection->length,
                                connection->capacity - connection->length, 0);
        if (received < 0 && errno == EINTR) {
            continue;
        }
        if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (received <= 0) {
            /* The server closed the connection or it broke. */
            connection_fail(engine, index);
            return;
        }
        if (connection->state == CONNECTION_IDLE) {
            engine->result->invalid_responses++;
            engine->result->last_error = "bytes sent before a request";
            connection_fail(engine, index);
            return;
        }
        connection->length += (size_t)received;
        parse_buffer(engine, index);
    }
}

static void finish_connect(struct engine *engine, unsigned index)
{
    struct connection *connection = &engine->connections[index];
    int socket_error = 0;
    socklen_t length = sizeof(socket_error);
    if (getsockopt(connection->fd, SOL_SOCKET, SO_ERROR, &socket_error, &length) != 0 ||
        socket_error != 0) {
        connection_fail(engine, index);
        return;
    }

    /* An event collected for the socket this one replaced can arrive
     * while the new connect is still in progress. */
    struct sockaddr_in peer;
    socklen_t peer_length = sizeof(peer);
    if (getpeername(connection->fd, (struct sockaddr *)&peer, &peer_length) != 0) {
        return;
    }
    connection_became_idle(engine, index, now_ns());
}

static void handle_event(struct engine *engine, const struct epoll_event *event)
{
    unsigned index = event->data.u32;
    struct connection *connection = &engine->connections[index];

    if (connection->state == CONNECTION_CONNECTING) {
        if (event->events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            finish_connect(engine, index);
        }
        return;
    }
    if ((event->events & EPOLLOUT) && connection->state == CONNECTION_BUSY &&
        connection->written < connection->request->length) {
        try_write(engine, index);
    }
    if (event->events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
        try_read(engine, index);
    }
}

/* Hand every due slot to an idle connection (open loop). */
static void dispatch_due(struct engine *engine, uint64_t now)
{
    while (engine->idle_count > 0 && sending_allowed(engine)) {
        uint64_t due = engine->start_ns + engine->next_slot * engine->interval_ns;
        if (due > now || due >= engine->end_ns) {
            return;
        }
        unsigned index = engine->idle[--engine->idle_count];
        engine->connections[index].queued = false;
        if (engine->connections[index].state != CONNECTION_IDLE) {
            /* It failed and reconnected while it waited in the stack. */
            continue;
        }
        engine->next_slot++;
        start_request(engine, index, due);
    }
}

/* Count the requests still in flight or due but never sent when the run
 * ends. The open loop also records each with the time it has waited so
 * far, which is a lower bound of its latency. */
static void account_unfinished(struct engine *engine, uint64_t end)
{
    struct load_result *result = engine->result;
    bool open_loop = engine->interval_ns != 0;

    for (unsigned i = 0; i < engine->options->connections; i++) {
        const struct connection *connection = &engine->connections[i];
        if (connection->state == CONNECTION_BUSY && connection->due_ns >= engine->window_ns) {
            result->unfinished++;
            if (open_loop) {
                histogram_record(result->latency, end - connection->due_ns);
            }
        }
    }
    if (!open_loop || !sending_allowed(engine)) {
        return;
    }
    for (;; engine->next_slot++) {
        uint64_t due = engine->start_ns + engine->next_slot * engine->interval_ns;
        if (due >= end) {
            break;
        }
        if (due >= engine->window_ns) {
            result->unfinished++;
            histogram_record(result->latency, end - due);
        }
    }
}

static int wait_events(struct engine *engine, uint64_t now, uint64_t next_rss_ns,
                       struct epoll_event *events, int capacity)
{
    uint64_t wake = engine->end_ns;
    if (now < engine->window_ns && engine->window_ns < wake) {
        wake = engine->window_ns;
    }
    if (next_rss_ns && next_rss_ns < wake) {
        wake = next_rss_ns;
    }
    if (engine->interval_ns && engine->idle_count > 0) {
        uint64_t due = engine->start_ns + engine->next_slot * engine->interval_ns;
        if (due < wake) {
            wake = due;
        }
    }
    uint64_t wait = wake > now ? wake - now : 0;
    struct timespec timeout = {.tv_sec = (time_t)(wait / NS_PER_SECOND),
                               .tv_nsec = (long)(wait % NS_PER_SECOND)};
    int count = epoll_pwait2(engine->epoll_fd, events, capacity, &timeout, NULL);
    return count < 0 && errno == EINTR ? 0 : count;
}

static void sample_rss(struct engine *engine, uint64_t now)
{
    struct load_result *result = engine->result;
    uint64_t kib = process_rss_kib(engine->options->server_pid);
    if (kib > result->rss_max_kib) {
        result->rss_max_kib = kib;
    }
    if (result->rss_samples < LOAD_MAX_RSS_SAMPLES) {
        result->rss_sample_seconds[result->rss_samples] =
            (double)(now - engine->window_ns) / (double)NS_PER_SECOND;
        result->rss_sample_kib[result->rss_samples] = kib;
        result->rss_samples++;
    }
}

static void run_loop(struct engine *engine)
{
    const struct load_options *options = engine->options;
    struct load_result *result = engine->result;
    struct epoll_event events[256];
    bool window_open = false;
    double cpu_at_window = 0.0;
    uint64_t rss_interval_ns = (uint64_t)(options->rss_interval_seconds * (double)NS_PER_SECOND);
    uint64_t next_rss_ns = 0;
    uint64_t stop_ns = engine->end_ns;

    for (;;) {
        uint64_t now = now_ns();
        if (!window_open && now >= engine->window_ns) {
            window_open = true;
            if (options->server_pid > 0) {
                cpu_at_window = process_cpu_seconds(options->server_pid);
                result->rss_start_kib = process_rss_kib(options->server_pid);
                if (rss_interval_ns) {
                    sample_rss(engine, now);
                    next_rss_ns = now + rss_interval_ns;
                }
            }
        }
        if (next_rss_ns && now >= next_rss_ns) {
            sample_rss(engine, now);
            next_rss_ns += rss_interval_ns;
        }
        if (now >= engine->end_ns || engine->fatal ||
            (!sending_allowed(engine) && engine->in_flight == 0)) {
            stop_ns = now < engine->end_ns ? now : engine->end_ns;
            break;
        }
        if (engine->interval_ns) {
            dispatch_due(engine, now);
        }

        int count = wait_events(engine, now, next_rss_ns, events, 256);
        if (count < 0) {
            engine->fatal = true;
            continue;
        }
        for (int i = 0; i < count; i++) {
            handle_event(engine, &events[i]);
        }
    }

    account_unfinished(engine, stop_ns);
    if (window_open && options->server_pid > 0) {
        result->server_cpu_seconds = process_cpu_seconds(options->server_pid) - cpu_at_window;
        result->rss_end_kib = process_rss_kib(options->server_pid);
        if (result->rss_end_kib > result->rss_max_kib) {
            result->rss_max_kib = result->rss_end_kib;
        }
    }
    result->measured_seconds =
        stop_ns > engine->window_ns ? (double)(stop_ns - engine->window_ns) / (double)NS_PER_SECOND : 0.0;
}

static void engine_close(struct engine *engine)
{
    for (unsigned i = 0; i < engine->options->connections && engine->connections; i++) {
        if (engine->connections[i].fd >= 0) {
            close(engine->connections[i].fd);
        }
        free(engine->connections[i].buffer);
    }
    free(engine->connections);
    free(engine->idle);
    if (engine->epoll_fd >= 0) {
        close(engine->epoll_fd);
    }
}

int load_run(const struct load_options *options, const struct request_set *requests,
             struct load_result *result, char *error, size_t error_size)
{
    struct engine engine = {.options = options, .requests = requests, .result = result,
                            .epoll_fd = -1};
    result->server_cpu_seconds = -1.0;

    engine.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    engine.connections = calloc(options->connections, sizeof(*engine.connections));
    engine.idle = calloc(options->connections, sizeof(*engine.idle));
    if (engine.epoll_fd < 0 || !engine.connections || !engine.idle) {
        snprintf(error, error_size, "cannot set up the event loop: %s", strerror(errno));
        engine_close(&engine);
        return -1;
    }
    for (unsigned i = 0; i < options->connections; i++) {
        engine.connections[i].fd = -1;
    }

    engine.start_ns = now_ns();
    engine.window_ns = engine.start_ns + (uint64_t)(options->warmup_seconds * (double)NS_PER_SECOND);
    engine.end_ns = engine.window_ns + (uint64_t)(options->duration_seconds * (double)NS_PER_SECOND);
    if (options->rate > 0) {
        engine.interval_ns = (uint64_t)((double)NS_PER_SECOND / options->rate);
        if (engine.interval_ns == 0) {
            engine.interval_ns = 1;
        }
    }

    for (unsigned i = 0; i < options->connections && !engine.fatal; i++) {
        connection_open(&engine, i);
    }
    if (!engine.fatal) {
        run_loop(&engine);
    }
    engine_close(&engine);

    if (engine.fatal && result->completed == 0) {
        snprintf(error, error_size,
                 "no response: %llu connection errors in a row (is the server listening?)",
                 (unsigned long long)result->connection_errors);
        return -1;
    }
    return 0;
}
