/*
 * libFuzzer target: the HTTP response reader of the load generator
 * (bench/load/http_response_reader.c), with its invariants checked.
 *
 * A complete response must lie inside the input with its body within
 * the limit, and every shorter prefix of it must read as incomplete:
 * the outcome may not depend on how the bytes were split between
 * receives.
 */
#include <stdlib.h>

#include "bench/load/http_response_reader.h"

#define FUZZ_MAX_BODY 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_response response;
    enum response_error error;
    enum response_state state = http_response_read(data, size, FUZZ_MAX_BODY, &response, &error);

    if (state == RESPONSE_INVALID) {
        if (error == RESPONSE_ERROR_NONE || response_error_name(error)[0] == '\0')
            abort();
        return 0;
    }
    if (state == RESPONSE_INCOMPLETE)
        return 0;

    if (response.total_length > size || response.body_length > FUZZ_MAX_BODY)
        abort();
    if (response.head_length + response.body_length != response.total_length)
        abort();
    if (response.body != data + response.head_length)
        abort();
    if (response.status_code < 200 || response.status_code > 999)
        abort();

    /* Every prefix, checked at a split point taken from the input. */
    size_t split = response.total_length > 0 ? data[0] % response.total_length : 0;
    struct http_response partial;
    if (http_response_read(data, split, FUZZ_MAX_BODY, &partial, &error) != RESPONSE_INCOMPLETE)
        abort();
    return 0;
}
