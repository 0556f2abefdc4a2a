#include "net/byte_buffer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First allocation: one typical request or response fits. */
#define BYTE_BUFFER_MIN_CAP 4096

/* Makes room for `extra` more bytes, doubling the capacity up to `max`. */
static bool reserve(struct sg_byte_buffer *buffer, size_t extra)
{
    if (extra > buffer->max - buffer->len)
        return false;

    size_t needed = buffer->len + extra;
    if (needed <= buffer->cap)
        return true;

    size_t cap = buffer->cap ? buffer->cap : BYTE_BUFFER_MIN_CAP;
    while (cap < needed)
        cap *= 2;
    if (cap > buffer->max)
        cap = buffer->max;

    size_t growth = cap - buffer->cap;
    if (buffer->budget != NULL && growth > buffer->budget->max - buffer->budget->used)
        return false;

    uint8_t *grown = realloc(buffer->data, cap);
    if (grown == NULL)
        return false;
    if (buffer->budget != NULL)
        buffer->budget->used += growth;
    buffer->data = grown;
    buffer->cap = cap;
    return true;
}

bool sg_byte_buffer_append(struct sg_byte_buffer *buffer, const void *bytes, size_t len)
{
    if (len == 0)
        return true;
    if (!reserve(buffer, len))
        return false;
    memcpy(buffer->data + buffer->len, bytes, len);
    buffer->len += len;
    return true;
}

bool sg_byte_buffer_appendf(struct sg_byte_buffer *buffer, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    int needed = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (needed < 0)
        return false;

    /* One more byte for the NUL that vsnprintf writes; len does not count it. */
    if (!reserve(buffer, (size_t)needed + 1))
        return false;

    va_start(args, fmt);
    vsnprintf((char *)buffer->data + buffer->len, (size_t)needed + 1, fmt, args);
    va_end(args);
    buffer->len += (size_t)needed;
    return true;
}

void sg_byte_buffer_consume(struct sg_byte_buffer *buffer, size_t len)
{
    if (len >= buffer->len) {
        buffer->len = 0;
        return;
    }
    memmove(buffer->data, buffer->data + len, buffer->len - len);
    buffer->len -= len;
}

void sg_byte_buffer_release(struct sg_byte_buffer *buffer)
{
    if (buffer->budget != NULL)
        buffer->budget->used -= buffer->cap;
    free(buffer->data);
    sg_byte_buffer_init(buffer, buffer->max, buffer->budget);
}
