/*
 * Bounded byte slices and a read cursor.
 *
 * Every parser in svidgate reads untrusted bytes through these two types:
 * a pointer never travels without its length, sub-slices are checked
 * against the parent's bounds, and a failed read leaves the cursor where
 * it was. No function here relies on a NUL terminator.
 */
#ifndef SVIDGATE_CORE_SLICE_H
#define SVIDGATE_CORE_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sg_slice {
    const uint8_t *ptr;
    size_t len;
};

/* A read position inside a slice: ptr[pos..len) is still unread. */
struct sg_cursor {
    struct sg_slice buf;
    size_t pos;
};

static inline struct sg_slice sg_slice_make(const void *ptr, size_t len)
{
    struct sg_slice s = { (const uint8_t *)ptr, len };
    return s;
}

/* A slice over a C string literal or a trusted NUL-terminated string. */
static inline struct sg_slice sg_slice_cstr(const char *str)
{
    return sg_slice_make(str, strlen(str));
}

static inline bool sg_slice_eq(struct sg_slice a, struct sg_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool sg_slice_eq_cstr(struct sg_slice a, const char *str)
{
    return sg_slice_eq(a, sg_slice_cstr(str));
}

static inline bool sg_slice_starts_with(struct sg_slice s, struct sg_slice prefix)
{
    return s.len >= prefix.len && memcmp(s.ptr, prefix.ptr, prefix.len) == 0;
}

/*
 * Sets *out to s[offset .. offset + len). Returns false, leaving *out
 * untouched, when that range does not lie inside s.
 */
static inline bool sg_slice_sub(struct sg_slice s, size_t offset, size_t len,
                                struct sg_slice *out)
{
    if (offset > s.len || len > s.len - offset)
        return false;
    out->ptr = s.ptr + offset;
    out->len = len;
    return true;
}

/* Returns the index of the first `byte` in s, or s.len when there is none. */
static inline size_t sg_slice_find(struct sg_slice s, uint8_t byte)
{
    const void *hit = s.len ? memchr(s.ptr, byte, s.len) : NULL;
    return hit ? (size_t)((const uint8_t *)hit - s.ptr) : s.len;
}

static inline size_t sg_slice_count(struct sg_slice s, uint8_t byte)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += s.ptr[i] == byte;
    return n;
}

static inline struct sg_cursor sg_cursor_make(struct sg_slice buf)
{
    struct sg_cursor c = { buf, 0 };
    return c;
}

static inline size_t sg_cursor_remaining(const struct sg_cursor *c)
{
    return c->buf.len - c->pos;
}

static inline struct sg_slice sg_cursor_rest(const struct sg_cursor *c)
{
    return sg_slice_make(c->buf.ptr + c->pos, c->buf.len - c->pos);
}

/*
 * Reads the bytes up to (not including) the next `delim`, and consumes the
 * delimiter too. Returns false and leaves the cursor unmoved when no
 * delimiter remains.
 */
static inline bool sg_cursor_read_until(struct sg_cursor *c, uint8_t delim,
                                        struct sg_slice *out)
{
    struct sg_slice rest = sg_cursor_rest(c);
    size_t at = sg_slice_find(rest, delim);

    if (at == rest.len)
        return false;
    *out = sg_slice_make(rest.ptr, at);
    c->pos += at + 1;
    return true;
}

/* Reads exactly n bytes; false and no movement when fewer remain. */
static inline bool sg_cursor_read(struct sg_cursor *c, size_t n, struct sg_slice *out)
{
    if (n > sg_cursor_remaining(c))
        return false;
    *out = sg_slice_make(c->buf.ptr + c->pos, n);
    c->pos += n;
    return true;
}

#endif
