/*
 * The federation refresher thread: schedules, fetches, sequence checks,
 * publication and the state directory. See net/federation_refresh.h.
 */
#include "net/federation_refresh.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net/log.h"

#define PATH_MAX_BYTES 4096

/* The outcome of one fetch, as logged. */
enum fetch_outcome {
    FETCH_ACCEPTED,
    FETCH_FAILED,   /* the fetch itself failed */
    FETCH_ROLLBACK, /* fetched, but rejected for a lower spiffe_sequence */
};

static int64_t monotonic_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* ---- State directory ------------------------------------------------ */

static void state_path(const char *state_dir, const char *trust_domain, const char *suffix,
                       char *path)
{
    snprintf(path, PATH_MAX_BYTES, "%s/%s.json%s", state_dir, trust_domain, suffix);
}

static bool write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t written = write(fd, data, len);

        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return false;
        data += written;
        len -= (size_t)written;
    }
    return true;
}

/*
 * Writes `text` to `<state_dir>/<trust_domain>.json` so that a crash
 * leaves either the old or the new file: a temporary file is written and
 * fsynced, renamed over the old one, and the folder is fsynced so the
 * rename itself is durable. Logs and returns false on failure.
 */
static bool state_save(const char *state_dir, const char *trust_domain, const char *text,
                       size_t len)
{
    char path[PATH_MAX_BYTES], temporary[PATH_MAX_BYTES];
    const char *step = "open";
    int fd, dir_fd = -1;
    bool ok = false;

    state_path(state_dir, trust_domain, "", path);
    state_path(state_dir, trust_domain, ".tmp", temporary);
    fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        step = "write";
        if (write_all(fd, text, len) && (step = "fsync", fsync(fd) == 0))
            ok = true;
        close(fd);
    }
    if (ok) {
        step = "rename";
        ok = rename(temporary, path) == 0;
    }
    if (ok) {
        step = "fsync of the folder";
        dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ok = dir_fd >= 0 && fsync(dir_fd) == 0;
        if (dir_fd >= 0)
            close(dir_fd);
    }
    if (!ok) {
        char escaped[2 * PATH_MAX_BYTES];

        sg_log(SG_LOG_ERROR, "saving a fetched bundle failed", "trust_domain=%s file=\"%s\" "
               "step=\"%s\" error=\"%s\"", trust_domain,
               sg_log_escape(path, escaped, sizeof(escaped)), step, strerror(errno));
        (void)unlink(temporary);
    }
    return ok;
}

/*
 * Marks the saved bundle of `trust_domain` as confirmed now. An accepted
 * fetch that brings the same bytes does not rewrite the file, but its
 * modification time still has to change: it is the fetch time that the
 * next start-up reads (see saved_fetch_time()).
 */
static void state_touch(const char *state_dir, const char *trust_domain)
{
    char path[PATH_MAX_BYTES];

    state_path(state_dir, trust_domain, "", path);
    if (utimensat(AT_FDCWD, path, NULL, 0) != 0 && errno != ENOENT) {
        char escaped[2 * PATH_MAX_BYTES];

        sg_log(SG_LOG_WARN, "updating a saved bundle's time failed", "trust_domain=%s "
               "file=\"%s\" error=\"%s\"", trust_domain,
               sg_log_escape(path, escaped, sizeof(escaped)), strerror(errno));
    }
}

/*
 * Returns the Unix second at which the saved bundle at `path` was last
 * fetched: the file's modification time, which state_save() and
 * state_touch() set at every accepted fetch. A time in the future (a clock
 * that went backwards) counts as now; 0 means unknown.
 */
static int64_t saved_fetch_time(const char *path)
{
    struct stat info;
    int64_t now = (int64_t)time(NULL);

    if (stat(path, &info) != 0)
        return 0;
    return (int64_t)info.st_mtime > now ? now : (int64_t)info.st_mtime;
}

/* Records a bundle that became current in the trust domain's status. */
static void record_bundle(struct sg_trust_publisher *publisher, size_t index,
                          const struct sg_bundle *bundle, bool from_state_dir)
{
    struct sg_federation_status *status = &publisher->federation_status[index];

    pthread_mutex_lock(&publisher->lock);
    status->has_bundle = true;
    status->from_state_dir = from_state_dir;
    status->has_sequence = bundle->has_sequence;
    status->sequence = bundle->sequence;
    pthread_mutex_unlock(&publisher->lock);
}

