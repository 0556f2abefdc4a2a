/*
 * GET /metrics: every worker's metrics, merged, and the trust state, in
 * the Prometheus text exposition format 0.0.4.
 */
#ifndef SVIDGATE_NET_METRICS_TEXT_H
#define SVIDGATE_NET_METRICS_TEXT_H

#include <stdint.h>

struct sg_route_context;

/*
 * Renders the exposition with the trust state of worker `context`'s
 * snapshot; `now` is Unix seconds. Takes the publisher's lock briefly.
 * Returns a new string (free() it), or NULL when out of memory.
 */
char *sg_metrics_render(const struct sg_route_context *context, int64_t now);

#endif
