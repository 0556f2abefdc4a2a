/* libFuzzer target: the SPIFFE ID parser, with its invariants checked. */
#include <stdlib.h>

#include "core/limits.h"
#include "core/spiffe_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_spiffe_id id;
    struct sg_status status;

    if (sg_spiffe_id_parse(sg_slice_make(data, size), &id, &status) != SG_OK)
        return 0;

    /* An accepted ID is the whole input, and its parts lie inside it. */
    if (id.id.len != size || id.trust_domain.len == 0 ||
        id.trust_domain.len > SG_TRUST_DOMAIN_MAX || id.path.ptr + id.path.len != data + size)
        abort();
    if (sg_trust_domain_validate(id.trust_domain, &status) != SG_OK)
        abort();
    return 0;
}
