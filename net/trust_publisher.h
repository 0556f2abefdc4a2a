/*
 * Trust snapshot publication for the server.
 *
 * A snapshot is an immutable trust set stamped with a generation. Each
 * worker verifies with its own copy of it, with its own EVP_PKEY and
 * X509_STORE objects, because OpenSSL 3 serialises threads on shared ones.
 * So a publication builds one trust set per worker from the same bundle
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
#include "net/federation_source.h"

/* Load status of one bundle file, for GET /v1/bundles. */
struct sg_bundle_file_status {
    int64_t last_success; /* Unix seconds of the last successful load */
    int64_t last_attempt; /* Unix seconds of the last load, good or bad */
    char last_error[SG_MESSAGE_MAX]; /* empty when the last load succeeded */
};

/* Fetch status of one --federate trust domain, for
 * GET /v1/bundles and /readyz. net/federation_refresh.c writes it. */
struct sg_federation_status {
    bool has_bundle;     /* good bytes exist, fetched now or loaded from --state-dir */
    bool from_state_dir; /* the good bytes were loaded at start-up, not fetched yet */
    bool has_sequence;   /* spiffe_sequence of the good bundle */
    uint64_t sequence;
    /* Unix seconds of the last accepted fetch, by this process or, for a
     * bundle loaded from --state-dir, the one that saved it; 0 for none */
    int64_t last_success;
    int64_t last_attempt; /* Unix seconds of the last fetch, good or bad; 0 for none */
    int64_t next_attempt; /* Unix seconds the next fetch is due */
    /* Unix seconds the bundle in use was last confirmed: the last accepted
     * fetch (for a saved bundle, the saved file's modification time), or
     * the refresher's start for a --bundle seed or no bundle at all. 0
     * before either is known. */
    int64_t fresh_since;
    /* Seconds after fresh_since at which GET /readyz reports the trust
     * domain as stale; 0 never (before the refresher starts). */
    int64_t stale_after;
    char last_error[SG_FED_MESSAGE_MAX]; /* empty when the last fetch was accepted */
    char peer_id[SG_SPIFFE_ID_MAX + 1]; /* https_spiffe: the SPIFFE ID the endpoint presented */
    uint64_t fetches;   /* fetches attempted */
    uint64_t failures;  /* fetches that failed or were rejected */
    uint64_t rollbacks; /* fetched bundles rejected for a lower spiffe_sequence */
};

struct sg_trust_publisher {
    const struct sg_bundle_file *files; /* --bundle arguments, not owned */
    size_t file_count;
    const struct sg_federation_source *federations; /* --federate arguments, not owned */
    size_t federation_count;
    size_t workers;

    struct sg_trust_set **current; /* per worker; RCU-published, read by that worker */

    /* Serialises reloads (the watcher thread and SIGHUP). It is held
     * across synchronize_rcu(), so a worker thread must never take it:
     * the grace period waits for that worker. */
    pthread_mutex_t reload_lock;
    char **good_text; /* per file: the bytes of its last good load */
    size_t *good_len;
    bool rebuild_pending; /* good bytes changed but no set could be built */
    /* SHA-256 of what verification depends on in the published sources
     * (see verification_digest()), and the verdict generation it maps to. */
    uint8_t verdict_digest[32];
    uint64_t verdict_generation;
    /* Per federated trust domain: the bytes of the last accepted fetch,
     * or NULL before the first. Once present they replace the bundle of
     * a --bundle file for the same trust domain. */
    char **federated_text;
    size_t *federated_len;

    /* The fields below are read by workers (GET /v1/bundles) and the
     * stats logger; they hold `lock` briefly, never across a grace period. */
    pthread_mutex_t lock;
    uint64_t generation;
    struct sg_bundle_file_status *status; /* per file */
    uint64_t reloads;       /* publications after the first */
    uint64_t reload_errors; /* files that failed to load on a reload */
    struct sg_federation_status *federation_status; /* per federated trust domain */
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
 * Like sg_trust_publisher_init(), with federated trust domains too. They
 * start without a bundle; sg_trust_publisher_set_federated() gives them
 * one. A trust domain may appear both in `files` (the bootstrap bundle)
 * and in `federations`.
 */
SG_MUST_CHECK enum sg_error sg_trust_publisher_init_federated(
    struct sg_trust_publisher *publisher, const struct sg_bundle_file *files, size_t file_count,
    const struct sg_federation_source *federations, size_t federation_count, size_t workers,
    struct sg_status *status);

/*
 * Replaces the bytes of federated trust domain `index` with a copy of
 * `text`, which the caller has parsed. When they differ from the current
 * bytes, publishes a new generation as sg_trust_publisher_reload() does.
 * Must not be called from a registered RCU reader thread. Returns true
 * when a new generation was published.
 */
bool sg_trust_publisher_set_federated(struct sg_trust_publisher *publisher, size_t index,
                                      const char *text, size_t len, const char *reason);

/*
 * Builds a trust set (generation 0) from the current good bytes, for a
 * thread that is not a worker, such as the federation refresher
 * authenticating an https_spiffe endpoint. Free it with sg_trust_set_free().
 */
SG_MUST_CHECK enum sg_error sg_trust_publisher_build_private(struct sg_trust_publisher *publisher,
                                                             struct sg_trust_set **out,
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
