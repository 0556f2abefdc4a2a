#include "core/policy.h"

#include <stdlib.h>
#include <string.h>

static const char any_path_suffix[] = "/*";

void sg_policy_init(struct sg_policy *policy)
{
    memset(policy, 0, sizeof(*policy));
}

static void rule_clear(struct sg_policy_rule *rule)
{
    free(rule->text);
    free(rule->patterns);
    memset(rule, 0, sizeof(*rule));
}

void sg_policy_clear(struct sg_policy *policy)
{
    for (size_t i = 0; i < policy->rule_count; i++)
        rule_clear(&policy->rules[i]);
    free(policy->rules);
    sg_policy_init(policy);
}

/* ---- Parsing -------------------------------------------------------- */

static bool is_blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Reads the next word separated by spaces or tabs; false at the end. */
static bool next_word(struct sg_cursor *cursor, struct sg_slice *word)
{
    const struct sg_slice buf = cursor->buf;
    size_t start;

    while (cursor->pos < buf.len && is_blank(buf.ptr[cursor->pos]))
        cursor->pos++;
    if (cursor->pos == buf.len)
        return false;

    start = cursor->pos;
    while (cursor->pos < buf.len && !is_blank(buf.ptr[cursor->pos]))
        cursor->pos++;
    *word = sg_slice_make(buf.ptr + start, cursor->pos - start);
    return true;
}

/* Checks a PATH-PREFIX: '/', then visible ASCII without '?', '#', '%', ';' or '\\'. */
static enum sg_error check_path_prefix(struct sg_slice prefix, struct sg_status *status)
{
    for (size_t i = 0; i < prefix.len; i++) {
        uint8_t c = prefix.ptr[i];

        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '%' || c == ';' ||
            c == '\\')
            return sg_fail(status, SG_ERR_MALFORMED,
                           "path prefix \"%.*s\" has byte 0x%02x; use the path as sent, "
                           "without a query, '%%', ';' or '\\'",
                           (int)prefix.len, (const char *)prefix.ptr, c);
    }
    return SG_OK;
}

// Parses one PATTERN. "spiffe://td/*" and "spiffe://td/a/*" are checked as
// the SPIFFE IDs "spiffe://td" and "spiffe://td/a", so a pattern admits
// only IDs that could be valid.
static enum sg_error parse_pattern(struct sg_slice word, struct sg_policy_pattern *pattern,
                                   struct sg_status *status)
{
    struct sg_slice suffix = sg_slice_make(any_path_suffix, sizeof(any_path_suffix) - 1);
    struct sg_slice id_text = word;
    struct sg_spiffe_id id;
    bool wildcard = word.len >= suffix.len &&
                    memcmp(word.ptr + word.len - suffix.len, suffix.ptr, suffix.len) == 0;

    if (wildcard)
        id_text.len -= suffix.len;
    if (sg_spiffe_id_parse(id_text, &id, status) != SG_OK)
        return sg_fail(status, SG_ERR_INVALID_SPIFFE_ID, "pattern \"%.*s\": %s", (int)word.len,
                       (const char *)word.ptr, status->message);

    pattern->trust_domain = id.trust_domain;
    pattern->path = id.path;
    if (!wildcard && id.path.len == 0)
        return sg_fail(status, SG_ERR_INVALID_SPIFFE_ID,
                       "pattern \"%.*s\" names no workload; write \"%.*s/*\" for the whole "
                       "trust domain",
                       (int)word.len, (const char *)word.ptr, (int)word.len,
                       (const char *)word.ptr);
    if (!wildcard)
        pattern->kind = SG_POLICY_EXACT;
    else if (id.path.len == 0)
        pattern->kind = SG_POLICY_TRUST_DOMAIN;
    else
        pattern->kind = SG_POLICY_PATH_PREFIX;
    return SG_OK;
}

/* Reads AUDIENCE and the optional PATH-PREFIX of the rule in `cursor`. */
static enum sg_error parse_rule_head(struct sg_cursor *cursor, struct sg_policy_rule *rule,
                                     struct sg_slice *first_pattern, struct sg_status *status)
{
    struct sg_slice word;

