/*
 * A bounded line reader for token files: lines longer than the limit are
 * reported as such without being held in memory whole.
 */
#ifndef SVIDGATE_CMD_LINE_READER_H
#define SVIDGATE_CMD_LINE_READER_H

#include <stdbool.h>
#include <stdio.h>

#include "core/slice.h"

#define SG_LINE_READER_BUFFER (256 * 1024)

struct sg_line_reader {
    FILE *file;
    size_t max_line;
    char *buffer; /* SG_LINE_READER_BUFFER bytes */
    size_t start; /* first unread byte */
    size_t end;   /* one past the last buffered byte */
    bool eof;
};

enum sg_line_result {
    SG_LINE_OK,
    SG_LINE_TOO_LONG, /* the line was skipped; its length exceeded max_line */
    SG_LINE_EOF,
    SG_LINE_ERROR,
};

/* max_line must be smaller than SG_LINE_READER_BUFFER. */
bool sg_line_reader_init(struct sg_line_reader *reader, FILE *file, size_t max_line);
void sg_line_reader_free(struct sg_line_reader *reader);

/*
 * Reads the next line without its "\n" (and without a "\r" before it).
 * The slice stays valid until the next call.
 */
enum sg_line_result sg_line_reader_next(struct sg_line_reader *reader, struct sg_slice *line);

#endif
