/* libFuzzer target: the line syntax of the configuration file. */
#include <stdlib.h>

#include "core/config_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_config_reader reader;
    struct sg_config_entry entry;
    struct sg_status status;
    enum sg_config_step step;
    size_t last_line = 0;

    sg_config_reader_init(&reader, sg_slice_make(data, size));
    while ((step = sg_config_next_entry(&reader, &entry, &status)) == SG_CONFIG_ENTRY) {
        /* Entries come in line order, with a key and a value inside the input. */
        if (entry.line <= last_line || entry.key.len == 0 || entry.value.len == 0 ||
            entry.key.ptr < data || entry.value.ptr + entry.value.len > data + size)
            abort();
        last_line = entry.line;
    }
    return 0;
}