/*
 * Starts the staleness clock of a saved bundle at the time it was
 * fetched, so that a restart does not make an old bundle look fresh.
 */
static void record_saved_time(struct sg_trust_publisher *publisher, size_t index,
                              int64_t fetched)
{
    struct sg_federation_status *status = &publisher->federation_status[index];

    if (fetched <= 0)
        return;
    pthread_mutex_lock(&publisher->lock);
    status->last_success = fetched;
    status->fresh_since = fetched;
    pthread_mutex_unlock(&publisher->lock);
}

void sg_federation_state_load(struct sg_trust_publisher *publisher, const char *state_dir)
{
    for (size_t i = 0; state_dir != NULL && i < publisher->federation_count; i++) {
        const char *trust_domain = publisher->federations[i].trust_domain;
        char path[PATH_MAX_BYTES], escaped[2 * PATH_MAX_BYTES], error[2 * SG_MESSAGE_MAX];
        struct sg_bundle *bundle = NULL;
        struct sg_status status;
        char *text = NULL;
        size_t len = 0;

        state_path(state_dir, trust_domain, "", path);
        if (access(path, F_OK) != 0 && errno == ENOENT)
            continue;
        if (sg_bundle_file_read(path, &text, &len, &status) != SG_OK ||
            sg_bundle_parse(sg_slice_cstr(trust_domain), sg_slice_make(text, len), &bundle,
                            &status) != SG_OK) {
            sg_log(SG_LOG_WARN, "ignoring a saved bundle", "trust_domain=%s file=\"%s\" "
                   "error=\"%s\"", trust_domain, sg_log_escape(path, escaped, sizeof(escaped)),
                   sg_log_escape(status.message, error, sizeof(error)));
            free(text);
            continue;
        }
        (void)sg_trust_publisher_set_federated(publisher, i, text, len, "state_dir");
        record_bundle(publisher, i, bundle, true);
        record_saved_time(publisher, i, saved_fetch_time(path));
        sg_log(SG_LOG_INFO, "loaded a saved bundle", "trust_domain=%s file=\"%s\" sequence=%lld",
               trust_domain, sg_log_escape(path, escaped, sizeof(escaped)),
               bundle->has_sequence ? (long long)bundle->sequence : -1LL);
        sg_bundle_free(bundle);
        free(text);
    }
}

/* ---- One fetch ------------------------------------------------------ */

/* Returns true when the current good bytes of trust domain `index` equal `text`. */
static bool same_as_current(struct sg_trust_publisher *publisher, size_t index, const char *text,
                            size_t len)
{
    bool same;

    pthread_mutex_lock(&publisher->reload_lock);
    same = publisher->federated_text[index] != NULL && publisher->federated_len[index] == len &&
           memcmp(publisher->federated_text[index], text, len) == 0;
    pthread_mutex_unlock(&publisher->reload_lock);
    return same;
}

/*
 * Checks a fetched bundle's spiffe_sequence against the current one.
 * Returns false, with the reason in `error`, for a rollback. Without a
 * sequence on either side the newest fetch wins.
 */
static bool check_sequence(struct sg_trust_publisher *publisher, size_t index,
                           const struct sg_fed_fetch_result *result, char *error, size_t size)
{
    const struct sg_federation_status *status = &publisher->federation_status[index];
    const struct sg_bundle *fetched = result->bundle;
    bool has_current;
    uint64_t current;

    pthread_mutex_lock(&publisher->lock);
    has_current = status->has_bundle && status->has_sequence;
    current = status->sequence;
    pthread_mutex_unlock(&publisher->lock);

    if (!has_current || !fetched->has_sequence)
        return true;
    if (fetched->sequence < current) {
        snprintf(error, size, "spiffe_sequence %llu is lower than the current %llu; keeping the "
                 "current bundle", (unsigned long long)fetched->sequence,
                 (unsigned long long)current);
        return false;
    }
    if (fetched->sequence == current &&
        !same_as_current(publisher, index, result->body, result->body_len))
        sg_log(SG_LOG_WARN, "fetched bundle changed without a new spiffe_sequence, accepting it",
               "trust_domain=%s sequence=%llu", publisher->federations[index].trust_domain,
               (unsigned long long)current);
    return true;
}

