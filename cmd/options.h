/* Option parsing shared by the subcommands. */
#ifndef SVIDGATE_CMD_OPTIONS_H
#define SVIDGATE_CMD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/slice.h"
#include "net/bundle_files.h"

/* Growable lists of `--bundle` and `--audience` values. */
struct sg_bundle_list {
    struct sg_bundle_file *files;
    size_t count;
};

struct sg_audience_list {
    struct sg_slice *values; /* point into argv */
    size_t count;
};

struct option;

/*
 * Returns the stream that option and configuration errors go to: standard
 * error, unless sg_cmd_errors_redirect() set another one for the calling
 * thread (a SIGHUP reload collects them for its log line).
 */
FILE *sg_cmd_errors(void);

/* Sends this thread's option errors to `stream`; NULL restores standard error. */
void sg_cmd_errors_redirect(FILE *stream);

/*
 * Checks that every "--name" in argv names an entry of `options` exactly.
 * getopt_long() alone accepts unambiguous abbreviations such as --aud,
 * which a later option could make ambiguous and break scripts. Prints
 * "svidgate: COMMAND: unknown option --x" and returns false otherwise.
 */
bool sg_options_check_names(int argc, char **argv, const struct option *options,
                            const char *command);

/* Each returns false after printing a message that names the bad value. */
bool sg_option_add_bundle(struct sg_bundle_list *list, const char *arg);
bool sg_option_add_audience(struct sg_audience_list *list, const char *arg);
bool sg_option_parse_int(const char *flag, const char *arg, int64_t min, int64_t max,
                         int64_t *out);

void sg_bundle_list_free(struct sg_bundle_list *list);
void sg_audience_list_free(struct sg_audience_list *list);

#endif
