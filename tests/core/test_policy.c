/*
 * Unit tests of core/policy.c: rule parsing and the decision for an ID,
 * audiences and an original path.
 */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/policy.h"

/* A request as the policy sees it; path NULL means "no path". */
struct request {
    const char *id;
    const char *audiences[3];
    const char *path;
};

static void add_rules(struct sg_policy *policy, const char *const *rules, size_t count)
{
    struct sg_status status;

    sg_policy_init(policy);
    for (size_t i = 0; i < count; i++) {
        if (sg_policy_add_rule(policy, sg_slice_cstr(rules[i]), &status) != SG_OK)
            fail_msg("rule \"%s\" rejected: %s", rules[i], status.message);
    }
}

static enum sg_policy_decision decide(const struct sg_policy *policy, const struct request *request)
{
    struct sg_slice audiences[3];
    size_t audience_count = 0;
    struct sg_spiffe_id id;
    struct sg_status status;
    struct sg_slice path = { 0 };

    if (sg_spiffe_id_parse(sg_slice_cstr(request->id), &id, &status) != SG_OK)
        fail_msg("test ID %s is invalid: %s", request->id, status.message);
    for (; audience_count < 3 && request->audiences[audience_count] != NULL; audience_count++)
        audiences[audience_count] = sg_slice_cstr(request->audiences[audience_count]);
    if (request->path != NULL)
        path = sg_slice_cstr(request->path);
    return sg_policy_check(policy, &id, audiences, audience_count, path);
}

static void expect(const struct sg_policy *policy, const struct request *request,
                   enum sg_policy_decision expected)
{
    enum sg_policy_decision got = decide(policy, request);

    if (got != expected)
        fail_msg("%s, audience %s, path %s: decision %d, expected %d", request->id,
                 request->audiences[0] ? request->audiences[0] : "(none)",
                 request->path ? request->path : "(none)", got, expected);
}

static void test_no_rules_admits(void **state)
{
    struct sg_policy policy;

    (void)state;
    sg_policy_init(&policy);
    expect(&policy, &(struct request){ "spiffe://a.test/x", { "gw" }, "/" }, SG_POLICY_NONE);
    expect(&policy, &(struct request){ "spiffe://b.test/y", { NULL }, NULL }, SG_POLICY_NONE);
}

static void test_exact_id(void **state)
{
    static const char *const rules[] = { "gw spiffe://a.test/web" };
    struct sg_policy policy;

    (void)state;
    add_rules(&policy, rules, 1);
    expect(&policy, &(struct request){ "spiffe://a.test/web", { "gw" }, NULL }, SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/web/x", { "gw" }, NULL }, SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://a.test/webx", { "gw" }, NULL }, SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://b.test/web", { "gw" }, NULL }, SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://a.test/Web", { "gw" }, NULL }, SG_POLICY_DENY);
    sg_policy_clear(&policy);
}

static void test_id_prefix_segment_boundary(void **state)
{
    static const char *const rules[] = { "gw spiffe://a.test/ns/prod/*" };
    struct sg_policy policy;

    (void)state;
    add_rules(&policy, rules, 1);
    expect(&policy, &(struct request){ "spiffe://a.test/ns/prod/web", { "gw" }, NULL },
           SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/ns/prod/web/x", { "gw" }, NULL },
           SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/ns/prod", { "gw" }, NULL },
           SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://a.test/ns/production", { "gw" }, NULL },
           SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://b.test/ns/prod/web", { "gw" }, NULL },
           SG_POLICY_DENY);
    sg_policy_clear(&policy);
}

static void test_whole_trust_domain(void **state)
{
    static const char *const rules[] = { "gw spiffe://a.test/*" };
    struct sg_policy policy;

    (void)state;
    add_rules(&policy, rules, 1);
    expect(&policy, &(struct request){ "spiffe://a.test/x", { "gw" }, NULL }, SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/x/y/z", { "gw" }, NULL },
           SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.testx/x", { "gw" }, NULL }, SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://b.a.test/x", { "gw" }, NULL }, SG_POLICY_DENY);
    sg_policy_clear(&policy);
}