/* Fetches trust domain `index` once; an https_spiffe endpoint is checked against `trust`. */
static void fetch_bundle(const struct sg_federation_refresh *refresh, size_t index,
                         const struct sg_trust_set *trust, struct sg_fed_fetch_result *result)
{
    const struct sg_federation_source *source = &refresh->publisher->federations[index];
    struct sg_fed_endpoint endpoint = {
        .url = source->url,
        .profile = source->profile,
        .trust_domain = sg_slice_cstr(source->trust_domain),
        .ca_file = source->ca_file,
        .spiffe_id = source->spiffe_id,
        .trust = trust,
    };

    (void)sg_fed_fetch(&endpoint, &refresh->config.fetch, result);
}

/* Logs one fetch: why it ran, URL, profile, peer SPIFFE ID, sequence and outcome. */
static void log_fetch(const struct sg_federation_source *source, const char *reason,
                      const struct sg_fed_fetch_result *result, enum fetch_outcome outcome,
                      const char *error)
{
    static const char *const outcome_names[] = { "accepted", "failed", "rejected" };
    char url[1024], peer[2 * SG_SPIFFE_ID_MAX + 2], escaped_error[2 * SG_FED_MESSAGE_MAX];
    const struct sg_bundle *bundle = result->bundle;

    sg_log(outcome == FETCH_ACCEPTED ? SG_LOG_INFO : SG_LOG_ERROR, "bundle fetch",
           "trust_domain=%s reason=%s url=\"%s\" profile=%s peer_id=\"%s\" sequence=%lld "
           "result=%s error=\"%s\"", source->trust_domain, reason,
           sg_log_escape(source->url, url, sizeof(url)),
           sg_fed_profile_name(source->profile),
           sg_log_escape(result->peer_id, peer, sizeof(peer)),
           bundle != NULL && bundle->has_sequence ? (long long)bundle->sequence : -1LL,
           outcome_names[outcome], sg_log_escape(error, escaped_error, sizeof(escaped_error)));
}

/*
 * Fetches trust domain `index`, checks the result and publishes it.
 * `reason` is logged: "schedule" or "unknown_kid". Returns the outcome;
 * `hint` receives the accepted bundle's refresh hint in seconds, or 0
 * without one.
 */
static enum fetch_outcome refresh_domain(struct sg_federation_refresh *refresh, size_t index,
                                         const char *reason, int64_t *hint)
{
    struct sg_trust_publisher *publisher = refresh->publisher;
    const struct sg_federation_source *source = &publisher->federations[index];
    struct sg_federation_status *status = &publisher->federation_status[index];
    struct sg_fed_fetch_result result;
    struct sg_trust_set *trust = NULL;
    struct sg_status trust_status;
    enum fetch_outcome outcome = FETCH_FAILED;
    char error[SG_FED_MESSAGE_MAX] = "";
    int64_t attempt = (int64_t)time(NULL);

    memset(&result, 0, sizeof(result));
    *hint = 0;

    /* The latest bundle of the endpoint ID's trust domain: the --bundle
     * file first, then each fetched bundle (a self-serving endpoint
     * rotates through itself). */
    if (source->profile == SG_FED_HTTPS_SPIFFE &&
        sg_trust_publisher_build_private(publisher, &trust, &trust_status) != SG_OK)
        snprintf(error, sizeof(error), "building the endpoint's trust set failed: %s",
                 trust_status.message);
    else
        fetch_bundle(refresh, index, trust, &result);
    sg_trust_set_free(trust);

    if (error[0] == '\0' && result.error != SG_FED_OK)
        snprintf(error, sizeof(error), "%s", result.message);
    else if (error[0] == '\0' && !check_sequence(publisher, index, &result, error, sizeof(error)))
        outcome = FETCH_ROLLBACK;
    else if (error[0] == '\0')
        outcome = FETCH_ACCEPTED;

    if (outcome == FETCH_ACCEPTED) {
        bool changed = !same_as_current(publisher, index, result.body, result.body_len);

        (void)sg_trust_publisher_set_federated(publisher, index, result.body, result.body_len,
                                               "federation");
        if (changed && refresh->config.state_dir != NULL)
            (void)state_save(refresh->config.state_dir, source->trust_domain, result.body,
                             result.body_len);
        else if (refresh->config.state_dir != NULL)
            state_touch(refresh->config.state_dir, source->trust_domain);
        record_bundle(publisher, index, result.bundle, false);
        if (result.bundle->has_refresh_hint)
            *hint = result.bundle->refresh_hint;
    }

    pthread_mutex_lock(&publisher->lock);
    status->fetches++;
    status->last_attempt = attempt;
    snprintf(status->peer_id, sizeof(status->peer_id), "%s", result.peer_id);
    snprintf(status->last_error, sizeof(status->last_error), "%s", error);
    if (outcome == FETCH_ACCEPTED) {
        status->last_success = attempt;
        status->fresh_since = attempt;
    } else {
        status->failures++;
    }
    if (outcome == FETCH_ROLLBACK)
        status->rollbacks++;
    pthread_mutex_unlock(&publisher->lock);

    log_fetch(source, reason, &result, outcome, error);
    sg_fed_fetch_result_clear(&result);
    return outcome;
}

