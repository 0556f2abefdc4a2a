/*
 * sd_notify(3) over a datagram socket. The message format and the
 * environment variables are systemd's documented interface: one
 * "VARIABLE=value" per line, sent as one datagram to $NOTIFY_SOCKET,
 * which is a file system path or, with a leading '@', an abstract name.
 */
#include "net/sd_notify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/log.h"

/* Parses a decimal $WATCHDOG_USEC or $WATCHDOG_PID; -1 when unset or invalid. */
static int64_t read_env_number(const char *name)
{
    const char *text = getenv(name);
    char *end = NULL;
    long long value;

    if (text == NULL || *text == '\0')
        return -1;
    errno = 0;
    value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 0)
        return -1;
    return value;
}

/* Fills `address` from $NOTIFY_SOCKET; returns its length, or 0 when it does not fit. */
static socklen_t notify_address(const char *path, struct sockaddr_un *address)
{
    size_t len = strlen(path);

    if (len < 2 || len >= sizeof(address->sun_path) || (path[0] != '/' && path[0] != '@'))
        return 0;

    memset(address, 0, sizeof(*address));
    address->sun_family = AF_UNIX;
    memcpy(address->sun_path, path, len);
    if (path[0] == '@')
        address->sun_path[0] = '\0'; /* abstract namespace: no trailing NUL in the length */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

static int connect_socket(const char *path)
{
    struct sockaddr_un address;
    socklen_t length = notify_address(path, &address);
    int fd;

    if (length == 0) {
        sg_log(SG_LOG_WARN, "notify disabled", "error=\"NOTIFY_SOCKET is not an absolute path "
                                               "or @abstract name shorter than 108 bytes\"");
        return -1;
    }

    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)&address, length) != 0) {
        sg_log(SG_LOG_WARN, "notify disabled", "error=\"connecting to NOTIFY_SOCKET failed: %s\"",
               strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Reads $WATCHDOG_USEC unless $WATCHDOG_PID names another process. */
static int64_t watchdog_usec_for_us(void)
{
    int64_t usec = read_env_number("WATCHDOG_USEC");
    int64_t pid = read_env_number("WATCHDOG_PID");

    if (usec <= 0)
        return 0;
    if (pid >= 0 && pid != (int64_t)getpid())
        return 0;
    return usec;
}

void sg_notify_open(struct sg_notify *notify, size_t worker_count)
{
    const char *path = getenv("NOTIFY_SOCKET");

    memset(notify, 0, sizeof(*notify));
    notify->fd = -1;
    if (path == NULL || *path == '\0')
        return;

    notify->fd = connect_socket(path);
    if (notify->fd < 0)
        return;

    notify->watchdog_usec = watchdog_usec_for_us();
    if (notify->watchdog_usec == 0)
        return;

    /* Zeroed beats count as "not advanced", so the first ping waits for
     * every worker's first loop turn. */
    notify->pinged_beats = calloc(worker_count, sizeof(uint64_t));
    notify->current_beats = calloc(worker_count, sizeof(uint64_t));
    if (notify->pinged_beats == NULL || notify->current_beats == NULL) {
        sg_log(SG_LOG_WARN, "watchdog disabled", "error=\"out of memory\"");
        notify->watchdog_usec = 0;
        return;
    }
    notify->worker_count = worker_count;
    sg_log(SG_LOG_INFO, "watchdog enabled", "interval_usec=%lld",
           (long long)sg_notify_watchdog_interval(notify));
}

void sg_notify_close(struct sg_notify *notify)
{
    if (notify->fd >= 0)
        close(notify->fd);
    free(notify->pinged_beats);
    free(notify->current_beats);
    memset(notify, 0, sizeof(*notify));
    notify->fd = -1;
}

void sg_notify_send(const struct sg_notify *notify, const char *message)
{
    if (notify->fd < 0)
        return;

    /* A full or vanished receiver must not stop the server, so a failed
     * send is logged and dropped. */
    if (send(notify->fd, message, strlen(message), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        sg_log(SG_LOG_WARN, "notify failed", "error=\"%s\"", strerror(errno));
}

int64_t sg_notify_watchdog_interval(const struct sg_notify *notify)
{
    return notify->fd >= 0 ? notify->watchdog_usec / 2 : 0;
}

bool sg_heartbeats_advanced(const uint64_t *pinged, const uint64_t *current, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (current[i] == pinged[i])
            return false;
    }
    return true;
}

bool sg_notify_watchdog_check(struct sg_notify *notify, const uint64_t *heartbeats)
{
    if (sg_notify_watchdog_interval(notify) == 0)
        return false;
    if (!sg_heartbeats_advanced(notify->pinged_beats, heartbeats, notify->worker_count))
        return false;

    memcpy(notify->pinged_beats, heartbeats, notify->worker_count * sizeof(uint64_t));
    sg_notify_send(notify, "WATCHDOG=1");
    return true;
}
