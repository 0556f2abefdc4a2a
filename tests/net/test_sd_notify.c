/*
 * Tests of net/sd_notify.c against a real AF_UNIX datagram socket that
 * the test binds: address forms, the watchdog's environment checks, and
 * that a worker whose heartbeat stands still stops the watchdog pings.
 */
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/sd_notify.h"

struct receiver {
    int fd;
    char name[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* as NOTIFY_SOCKET spells it */
};

/* Binds a datagram socket at a file path, or in the abstract namespace. */
static void receiver_open(struct receiver *receiver, bool abstract)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    socklen_t length;

    snprintf(receiver->name, sizeof(receiver->name), "%s/svidgate-notify-test-%ld",
             abstract ? "@" : "/tmp", (long)getpid());
    memcpy(address.sun_path, receiver->name, strlen(receiver->name));
    length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(receiver->name));
    if (abstract)
        address.sun_path[0] = '\0';
    else
        unlink(receiver->name);

    receiver->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(receiver->fd >= 0);
    assert_int_equal(bind(receiver->fd, (struct sockaddr *)&address, length), 0);
    setenv("NOTIFY_SOCKET", receiver->name, 1);
}

static void receiver_close(struct receiver *receiver)
{
    close(receiver->fd);
    if (receiver->name[0] == '/')
        unlink(receiver->name);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

/* Returns the next datagram as a string, or "" when none is waiting. */
static const char *receive(struct receiver *receiver)
{
    static char message[256];
    ssize_t got = recv(receiver->fd, message, sizeof(message) - 1, 0);

    message[got > 0 ? got : 0] = '\0';
    return message;
}

static void path_socket_receives_message(void **state)
{
    struct receiver receiver;
    struct sg_notify notify;

    (void)state;
    receiver_open(&receiver, false);
    sg_notify_open(&notify, 1);
    sg_notify_send(&notify, "READY=1\nSTATUS=serving");
    assert_string_equal(receive(&receiver), "READY=1\nSTATUS=serving");
    sg_notify_close(&notify);
    receiver_close(&receiver);
}

static void abstract_socket_receives_message(void **state)
{
    struct receiver receiver;
    struct sg_notify notify;

    (void)state;
    receiver_open(&receiver, true);
    sg_notify_open(&notify, 1);
    sg_notify_send(&notify, "STOPPING=1");
    assert_string_equal(receive(&receiver), "STOPPING=1");
    sg_notify_close(&notify);
    receiver_close(&receiver);
}

static void unset_socket_is_inert(void **state)
{
    struct sg_notify notify;
    uint64_t beats[1] = { 1 };

    (void)state;
    unsetenv("NOTIFY_SOCKET");
    setenv("WATCHDOG_USEC", "2000000", 1);
    sg_notify_open(&notify, 1);
    assert_int_equal(notify.fd, -1);
    assert_int_equal(sg_notify_watchdog_interval(&notify), 0);
    assert_false(sg_notify_watchdog_check(&notify, beats));
    sg_notify_send(&notify, "READY=1"); /* must not crash */
    sg_notify_close(&notify);
    unsetenv("WATCHDOG_USEC");
}

static void relative_socket_path_rejected(void **state)
{
    struct sg_notify notify;

    (void)state;
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    sg_notify_open(&notify, 1);
    assert_int_equal(notify.fd, -1);
    sg_notify_close(&notify);
    unsetenv("NOTIFY_SOCKET");
}

static void watchdog_interval_is_half(void **state)
{
    struct receiver receiver;
    struct sg_notify notify;

    (void)state;
    receiver_open(&receiver, false);
    setenv("WATCHDOG_USEC", "3000000", 1);
    sg_notify_open(&notify, 2);
    assert_int_equal(sg_notify_watchdog_interval(&notify), 1500000);
    sg_notify_close(&notify);
    receiver_close(&receiver);
}

static void watchdog_for_other_pid_ignored(void **state)
{
    struct receiver receiver;
    struct sg_notify notify;
    char pid[32];

    (void)state;
    receiver_open(&receiver, false);
    setenv("WATCHDOG_USEC", "3000000", 1);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    sg_notify_open(&notify, 1);
    assert_int_equal(sg_notify_watchdog_interval(&notify), 0);
    sg_notify_close(&notify);
    receiver_close(&receiver);
}

static void watchdog_invalid_usec_ignored(void **state)
{
    struct receiver receiver;
    struct sg_notify notify;

    (void)state;
    receiver_open(&receiver, false);
    setenv("WATCHDOG_USEC", "12abc", 1);
    sg_notify_open(&notify, 1);
    assert_int_equal(sg_notify_watchdog_interval(&notify), 0);
    sg_notify_close(&notify);
    receiver_close(&receiver);
}

static void stuck_worker_stops_pings(void **state)
{
    struct receiver receiver;
    struct sg_notify notify;
    uint64_t beats[2] = { 0, 0 };

    (void)state;
    receiver_open(&receiver, false);
    setenv("WATCHDOG_USEC", "3000000", 1);
    sg_notify_open(&notify, 2);

    /* Before either worker has turned its loop once: no ping. */
    assert_false(sg_notify_watchdog_check(&notify, beats));
    assert_string_equal(receive(&receiver), "");

    beats[0] = 5;
    beats[1] = 3;
    assert_true(sg_notify_watchdog_check(&notify, beats));
    assert_string_equal(receive(&receiver), "WATCHDOG=1");

    /* Worker 1 is stuck: worker 0 alone does not earn a ping. */
    beats[0] = 9;
    assert_false(sg_notify_watchdog_check(&notify, beats));
    assert_string_equal(receive(&receiver), "");

    beats[1] = 4;
    assert_true(sg_notify_watchdog_check(&notify, beats));
    assert_string_equal(receive(&receiver), "WATCHDOG=1");

    sg_notify_close(&notify);
    receiver_close(&receiver);
}

static void heartbeats_advanced_needs_every_worker(void **state)
{
    const uint64_t pinged[3] = { 1, 2, 3 };
    const uint64_t all[3] = { 2, 3, 4 };
    const uint64_t one_stuck[3] = { 2, 2, 4 };

    (void)state;
    assert_true(sg_heartbeats_advanced(pinged, all, 3));
    assert_false(sg_heartbeats_advanced(pinged, one_stuck, 3));
    assert_true(sg_heartbeats_advanced(pinged, one_stuck, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(path_socket_receives_message),
        cmocka_unit_test(abstract_socket_receives_message),
        cmocka_unit_test(unset_socket_is_inert),
        cmocka_unit_test(relative_socket_path_rejected),
        cmocka_unit_test(watchdog_interval_is_half),
        cmocka_unit_test(watchdog_for_other_pid_ignored),
        cmocka_unit_test(watchdog_invalid_usec_ignored),
        cmocka_unit_test(stuck_worker_stops_pings),
        cmocka_unit_test(heartbeats_advanced_needs_every_worker),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
