/*
 * The bundle file watcher thread.
 *
 * Every event in a watched folder leads to a reload after a short quiet
 * period, so a burst of events (an editor's write, rename and chmod)
 * costs one reload. The reload itself compares bytes and publishes only
 * when a bundle file changed, so unrelated files in the same folder cost
 * a read and nothing more.
 */
#include "net/bundle_watch.h"

#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "net/log.h"

/* Events arriving within this time of each other are handled by one
 * reload, but a reload never waits longer than QUIET_LIMIT_MS after the
 * first event: a folder that never goes quiet (a log written next to the
 * bundle) must not postpone the removal of a key. */
#define QUIET_PERIOD_MS 100
#define QUIET_LIMIT_MS 500

#define WATCH_EVENTS \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MOVED_FROM)

static bool watch_folder_of(int fd, const char *path, char *message, size_t message_size)
{
    char *copy = strdup(path);
    const char *folder;
    bool ok;

    if (copy == NULL) {
        snprintf(message, message_size, "out of memory");
        return false;
    }
    folder = dirname(copy);
    ok = inotify_add_watch(fd, folder, WATCH_EVENTS) >= 0;
    if (!ok)
        snprintf(message, message_size, "inotify_add_watch on %s failed: %s", folder,
                 strerror(errno));
    free(copy);
    return ok;
}

/*
 * Watches the folder of the path as given and, when the path is a
 * symbolic link, the folder of the file it resolves to, since a change
 * there raises no event in the first folder. Watching a folder twice is
 * harmless: inotify returns the same watch.
 */
static bool add_folder_watch(int fd, const char *path, char *message, size_t message_size)
{
    char *target = realpath(path, NULL);
    bool ok = watch_folder_of(fd, path, message, message_size);

    if (ok && target != NULL)
        ok = watch_folder_of(fd, target, message, message_size);
    free(target);
    return ok;
}

/*
 * Adds the watches of every bundle file again before a reload. A symbolic
 * link can point into a new folder since the last time (the kubelet swaps
 * a ConfigMap volume's ..data link to a new timestamped folder and deletes
 * the old one, whose watch the kernel then drops), and without a watch on
 * the new folder the next change would raise no event. A folder that is
 * missing for the moment is logged, and the reload still runs.
 */
static void rewatch(struct sg_bundle_watch *watch)
{
    for (size_t i = 0; i < watch->publisher->file_count; i++) {
        char message[SG_MESSAGE_MAX], escaped[2 * SG_MESSAGE_MAX];

        if (!add_folder_watch(watch->inotify_fd, watch->publisher->files[i].path, message,
                              sizeof(message)))
            sg_log(SG_LOG_WARN, "watching a bundle folder failed", "error=\"%s\"",
                   sg_log_escape(message, escaped, sizeof(escaped)));
    }
}

/* Reads and discards the pending inotify events; false when the fd failed. */
static bool drain_events(int fd)
{
    char buffer[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    for (;;) {
        ssize_t got = read(fd, buffer, sizeof(buffer));

        if (got > 0)
            continue;
        return got < 0 && (errno == EAGAIN || errno == EINTR);
    }
}

/*
 * Waits for events to stop arriving for QUIET_PERIOD_MS, or for
 * QUIET_LIMIT_MS in all; false when asked to stop.
 */
static bool wait_for_quiet(struct sg_bundle_watch *watch)
{
    struct pollfd fds[2] = {
        { .fd = watch->inotify_fd, .events = POLLIN },
        { .fd = watch->stop_fd, .events = POLLIN },
    };

    for (int waited = 0; waited < QUIET_LIMIT_MS; waited += QUIET_PERIOD_MS) {
        int ready = poll(fds, 2, QUIET_PERIOD_MS);

        if (ready == 0)
            return true;
        if (ready < 0 && errno != EINTR)
            return true;
        if (fds[1].revents & POLLIN)
            return false;
        if (fds[0].revents & POLLIN)
            (void)drain_events(watch->inotify_fd);
    }
    return true;
}

static void *watch_thread(void *argument)
{
    struct sg_bundle_watch *watch = argument;
    struct pollfd fds[2] = {
        { .fd = watch->inotify_fd, .events = POLLIN },
        { .fd = watch->stop_fd, .events = POLLIN },
    };

    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            sg_log(SG_LOG_ERROR, "bundle watch stopped", "error=\"poll failed: %s\"",
                   strerror(errno));
            return NULL;
        }
        if (fds[1].revents & POLLIN)
            return NULL;
        if (!drain_events(watch->inotify_fd)) {
            sg_log(SG_LOG_ERROR, "bundle watch stopped", "error=\"inotify read failed: %s\"",
                   strerror(errno));
            return NULL;
        }
        if (!wait_for_quiet(watch))
            return NULL;
        rewatch(watch);
        (void)sg_trust_publisher_reload(watch->publisher, "file_changed");
    }
}

bool sg_bundle_watch_start(struct sg_bundle_watch *watch, struct sg_trust_publisher *publisher,
                           char *message, size_t message_size)
{
    int ret;

    memset(watch, 0, sizeof(*watch));
    watch->inotify_fd = watch->stop_fd = -1;
    watch->publisher = publisher;
    watch->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    watch->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (watch->inotify_fd < 0 || watch->stop_fd < 0) {
        snprintf(message, message_size, "inotify or eventfd failed: %s", strerror(errno));
        return false;
    }

    for (size_t i = 0; i < publisher->file_count; i++) {
        if (!add_folder_watch(watch->inotify_fd, publisher->files[i].path, message, message_size))
            return false;
    }

    ret = pthread_create(&watch->thread, NULL, watch_thread, watch);
    if (ret != 0) {
        snprintf(message, message_size, "pthread_create failed: %s", strerror(ret));
        return false;
    }
    pthread_setname_np(watch->thread, "sg-bundle-watch");
    watch->running = true;
    return true;
}

void sg_bundle_watch_stop(struct sg_bundle_watch *watch)
{
    uint64_t one = 1;

    if (watch->running) {
        if (write(watch->stop_fd, &one, sizeof(one)) != sizeof(one))
            sg_log(SG_LOG_ERROR, "bundle watch stop failed", "error=\"%s\"", strerror(errno));
        pthread_join(watch->thread, NULL);
        watch->running = false;
    }
    if (watch->inotify_fd >= 0)
        close(watch->inotify_fd);
    if (watch->stop_fd >= 0)
        close(watch->stop_fd);
    watch->inotify_fd = watch->stop_fd = -1;
}
