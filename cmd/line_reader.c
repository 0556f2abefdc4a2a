#include "cmd/line_reader.h"

#include <stdlib.h>
#include <string.h>

bool sg_line_reader_init(struct sg_line_reader *reader, FILE *file, size_t max_line)
{
    memset(reader, 0, sizeof(*reader));
    reader->file = file;
    reader->max_line = max_line;
    reader->buffer = malloc(SG_LINE_READER_BUFFER);
    return reader->buffer != NULL && max_line < SG_LINE_READER_BUFFER;
}

void sg_line_reader_free(struct sg_line_reader *reader)
{
    free(reader->buffer);
    reader->buffer = NULL;
}

/* Moves unread bytes to the front and reads more; false at end of input. */
static bool refill(struct sg_line_reader *reader)
{
    size_t got;

    if (reader->eof)
        return false;
    memmove(reader->buffer, reader->buffer + reader->start, reader->end - reader->start);
    reader->end -= reader->start;
    reader->start = 0;

    got = fread(reader->buffer + reader->end, 1, SG_LINE_READER_BUFFER - reader->end,
                reader->file);
    reader->end += got;
    if (got == 0)
        reader->eof = true;
    return got > 0;
}

/* Discards input up to and including the next newline. */
static void skip_rest_of_line(struct sg_line_reader *reader)
{
    for (;;) {
        char *newline = memchr(reader->buffer + reader->start, '\n', reader->end - reader->start);

        if (newline != NULL) {
            reader->start = (size_t)(newline - reader->buffer) + 1;
            return;
        }
        reader->start = reader->end;
        if (!refill(reader))
            return;
    }
}

static struct sg_slice strip_cr(const char *start, size_t len)
{
    if (len > 0 && start[len - 1] == '\r')
        len--;
    return sg_slice_make(start, len);
}

enum sg_line_result sg_line_reader_next(struct sg_line_reader *reader, struct sg_slice *line)
{
    for (;;) {
        size_t available = reader->end - reader->start;
        char *start = reader->buffer + reader->start;
        char *newline = memchr(start, '\n', available);

        if (newline != NULL && (size_t)(newline - start) <= reader->max_line + 1) {
            *line = strip_cr(start, (size_t)(newline - start));
            reader->start += (size_t)(newline - start) + 1;
            return SG_LINE_OK;
        }
        if (available > reader->max_line + 1) {
            skip_rest_of_line(reader);
            return SG_LINE_TOO_LONG;
        }
        if (!refill(reader)) {
            if (ferror(reader->file))
                return SG_LINE_ERROR;
            if (reader->end == reader->start)
                return SG_LINE_EOF;
            *line = strip_cr(reader->buffer + reader->start, reader->end - reader->start);
            reader->start = reader->end;
            return SG_LINE_OK;
        }
    }
}
