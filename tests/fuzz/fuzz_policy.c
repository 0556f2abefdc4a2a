/*
 * libFuzzer target: the policy rule parser, then one decision. The
 * first line of the input is a rule, the second a SPIFFE ID and the rest
 * an original path.
 */
#include <stdlib.h>

#include "core/limits.h"
#include "core/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_cursor cursor = sg_cursor_make(sg_slice_make(data, size));
    struct sg_slice rule;
    struct sg_slice id_text;
    struct sg_slice audience = sg_slice_cstr("gw");
    struct sg_policy policy;
    struct sg_spiffe_id id;
    struct sg_status status;

    if (!sg_cursor_read_until(&cursor, '\n', &rule))
        rule = sg_cursor_rest(&cursor);

    sg_policy_init(&policy);
    if (sg_policy_add_rule(&policy, rule, &status) != SG_OK) {
        if (policy.rule_count != 0)
            abort();
        return 0;
    }
    if (policy.rule_count != 1 || policy.rules[0].pattern_count == 0)
        abort();

    if (sg_cursor_read_until(&cursor, '\n', &id_text) &&
        sg_spiffe_id_parse(id_text, &id, &status) == SG_OK) {
        struct sg_slice path = sg_cursor_rest(&cursor);

        if (sg_policy_check(&policy, &id, &audience, 1, path) == SG_POLICY_NONE)
            abort();
    }
    sg_policy_clear(&policy);
    return 0;
}
