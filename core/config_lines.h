/*
 * The line syntax of the `serve --config` file, without meaning: it
 * turns text into (line number, key, value) entries and accepts any key
 * of the allowed bytes.
 *
 *   - UTF-8 text, LF or CRLF line ends; NUL and other control bytes
 *     except tab are rejected.
 *   - A blank line, or one whose first non-blank byte is '#', is a
 *     comment. '#' later in a line is part of the value (URLs have them).
 *   - Any other line is `key = value`: the key is lowercase letters,
 *     digits and '-'; blanks around '=' and at the end are dropped; the
 *     value must not be empty.
 *
 * Pure logic: no I/O, no allocation.
 */
#ifndef SVIDGATE_CORE_CONFIG_LINES_H
#define SVIDGATE_CORE_CONFIG_LINES_H

#include <stddef.h>

#include "core/error.h"
#include "core/slice.h"

/* Bytes of one line (its line end excluded) and of a whole file. */
#define SG_CONFIG_LINE_MAX 4096
#define SG_CONFIG_FILE_MAX (1024 * 1024)

struct sg_config_reader {
    struct sg_slice text;
    size_t pos;
    size_t line; /* number of the line read last, from 1 */
};

struct sg_config_entry {
    size_t line;
    struct sg_slice key;   /* slices into the text */
    struct sg_slice value;
};

enum sg_config_step {
    SG_CONFIG_ENTRY, /* `entry` is set */
    SG_CONFIG_END,   /* no more lines */
    SG_CONFIG_ERROR, /* `status` names the problem; reader->line is its line */
};

/* Starts reading `text`, which stays owned by the caller. */
void sg_config_reader_init(struct sg_config_reader *reader, struct sg_slice text);

/*
 * Reads up to the next `key = value` line. A file over
 * SG_CONFIG_FILE_MAX fails at line 0 before any entry. Errors are
 * SG_ERR_MALFORMED; after one the reader must not be called again.
 */
enum sg_config_step sg_config_next_entry(struct sg_config_reader *reader,
                                         struct sg_config_entry *entry, struct sg_status *status);

#endif
