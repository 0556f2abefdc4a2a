/*
 * The settings that SIGHUP can change while the server runs: the
 * authorization policy, its mode, the default audiences and the leeway.
 *
 * One immutable struct sg_live_config is published through an RCU
 * pointer (liburcu QSBR, as net/trust_publisher.c does for trust sets).
 * Workers read it with sg_live_config_current() while online. They go
 * offline only while they wait in io_uring_enter, so a configuration
 * read during a loop turn stays valid for the whole turn. The publishing
 * thread swaps the pointer, waits for a grace period and frees the old
 * configuration, so no worker takes a lock and no connection is touched.
 */
#ifndef SVIDGATE_NET_LIVE_CONFIG_H
#define SVIDGATE_NET_LIVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/policy.h"
#include "core/slice.h"

struct sg_live_config {
    struct sg_policy policy; /* no rules: no policy */
    bool dry_run;            /* log and count denials, but admit */
    struct sg_slice *audiences; /* default audiences; slices into audience_text */
    size_t audience_count;
    char *audience_text;
    int64_t leeway;          /* seconds */
};

/* The published pointer. Only the main thread publishes, on SIGHUP. */
struct sg_live_config_slot {
    struct sg_live_config *current;
};

/*
 * Allocates a configuration that owns copies of `audiences` and takes
 * over `policy` (left empty). NULL when out of memory; `policy` is then
 * unchanged.
 */
struct sg_live_config *sg_live_config_new(struct sg_policy *policy, bool dry_run,
                                          const struct sg_slice *audiences,
                                          size_t audience_count, int64_t leeway);

void sg_live_config_free(struct sg_live_config *config);

/* Sets the first configuration, before any worker starts. */
void sg_live_config_slot_init(struct sg_live_config_slot *slot, struct sg_live_config *config);

/*
 * Publishes `config` to every worker, waits for the grace period and
 * frees the previous one. Must not be called from a registered RCU
 * reader thread.
 */
void sg_live_config_publish(struct sg_live_config_slot *slot, struct sg_live_config *config);

/* The configuration in force; call from a registered, online RCU reader. */
const struct sg_live_config *sg_live_config_current(struct sg_live_config_slot *slot);

/* Frees the current configuration; no worker may be running. */
void sg_live_config_slot_destroy(struct sg_live_config_slot *slot);

#endif
