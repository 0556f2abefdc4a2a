/* Tests of net/listen_socket.c: HOST:PORT parsing and SO_REUSEPORT binding. */
#include "tests/testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "net/listen_socket.h"

static void check_parse_format(const char *text, const char *expected)
{
    struct sg_listen_address address;
    char message[256];
    char formatted[SG_LISTEN_ADDRESS_TEXT_MAX];

    if (!sg_listen_address_parse(text, &address, message, sizeof(message)))
        fail_msg("'%s' rejected: %s", text, message);
    sg_listen_address_format(&address, formatted, sizeof(formatted));
    assert_string_equal(formatted, expected);
}

static void check_rejected(const char *text)
{
    struct sg_listen_address address;
    char message[256] = "";

    if (sg_listen_address_parse(text, &address, message, sizeof(message)))
        fail_msg("'%s' accepted", text);
    assert_non_null(strstr(message, text));
}

static void address_ipv4_parsed(void **state)
{
    (void)state;
    check_parse_format("127.0.0.1:8080", "127.0.0.1:8080");
    check_parse_format("0.0.0.0:0", "0.0.0.0:0");
    check_parse_format("127.0.0.1:65535", "127.0.0.1:65535");
}

static void address_ipv6_parsed(void **state)
{
    (void)state;
    check_parse_format("[::1]:8443", "[::1]:8443");
}

static void address_invalid_rejected(void **state)
{
    (void)state;
    check_rejected("127.0.0.1");
    check_rejected("127.0.0.1:");
    check_rejected(":8080");
    check_rejected("127.0.0.1:65536");
    check_rejected("127.0.0.1:80a");
    check_rejected("127.0.0.1:-1");
    check_rejected("127.0.0.1:123456");
    check_rejected("[]:80");
}

static void port_zero_shared_by_reuseport(void **state)
{
    struct sg_listen_address address;
    struct sg_listen_address bound;
    char message[256];
    int first;
    int second;
    (void)state;

    assert_true(sg_listen_address_parse("127.0.0.1:0", &address, message, sizeof(message)));
    first = sg_listen_socket_open(&address, message, sizeof(message));
    if (first < 0)
        fail_msg("%s", message);
    assert_true(sg_listen_address_of(first, &bound));
    assert_int_not_equal(ntohs(((struct sockaddr_in *)&bound.addr)->sin_port), 0);

    second = sg_listen_socket_open(&bound, message, sizeof(message));
    if (second < 0)
        fail_msg("second bind to the same port failed: %s", message);

    close(second);
    close(first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(address_ipv4_parsed),
        cmocka_unit_test(address_ipv6_parsed),
        cmocka_unit_test(address_invalid_rejected),
        cmocka_unit_test(port_zero_shared_by_reuseport),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
