/*
 * The HTTP verification server: one worker thread per CPU, each with its
 * own io_uring and listening socket (see net/worker.h), started and
 * stopped from the calling thread.
 */
#ifndef SVIDGATE_NET_SERVER_H
#define SVIDGATE_NET_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/bundle.h"
#include "core/slice.h"
#include "net/federation_refresh.h"
#include "net/live_config.h"
#include "net/trust_publisher.h"
#include "net/verdict_cache.h"
#include "net/worker.h"

/* Upper bound of --workers. */
#define SG_SERVER_WORKERS_MAX 1024

struct sg_server_config {
    const char *listen;  /* HOST:PORT; port 0 picks a free port */
    size_t workers;      /* 1 .. SG_SERVER_WORKERS_MAX */

    /* Publishes one trust snapshot per worker, so that no OpenSSL key
     * object is shared between threads; reloaded on SIGHUP and when a
     * bundle file changes. */
    struct sg_trust_publisher *publisher;

    struct sg_cache *cache;                /* shared verdict cache; NULL disables it */
    struct sg_cache_counters *counters;    /* one per worker, written by that worker */
    int64_t stats_interval;                /* seconds between "stats" log lines; 0 for none */

    const struct sg_slice *audiences; /* --audience defaults; may be empty */
    size_t audience_count;
    int64_t leeway;                   /* seconds */

    /* The settings SIGHUP may change (policy, default audiences, leeway),
     * or NULL for the fixed `audiences` and `leeway` above. On SIGHUP,
     * reload_config(reload_arg), when set, returns new settings to
     * publish, or NULL to keep the running ones; it logs why. */
    struct sg_live_config_slot *live;
    struct sg_live_config *(*reload_config)(void *reload_arg);
    void *reload_arg;

    /* Schedule, fetch limits and state directory of the federation
     * refresher, which runs while the publisher has federated trust domains. */
    const struct sg_federation_refresh_config *federation;

    /* Each worker's timeouts, connection cap and drain time. */
    struct sg_worker_options worker_options;
};

enum sg_server_result {
    SG_SERVER_STOPPED,       /* stopped by SIGINT or SIGTERM */
    SG_SERVER_START_FAILED,  /* bad address, missing kernel feature, ...; logged */
    SG_SERVER_WORKER_FAILED, /* a worker hit a fatal ring error; logged */
};

/*
 * Checks the kernel, binds every worker's socket, logs
 * `level=info msg="listening" addr=HOST:PORT workers=N` with the bound
 * address, and serves until SIGINT or SIGTERM. SIGHUP reloads the
 * configuration through config->reload_config, then the bundles; any
 * change in the folders of the bundle files reloads the bundles. A stop
 * signal makes every worker drain (see sg_worker_run()); once all have
 * left their loops, every socket, ring and buffer is freed before
 * returning.
 * The calling thread's signal mask is restored on return.
 */
enum sg_server_result sg_server_run(const struct sg_server_config *config);

#endif
