#include "cmd/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

static const struct option *find_exact(const struct option *options, const char *name,
                                       size_t name_len)
{
    for (const struct option *entry = options; entry->name != NULL; entry++) {
        if (strlen(entry->name) == name_len && strncmp(entry->name, name, name_len) == 0)
            return entry;
    }
    return NULL;
}

static _Thread_local FILE *errors_stream;

FILE *sg_cmd_errors(void)
{
    return errors_stream != NULL ? errors_stream : stderr;
}

void sg_cmd_errors_redirect(FILE *stream)
{
    errors_stream = stream;
}

bool sg_options_check_names(int argc, char **argv, const struct option *options,
                            const char *command)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *name = arg + 2;
        size_t name_len = strcspn(name, "=");
        const struct option *entry;

        if (strcmp(arg, "--") == 0)
            break;
        if (strncmp(arg, "--", 2) != 0)
            continue;

        entry = find_exact(options, name, name_len);
        if (entry == NULL) {
            fprintf(sg_cmd_errors(), "svidgate: %s: unknown option --%.*s\n", command, (int)name_len,
                    name);
            return false;
        }
        /* A separate value ("--audience VALUE") is not an option name. */
        if (entry->has_arg == required_argument && name[name_len] != '=')
            i++;
    }
    return true;
}

bool sg_option_add_bundle(struct sg_bundle_list *list, const char *arg)
{
    struct sg_status status;
    struct sg_bundle_file file;
    struct sg_bundle_file *grown;

    if (sg_bundle_file_parse_arg(arg, &file, &status) != SG_OK) {
        fprintf(sg_cmd_errors(), "svidgate: %s\n", status.message);
        return false;
    }
    grown = realloc(list->files, (list->count + 1) * sizeof(*grown));
    if (grown == NULL) {
        sg_bundle_file_clear(&file);
        fputs("svidgate: out of memory\n", sg_cmd_errors());
        return false;
    }
    list->files = grown;
    list->files[list->count++] = file;
    return true;
}

bool sg_option_add_audience(struct sg_audience_list *list, const char *arg)
{
    struct sg_slice *grown;

    /* An empty audience would match a token whose aud is "". */
    if (arg[0] == '\0') {
        fputs("svidgate: --audience must not be empty\n", sg_cmd_errors());
        return false;
    }
    if (list->count >= SG_AUDIENCES_MAX) {
        fprintf(sg_cmd_errors(), "svidgate: at most %d --audience values are allowed\n",
                SG_AUDIENCES_MAX);
        return false;
    }
    grown = realloc(list->values, (list->count + 1) * sizeof(*grown));
    if (grown == NULL) {
        fputs("svidgate: out of memory\n", sg_cmd_errors());
        return false;
    }
    list->values = grown;
    list->values[list->count++] = sg_slice_cstr(arg);
    return true;
}

bool sg_option_parse_int(const char *flag, const char *arg, int64_t min, int64_t max,
                         int64_t *out)
{
    char *end = NULL;
    long long value;

    errno = 0;
    value = strtoll(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || value < min || value > max) {
        fprintf(sg_cmd_errors(), "svidgate: %s \"%s\" must be an integer from %lld to %lld\n", flag, arg,
                (long long)min, (long long)max);
        return false;
    }
    *out = value;
    return true;
}

void sg_bundle_list_free(struct sg_bundle_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        sg_bundle_file_clear(&list->files[i]);
    free(list->files);
    list->files = NULL;
    list->count = 0;
}

void sg_audience_list_free(struct sg_audience_list *list)
{
    free(list->values);
    list->values = NULL;
    list->count = 0;
}