    if (!next_word(cursor, &word))
        return sg_fail(status, SG_ERR_MALFORMED,
                       "an allow rule needs an audience (or *) and at least one SPIFFE ID "
                       "pattern");
    rule->any_audience = sg_slice_eq_cstr(word, "*");
    rule->audience = word;

    if (!next_word(cursor, &word))
        return sg_fail(status, SG_ERR_MALFORMED,
                       "the allow rule for audience \"%.*s\" has no SPIFFE ID pattern",
                       (int)rule->audience.len, (const char *)rule->audience.ptr);
    if (word.ptr[0] == '/') {
        SG_GUARD(check_path_prefix(word, status));
        rule->path_prefix = word;
        if (!next_word(cursor, &word))
            return sg_fail(status, SG_ERR_MALFORMED,
                           "the allow rule for path prefix \"%.*s\" has no SPIFFE ID pattern",
                           (int)rule->path_prefix.len, (const char *)rule->path_prefix.ptr);
    }
    *first_pattern = word;
    return SG_OK;
}

/* Parses the words of `rule->text` into `rule`; the caller frees on failure. */
static enum sg_error parse_rule(struct sg_policy_rule *rule, size_t len, struct sg_status *status)
{
    struct sg_cursor cursor = sg_cursor_make(sg_slice_make(rule->text, len));
    struct sg_slice word = { 0 };

    SG_GUARD(parse_rule_head(&cursor, rule, &word, status));
    do {
        if (rule->pattern_count == SG_POLICY_PATTERNS_MAX)
            return sg_fail(status, SG_ERR_MALFORMED, "an allow rule has more than %d patterns",
                           SG_POLICY_PATTERNS_MAX);
        SG_GUARD(parse_pattern(word, &rule->patterns[rule->pattern_count], status));
        rule->pattern_count++;
    } while (next_word(&cursor, &word));
    return SG_OK;
}

enum sg_error sg_policy_add_rule(struct sg_policy *policy, struct sg_slice text,
                                 struct sg_status *status)
{
    struct sg_policy_rule rule = { 0 };
    struct sg_policy_rule *grown;
    enum sg_error error;

    if (text.len > SG_POLICY_RULE_MAX)
        return sg_fail(status, SG_ERR_MALFORMED, "an allow rule is %zu bytes; the maximum is %d",
                       text.len, SG_POLICY_RULE_MAX);
    if (policy->rule_count == SG_POLICY_RULES_MAX)
        return sg_fail(status, SG_ERR_MALFORMED, "a policy has at most %d allow rules",
                       SG_POLICY_RULES_MAX);

    /* One word in two at most is a pattern, so this bounds the array. */
    rule.text = malloc(text.len + 1);
    rule.patterns = calloc(text.len / 2 + 1, sizeof(*rule.patterns));
    if (rule.text == NULL || rule.patterns == NULL) {
        rule_clear(&rule);
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory while reading an allow rule");
    }
    if (text.len > 0)
        memcpy(rule.text, text.ptr, text.len);
    rule.text[text.len] = '\0';

    error = parse_rule(&rule, text.len, status);
    if (error == SG_OK) {
        grown = realloc(policy->rules, (policy->rule_count + 1) * sizeof(*grown));
        if (grown == NULL)
            error = sg_fail(status, SG_ERR_INTERNAL, "out of memory while reading an allow rule");
        else
            policy->rules = grown;
    }
    if (error != SG_OK) {
        rule_clear(&rule);
        return error;
    }

    policy->has_path_rules |= rule.path_prefix.len > 0;
    policy->rules[policy->rule_count++] = rule;
    return SG_OK;
}

/* ---- Evaluation ----------------------------------------------------- */

/* Whether `path` starts with `prefix` and the match ends on a segment boundary. */
static bool path_has_prefix(struct sg_slice path, struct sg_slice prefix)
{
    if (!sg_slice_starts_with(path, prefix))
        return false;
    return path.len == prefix.len || prefix.ptr[prefix.len - 1] == '/' ||
           path.ptr[prefix.len] == '/';
}

