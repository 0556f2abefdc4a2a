/*
 * libFuzzer target: the fast verify-body reader, checked against jansson.
 * Whenever the fast path accepts a body, jansson (with duplicate members
 * rejected) must parse it to an object of the same members with the same
 * values, so the fast path never reads a body differently.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "net/verify_body_fast.h"

static bool same_string(const json_t *value, struct sg_slice expected)
{
    return json_is_string(value) && json_string_length(value) == expected.len &&
           memcmp(json_string_value(value), expected.ptr, expected.len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_slice token, audience;
    json_error_t error;
    json_t *root;
    size_t members;

    if (!sg_verify_body_read_fast(sg_slice_make(data, size), &token, &audience))
        return 0;

    root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL || !json_is_object(root))
        abort();
    members = audience.len > 0 ? 2 : 1;
    if (json_object_size(root) != members || !same_string(json_object_get(root, "token"), token))
        abort();
    if (audience.len > 0 && !same_string(json_object_get(root, "audience"), audience))
        abort();
    json_decref(root);
    return 0;
}
