/*
 * The federation refresher: one background thread that fetches the
 * bundle of every `--federate` trust domain from its bundle endpoint,
 * never on the request path.
 *
 * Each trust domain has its own schedule. After an accepted fetch the
 * next one is due after the bundle's spiffe_refresh_hint (or
 * SG_FEDERATION_REFRESH_DEFAULT without one), clamped to
 * [refresh_min, refresh_max]. After a failure the retry waits
 * refresh_min doubled per consecutive failure, capped at that interval
 * and jittered to between half and all of it. A failure never removes a
 * bundle.
 *
 * A fetched bundle whose spiffe_sequence is lower than the current one's
 * is rejected and counted as a rollback; one with the same sequence and
 * different content is accepted with a warning. Accepted bytes go to the
 * trust publisher, which publishes a new generation when they changed,
 * and to `<state_dir>/<trust domain>.json` when a state directory is set.
 *
 * A worker whose token failed with unknown_key or unknown_trust_domain
 * for a federated trust domain requests an early fetch through
 * sg_federation_wake_request().
 * The refresher runs it at once, unless an early fetch of that trust
 * domain ran less than early_refresh_min seconds ago; then it runs when
 * that time is up. A pending request is cleared by any fetch of the trust
 * domain, so requests never queue up.
 *
 * The refresher also sets each trust domain's staleness threshold in its
 * status: config.stale_after, or SG_FEDERATION_STALE_FACTOR times the
 * refresh interval of the last accepted bundle, at least
 * SG_FEDERATION_STALE_MIN seconds. GET /readyz reports a trust domain
 * whose bundle is older than that as stale.
 */
#ifndef SVIDGATE_NET_FEDERATION_REFRESH_H
#define SVIDGATE_NET_FEDERATION_REFRESH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"
#include "net/federation_fetch.h"
#include "net/trust_publisher.h"

/* Seconds between fetches when a bundle has no spiffe_refresh_hint. */
#define SG_FEDERATION_REFRESH_DEFAULT 300
#define SG_FEDERATION_REFRESH_MIN_DEFAULT 30
#define SG_FEDERATION_REFRESH_MAX_DEFAULT 3600
/* Minimum seconds between two early fetches of one trust domain. */
#define SG_FEDERATION_EARLY_REFRESH_MIN_DEFAULT 10
/* A trust domain is stale when its last accepted fetch is older than
 * SG_FEDERATION_STALE_FACTOR refresh intervals, and at least
 * SG_FEDERATION_STALE_MIN seconds. */
#define SG_FEDERATION_STALE_FACTOR 3
#define SG_FEDERATION_STALE_MIN 900

struct sg_federation_refresh_config {
    int64_t refresh_min; /* seconds, >= 1 */
    int64_t refresh_max; /* seconds, >= refresh_min */
    int64_t early_refresh_min; /* seconds between early fetches of one trust domain, >= 1 */
    const char *state_dir; /* folder for the last good bundles, or NULL */
    int64_t stale_after; /* seconds without an accepted fetch before a trust domain is stale;
                            0 for SG_FEDERATION_STALE_FACTOR refresh intervals */
    struct sg_fed_fetch_options fetch;
};

/*
 * Early fetch requests from the workers to the refresher. Set up before
 * the workers start and destroyed after they stop, so that a worker can
 * use it at any time without a lock.
 */
struct sg_federation_wake {
    const struct sg_federation_source *federations; /* not owned */
    size_t count;
    atomic_bool *pending; /* per trust domain: an early fetch was requested and not run yet */
    int fd;               /* eventfd the refresher polls; -1 when not set up */
};

struct sg_federation_refresh {
    struct sg_trust_publisher *publisher;
    struct sg_federation_wake *wake;
    struct sg_federation_refresh_config config;
    int stop_fd; /* eventfd: written by sg_federation_refresh_stop() */
    atomic_bool stopping; /* set by sg_federation_refresh_stop(); cancels a fetch in progress */
    pthread_t thread;
    bool running;
    int64_t *due_ms;        /* per trust domain: CLOCK_MONOTONIC milliseconds of the next fetch */
    unsigned *failures;     /* per trust domain: consecutive failed fetches */
    int64_t *early_ms;      /* per trust domain: CLOCK_MONOTONIC milliseconds of the last early
                               fetch, or INT64_MIN before one */
    unsigned random_state;  /* for the jitter, seeded from getrandom */
};

/*
 * Loads `<state_dir>/<trust domain>.json` of every federated trust domain
 * into the publisher, so that start-up does not wait for an endpoint. A
 * missing file is skipped; one that cannot be read or parsed is logged
 * and skipped. Call before the workers start.
 */
void sg_federation_state_load(struct sg_trust_publisher *publisher, const char *state_dir);

/*
 * Allocates the per trust domain flags and the eventfd of `wake` for the
 * publisher's federated trust domains. On failure writes the reason to
 * `message` and returns false; sg_federation_wake_destroy() is then still
 * safe. `wake->fd` must be -1 before the call.
 */
bool sg_federation_wake_init(struct sg_federation_wake *wake,
                             const struct sg_trust_publisher *publisher, char *message,
                             size_t message_size);

/*
 * Requests an early fetch of `trust_domain` when it is federated. Called
 * by a worker after an unknown_key verdict: it takes no lock and makes at
 * most one eventfd write, only when no request of that trust domain is
 * pending. Does nothing for a trust domain that is not federated.
 */
void sg_federation_wake_request(struct sg_federation_wake *wake, struct sg_slice trust_domain);

/* Frees `wake`; no worker may be running. */
void sg_federation_wake_destroy(struct sg_federation_wake *wake);

/*
 * Starts the thread, which fetches every trust domain at once, then on
 * its schedule and on the early requests of `wake` (which may be NULL).
 * On failure writes the reason to `message` and returns false. Nothing is
 * started without federated trust domains.
 */
bool sg_federation_refresh_start(struct sg_federation_refresh *refresh,
                                 struct sg_trust_publisher *publisher,
                                 struct sg_federation_wake *wake,
                                 const struct sg_federation_refresh_config *config, char *message,
                                 size_t message_size);

/*
 * Wakes the thread and joins it; safe after a failed start. A fetch in
 * progress finishes first, so this can take up to config.fetch.timeout_ms.
 */
void sg_federation_refresh_stop(struct sg_federation_refresh *refresh);

#endif
