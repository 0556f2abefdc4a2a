/*
 * Unit tests of core/spiffe_id.c: SPIFFE ID syntax (SPIFFE-ID standard,
 * section 2) through sg_spiffe_id_parse and sg_trust_domain_validate.
 *
 * Covers every FromString case and both byte sweeps of go-spiffe v2.8.1
 * (spiffeid/id_test.go, trustdomain_test.go), the length limits at and
 * one past the limit, and embedded NUL bytes. Some inputs end right
 * before an unreadable page, so a parser that reads past the slice
 * length crashes the test.
 */
#include "tests/testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/spiffe_id.h"

/* The legal bytes of a trust domain and of a path segment (section 2.1, 2.2). */
static bool is_trust_domain_byte(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool is_path_byte(unsigned c)
{
    return is_trust_domain_byte(c) || (c >= 'A' && c <= 'Z');
}

static enum sg_error parse(const void *text, size_t len, struct sg_spiffe_id *id,
                           struct sg_status *status)
{
    memset(id, 0, sizeof(*id));
    memset(status, 0, sizeof(*status));
    return sg_spiffe_id_parse(sg_slice_make(text, len), id, status);
}

static void check_slice(const char *what, const char *input, struct sg_slice got,
                        const void *expected, size_t expected_len)
{
    if (got.len != expected_len || (expected_len > 0 && memcmp(got.ptr, expected, expected_len) != 0))
        fail_msg("\"%s\": %s is \"%.*s\" (%zu bytes), expected \"%.*s\"", input, what,
                 (int)got.len, got.ptr ? (const char *)got.ptr : "", got.len, (int)expected_len,
                 (const char *)expected);
}

/*
 * Asserts that text[0..len) parses, that every slice points into text, and
 * that the trust domain and path are the expected ones.
 */
static void expect_valid_bytes(const char *text, size_t len, const char *trust_domain,
                               size_t trust_domain_len, const char *path, size_t path_len)
{
    struct sg_spiffe_id id;
    struct sg_status status;
    enum sg_error err = parse(text, len, &id, &status);

    if (err != SG_OK)
        fail_msg("\"%.*s\": expected a valid SPIFFE ID, got %s (%s)", (int)len, text,
                 sg_error_name(err), status.message);
    assert_ptr_equal(id.id.ptr, (const uint8_t *)text);
    assert_int_equal(id.id.len, len);
    check_slice("trust_domain", text, id.trust_domain, trust_domain, trust_domain_len);
    check_slice("path", text, id.path, path, path_len);
    assert_ptr_equal(id.trust_domain.ptr, (const uint8_t *)text + strlen("spiffe://"));
    if (path_len > 0)
        assert_ptr_equal(id.path.ptr, id.trust_domain.ptr + trust_domain_len);
}

static void expect_valid(const char *text, const char *trust_domain, const char *path)
{
    expect_valid_bytes(text, strlen(text), trust_domain, strlen(trust_domain), path,
                       strlen(path));
}

static void expect_invalid_bytes(const void *text, size_t len, const char *label)
{
    struct sg_spiffe_id id;
    struct sg_status status;
    enum sg_error err = parse(text, len, &id, &status);

    if (err != SG_ERR_INVALID_SPIFFE_ID)
        fail_msg("%s: expected invalid_spiffe_id, got %s", label, sg_error_name(err));
    assert_int_equal(status.error, SG_ERR_INVALID_SPIFFE_ID);
    if (status.message[0] == '\0')
        fail_msg("%s: rejected without a message", label);
}

static void expect_invalid(const char *text)
{
    char label[128];

    snprintf(label, sizeof(label), "\"%.100s\"", text);
    expect_invalid_bytes(text, strlen(text), label);
}

static enum sg_error validate_trust_domain(const void *name, size_t len)
{
    struct sg_status status;

    memset(&status, 0, sizeof(status));
    return sg_trust_domain_validate(sg_slice_make(name, len), &status);
}

/* go-spiffe FromString: the plain valid forms. */
static void test_parse_valid_forms(void **state)
{
    (void)state;
    expect_valid("spiffe://trustdomain", "trustdomain", "");
    expect_valid("spiffe://trustdomain/path", "trustdomain", "/path");
    expect_valid("spiffe://trustdomain/path/element", "trustdomain", "/path/element");
    expect_valid("spiffe://example.org/ns/prod/sa/web-1_a.b", "example.org",
                 "/ns/prod/sa/web-1_a.b");
}

static void test_parse_empty(void **state)
{
    (void)state;
    expect_invalid("");
}

/* go-spiffe FromString "bad scheme", FromURI uppercase scheme. */
static void test_parse_bad_scheme(void **state)
{
    (void)state;
    expect_invalid("s");
    expect_invalid("spiffe");
    expect_invalid("spiffe:");
    expect_invalid("spiffe:/");
    expect_invalid("spiffe:/trustdomain/path");
    expect_invalid("spiffe//trustdomain/path");
    expect_invalid("Spiffe://trustdomain");
    expect_invalid("SPIFFE://trustdomain/path");
    expect_invalid("http://trustdomain/path");
    expect_invalid("spiffes://trustdomain/path");
    expect_invalid(" spiffe://trustdomain/path");
    expect_invalid("trustdomain/path");
}

static void test_parse_missing_trust_domain(void **state)
{
    (void)state;
    expect_invalid("spiffe://");
    expect_invalid("spiffe:///");
    expect_invalid("spiffe:///path");
}

static void test_parse_trailing_slash(void **state)
{
    (void)state;
    expect_invalid("spiffe://trustdomain/");
    expect_invalid("spiffe://trustdomain/path/");
    expect_invalid("spiffe://trustdomain/a/b/");
}

static void test_parse_empty_segments(void **state)
{
    (void)state;
    expect_invalid("spiffe://trustdomain//");
    expect_invalid("spiffe://trustdomain//path");
    expect_invalid("spiffe://trustdomain/a//b");
    expect_invalid("spiffe://trustdomain/a///b");
}

static void test_parse_dot_segments(void **state)
{
    static const char *const paths[] = {
        "/.", "/./path", "/path/./other", "/path/..", "/..", "/../path", "/path/../other",
        "/path/.",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char text[64];

        snprintf(text, sizeof(text), "spiffe://trustdomain%s", paths[i]);
        expect_invalid(text);
    }
}

static void test_parse_dot_in_segment(void **state)
{
    (void)state;
    expect_valid("spiffe://trustdomain/.path", "trustdomain", "/.path");
    expect_valid("spiffe://trustdomain/..path", "trustdomain", "/..path");
    expect_valid("spiffe://trustdomain/...", "trustdomain", "/...");
    expect_valid("spiffe://trustdomain/a./b..", "trustdomain", "/a./b..");
}

/* go-spiffe FromString percent-encoding cases: never decoded. */
static void test_parse_percent_encoding(void **state)
{
    (void)state;
    expect_invalid("spiffe://%F0%9F%A4%AF/path");
    expect_invalid("spiffe://trustdomain/%F0%9F%A4%AF");
    expect_invalid("spiffe://%62%61%64/path");
    expect_invalid("spiffe://trustdomain/%62%61%64");
    expect_invalid("spiffe://trustdomain/%41");
}

static void test_parse_userinfo(void **state)
{
    (void)state;
    expect_invalid("spiffe://user@trustdomain/path");
    expect_invalid("spiffe://user:secret@trustdomain/path");
    expect_invalid("spiffe://@trustdomain/path");
}

static void test_parse_port(void **state)
{
    (void)state;
    expect_invalid("spiffe://trustdomain:8443/path");
    expect_invalid("spiffe://trustdomain:/path");
    expect_invalid("spiffe://trustdomain:8443");
}

static void test_parse_query_fragment(void **state)
{
    (void)state;
    expect_invalid("spiffe://trustdomain/path?query");
    expect_invalid("spiffe://trustdomain/path#fragment");
    expect_invalid("spiffe://trustdomain?query");
    expect_invalid("spiffe://trustdomain#fragment");
    expect_invalid("spiffe://trustdomain/?");
}

/* FromURI cases with an illegal byte. */
static void test_parse_dollar(void **state)
{
    (void)state;
    expect_invalid("spiffe://trust$domain");
    expect_invalid("spiffe://trustdomain/path$");
}

static void test_parse_uppercase_trust_domain(void **state)
{
    (void)state;
    expect_invalid("spiffe://TrustDomain/path");
    expect_invalid("spiffe://TRUSTDOMAIN");
}

static void test_parse_path_case_kept(void **state)
{
    (void)state;
    expect_valid("spiffe://trustdomain/Path/UPPER", "trustdomain", "/Path/UPPER");
}

static void test_parse_ip_names(void **state)
{
    (void)state;
    expect_valid("spiffe://10.0.0.1/path", "10.0.0.1", "/path");
    expect_invalid("spiffe://[::1]/path");
    expect_invalid("spiffe://[2001:db8::1]/path");
}

/* go-spiffe FromString sweep: spiffe://trustdomain<c>/path for every byte but '/'. */
static void test_trust_domain_byte_sweep(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 256; c++) {
        char text[64];
        char label[64];
        size_t len;

        if (c == '/')
            continue;
        memcpy(text, "spiffe://trustdomain", 20);
        text[20] = (char)c;
        memcpy(text + 21, "/path", 5);
        len = 26;
        if (is_trust_domain_byte(c)) {
            char trust_domain[12];

            memcpy(trust_domain, "trustdomain", 11);
            trust_domain[11] = (char)c;
            expect_valid_bytes(text, len, trust_domain, 12, "/path", 5);
        } else {
            snprintf(label, sizeof(label), "trust domain byte 0x%02x", c);
            expect_invalid_bytes(text, len, label);
        }
    }
}

