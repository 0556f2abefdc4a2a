#include "cmd/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/options.h"
#include "core/config_lines.h"

/* Reads at most SG_CONFIG_FILE_MAX + 1 bytes, so an oversized file is detected, not read whole. */
static char *read_text(const char *path, size_t *len)
{
    FILE *stream = fopen(path, "rb");
    char *text;

    if (stream == NULL) {
        fprintf(sg_cmd_errors(), "svidgate: %s: cannot open the configuration file: %s\n", path,
                strerror(errno));
        return NULL;
    }
    text = malloc(SG_CONFIG_FILE_MAX + 2);
    if (text == NULL) {
        fclose(stream);
        fputs("svidgate: out of memory\n", sg_cmd_errors());
        return NULL;
    }
    *len = fread(text, 1, SG_CONFIG_FILE_MAX + 1, stream);
    if (ferror(stream)) {
        fprintf(sg_cmd_errors(), "svidgate: %s: reading the configuration file failed\n", path);
        free(text);
        text = NULL;
    }
    fclose(stream);
    return text;
}

static char *copy_slice(struct sg_slice slice)
{
    char *copy = malloc(slice.len + 1);

    if (copy != NULL) {
        memcpy(copy, slice.ptr, slice.len);
        copy[slice.len] = '\0';
    }
    return copy;
}

static bool add_item(struct sg_config_file *file, const struct sg_config_entry *entry)
{
    struct sg_config_item *grown = realloc(file->items, (file->count + 1) * sizeof(*grown));
    struct sg_config_item item = {
        .line = entry->line,
        .key = copy_slice(entry->key),
        .value = copy_slice(entry->value),
    };

    if (grown != NULL)
        file->items = grown;
    if (grown == NULL || item.key == NULL || item.value == NULL) {
        free(item.key);
        free(item.value);
        fputs("svidgate: out of memory\n", sg_cmd_errors());
        return false;
    }
    file->items[file->count++] = item;
    return true;
}

bool sg_config_file_load(const char *path, struct sg_config_file *file)
{
    struct sg_config_reader reader;
    struct sg_config_entry entry;
    struct sg_status status;
    enum sg_config_step step;
    size_t len = 0;
    char *text = read_text(path, &len);
    bool ok = text != NULL;

    memset(file, 0, sizeof(*file));
    file->path = path;
    if (text != NULL)
        sg_config_reader_init(&reader, sg_slice_make(text, len));
    while (ok && (step = sg_config_next_entry(&reader, &entry, &status)) != SG_CONFIG_END) {
        if (step == SG_CONFIG_ERROR) {
            fprintf(sg_cmd_errors(), "svidgate: %s:%zu: %s\n", path, reader.line, status.message);
            ok = false;
        } else {
            ok = add_item(file, &entry);
        }
    }
    free(text);
    if (!ok)
        sg_config_file_free(file);
    return ok;
}

void sg_config_file_free(struct sg_config_file *file)
{
    for (size_t i = 0; i < file->count; i++) {
        free(file->items[i].key);
        free(file->items[i].value);
    }
    free(file->items);
    file->items = NULL;
    file->count = 0;
}
