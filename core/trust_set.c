/*
 * The set of bundles verification reads, kept sorted by trust domain
 * name so a lookup is a binary search.
 */
#include <stdlib.h>
#include <string.h>

#include "core/bundle.h"

struct sg_trust_set *sg_trust_set_new(uint64_t generation)
{
    struct sg_trust_set *set = calloc(1, sizeof(*set));

    if (set != NULL) {
        set->generation = generation;
        set->verdict_generation = generation;
    }
    return set;
}

/* Orders trust domain names by length, then bytes: any total order will do. */
static int compare_names(struct sg_slice a, struct sg_slice b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    return a.len ? memcmp(a.ptr, b.ptr, a.len) : 0;
}

/* Returns the index where `name` is or would be inserted. */
static size_t lower_bound(const struct sg_trust_set *set, struct sg_slice name)
{
    size_t low = 0, high = set->count;

    while (low < high) {
        size_t mid = low + (high - low) / 2;

        if (compare_names(sg_bundle_trust_domain(set->bundles[mid]), name) < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

enum sg_error sg_trust_set_add(struct sg_trust_set *set, struct sg_bundle *bundle,
                               struct sg_status *status)
{
    struct sg_slice name = sg_bundle_trust_domain(bundle);
    size_t at = lower_bound(set, name);
    struct sg_bundle **grown;

    if (at < set->count && compare_names(sg_bundle_trust_domain(set->bundles[at]), name) == 0)
        return sg_fail(status, SG_ERR_MALFORMED, "trust domain \"%.*s\" has two bundles",
                       (int)name.len, (const char *)name.ptr);
    if (set->count >= SG_TRUST_DOMAINS_MAX)
        return sg_fail(status, SG_ERR_MALFORMED, "more than %d trust domains are configured",
                       SG_TRUST_DOMAINS_MAX);

    grown = realloc(set->bundles, (set->count + 1) * sizeof(*grown));
    if (grown == NULL)
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory adding a bundle");
    set->bundles = grown;

    memmove(&set->bundles[at + 1], &set->bundles[at], (set->count - at) * sizeof(*grown));
    set->bundles[at] = bundle;
    set->count++;
    return SG_OK;
}

const struct sg_bundle *sg_trust_set_find(const struct sg_trust_set *set,
                                          struct sg_slice trust_domain)
{
    size_t at = lower_bound(set, trust_domain);

    if (at < set->count &&
        compare_names(sg_bundle_trust_domain(set->bundles[at]), trust_domain) == 0)
        return set->bundles[at];
    return NULL;
}

void sg_trust_set_free(struct sg_trust_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->count; i++)
        sg_bundle_free(set->bundles[i]);
    free(set->bundles);
    free(set);
}
