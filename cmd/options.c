#include "cmd/options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

bool sg_option_add_bundle(struct sg_bundle_list *list, const char *arg)
{
    struct sg_status status;
    struct sg_bundle_file file;
    struct sg_bundle_file *grown;

    if (sg_bundle_file_parse_arg(arg, &file, &status) != SG_OK) {
        fprintf(stderr, "svidgate: %s\n", status.message);
        return false;
    }
    grown = realloc(list->files, (list->count + 1) * sizeof(*grown));
    if (grown == NULL) {
        sg_bundle_file_clear(&file);
        fputs("svidgate: out of memory\n", stderr);
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
        fputs("svidgate: --audience must not be empty\n", stderr);
        return false;
    }
    if (list->count >= SG_AUDIENCES_MAX) {
        fprintf(stderr, "svidgate: at most %d --audience values are allowed\n",
                SG_AUDIENCES_MAX);
        return false;
    }
    grown = realloc(list->values, (list->count + 1) * sizeof(*grown));
    if (grown == NULL) {
        fputs("svidgate: out of memory\n", stderr);
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
        fprintf(stderr, "svidgate: %s \"%s\" must be an integer from %lld to %lld\n", flag, arg,
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