/* go-spiffe feeds bytes >= 0x80 as their two-byte UTF-8 encoding. */
static void test_trust_domain_utf8_sweep(void **state)
{
    (void)state;
    for (unsigned c = 0x80; c < 256; c++) {
        char text[64];
        char label[64];

        memcpy(text, "spiffe://trustdomain", 20);
        text[20] = (char)(0xc0 | (c >> 6));
        text[21] = (char)(0x80 | (c & 0x3f));
        memcpy(text + 22, "/path", 5);
        snprintf(label, sizeof(label), "trust domain UTF-8 of U+%04X", c);
        expect_invalid_bytes(text, 27, label);
    }
}

/* go-spiffe FromString sweep: spiffe://trustdomain/path<c> for every byte. */
static void test_path_byte_sweep(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 256; c++) {
        char text[64];
        char label[64];

        memcpy(text, "spiffe://trustdomain/path", 25);
        text[25] = (char)c;
        if (is_path_byte(c)) {
            char path[6];

            memcpy(path, "/path", 5);
            path[5] = (char)c;
            expect_valid_bytes(text, 26, "trustdomain", 11, path, 6);
        } else {
            snprintf(label, sizeof(label), "path byte 0x%02x", c);
            expect_invalid_bytes(text, 26, label);
        }
    }
}