/* ---- Schedule ------------------------------------------------------- */

/* Seconds until the next fetch after an accepted one. */
static int64_t refresh_interval(const struct sg_federation_refresh_config *config, int64_t hint)
{
    int64_t interval = hint > 0 ? hint : SG_FEDERATION_REFRESH_DEFAULT;

    if (interval < config->refresh_min)
        interval = config->refresh_min;
    if (interval > config->refresh_max)
        interval = config->refresh_max;
    return interval;
}

/* Seconds without an accepted fetch before GET /readyz reports a trust domain as stale. */
static int64_t stale_after(const struct sg_federation_refresh_config *config, int64_t hint)
{
    int64_t threshold = SG_FEDERATION_STALE_FACTOR * refresh_interval(config, hint);

    if (config->stale_after > 0)
        return config->stale_after;
    return threshold > SG_FEDERATION_STALE_MIN ? threshold : SG_FEDERATION_STALE_MIN;
}

/* Milliseconds until the retry after `failures` consecutive failures, jittered. */
static int64_t backoff_ms(struct sg_federation_refresh *refresh, unsigned failures,
                          int64_t hint_seconds)
{
    int64_t cap = refresh_interval(&refresh->config, hint_seconds) * 1000;
    int64_t delay = refresh->config.refresh_min * 1000;

    for (unsigned i = 1; i < failures && delay < cap; i++)
        delay *= 2;
    if (delay > cap)
        delay = cap;
    /* Between half and all of the delay, so that many instances that
     * failed together do not retry together. */
    return delay / 2 + (int64_t)(rand_r(&refresh->random_state) % (unsigned)(delay / 2 + 1));
}

/* Whether a worker requested an early fetch of trust domain `index` that has not run yet. */
static bool early_pending(const struct sg_federation_refresh *refresh, size_t index)
{
    return refresh->wake != NULL &&
           atomic_load_explicit(&refresh->wake->pending[index], memory_order_acquire);
}

/*
 * CLOCK_MONOTONIC milliseconds of the next fetch of trust domain `index`:
 * the scheduled one, or a requested early one when that comes first. An
 * early fetch waits until early_refresh_min seconds after the last one.
 */
static int64_t next_fetch_ms(const struct sg_federation_refresh *refresh, size_t index)
{
    int64_t early;

    if (!early_pending(refresh, index))
        return refresh->due_ms[index];
    early = refresh->early_ms[index] == INT64_MIN
                ? INT64_MIN
                : refresh->early_ms[index] + refresh->config.early_refresh_min * 1000;
    return early < refresh->due_ms[index] ? early : refresh->due_ms[index];
}

/*
 * Returns the reason logged for a fetch: its schedule, or the verdict that
 * requested it early. A trust domain with no bundle yet rejects every
 * token as unknown_trust_domain; one with a bundle, as unknown_key.
 */
static const char *fetch_reason(struct sg_federation_refresh *refresh, size_t index, bool early)
{
    bool has_bundle;

    if (!early)
        return "schedule";
    pthread_mutex_lock(&refresh->publisher->lock);
    has_bundle = refresh->publisher->federation_status[index].has_bundle;
    pthread_mutex_unlock(&refresh->publisher->lock);
    return has_bundle ? "unknown_kid" : "unknown_trust_domain";
}

