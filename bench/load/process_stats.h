/*
 * CPU time and resident memory of another process, read from /proc, for
 * server CPU per request and memory growth.
 */
#ifndef SVIDLOAD_PROCESS_STATS_H
#define SVIDLOAD_PROCESS_STATS_H

#include <stdint.h>
#include <sys/types.h>

/* User plus system CPU seconds of every thread of `pid` (fields 14 and 15
 * of /proc/PID/stat); -1 when the file cannot be read. */
double process_cpu_seconds(pid_t pid);

/* VmRSS of /proc/PID/status in KiB; 0 when it cannot be read. */
uint64_t process_rss_kib(pid_t pid);

#endif