static void test_path_utf8_sweep(void **state)
{
    (void)state;
    for (unsigned c = 0x80; c < 256; c++) {
        char text[64];
        char label[64];

        memcpy(text, "spiffe://trustdomain/path", 25);
        text[25] = (char)(0xc0 | (c >> 6));
        text[26] = (char)(0x80 | (c & 0x3f));
        snprintf(label, sizeof(label), "path UTF-8 of U+%04X", c);
        expect_invalid_bytes(text, 27, label);
    }
}

/* go-spiffe TrustDomainFromString sweep: bare trustdomain<c>, '/' included. */
static void test_validate_byte_sweep(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 256; c++) {
        char name[12];
        enum sg_error err;

        memcpy(name, "trustdomain", 11);
        name[11] = (char)c;
        err = validate_trust_domain(name, sizeof(name));
        if (is_trust_domain_byte(c) && err != SG_OK)
            fail_msg("trust domain byte 0x%02x: expected ok, got %s", c, sg_error_name(err));
        if (!is_trust_domain_byte(c) && err != SG_ERR_INVALID_SPIFFE_ID)
            fail_msg("trust domain byte 0x%02x: expected invalid_spiffe_id, got %s", c,
                     sg_error_name(err));
    }
}

static void test_validate_forms(void **state)
{
    (void)state;
    assert_int_equal(validate_trust_domain("example.org", 11), SG_OK);
    assert_int_equal(validate_trust_domain("10.0.0.1", 8), SG_OK);
    assert_int_equal(validate_trust_domain("", 0), SG_ERR_INVALID_SPIFFE_ID);
    assert_int_equal(validate_trust_domain("Example.org", 11), SG_ERR_INVALID_SPIFFE_ID);
    assert_int_equal(validate_trust_domain("%65xample.org", 13), SG_ERR_INVALID_SPIFFE_ID);
    assert_int_equal(validate_trust_domain("example.org:443", 15), SG_ERR_INVALID_SPIFFE_ID);
    /* The function takes bare names; the ID form has ':' and '/'. */
    assert_int_equal(validate_trust_domain("spiffe://example.org", 20), SG_ERR_INVALID_SPIFFE_ID);
    assert_int_equal(validate_trust_domain("example.org\0", 12), SG_ERR_INVALID_SPIFFE_ID);
    assert_int_equal(validate_trust_domain("example\0.org", 12), SG_ERR_INVALID_SPIFFE_ID);
}

