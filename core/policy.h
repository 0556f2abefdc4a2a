// The authorization policy: which verified SPIFFE IDs a request admits.
//
// A policy is a list of rules, each read from one `allow` line:
//
//     AUDIENCE [PATH-PREFIX] PATTERN...
//
// AUDIENCE is an exact audience or `*` (any audience, and requests with
// none). PATH-PREFIX starts with '/' and matches the original request
// path on a segment boundary: `/admin` matches /admin and /admin/x, not
// /administrator. A PATTERN is an exact ID (`spiffe://td/a/b`), the IDs
// under a path (`spiffe://td/a/*`: spiffe://td/a/b, not spiffe://td/a or
// spiffe://td/ab), or a whole trust domain (`spiffe://td/*`).
//
// Evaluation, for an ID, its audiences and the original path. The
// caller passes the audiences the credential was verified for: the
// requested audiences that a JWT-SVID's `aud` contains, so that a token
// minted for one service is not admitted by another service's rules.
//  1. No rules at all: no policy, every verified ID is admitted.
//  2. The candidates are the rules whose audience is `*` or one of those
//     audiences.
//  3. When the request has a path, the candidates with the longest
//     PATH-PREFIX that matches it decide, as nginx picks the longest
//     prefix location. When none with a prefix matches, or the request
//     has no path (the JSON verify API), the candidates without a prefix
//     decide.
//  4. The ID is admitted when a pattern of a deciding rule matches it.
//     Otherwise it is denied: once a policy exists the default is deny.
//
// Paths are compared byte for byte and never decoded. While any rule has
// a PATH-PREFIX, a path that a backend could normalise into another one
// (percent-encoded bytes, "." or ".." segments, "//", a backslash) is
// denied, because it could reach /admin while matching a looser rule.
//
// Pure logic: no I/O, no logging.
#ifndef SVIDGATE_CORE_POLICY_H
#define SVIDGATE_CORE_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/slice.h"
#include "core/spiffe_id.h"

/* Bytes of one rule's text, and rules and patterns in one policy or rule. */
#define SG_POLICY_RULE_MAX 4096
#define SG_POLICY_RULES_MAX 4096
#define SG_POLICY_PATTERNS_MAX 256

enum sg_policy_pattern_kind {
    SG_POLICY_EXACT,        /* spiffe://td/a/b */
    SG_POLICY_PATH_PREFIX,  // spiffe://td/a/*
    SG_POLICY_TRUST_DOMAIN, // spiffe://td/*
};

struct sg_policy_pattern {
    enum sg_policy_pattern_kind kind;
    struct sg_slice trust_domain; /* slices into the rule's text */
    struct sg_slice path;         // the exact path, or the prefix without its "/*"
};

struct sg_policy_rule {
    char *text;                /* owned copy of the rule line */
    bool any_audience;         /* AUDIENCE is `*` */
    struct sg_slice audience;  /* slices into `text` */
    struct sg_slice path_prefix; /* empty for a rule without one */
    struct sg_policy_pattern *patterns;
    size_t pattern_count;
};

struct sg_policy {
    struct sg_policy_rule *rules;
    size_t rule_count;
    bool has_path_rules; /* some rule has a PATH-PREFIX */
};

enum sg_policy_decision {
    SG_POLICY_NONE,  /* no rules: admitted without a policy */
    SG_POLICY_ALLOW, /* a rule admits the ID */
    SG_POLICY_DENY,  /* no deciding rule admits it */
};

/* Zeroes `policy`: no rules, every ID admitted. */
void sg_policy_init(struct sg_policy *policy);

/* Frees every rule and zeroes `policy`. */
void sg_policy_clear(struct sg_policy *policy);

/*
 * Parses one rule, "AUDIENCE [PATH-PREFIX] PATTERN...", separated by
 * spaces or tabs, and appends it. Fails with SG_ERR_MALFORMED (or
 * SG_ERR_INVALID_SPIFFE_ID for a bad pattern) and a message naming the
 * bad word; `policy` is then unchanged. SG_ERR_INTERNAL when out of memory.
 */
SG_MUST_CHECK enum sg_error sg_policy_add_rule(struct sg_policy *policy, struct sg_slice text,
                                               struct sg_status *status);

/*
 * Decides whether `id` is admitted for a request with these audiences
 * (possibly none) and original path. `path.ptr == NULL` means the
 * request has no path, so only rules without a PATH-PREFIX apply.
 */
enum sg_policy_decision sg_policy_check(const struct sg_policy *policy,
                                        const struct sg_spiffe_id *id,
                                        const struct sg_slice *audiences, size_t audience_count,
                                        struct sg_slice path);

#endif