static bool pattern_matches(const struct sg_policy_pattern *pattern, const struct sg_spiffe_id *id)
{
    if (!sg_slice_eq(pattern->trust_domain, id->trust_domain))
        return false;

    switch (pattern->kind) {
    case SG_POLICY_EXACT:
        return sg_slice_eq(pattern->path, id->path);
    case SG_POLICY_PATH_PREFIX:
        // Strictly under the prefix: spiffe://td/a/* does not admit spiffe://td/a.
        return id->path.len > pattern->path.len && sg_slice_starts_with(id->path, pattern->path) &&
               id->path.ptr[pattern->path.len] == '/';
    case SG_POLICY_TRUST_DOMAIN:
        return true;
    }
    return false;
}

static bool audience_matches(const struct sg_policy_rule *rule, const struct sg_slice *audiences,
                             size_t audience_count)
{
    if (rule->any_audience)
        return true;
    for (size_t i = 0; i < audience_count; i++) {
        if (sg_slice_eq(rule->audience, audiences[i]))
            return true;
    }
    return false;
}

/*
 * Whether a backend could read `path` as another path: percent-encoding,
 * a backslash, an empty segment, a "." or ".." segment, a '#' (nginx
 * routes /admin#x as /admin) or a ';' (servlet containers route
 * /admin;x=1 as /admin).
 */
static bool path_is_ambiguous(struct sg_slice path)
{
    size_t segment_start = 1;

    if (path.len == 0 || path.ptr[0] != '/')
        return true;
    for (size_t i = 1; i <= path.len; i++) {
        size_t segment_len;

        if (i < path.len && (path.ptr[i] == '%' || path.ptr[i] == '\\' || path.ptr[i] == '#' ||
                             path.ptr[i] == ';'))
            return true;
        if (i < path.len && path.ptr[i] != '/')
            continue;

        segment_len = i - segment_start;
        if (segment_len == 0 && i < path.len)
            return true;
        if ((segment_len == 1 && path.ptr[segment_start] == '.') ||
            (segment_len == 2 && path.ptr[segment_start] == '.' &&
             path.ptr[segment_start + 1] == '.'))
            return true;
        segment_start = i + 1;
    }
    return false;
}

/* Length of the longest PATH-PREFIX among candidate rules matching `path`, or 0. */
static size_t longest_prefix(const struct sg_policy *policy, const struct sg_slice *audiences,
                             size_t audience_count, struct sg_slice path)
{
    size_t longest = 0;

    for (size_t i = 0; i < policy->rule_count; i++) {
        const struct sg_policy_rule *rule = &policy->rules[i];

        if (rule->path_prefix.len > longest && audience_matches(rule, audiences, audience_count) &&
            path_has_prefix(path, rule->path_prefix))
            longest = rule->path_prefix.len;
    }
    return longest;
}

enum sg_policy_decision sg_policy_check(const struct sg_policy *policy,
                                        const struct sg_spiffe_id *id,
                                        const struct sg_slice *audiences, size_t audience_count,
                                        struct sg_slice path)
{
    size_t deciding_len = 0;

    if (policy->rule_count == 0)
        return SG_POLICY_NONE;

    if (path.ptr != NULL && policy->has_path_rules) {
        if (path_is_ambiguous(path))
            return SG_POLICY_DENY;
        deciding_len = longest_prefix(policy, audiences, audience_count, path);
    }

    /* Deciding rules: the longest matching prefix, or no prefix (length 0). */
    for (size_t i = 0; i < policy->rule_count; i++) {
        const struct sg_policy_rule *rule = &policy->rules[i];

        if (rule->path_prefix.len != deciding_len ||
            !audience_matches(rule, audiences, audience_count))
            continue;
        if (deciding_len > 0 && !path_has_prefix(path, rule->path_prefix))
            continue;
        for (size_t j = 0; j < rule->pattern_count; j++) {
            if (pattern_matches(&rule->patterns[j], id))
                return SG_POLICY_ALLOW;
        }
    }
    return SG_POLICY_DENY;
}
