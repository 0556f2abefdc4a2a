/*
 * Start and stop of the server. The calling thread probes the kernel,
 * sets every worker up and starts the worker threads with SIGINT, SIGTERM
 * and SIGHUP blocked. Threads inherit the mask, so only this thread takes
 * those signals, in sigwaitinfo(). SIGHUP reloads the configuration file
 * and the bundles. After SIGINT or SIGTERM the thread wakes each worker
 * through its eventfd, which starts the worker's drain. Then it stops the
 * bundle watcher and the refresher, joins each worker and frees it.
 */
#include "net/server.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/verifier.h"
#include "net/batch.h"
#include "net/bundle_watch.h"
#include "net/listen_socket.h"
#include "net/log.h"
#include "net/metrics.h"
#include "net/sd_notify.h"
#include "net/uring_probe.h"
#include "net/worker.h"

#define MESSAGE_MAX 512

struct server {
    const struct sg_server_config *config;
    struct sg_listen_address address; /* the bound address once worker 0 is set up */
    struct sg_worker *workers;
    size_t initialized; /* workers that need sg_worker_destroy() */
    size_t started;     /* workers whose thread runs */
    struct sg_bundle_watch watch;
    struct sg_federation_wake wake; /* set up when the publisher has federated trust domains */
    struct sg_federation_refresh refresh;
    struct sg_notify notify; /* systemd readiness and watchdog, inert without NOTIFY_SOCKET */
    struct sg_batch_hub batch;  /* destroyed after every worker */
    struct sg_metrics metrics;
    char message[MESSAGE_MAX];
};

static enum sg_server_result start_failed(const struct server *server)
{
    sg_log(SG_LOG_ERROR, "start failed", "error=\"%s\"", server->message);
    return SG_SERVER_START_FAILED;
}