/*
 * Fetches every trust domain that is due, on its schedule or by an early
 * request, and sets its next scheduled time. Any fetch clears the trust
 * domain's pending request. The flag is cleared before the fetch starts,
 * so a request made while the fetch runs leads to one more early fetch.
 */
static void run_due(struct sg_federation_refresh *refresh)
{
    for (size_t i = 0; i < refresh->publisher->federation_count; i++) {
        if (atomic_load_explicit(&refresh->stopping, memory_order_relaxed))
            return;

        int64_t now = monotonic_ms();
        bool scheduled = refresh->due_ms[i] <= now;
        bool early = !scheduled && early_pending(refresh, i) && next_fetch_ms(refresh, i) <= now;
        int64_t hint = 0;
        int64_t next;

        if (!scheduled && !early)
            continue;
        if (refresh->wake != NULL)
            atomic_store_explicit(&refresh->wake->pending[i], false, memory_order_release);
        if (early)
            refresh->early_ms[i] = now;

        bool accepted = refresh_domain(refresh, i, fetch_reason(refresh, i, early), &hint) ==
                        FETCH_ACCEPTED;

        if (accepted) {
            refresh->failures[i] = 0;
            next = refresh_interval(&refresh->config, hint) * 1000;
        } else {
            refresh->failures[i]++;
            next = backoff_ms(refresh, refresh->failures[i], 0);
        }
        refresh->due_ms[i] = monotonic_ms() + next;

        pthread_mutex_lock(&refresh->publisher->lock);
        refresh->publisher->federation_status[i].next_attempt = (int64_t)time(NULL) + next / 1000;
        /* A failure keeps the threshold of the last accepted bundle's hint. */
        if (accepted)
            refresh->publisher->federation_status[i].stale_after =
                stale_after(&refresh->config, hint);
        pthread_mutex_unlock(&refresh->publisher->lock);
    }
}

/* Empties the wake eventfd, so that poll() blocks again until the next request. */
static void drain_wake(const struct sg_federation_refresh *refresh)
{
    uint64_t count;

    if (read(refresh->wake->fd, &count, sizeof(count)) < 0 && errno != EAGAIN && errno != EINTR)
        sg_log(SG_LOG_ERROR, "reading the federation wake eventfd failed", "error=\"%s\"",
               strerror(errno));
}

static void *refresh_thread(void *argument)
{
    struct sg_federation_refresh *refresh = argument;

    for (;;) {
        struct pollfd fds[2] = {
            { .fd = refresh->stop_fd, .events = POLLIN },
            { .fd = refresh->wake != NULL ? refresh->wake->fd : -1, .events = POLLIN },
        };
        int64_t wait_ms = INT64_MAX;
        int64_t now = monotonic_ms();

        for (size_t i = 0; i < refresh->publisher->federation_count; i++) {
            int64_t next = next_fetch_ms(refresh, i);
            int64_t until = next <= now ? 0 : next - now;

            if (until < wait_ms)
                wait_ms = until;
        }
        if (wait_ms > 60000)
            wait_ms = 60000;

        /* poll() ignores an entry whose fd is negative. */
        int ready = poll(fds, 2, (int)wait_ms);

        if (ready > 0 && (fds[0].revents & POLLIN))
            break;
        if (ready < 0 && errno != EINTR) {
            sg_log(SG_LOG_ERROR, "federation refresher stopped", "error=\"poll failed: %s\"",
                   strerror(errno));
            break;
        }
        if (ready > 0 && (fds[1].revents & POLLIN))
            drain_wake(refresh);
        run_due(refresh);
    }
    return NULL;
}

/* ---- Early fetch requests ------------------------------------------- */

bool sg_federation_wake_init(struct sg_federation_wake *wake,
                             const struct sg_trust_publisher *publisher, char *message,
                             size_t message_size)
{
    wake->federations = publisher->federations;
    wake->count = publisher->federation_count;
    wake->pending = calloc(wake->count > 0 ? wake->count : 1, sizeof(*wake->pending));
    if (wake->pending == NULL) {
        snprintf(message, message_size, "allocating the early fetch flags failed");
        return false;
    }
    for (size_t i = 0; i < wake->count; i++)
        atomic_init(&wake->pending[i], false);

    wake->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake->fd < 0) {
        snprintf(message, message_size, "eventfd failed: %s", strerror(errno));
        return false;
    }
    return true;
}