static void test_validate_length(void **state)
{
    char name[SG_TRUST_DOMAIN_MAX + 1];

    (void)state;
    memset(name, 'a', sizeof(name));
    assert_int_equal(validate_trust_domain(name, SG_TRUST_DOMAIN_MAX), SG_OK);
    assert_int_equal(validate_trust_domain(name, SG_TRUST_DOMAIN_MAX + 1),
                     SG_ERR_INVALID_SPIFFE_ID);
}

static void test_parse_trust_domain_length(void **state)
{
    char text[9 + SG_TRUST_DOMAIN_MAX + 1 + 5];
    size_t prefix = strlen("spiffe://");

    (void)state;
    assert_int_equal(SG_TRUST_DOMAIN_MAX, 255);
    memcpy(text, "spiffe://", prefix);
    memset(text + prefix, 'a', SG_TRUST_DOMAIN_MAX + 1);

    memcpy(text + prefix + SG_TRUST_DOMAIN_MAX, "/path", 5);
    expect_valid_bytes(text, prefix + SG_TRUST_DOMAIN_MAX + 5, text + prefix,
                       SG_TRUST_DOMAIN_MAX, "/path", 5);
    expect_valid_bytes(text, prefix + SG_TRUST_DOMAIN_MAX, text + prefix, SG_TRUST_DOMAIN_MAX,
                       "", 0);

    text[prefix + SG_TRUST_DOMAIN_MAX] = 'a';
    memcpy(text + prefix + SG_TRUST_DOMAIN_MAX + 1, "/path", 5);
    expect_invalid_bytes(text, prefix + SG_TRUST_DOMAIN_MAX + 1 + 5, "256-byte trust domain");
    expect_invalid_bytes(text, prefix + SG_TRUST_DOMAIN_MAX + 1, "256-byte bare trust domain");
}

/* Fills buf with "spiffe://example.org/sss.../x..." of exactly len bytes. */
static void fill_long_id(char *buf, size_t len)
{
    size_t at = strlen("spiffe://example.org");

    memcpy(buf, "spiffe://example.org", at);
    while (at < len) {
        size_t segment = len - at - 1 < 100 ? len - at - 1 : 100;

        buf[at++] = '/';
        memset(buf + at, 's', segment);
        at += segment;
    }
    if (buf[len - 1] == '/')
        fail_msg("cannot build an ID of %zu bytes", len);
}

static void test_parse_id_length(void **state)
{
    char *buf = malloc(SG_SPIFFE_ID_MAX + 1);

    (void)state;
    assert_non_null(buf);
    assert_int_equal(SG_SPIFFE_ID_MAX, 2048);
    fill_long_id(buf, SG_SPIFFE_ID_MAX);
    expect_valid_bytes(buf, SG_SPIFFE_ID_MAX, "example.org", 11, buf + 20,
                       SG_SPIFFE_ID_MAX - 20);
    fill_long_id(buf, SG_SPIFFE_ID_MAX + 1);
    expect_invalid_bytes(buf, SG_SPIFFE_ID_MAX + 1, "2049-byte ID");
    free(buf);
}

static void test_parse_id_length_long_domain(void **state)
{
    char *buf = malloc(SG_SPIFFE_ID_MAX + 1);
    size_t prefix = strlen("spiffe://");

    (void)state;
    assert_non_null(buf);
    memcpy(buf, "spiffe://", prefix);
    memset(buf + prefix, 'd', SG_TRUST_DOMAIN_MAX);
    for (size_t at = prefix + SG_TRUST_DOMAIN_MAX; at <= SG_SPIFFE_ID_MAX; at++)
        buf[at] = (at - prefix - SG_TRUST_DOMAIN_MAX) % 64 == 0 ? '/' : 'p';
    expect_valid_bytes(buf, SG_SPIFFE_ID_MAX, buf + prefix, SG_TRUST_DOMAIN_MAX,
                       buf + prefix + SG_TRUST_DOMAIN_MAX,
                       SG_SPIFFE_ID_MAX - prefix - SG_TRUST_DOMAIN_MAX);
    expect_invalid_bytes(buf, SG_SPIFFE_ID_MAX + 1, "2049-byte ID, 255-byte trust domain");
    free(buf);
}

/* An embedded NUL must not end the scan: the bytes after it count too. */
static void test_parse_embedded_nul(void **state)
{
    static const char path_nul[] = "spiffe://trustdomain/pa\0th";
    static const char domain_nul[] = "spiffe://trust\0domain/path";
    static const char end_nul[] = "spiffe://trustdomain/path\0";
    static const char start_nul[] = "spiffe://\0trustdomain/path";
    static const char after_domain_nul[] = "spiffe://trustdomain\0";

    (void)state;
    expect_invalid_bytes(path_nul, sizeof(path_nul) - 1, "NUL in path");
    expect_invalid_bytes(domain_nul, sizeof(domain_nul) - 1, "NUL in trust domain");
    expect_invalid_bytes(end_nul, sizeof(end_nul) - 1, "NUL after path");
    expect_invalid_bytes(start_nul, sizeof(start_nul) - 1, "NUL before trust domain");
    expect_invalid_bytes(after_domain_nul, sizeof(after_domain_nul) - 1,
                         "NUL after trust domain");
}

