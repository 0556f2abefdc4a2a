/*
 * Trust snapshot publication for the server.
 *
 * A snapshot is an immutable trust set stamped with a generation. Each
 * worker verifies with its own copy of it (its own EVP_PKEY and
 * X509_STORE objects, since OpenSSL 3 serialises threads on shared ones),
 * so a publication builds one trust set per worker from the same bundle
 * bytes and swaps every worker's pointer.
 *
 * Readers follow the QSBR flavour of liburcu: a worker loads its pointer
 * with sg_trust_publisher_current() once per event-loop turn, uses it for
 * every request of that turn, and passes a quiescent state before the
 * next turn. The publisher frees the previous sets after a grace period,
 * so a worker never sees a set change or vanish in the middle of a
 * request, and no lock is taken on the request path.
 */
#ifndef SVIDGATE_NET_TRUST_PUBLISHER_H
#define SVIDGATE_NET_TRUST_PUBLISHER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bundle.h"
#include "core/error.h"
#include "net/bundle_files.h"

/* What the publisher knows about one bundle file, for GET /v1/bundles. */
struct sg_bundle_file_status {
    int64_t last_success; /* Unix seconds of the last successful load */
    int64_t last_attempt; /* Unix seconds of the last load, good or bad */
    char last_error[SG_MESSAGE_MAX]; /* empty when the last load succeeded */
};

struct sg_trust_publisher {
    const struct sg_bundle_file *files; /* --bundle arguments, not owned */
    size_t file_count;
    size_t workers;

    struct sg_trust_set **current; /* per worker; RCU-published, read by that worker */

    /* Serialises reloads (the watcher thread and SIGHUP). It is held
     * across synchronize_rcu(), so a worker thread must never take it:
     * the grace period waits for that worker. */
    pthread_mutex_t reload_lock;
    char **good_text; /* per file: the bytes of its last good load */
    size_t *good_len;
    bool rebuild_pending; /* good bytes changed but no set could be built */

    /* The fields below are read by workers (GET /v1/bundles) and the
     * stats logger; they hold `lock` briefly, never across a grace period. */
    pthread_mutex_t lock;
    uint64_t generation;
    struct sg_bundle_file_status *status; /* per file */
    uint64_t reloads;       /* publications after the first */
    uint64_t reload_errors; /* files that failed to load on a reload */
};

/*
 * Loads every file and publishes generation 1. Fails, naming the file and
 * the reason, when any file cannot be read or parsed: start-up needs them
 * all.
 */
SG_MUST_CHECK enum sg_error sg_trust_publisher_init(struct sg_trust_publisher *publisher,
                                                    const struct sg_bundle_file *files,
                                                    size_t file_count, size_t workers,
                                                    struct sg_status *status);

/*
 * Reads every file again. A file that fails keeps its previous bundle and
 * is logged with its name and the reason. When any file's bytes changed,
 * publishes a new generation to every worker, waits for the grace period
 * and frees the old sets. Must not be called from a registered RCU reader
 * thread. Returns true when a new generation was published.
 */
bool sg_trust_publisher_reload(struct sg_trust_publisher *publisher, const char *reason);

/* The worker's current snapshot; call from that worker's registered thread. */
const struct sg_trust_set *sg_trust_publisher_current(struct sg_trust_publisher *publisher,
                                                      size_t worker);

/* Frees every set; no worker may be running. */
void sg_trust_publisher_destroy(struct sg_trust_publisher *publisher);

#endif
