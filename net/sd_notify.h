/*
 * The systemd service notification protocol (sd_notify(3)), written out
 * so that svidgate needs no libsystemd: datagrams such as "READY=1" sent
 * to the AF_UNIX socket named by $NOTIFY_SOCKET, and the watchdog that
 * $WATCHDOG_USEC asks for. Without $NOTIFY_SOCKET every call does nothing.
 *
 * The watchdog proves the workers alive, not only the main thread: the
 * main thread sends WATCHDOG=1 only when every worker's loop heartbeat
 * has advanced since the previous ping, so a stuck worker stops the
 * pings and systemd restarts the service.
 */
#ifndef SVIDGATE_NET_SD_NOTIFY_H
#define SVIDGATE_NET_SD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sg_notify {
    int fd;                  /* -1 when $NOTIFY_SOCKET is unset or unusable */
    int64_t watchdog_usec;   /* from $WATCHDOG_USEC; 0 when the watchdog is off */
    uint64_t *pinged_beats;  /* each worker's heartbeat at the last ping */
    uint64_t *current_beats; /* scratch for the heartbeats read at a check */
    size_t worker_count;
};

/*
 * Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID and connects the
 * socket; a leading '@' names an abstract socket. A watchdog meant for
 * another process ($WATCHDOG_PID differs from ours) is ignored. Logs and
 * disables notification when the socket cannot be used; never fails the
 * start. Call sg_notify_close() either way.
 */
void sg_notify_open(struct sg_notify *notify, size_t worker_count);

void sg_notify_close(struct sg_notify *notify);

/* Sends one message of newline-separated assignments, e.g. "READY=1\nSTATUS=serving". */
void sg_notify_send(const struct sg_notify *notify, const char *message);

/* The interval between watchdog checks, in microseconds: half of
 * $WATCHDOG_USEC, as sd_watchdog_enabled(3) recommends; 0 when off. */
int64_t sg_notify_watchdog_interval(const struct sg_notify *notify);

/*
 * Sends WATCHDOG=1 when each of `heartbeats` differs from its value at
 * the previous ping, and remembers them; otherwise sends nothing.
 * Returns whether it pinged. `heartbeats` has worker_count entries.
 */
bool sg_notify_watchdog_check(struct sg_notify *notify, const uint64_t *heartbeats);

/* Returns whether every current[i] differs from pinged[i], i < count. */
bool sg_heartbeats_advanced(const uint64_t *pinged, const uint64_t *current, size_t count);

#endif
