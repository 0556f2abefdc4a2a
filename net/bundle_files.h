/*
 * Trust bundles from local files: the `--bundle TD=PATH` source.
 */
#ifndef SVIDGATE_NET_BUNDLE_FILES_H
#define SVIDGATE_NET_BUNDLE_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "core/bundle.h"
#include "core/error.h"

/* One `--bundle TD=PATH` argument, validated. Strings are owned. */
struct sg_bundle_file {
    char *trust_domain;
    char *path;
};

/*
 * Parses a `TD=PATH` argument. TD is a trust domain name ("example.org")
 * or its ID form ("spiffe://example.org"). Returns SG_ERR_MALFORMED with
 * a message naming the argument when it is not of that form.
 */
SG_MUST_CHECK enum sg_error sg_bundle_file_parse_arg(const char *arg, struct sg_bundle_file *out,
                                                     struct sg_status *status);

void sg_bundle_file_clear(struct sg_bundle_file *file);

/*
 * Reads a whole regular file of at most SG_BUNDLE_MAX bytes into a heap
 * buffer (free() it). A FIFO, device or directory is rejected without
 * blocking.
 */
SG_MUST_CHECK enum sg_error sg_bundle_file_read(const char *path, char **data, size_t *len,
                                                struct sg_status *status);

/*
 * Reads and parses every file into a new trust set with `generation`.
 * Fails on the first file that cannot be read or parsed, or on a trust
 * domain given twice; the message names the file and the reason.
 */
SG_MUST_CHECK enum sg_error sg_bundle_files_load(const struct sg_bundle_file *files, size_t count,
                                                 uint64_t generation, struct sg_trust_set **out,
                                                 struct sg_status *status);

#endif
