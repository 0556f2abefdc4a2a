/*
 * The `serve --config FILE` file: reading it into `key = value` items.
 * core/config_lines.h defines the line syntax; cmd/serve.c gives the
 * keys their meaning (the long option names of `serve`).
 */
#ifndef SVIDGATE_CMD_CONFIG_H
#define SVIDGATE_CMD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* One entry, with NUL-terminated copies of its key and value. */
struct sg_config_item {
    size_t line;
    char *key;
    char *value;
};

struct sg_config_file {
    const char *path; /* not owned */
    struct sg_config_item *items;
    size_t count;
};

/*
 * Reads and tokenizes the file at `path`. On failure prints
 * "svidgate: PATH:LINE: message" (LINE 0 for the whole file) and
 * returns false; `file` is then empty.
 */
bool sg_config_file_load(const char *path, struct sg_config_file *file);

void sg_config_file_free(struct sg_config_file *file);

#endif
