/*
 * Building, publishing and reclaiming per-worker trust snapshots.
 *
 * Publication is read-copy-update: the new sets are fully built before
 * rcu_xchg_pointer() makes each visible (a release store, so a worker
 * that loads the pointer with rcu_dereference() sees a finished set).
 * synchronize_rcu() returns once every registered worker has passed a
 * quiescent state since the swap, after which no worker can still hold
 * an old set, and they are freed.
 */
#include "net/trust_publisher.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <urcu-qsbr.h>

#include "net/log.h"

static int64_t wall_clock(void)
{
    return (int64_t)time(NULL);
}

/* The index of the federated trust domain named `trust_domain` that has good bytes, or -1. */
static long fetched_federation(const struct sg_trust_publisher *publisher, const char *trust_domain)
{
    for (size_t i = 0; i < publisher->federation_count; i++) {
        if (publisher->federated_text[i] != NULL &&
            strcmp(publisher->federations[i].trust_domain, trust_domain) == 0)
            return (long)i;
    }
    return -1;
}

/* Parses `text` for `trust_domain` and adds it to `set`; `source` names it in errors. */
static enum sg_error add_bundle(struct sg_trust_set *set, const char *trust_domain,
                                const char *text, size_t len, const char *source,
                                struct sg_status *status)
{
    struct sg_bundle *bundle = NULL;
    struct sg_status parse_status;

    if (sg_bundle_parse(sg_slice_cstr(trust_domain), sg_slice_make(text, len), &bundle,
                        &parse_status) != SG_OK)
        return sg_fail(status, parse_status.error, "%s: %s", source, parse_status.message);
    if (sg_trust_set_add(set, bundle, status) != SG_OK) {
        sg_bundle_free(bundle);
        return status->error;
    }
    return SG_OK;
}

/*
 * Builds one trust set of `generation` from the last good bytes of every
 * file and every federated trust domain. A fetched bundle replaces the
 * file of the same trust domain, which only bootstraps it.
 */
static enum sg_error build_set(const struct sg_trust_publisher *publisher, uint64_t generation,
                               struct sg_trust_set **out, struct sg_status *status)
{
    struct sg_trust_set *set = sg_trust_set_new(generation);
    char source[600];

    if (set == NULL)
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory building a trust snapshot");

    for (size_t i = 0; i < publisher->file_count; i++) {
        const struct sg_bundle_file *file = &publisher->files[i];

        if (fetched_federation(publisher, file->trust_domain) >= 0)
            continue;
        snprintf(source, sizeof(source), "bundle file %s", file->path);
        if (add_bundle(set, file->trust_domain, publisher->good_text[i], publisher->good_len[i],
                       source, status) != SG_OK) {
            sg_trust_set_free(set);
            return status->error;
        }
    }
    for (size_t i = 0; i < publisher->federation_count; i++) {
        const struct sg_federation_source *federation = &publisher->federations[i];

        if (publisher->federated_text[i] == NULL)
            continue;
        snprintf(source, sizeof(source), "bundle fetched from %s", federation->url);
        if (add_bundle(set, federation->trust_domain, publisher->federated_text[i],
                       publisher->federated_len[i], source, status) != SG_OK) {
            sg_trust_set_free(set);
            return status->error;
        }
    }
    *out = set;
    return SG_OK;
}

/*
 * Adds one source to the verification digest: its trust domain and its
 * bytes without the members that do not change a verdict. A SPIFFE bundle
 * loses spiffe_sequence and spiffe_refresh_hint and is serialised with
 * sorted keys; a PEM bundle counts as it is. Returns false on failure.
 */
static bool digest_source(EVP_MD_CTX *ctx, const char *trust_domain, const char *text,
                          size_t len)
{
    json_t *root = json_loadb(text, len, 0, NULL);
    char *canonical = NULL;
    bool ok;

    if (json_is_object(root)) {
        json_object_del(root, "spiffe_sequence");
        json_object_del(root, "spiffe_refresh_hint");
        canonical = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
    }
    json_decref(root);
    if (canonical != NULL) {
        text = canonical;
        len = strlen(canonical);
    }

    uint64_t length = len;

    ok = EVP_DigestUpdate(ctx, trust_domain, strlen(trust_domain) + 1) == 1 &&
         EVP_DigestUpdate(ctx, &length, sizeof(length)) == 1 &&
         EVP_DigestUpdate(ctx, text, len) == 1;
    free(canonical);
    return ok;
}

