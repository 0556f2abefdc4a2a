/*
 * The start-up check that the kernel offers every io_uring feature the
 * workers use, so that a missing one is named before serving starts
 * instead of failing the first connection.
 */
#ifndef SVIDGATE_NET_URING_PROBE_H
#define SVIDGATE_NET_URING_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Checks io_uring itself, the opcodes, provided-buffer rings, multishot
 * accept and multishot receive. On failure writes a message naming the
 * missing feature (and the Linux version that added it) to `message`.
 */
bool sg_uring_probe(char *message, size_t size);

#endif