void sg_federation_wake_request(struct sg_federation_wake *wake, struct sg_slice trust_domain)
{
    for (size_t i = 0; i < wake->count; i++) {
        bool expected = false;
        uint64_t one = 1;

        if (!sg_slice_eq(trust_domain, sg_slice_cstr(wake->federations[i].trust_domain)))
            continue;
        /* Only the worker whose compare-and-swap sets the flag wakes the
         * refresher. The eventfd is non-blocking, so the write never
         * blocks. It fails (EAGAIN, eventfd(2)) only when the counter is
         * near 2^64, and then a wake-up is already waiting to be read. */
        if (atomic_compare_exchange_strong_explicit(&wake->pending[i], &expected, true,
                                                    memory_order_acq_rel, memory_order_relaxed))
            (void)!write(wake->fd, &one, sizeof(one));
        return;
    }
}

void sg_federation_wake_destroy(struct sg_federation_wake *wake)
{
    if (wake->fd >= 0)
        close(wake->fd);
    wake->fd = -1;
    free(wake->pending);
    wake->pending = NULL;
    wake->count = 0;
}

bool sg_federation_refresh_start(struct sg_federation_refresh *refresh,
                                 struct sg_trust_publisher *publisher,
                                 struct sg_federation_wake *wake,
                                 const struct sg_federation_refresh_config *config, char *message,
                                 size_t message_size)
{
    size_t count = publisher->federation_count;
    int error;

    memset(refresh, 0, sizeof(*refresh));
    refresh->stop_fd = -1;
    if (count == 0)
        return true;

    refresh->publisher = publisher;
    refresh->wake = wake;
    refresh->config = *config;
    atomic_init(&refresh->stopping, false);
    refresh->config.fetch.cancel = &refresh->stopping;
    refresh->due_ms = calloc(count, sizeof(*refresh->due_ms));
    refresh->failures = calloc(count, sizeof(*refresh->failures));
    refresh->early_ms = calloc(count, sizeof(*refresh->early_ms));
    if (refresh->due_ms == NULL || refresh->failures == NULL || refresh->early_ms == NULL) {
        snprintf(message, message_size, "allocating the federation schedule failed");
        return false;
    }
    for (size_t i = 0; i < count; i++)
        refresh->early_ms[i] = INT64_MIN;

    /* sg_federation_state_load() set fresh_since of a saved bundle to the
     * file's modification time. Anything else, a --bundle seed or no
     * bundle at all, counts from now until the first accepted fetch, so
     * that it becomes stale when no fetch succeeds. */
    pthread_mutex_lock(&publisher->lock);
    for (size_t i = 0; i < count; i++) {
        if (publisher->federation_status[i].fresh_since == 0)
            publisher->federation_status[i].fresh_since = (int64_t)time(NULL);
        publisher->federation_status[i].stale_after = stale_after(config, 0);
    }
    pthread_mutex_unlock(&publisher->lock);

    if (getrandom(&refresh->random_state, sizeof(refresh->random_state), 0) !=
        (ssize_t)sizeof(refresh->random_state))
        refresh->random_state = (unsigned)monotonic_ms();

    refresh->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (refresh->stop_fd < 0) {
        snprintf(message, message_size, "eventfd failed: %s", strerror(errno));
        return false;
    }
    error = pthread_create(&refresh->thread, NULL, refresh_thread, refresh);
    if (error != 0) {
        snprintf(message, message_size, "pthread_create failed: %s", strerror(error));
        return false;
    }
    pthread_setname_np(refresh->thread, "sg-federation");
    refresh->running = true;
    return true;
}

void sg_federation_refresh_stop(struct sg_federation_refresh *refresh)
{
    uint64_t one = 1;

    if (refresh->running) {
        atomic_store_explicit(&refresh->stopping, true, memory_order_relaxed);
        if (write(refresh->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
            sg_log(SG_LOG_ERROR, "waking the federation refresher failed", "error=\"%s\"",
                   strerror(errno));
        pthread_join(refresh->thread, NULL);
        refresh->running = false;
    }
    if (refresh->stop_fd >= 0)
        close(refresh->stop_fd);
    refresh->stop_fd = -1;
    free(refresh->due_ms);
    free(refresh->failures);
    free(refresh->early_ms);
    refresh->due_ms = NULL;
    refresh->failures = NULL;
    refresh->early_ms = NULL;
}