/* Each worker keeps up to SG_WORKER_CONNECTIONS_MAX sockets open. */
static void raise_file_limit(void)
{
    struct rlimit limit;

    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

/*
 * Opens worker `index`'s listening socket. With port 0, worker 0 lets
 * the kernel choose the port and the others bind that same port.
 */
static int open_worker_socket(struct server *server, size_t index)
{
    int fd = sg_listen_socket_open(&server->address, server->message, sizeof(server->message));

    if (fd >= 0 && index == 0 && !sg_listen_address_of(fd, &server->address)) {
        snprintf(server->message, sizeof(server->message), "getsockname failed: %s",
                 strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static bool init_worker(struct server *server, size_t index)
{
    const struct sg_server_config *config = server->config;
    int fd = open_worker_socket(server, index);
    struct sg_route_context routes = {
        .publisher = config->publisher,
        .trust = config->publisher->current[index],
        .federation_wake = server->wake.pending != NULL ? &server->wake : NULL,
        .default_audiences = config->audiences,
        .default_audience_count = config->audience_count,
        .leeway = config->leeway,
        .live = config->live,
        .cache = config->cache,
        .all_counters = config->counters,
        .worker_count = config->workers,
        .worker_index = index,
        .batch = &server->batch,
        .metrics = &server->metrics,
        .worker_metrics = &server->metrics.workers[index],
    };

    if (fd < 0)
        return false;
    if (!sg_verdict_cache_init(&routes.verdicts, config->cache, &config->counters[index])) {
        close(fd);
        snprintf(server->message, sizeof(server->message), "allocating the cache key failed");
        return false;
    }

    routes.verifier = sg_verifier_new();
    server->initialized++;
    if (!sg_worker_init(&server->workers[index], index, fd, &routes, &config->worker_options,
                        server->message, sizeof(server->message)))
        return false;

    if (routes.verifier == NULL) {
        snprintf(server->message, sizeof(server->message),
                 "creating a verifier failed: OpenSSL cannot provide SHA-256/384/512");
        return false;
    }
    return true;
}

static bool start_workers(struct server *server)
{
    for (size_t i = 0; i < server->config->workers; i++) {
        char name[16];
        int ret = pthread_create(&server->workers[i].thread, NULL, sg_worker_run, &server->workers[i]);

        if (ret != 0) {
            snprintf(server->message, sizeof(server->message), "pthread_create failed: %s",
                     strerror(ret));
            return false;
        }
        server->started++;
        snprintf(name, sizeof(name), "sg-worker-%u", (unsigned)(i % 10000u));
        pthread_setname_np(server->workers[i].thread, name);
    }
    return true;
}

/* Logs the cache counters of every worker, merged, and the generation. */
static void log_stats(const struct sg_server_config *config)
{
    struct sg_cache_stats total;

    sg_cache_counters_merge(config->counters, config->workers, &total);
    pthread_mutex_lock(&config->publisher->lock);
    uint64_t generation = config->publisher->generation;
    pthread_mutex_unlock(&config->publisher->lock);
    sg_log(SG_LOG_INFO, "stats",
           "generation=%llu cache_hits=%llu cache_misses=%llu cache_inserts=%llu "
           "cache_evictions=%llu",
           (unsigned long long)generation, (unsigned long long)total.hits,
           (unsigned long long)total.misses, (unsigned long long)total.inserts,
           (unsigned long long)total.evictions);
}

/* A repeating deadline on CLOCK_MONOTONIC in microseconds, off while every is 0. */
struct periodic {
    int64_t every;
    int64_t next;
};

static int64_t monotonic_usec(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static void periodic_start(struct periodic *timer, int64_t every, int64_t now)
{
    timer->every = every;
    timer->next = now + every;
}

/* Returns whether the deadline has passed, and then moves it one period on. */
static bool periodic_due(struct periodic *timer, int64_t now)
{
    if (timer->every <= 0 || now < timer->next)
        return false;
    timer->next = now + timer->every;
    return true;
}

/* Sets `timeout` to the time left until the earlier deadline. Returns false when both are off. */
static bool next_timeout(const struct periodic *a, const struct periodic *b, struct timespec *timeout)
{
    int64_t next = INT64_MAX;
    int64_t left;

    if (a->every > 0)
        next = a->next;
    if (b->every > 0 && b->next < next)
        next = b->next;
    if (next == INT64_MAX)
        return false;

    left = next - monotonic_usec();
    if (left < 0)
        left = 0;
    timeout->tv_sec = left / 1000000;
    timeout->tv_nsec = (long)(left % 1000000) * 1000;
    return true;
}

/* Pings the systemd watchdog when every worker's loop has turned since the last ping. */
static void feed_watchdog(struct server *server)
{
    for (size_t i = 0; i < server->notify.worker_count; i++)
        server->notify.current_beats[i] =
            atomic_load_explicit(&server->workers[i].heartbeat, memory_order_relaxed);
    (void)sg_notify_watchdog_check(&server->notify, server->notify.current_beats);
}

/*
 * Publishes the settings of a reloaded configuration file, then reads the
 * bundle files again. Workers keep serving throughout: each sees the new
 * settings from its next request on, and no connection is closed.
 */
static void reload_on_sighup(const struct sg_server_config *config)
{
    if (config->reload_config != NULL && config->live != NULL) {
        struct sg_live_config *settings = config->reload_config(config->reload_arg);

        if (settings != NULL) {
            sg_live_config_publish(config->live, settings);
            sg_log(SG_LOG_INFO, "configuration reloaded",
                   "allow_rules=%zu policy_mode=%s audiences=%zu leeway=%lld",
                   settings->policy.rule_count, settings->dry_run ? "dry-run" : "enforce",
                   settings->audience_count, (long long)settings->leeway);
        }
    }
    (void)sg_trust_publisher_reload(config->publisher, "sighup");
}

/*
 * Takes the stop signals that arrived during the drain, such as a second
 * SIGTERM. Unblocking them while pending would kill the process with the
 * default action before it logs "stopped" and returns.
 */
static void discard_pending_signals(const sigset_t *signals)
{
    const struct timespec no_wait = { 0 };

    while (sigtimedwait(signals, NULL, &no_wait) > 0)
        continue;
}

/*
 * Waits for SIGINT or SIGTERM, reloading on every SIGHUP, logging the
 * counters every stats interval and feeding the systemd watchdog every
 * half watchdog period.
 */
static int wait_for_stop_signal(struct server *server, const sigset_t *signals)
{
    const struct sg_server_config *config = server->config;
    int64_t now = monotonic_usec();
    struct periodic stats;
    struct periodic watchdog;
    struct timespec timeout;
    siginfo_t info;
    int signo;

    periodic_start(&stats, config->stats_interval * 1000000, now);
    periodic_start(&watchdog, sg_notify_watchdog_interval(&server->notify), now);

    for (;;) {
        if (next_timeout(&stats, &watchdog, &timeout))
            signo = sigtimedwait(signals, &info, &timeout);
        else
            signo = sigwaitinfo(signals, &info);

        now = monotonic_usec();
        if (periodic_due(&stats, now))
            log_stats(config);
        if (periodic_due(&watchdog, now))
            feed_watchdog(server);

        if (signo == SIGHUP)
            reload_on_sighup(config);
        else if (signo >= 0 || (errno != EINTR && errno != EAGAIN))
            return signo;
    }
}

/* Wakes every started worker, which starts its drain. */
static void wake_workers(struct server *server)
{
    for (size_t i = 0; i < server->started; i++)
        sg_worker_wake(&server->workers[i]);
}

/* Joins every started worker, logs the drain and frees every worker set up. */
static bool join_workers(struct server *server)
{
    struct sg_worker_drain_stats total = { 0 };
    struct timespec start;
    struct timespec end;
    bool failed = false;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (size_t i = 0; i < server->started; i++) {
        pthread_join(server->workers[i].thread, NULL);
        failed |= server->workers[i].failed;
        total.open_at_start += server->workers[i].drain.open_at_start;
        total.closed_idle += server->workers[i].drain.closed_idle;
        total.forced += server->workers[i].drain.forced;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);

    if (server->started > 0) {
        long long elapsed_ms = (long long)(end.tv_sec - start.tv_sec) * 1000 +
                               (end.tv_nsec - start.tv_nsec) / 1000000;

        sg_log(SG_LOG_INFO, "drained",
               "connections=%zu closed_idle=%zu closed_at_deadline=%zu duration_ms=%lld",
               total.open_at_start, total.closed_idle, total.forced, elapsed_ms);
    }

    for (size_t i = 0; i < server->initialized; i++)
        sg_worker_destroy(&server->workers[i]);
    return !failed;
}

/* Sets everything up and serves until a stop signal; the caller cleans up. */
static enum sg_server_result serve(struct server *server, const sigset_t *stop_signals)
{
    char address_text[SG_LISTEN_ADDRESS_TEXT_MAX];

    /* Workers request early fetches from their first request on, before
     * the refresher starts, so the requests are set up first. */
    if (server->config->federation != NULL && server->config->publisher->federation_count > 0 &&
        !sg_federation_wake_init(&server->wake, server->config->publisher, server->message,
                                 sizeof(server->message)))
        return start_failed(server);

    if (!sg_metrics_init(&server->metrics, server->config->workers)) {
        snprintf(server->message, sizeof(server->message), "allocating the metrics failed");
        return start_failed(server);
    }
    if (!sg_batch_hub_init(&server->batch, server->config->workers, sg_route_verify_batch_item,
                           server->message, sizeof(server->message)))
        return start_failed(server);

    for (size_t i = 0; i < server->config->workers; i++) {
        if (!init_worker(server, i))
            return start_failed(server);
    }

    if (!start_workers(server))
        return start_failed(server);

    if (!sg_bundle_watch_start(&server->watch, server->config->publisher, server->message,
                               sizeof(server->message)))
        return start_failed(server);

    if (server->config->federation != NULL &&
        !sg_federation_refresh_start(&server->refresh, server->config->publisher,
                                     server->wake.pending != NULL ? &server->wake : NULL,
                                     server->config->federation, server->message,
                                     sizeof(server->message)))
        return start_failed(server);

    /* A file that changed between the first load and the watch starting
     * raised no event, so the bundles are read once more now. */
    (void)sg_trust_publisher_reload(server->config->publisher, "watch_started");

    /* Logged once the watcher and the refresher run, so that a client
     * that waits for this line reads the real staleness of saved bundles. */
    sg_listen_address_format(&server->address, address_text, sizeof(address_text));
    sg_log(SG_LOG_INFO, "listening", "addr=%s workers=%zu", address_text, server->config->workers);

    /* Bundles were loaded before the server started and every worker
     * listens, so systemd may start the units that wait for this one. */
    char status[SG_LISTEN_ADDRESS_TEXT_MAX + 64];
    snprintf(status, sizeof(status), "READY=1\nSTATUS=serving on %s with %zu workers",
             address_text, server->config->workers);
    sg_notify_send(&server->notify, status);

    int signo = wait_for_stop_signal(server, stop_signals);
    sg_log(SG_LOG_INFO, "stopping", "signal=%s drain_timeout=%lld",
           signo == SIGINT ? "SIGINT" : "SIGTERM",
           (long long)server->config->worker_options.drain_timeout);
    sg_notify_send(&server->notify, "STOPPING=1\nSTATUS=stopping");
    return SG_SERVER_STOPPED;
}

enum sg_server_result sg_server_run(const struct sg_server_config *config)
{
    struct server server = { .config = config };
    sigset_t stop_signals;
    sigset_t old_mask;
    enum sg_server_result result;

    if (!sg_uring_probe(server.message, sizeof(server.message)))
        return start_failed(&server);

    if (!sg_listen_address_parse(config->listen, &server.address, server.message,
                                 sizeof(server.message)))
        return start_failed(&server);

    server.workers = calloc(config->workers, sizeof(*server.workers));
    if (server.workers == NULL) {
        snprintf(server.message, sizeof(server.message), "allocating %zu workers failed",
                 config->workers);
        return start_failed(&server);
    }

    raise_file_limit();
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);

    server.watch.inotify_fd = server.watch.stop_fd = -1;
    server.refresh.stop_fd = -1;
    server.wake.fd = -1;
    sg_notify_open(&server.notify, config->workers);
    result = serve(&server, &stop_signals);

    /* The workers stop listening first, so that no connection is accepted
     * while the rest stops. The watcher and the refresher may be waiting
     * for a grace period, which needs the workers running, so they stop
     * while the workers drain and before they are joined. */
    wake_workers(&server);
    sg_bundle_watch_stop(&server.watch);
    sg_federation_refresh_stop(&server.refresh);
    if (!join_workers(&server) && result == SG_SERVER_STOPPED)
        result = SG_SERVER_WORKER_FAILED;
    sg_federation_wake_destroy(&server.wake); /* workers may use it until they stop */
    sg_batch_hub_destroy(&server.batch);         /* after the connections that hold jobs */
    sg_metrics_destroy(&server.metrics);

    discard_pending_signals(&stop_signals);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    free(server.workers);
    sg_notify_close(&server.notify);

    if (result == SG_SERVER_STOPPED)
        sg_log(SG_LOG_INFO, "stopped", "workers=%zu", config->workers);
    return result;
}