/* Only text[0..len) is read: the bytes after it may be anything. */
static void test_parse_uses_length(void **state)
{
    static const char with_slash[] = "spiffe://trustdomain/path/";
    static const char with_junk[] = "spiffe://trustdomain/path?#!";
    static const char domain_only[] = "spiffe://trustdomain/";

    (void)state;
    expect_valid_bytes(with_slash, sizeof(with_slash) - 2, "trustdomain", 11, "/path", 5);
    expect_valid_bytes(with_junk, sizeof(with_junk) - 4, "trustdomain", 11, "/path", 5);
    expect_valid_bytes(domain_only, sizeof(domain_only) - 2, "trustdomain", 11, "", 0);
}

/*
 * Places each input so that it ends on the last byte of a readable page
 * followed by an unreadable one: a read past the slice crashes.
 */
static void test_parse_guard_page(void **state)
{
    static const struct {
        const char *text;
        bool valid;
    } cases[] = {
        { "spiffe://trustdomain/path", true },
        { "spiffe://trustdomain", true },
        { "spiffe://t", true },
        { "spiffe://trustdomain/path/", false },
        { "spiffe://trustdomain/.", false },
        { "spiffe://trustdomain/..", false },
        { "spiffe://trustdomain//", false },
        { "spiffe://", false },
        { "spiffe:/", false },
        { "spiffe", false },
        { "s", false },
        { "", false },
    };
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *map;

    (void)state;
    assert_true(page > 0);
    map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map + page, (size_t)page, PROT_NONE), 0);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].text);
        uint8_t *at = map + page - len;
        struct sg_spiffe_id id;
        struct sg_status status;
        enum sg_error err;

        memcpy(at, cases[i].text, len);
        err = parse(at, len, &id, &status);
        if (cases[i].valid && err != SG_OK)
            fail_msg("\"%s\" at a page end: expected ok, got %s", cases[i].text,
                     sg_error_name(err));
        if (!cases[i].valid && err != SG_ERR_INVALID_SPIFFE_ID)
            fail_msg("\"%s\" at a page end: expected invalid_spiffe_id, got %s", cases[i].text,
                     sg_error_name(err));
        if (len > 0 && len <= SG_TRUST_DOMAIN_MAX) {
            err = validate_trust_domain(at, len);
            (void)err; /* only the absence of a crash matters here */
        }
    }
    assert_int_equal(munmap(map, (size_t)page * 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid_forms),
        cmocka_unit_test(test_parse_empty),
        cmocka_unit_test(test_parse_bad_scheme),
        cmocka_unit_test(test_parse_missing_trust_domain),
        cmocka_unit_test(test_parse_trailing_slash),
        cmocka_unit_test(test_parse_empty_segments),
        cmocka_unit_test(test_parse_dot_segments),
        cmocka_unit_test(test_parse_dot_in_segment),
        cmocka_unit_test(test_parse_percent_encoding),
        cmocka_unit_test(test_parse_userinfo),
        cmocka_unit_test(test_parse_port),
        cmocka_unit_test(test_parse_query_fragment),
        cmocka_unit_test(test_parse_dollar),
        cmocka_unit_test(test_parse_uppercase_trust_domain),
        cmocka_unit_test(test_parse_path_case_kept),
        cmocka_unit_test(test_parse_ip_names),
        cmocka_unit_test(test_trust_domain_byte_sweep),
        cmocka_unit_test(test_trust_domain_utf8_sweep),
        cmocka_unit_test(test_path_byte_sweep),
        cmocka_unit_test(test_path_utf8_sweep),
        cmocka_unit_test(test_validate_byte_sweep),
        cmocka_unit_test(test_validate_forms),
        cmocka_unit_test(test_validate_length),
        cmocka_unit_test(test_parse_trust_domain_length),
        cmocka_unit_test(test_parse_id_length),
        cmocka_unit_test(test_parse_id_length_long_domain),
        cmocka_unit_test(test_parse_embedded_nul),
        cmocka_unit_test(test_parse_uses_length),
        cmocka_unit_test(test_parse_guard_page),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
