/*
 * A growable byte buffer with a fixed upper bound: a connection's input
 * and output. Appending past `max` fails instead of growing, so no
 * sender can make the server hold more than the bound.
 */
#ifndef SVIDGATE_NET_BYTE_BUFFER_H
#define SVIDGATE_NET_BYTE_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/slice.h"

/*
 * Bytes that a group of buffers (one worker's connections) may hold
 * together. Each buffer's own `max` bounds one client; the budget bounds
 * many clients at once, since each can hold its buffers full for as long
 * as the idle timeout allows. Owned and used by one thread.
 */
struct sg_byte_budget {
    size_t used;
    size_t max;
};

struct sg_byte_buffer {
    uint8_t *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;                   /* len never exceeds this */
    struct sg_byte_budget *budget; /* charged for cap; NULL for none */
};

static inline void sg_byte_buffer_init(struct sg_byte_buffer *buffer, size_t max,
                                       struct sg_byte_budget *budget)
{
    buffer->data = NULL;
    buffer->len = 0;
    buffer->cap = 0;
    buffer->max = max;
    buffer->budget = budget;
}

static inline struct sg_slice sg_byte_buffer_slice(const struct sg_byte_buffer *buffer)
{
    return sg_slice_make(buffer->data, buffer->len);
}

/*
 * Appends `len` bytes; false, leaving the buffer unchanged, past `max`,
 * past the budget, or out of memory.
 */
SG_MUST_CHECK bool sg_byte_buffer_append(struct sg_byte_buffer *buffer, const void *bytes,
                                         size_t len);

/* Appends printf-style text; false, leaving the buffer unchanged, as above. */
SG_MUST_CHECK bool sg_byte_buffer_appendf(struct sg_byte_buffer *buffer, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drops the first `len` bytes and moves the rest to the front. */
void sg_byte_buffer_consume(struct sg_byte_buffer *buffer, size_t len);

/* Frees the storage; the buffer stays usable with the same `max`. */
void sg_byte_buffer_release(struct sg_byte_buffer *buffer);

#endif