static void test_audience_matching(void **state)
{
    static const char *const rules[] = { "gw spiffe://a.test/web", "* spiffe://a.test/ops" };
    struct sg_policy policy;

    (void)state;
    add_rules(&policy, rules, 2);
    expect(&policy, &(struct request){ "spiffe://a.test/web", { "gw" }, NULL }, SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/web", { "other", "gw" }, NULL },
           SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/web", { "other" }, NULL },
           SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://a.test/web", { "GW" }, NULL }, SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://a.test/web", { NULL }, NULL }, SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://a.test/ops", { "other" }, NULL },
           SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/ops", { NULL }, NULL }, SG_POLICY_ALLOW);
    sg_policy_clear(&policy);
}

static void test_default_deny(void **state)
{
    static const char *const rules[] = { "gw spiffe://a.test/web" };
    struct sg_policy policy;

    (void)state;
    add_rules(&policy, rules, 1);
    expect(&policy, &(struct request){ "spiffe://a.test/other", { "gw" }, "/" }, SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://a.test/web", { "x" }, "/" }, SG_POLICY_DENY);
    sg_policy_clear(&policy);
}

static void test_path_prefix_segment_boundary(void **state)
{
    static const char *const rules[] = { "gw /admin spiffe://a.test/ops" };
    struct sg_policy policy;

    (void)state;
    add_rules(&policy, rules, 1);
    expect(&policy, &(struct request){ "spiffe://a.test/ops", { "gw" }, "/admin" },
           SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/ops", { "gw" }, "/admin/x" },
           SG_POLICY_ALLOW);
    /* /administrator is outside /admin, and no rule without a prefix exists. */
    expect(&policy, &(struct request){ "spiffe://a.test/ops", { "gw" }, "/administrator" },
           SG_POLICY_DENY);
    /* Without a path (the JSON API) only rules without a prefix apply. */
    expect(&policy, &(struct request){ "spiffe://a.test/ops", { "gw" }, NULL }, SG_POLICY_DENY);
    sg_policy_clear(&policy);
}

static void test_longest_prefix_decides(void **state)
{
    static const char *const rules[] = {
        "gw spiffe://a.test/*",
        "gw /api spiffe://a.test/web",
        "gw /api/admin spiffe://a.test/ops",
        "* /api/admin spiffe://a.test/root",
    };
    struct sg_policy policy;

    (void)state;
    add_rules(&policy, rules, 4);
    /* No prefix matches: the rules without a prefix decide. */
    expect(&policy, &(struct request){ "spiffe://a.test/any", { "gw" }, "/home" },
           SG_POLICY_ALLOW);
    /* /api decides, so the trust domain rule no longer admits. */
    expect(&policy, &(struct request){ "spiffe://a.test/web", { "gw" }, "/api/x" },
           SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/any", { "gw" }, "/api/x" },
           SG_POLICY_DENY);
    /* /api/admin decides over /api. */
    expect(&policy, &(struct request){ "spiffe://a.test/ops", { "gw" }, "/api/admin/users" },
           SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/root", { "gw" }, "/api/admin" },
           SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/web", { "gw" }, "/api/admin" },
           SG_POLICY_DENY);
    /* Another audience: only the `*` rule of /api/admin is a candidate. */
    expect(&policy, &(struct request){ "spiffe://a.test/ops", { "other" }, "/api/admin" },
           SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://a.test/root", { "other" }, "/api/admin" },
           SG_POLICY_ALLOW);
    /* The /api rules are not candidates for "other", so no prefix decides. */
    expect(&policy, &(struct request){ "spiffe://a.test/any", { "other" }, "/api/x" },
           SG_POLICY_DENY);
    sg_policy_clear(&policy);
}

static void test_ambiguous_paths_denied(void **state)
{
    static const char *const rules[] = { "gw spiffe://a.test/*", "gw /admin spiffe://a.test/ops" };
    static const char *const paths[] = {
        "/x/../admin", "/./admin", "//admin", "/%61dmin", "/x\\admin", "/x/..", "/x/.", "x",
        "/admin#x", "/x#/../admin", "/admin;x=1", "/admin;/x", "",
    };
    struct sg_policy policy;

    (void)state;
    add_rules(&policy, rules, 2);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        expect(&policy, &(struct request){ "spiffe://a.test/web", { "gw" }, paths[i] },
               SG_POLICY_DENY);
    expect(&policy, &(struct request){ "spiffe://a.test/web", { "gw" }, "/x/.well-known/..a" },
           SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://a.test/web", { "gw" }, "/x/" }, SG_POLICY_ALLOW);
    sg_policy_clear(&policy);
}

static void test_several_patterns(void **state)
{
    static const char *const rules[] = { "gw\tspiffe://a.test/web  spiffe://b.test/*\t" };
    struct sg_policy policy;

    (void)state;
    add_rules(&policy, rules, 1);
    assert_int_equal(policy.rules[0].pattern_count, 2);
    expect(&policy, &(struct request){ "spiffe://a.test/web", { "gw" }, NULL }, SG_POLICY_ALLOW);
    expect(&policy, &(struct request){ "spiffe://b.test/x", { "gw" }, NULL }, SG_POLICY_ALLOW);
    sg_policy_clear(&policy);
}

static void test_bad_rules_rejected(void **state)
{
    static const struct {
        const char *text;
        enum sg_error error;
    } cases[] = {
        { "", SG_ERR_MALFORMED },
        { "gw", SG_ERR_MALFORMED },
        { "gw /admin", SG_ERR_MALFORMED },
        { "gw /a%2f spiffe://a.test/x", SG_ERR_MALFORMED },
        { "gw /a?b spiffe://a.test/x", SG_ERR_MALFORMED },
        { "gw /a;b spiffe://a.test/x", SG_ERR_MALFORMED },
        { "gw spiffe://A.test/x", SG_ERR_INVALID_SPIFFE_ID },
        { "gw spiffe://a.test", SG_ERR_INVALID_SPIFFE_ID },
        { "gw spiffe://a.test/", SG_ERR_INVALID_SPIFFE_ID },
        { "gw spiffe://a.test/x/", SG_ERR_INVALID_SPIFFE_ID },
        { "gw spiffe://a.test/x*", SG_ERR_INVALID_SPIFFE_ID },
        { "gw spiffe://*", SG_ERR_INVALID_SPIFFE_ID },
        { "gw spiffe://a.test/../x", SG_ERR_INVALID_SPIFFE_ID },
        { "gw https://a.test/x", SG_ERR_INVALID_SPIFFE_ID },
        { "gw spiffe://a.test/x bogus", SG_ERR_INVALID_SPIFFE_ID },
    };
    struct sg_policy policy;
    struct sg_status status;

    (void)state;
    sg_policy_init(&policy);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum sg_error got = sg_policy_add_rule(&policy, sg_slice_cstr(cases[i].text), &status);

        if (got != cases[i].error)
            fail_msg("rule \"%s\": error %s, expected %s", cases[i].text, sg_error_name(got),
                     sg_error_name(cases[i].error));
        assert_int_equal(policy.rule_count, 0);
    }
}

static void test_rule_length_limit(void **state)
{
    struct sg_policy policy;
    struct sg_status status;
    char *text = malloc(SG_POLICY_RULE_MAX + 2);
    size_t len;

    (void)state;
    assert_non_null(text);
    sg_policy_init(&policy);

    /* "gw spiffe://a.test/xxx...x", exactly at the limit, then one past it. */
    len = (size_t)snprintf(text, SG_POLICY_RULE_MAX + 2, "gw spiffe://a.test/");
    memset(text + len, 'x', SG_POLICY_RULE_MAX + 1 - len);
    assert_int_equal(sg_policy_add_rule(&policy, sg_slice_make(text, SG_POLICY_RULE_MAX + 1),
                                        &status),
                     SG_ERR_MALFORMED);
    /* At the limit the ID is too long for a SPIFFE ID (2048 bytes), not the rule. */
    assert_int_equal(sg_policy_add_rule(&policy, sg_slice_make(text, SG_POLICY_RULE_MAX), &status),
                     SG_ERR_INVALID_SPIFFE_ID);
    assert_int_equal(sg_policy_add_rule(&policy, sg_slice_make(text, 2000), &status), SG_OK);
    assert_int_equal(policy.rule_count, 1);
    sg_policy_clear(&policy);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_rules_admits),
        cmocka_unit_test(test_exact_id),
        cmocka_unit_test(test_id_prefix_segment_boundary),
        cmocka_unit_test(test_whole_trust_domain),
        cmocka_unit_test(test_audience_matching),
        cmocka_unit_test(test_default_deny),
        cmocka_unit_test(test_path_prefix_segment_boundary),
        cmocka_unit_test(test_longest_prefix_decides),
        cmocka_unit_test(test_ambiguous_paths_denied),
        cmocka_unit_test(test_several_patterns),
        cmocka_unit_test(test_bad_rules_rejected),
        cmocka_unit_test(test_rule_length_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
