/*
 * Watches the folders of the --bundle files with inotify and reloads the
 * bundles when anything in them changes: a file written in place, a new
 * file renamed over the old one, or a Kubernetes ConfigMap's symlink
 * swap. Runs on its own thread, never on the request path.
 */
#ifndef SVIDGATE_NET_BUNDLE_WATCH_H
#define SVIDGATE_NET_BUNDLE_WATCH_H

#include <pthread.h>
#include <stdbool.h>

#include "net/trust_publisher.h"

struct sg_bundle_watch {
    struct sg_trust_publisher *publisher;
    int inotify_fd;
    int stop_fd; /* eventfd: written by sg_bundle_watch_stop() */
    pthread_t thread;
    bool running;
};

/*
 * Adds a watch on the folder of every bundle file and starts the thread.
 * On failure writes the reason to `message` and returns false.
 */
bool sg_bundle_watch_start(struct sg_bundle_watch *watch, struct sg_trust_publisher *publisher,
                           char *message, size_t message_size);

/* Stops the thread and closes the descriptors; safe after a failed start. */
void sg_bundle_watch_stop(struct sg_bundle_watch *watch);

#endif
