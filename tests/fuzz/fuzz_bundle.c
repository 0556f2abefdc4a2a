/* libFuzzer target: SPIFFE bundle JSON and PEM parsing. */
#include <stdlib.h>

#include "core/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_bundle *bundle = NULL;
    struct sg_status status;

    if (sg_bundle_parse(sg_slice_cstr("example.org"), sg_slice_make(data, size), &bundle,
                        &status) != SG_OK)
        return 0;

    /* Every kept key is usable and has a kid. */
    for (size_t i = 0; i < bundle->jwt_key_count; i++) {
        if (bundle->jwt_keys[i].pkey == NULL || bundle->jwt_keys[i].kid_len == 0)
            abort();
    }
    sg_bundle_free(bundle);
    return 0;
}
