/* libFuzzer target: the XFCC parser and the URL decoder behind it. */
#include <stdlib.h>

#include "net/xfcc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_slice encoded;
    struct sg_status status;
    uint8_t *decoded;
    size_t decoded_len = 0;

    if (sg_xfcc_find_certificate(sg_slice_make(data, size), &encoded, &status) != SG_OK)
        return 0;
    if (encoded.len == 0 || encoded.ptr < data || encoded.ptr + encoded.len > data + size)
        abort();

    decoded = malloc(encoded.len);
    if (decoded == NULL)
        return 0;
    if (sg_url_decode(encoded, decoded, &decoded_len, &status) == SG_OK && decoded_len > encoded.len)
        abort();
    free(decoded);
    return 0;
}