/*
 * Computes the SHA-256 of what cached verdicts depend on: the trust
 * domains and the keys and authorities of the sources build_set() uses,
 * in its order. Returns false on failure; the caller then treats the
 * content as changed.
 */
static bool verification_digest(const struct sg_trust_publisher *publisher, uint8_t out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

    for (size_t i = 0; ok && i < publisher->file_count; i++) {
        if (fetched_federation(publisher, publisher->files[i].trust_domain) < 0)
            ok = digest_source(ctx, publisher->files[i].trust_domain, publisher->good_text[i],
                               publisher->good_len[i]);
    }
    for (size_t i = 0; ok && i < publisher->federation_count; i++) {
        if (publisher->federated_text[i] != NULL)
            ok = digest_source(ctx, publisher->federations[i].trust_domain,
                               publisher->federated_text[i], publisher->federated_len[i]);
    }
    ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/*
 * Sets the verdict generation of `sets`: the publisher's current one when
 * the verification digest is unchanged, else `generation`. Called with
 * reload_lock held (or during init).
 */
static void stamp_verdict_generation(struct sg_trust_publisher *publisher, uint64_t generation,
                                     struct sg_trust_set **sets)
{
    uint8_t digest[32];
    bool computed = verification_digest(publisher, digest);
    bool same = computed && publisher->verdict_generation != 0 &&
                memcmp(digest, publisher->verdict_digest, sizeof(digest)) == 0;

    if (!same) {
        publisher->verdict_generation = generation;
        /* After a failure, zeros: no real digest will match them. */
        if (computed)
            memcpy(publisher->verdict_digest, digest, sizeof(digest));
        else
            memset(publisher->verdict_digest, 0, sizeof(digest));
    }
    for (size_t w = 0; w < publisher->workers; w++)
        sets[w]->verdict_generation = publisher->verdict_generation;
}

/* Builds one set per worker; on failure frees what was built. */
static enum sg_error build_sets(const struct sg_trust_publisher *publisher, uint64_t generation,
                                struct sg_trust_set **sets, struct sg_status *status)
{
    for (size_t w = 0; w < publisher->workers; w++) {
        if (build_set(publisher, generation, &sets[w], status) != SG_OK) {
            for (size_t i = 0; i < w; i++)
                sg_trust_set_free(sets[i]);
            return status->error;
        }
    }
    return SG_OK;
}

/*
 * Reads file i and checks that it parses; on success replaces its good
 * bytes. Returns true when the file's bytes changed. Records the result
 * in its status either way.
 */
static bool refresh_file(struct sg_trust_publisher *publisher, size_t i, bool *failed)
{
    const struct sg_bundle_file *file = &publisher->files[i];
    struct sg_bundle_file_status *file_status = &publisher->status[i];
    struct sg_bundle *bundle = NULL;
    struct sg_status status;
    char *text = NULL;
    size_t len = 0;
    bool changed;

    int64_t attempt = wall_clock();

    *failed = sg_bundle_file_read(file->path, &text, &len, &status) != SG_OK ||
              sg_bundle_parse(sg_slice_cstr(file->trust_domain), sg_slice_make(text, len),
                              &bundle, &status) != SG_OK;
    sg_bundle_free(bundle);

    pthread_mutex_lock(&publisher->lock);
    file_status->last_attempt = attempt;
    if (*failed) {
        snprintf(file_status->last_error, sizeof(file_status->last_error), "%s", status.message);
    } else {
        file_status->last_success = attempt;
        file_status->last_error[0] = '\0';
    }
    pthread_mutex_unlock(&publisher->lock);
    if (*failed) {
        free(text);
        return false;
    }

    changed = len != publisher->good_len[i] || memcmp(text, publisher->good_text[i], len) != 0;
    free(publisher->good_text[i]);
    publisher->good_text[i] = text;
    publisher->good_len[i] = len;
    return changed;
}

/* Swaps in `sets` (one per worker); `old` receives the previous ones. */
static void publish(struct sg_trust_publisher *publisher, struct sg_trust_set **sets,
                    struct sg_trust_set **old)
{
    for (size_t w = 0; w < publisher->workers; w++)
        old[w] = rcu_xchg_pointer(&publisher->current[w], sets[w]);

    /* Every worker passes a quiescent state between event-loop turns, or
     * is offline while it waits, so this returns within one turn. */
    synchronize_rcu();
    for (size_t w = 0; w < publisher->workers; w++)
        sg_trust_set_free(old[w]);
}

enum sg_error sg_trust_publisher_init(struct sg_trust_publisher *publisher,
                                      const struct sg_bundle_file *files, size_t file_count,
                                      size_t workers, struct sg_status *status)
{
    return sg_trust_publisher_init_federated(publisher, files, file_count, NULL, 0, workers,
                                             status);
}

enum sg_error sg_trust_publisher_init_federated(struct sg_trust_publisher *publisher,
                                                const struct sg_bundle_file *files,
                                                size_t file_count,
                                                const struct sg_federation_source *federations,
                                                size_t federation_count, size_t workers,
                                                struct sg_status *status)
{
    struct sg_trust_set **sets;
    size_t federation_slots = federation_count ? federation_count : 1;

    memset(publisher, 0, sizeof(*publisher));
    publisher->files = files;
    publisher->file_count = file_count;
    publisher->federations = federations;
    publisher->federation_count = federation_count;
    publisher->workers = workers;
    publisher->generation = 1;
    pthread_mutex_init(&publisher->lock, NULL);
    pthread_mutex_init(&publisher->reload_lock, NULL);
    publisher->current = calloc(workers, sizeof(*publisher->current));
    publisher->good_text = calloc(file_count ? file_count : 1, sizeof(*publisher->good_text));
    publisher->good_len = calloc(file_count ? file_count : 1, sizeof(*publisher->good_len));
    publisher->status = calloc(file_count ? file_count : 1, sizeof(*publisher->status));
    publisher->federated_text = calloc(federation_slots, sizeof(*publisher->federated_text));
    publisher->federated_len = calloc(federation_slots, sizeof(*publisher->federated_len));
    publisher->federation_status = calloc(federation_slots,
                                          sizeof(*publisher->federation_status));
    if (publisher->current == NULL || publisher->good_text == NULL ||
        publisher->good_len == NULL || publisher->status == NULL ||
        publisher->federated_text == NULL || publisher->federated_len == NULL ||
        publisher->federation_status == NULL)
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory");

    for (size_t i = 0; i < file_count; i++) {
        bool failed;

        (void)refresh_file(publisher, i, &failed);
        if (failed)
            return sg_fail(status, SG_ERR_MALFORMED, "bundle file %s for trust domain %s: %s",
                           files[i].path, files[i].trust_domain, publisher->status[i].last_error);
    }

    sets = publisher->current;
    if (build_sets(publisher, publisher->generation, sets, status) != SG_OK)
        return status->error;
    stamp_verdict_generation(publisher, publisher->generation, sets);
    return SG_OK;
}

/* Re-reads every file; returns true when any file's good bytes changed. */
static bool refresh_files(struct sg_trust_publisher *publisher, const char *reason)
{
    bool changed = false;

    for (size_t i = 0; i < publisher->file_count; i++) {
        char path[512], error[2 * SG_MESSAGE_MAX];
        bool failed;

        changed |= refresh_file(publisher, i, &failed);
        if (!failed)
            continue;

        pthread_mutex_lock(&publisher->lock);
        publisher->reload_errors++;
        sg_log_escape(publisher->status[i].last_error, error, sizeof(error));
        pthread_mutex_unlock(&publisher->lock);
        sg_log(SG_LOG_ERROR, "bundle reload failed, keeping the previous bundle",
               "reason=%s trust_domain=%s file=\"%s\" error=\"%s\"", reason,
               publisher->files[i].trust_domain,
               sg_log_escape(publisher->files[i].path, path, sizeof(path)), error);
    }
    return changed;
}

/*
 * Builds and publishes a new generation when good bytes changed since the
 * last publication. The caller holds reload_lock and passes `sets` and
 * `old`, arrays of one pointer per worker. Returns true when published.
 */
static bool publish_pending(struct sg_trust_publisher *publisher, const char *reason,
                            struct sg_trust_set **sets, struct sg_trust_set **old)
{
    struct sg_status status;
    uint64_t generation;

    if (!publisher->rebuild_pending)
        return false;

    pthread_mutex_lock(&publisher->lock);
    generation = publisher->generation + 1;
    pthread_mutex_unlock(&publisher->lock);

    if (build_sets(publisher, generation, sets, &status) != SG_OK) {
        char error[2 * SG_MESSAGE_MAX];

        /* The good bytes stay changed, so the next reload tries again. */
        sg_log(SG_LOG_ERROR, "bundle publication failed", "reason=%s error=\"%s\"", reason,
               sg_log_escape(status.message, error, sizeof(error)));
        return false;
    }

    publisher->rebuild_pending = false;
    stamp_verdict_generation(publisher, generation, sets);
    publish(publisher, sets, old);
    pthread_mutex_lock(&publisher->lock);
    publisher->generation = generation;
    publisher->reloads++;
    pthread_mutex_unlock(&publisher->lock);
    sg_log(SG_LOG_INFO, "bundles published", "reason=%s generation=%llu", reason,
           (unsigned long long)generation);
    return true;
}

/* Runs `update` and publishes under reload_lock, with the per-worker arrays allocated. */
static bool update_and_publish(struct sg_trust_publisher *publisher, const char *reason,
                               bool (*update)(struct sg_trust_publisher *, const void *),
                               const void *argument)
{
    struct sg_trust_set **sets = calloc(publisher->workers, sizeof(*sets));
    struct sg_trust_set **old = calloc(publisher->workers, sizeof(*old));
    bool published = false;

    if (sets == NULL || old == NULL) {
        free(sets);
        free(old);
        sg_log(SG_LOG_ERROR, "bundle reload failed", "reason=%s error=\"out of memory\"", reason);
        return false;
    }

    pthread_mutex_lock(&publisher->reload_lock);
    if (update(publisher, argument))
        published = publish_pending(publisher, reason, sets, old);
    pthread_mutex_unlock(&publisher->reload_lock);
    free(sets);
    free(old);
    return published;
}

static bool reload_files(struct sg_trust_publisher *publisher, const void *reason)
{
    publisher->rebuild_pending |= refresh_files(publisher, reason);
    return true;
}

bool sg_trust_publisher_reload(struct sg_trust_publisher *publisher, const char *reason)
{
    return update_and_publish(publisher, reason, reload_files, reason);
}

/* A new good text for one federated trust domain. */
struct federated_update {
    size_t index;
    const char *text;
    size_t len;
};

/* Stores a copy of the update's bytes; false when they are unchanged or memory ran out. */
static bool store_federated(struct sg_trust_publisher *publisher, const void *argument)
{
    const struct federated_update *update = argument;
    char *copy;

    if (publisher->federated_text[update->index] != NULL &&
        publisher->federated_len[update->index] == update->len &&
        memcmp(publisher->federated_text[update->index], update->text, update->len) == 0)
        return publisher->rebuild_pending;

    copy = malloc(update->len + 1);
    if (copy == NULL) {
        sg_log(SG_LOG_ERROR, "storing a fetched bundle failed",
               "trust_domain=%s error=\"out of memory\"",
               publisher->federations[update->index].trust_domain);
        return false;
    }
    memcpy(copy, update->text, update->len);
    copy[update->len] = '\0';
    free(publisher->federated_text[update->index]);
    publisher->federated_text[update->index] = copy;
    publisher->federated_len[update->index] = update->len;
    publisher->rebuild_pending = true;
    return true;
}

bool sg_trust_publisher_set_federated(struct sg_trust_publisher *publisher, size_t index,
                                      const char *text, size_t len, const char *reason)
{
    struct federated_update update = { .index = index, .text = text, .len = len };

    return update_and_publish(publisher, reason, store_federated, &update);
}

enum sg_error sg_trust_publisher_build_private(struct sg_trust_publisher *publisher,
                                               struct sg_trust_set **out,
                                               struct sg_status *status)
{
    enum sg_error error;

    pthread_mutex_lock(&publisher->reload_lock);
    error = build_set(publisher, 0, out, status);
    pthread_mutex_unlock(&publisher->reload_lock);
    return error;
}

const struct sg_trust_set *sg_trust_publisher_current(struct sg_trust_publisher *publisher,
                                                      size_t worker)
{
    return rcu_dereference(publisher->current[worker]);
}

void sg_trust_publisher_destroy(struct sg_trust_publisher *publisher)
{
    for (size_t w = 0; publisher->current != NULL && w < publisher->workers; w++)
        sg_trust_set_free(publisher->current[w]);
    for (size_t i = 0; publisher->good_text != NULL && i < publisher->file_count; i++)
        free(publisher->good_text[i]);
    for (size_t i = 0; publisher->federated_text != NULL && i < publisher->federation_count; i++)
        free(publisher->federated_text[i]);
    free(publisher->federated_text);
    free(publisher->federated_len);
    free(publisher->federation_status);
    free(publisher->current);
    free(publisher->good_text);
    free(publisher->good_len);
    free(publisher->status);
    pthread_mutex_destroy(&publisher->lock);
    pthread_mutex_destroy(&publisher->reload_lock);
    memset(publisher, 0, sizeof(*publisher));
}
