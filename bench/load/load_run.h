/*
 * One bounded load run against one HTTP/1.1 server: N keep-alive
 * connections driven from one thread with epoll.
 *
 * Closed loop (rate 0): each connection sends its next request as soon
 * as the previous response is read, so the run measures maximum
 * throughput. Open loop (rate R): request i is due at start + i / R, the
 * next idle connection sends it, and its latency is measured from that
 * due time rather than from the moment it was sent. A server that
 * stalls therefore shows the whole delay its queue of due requests saw,
 * instead of the generator quietly waiting with it (coordinated omission).
 */
#ifndef SVIDLOAD_LOAD_RUN_H
#define SVIDLOAD_LOAD_RUN_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench/load/histogram.h"
#include "bench/load/request_set.h"

#define LOAD_MAX_CONNECTIONS 4096
#define LOAD_MAX_SECONDS 3600.0
#define LOAD_MAX_RSS_SAMPLES 4096

struct load_options {
    struct sockaddr_in address;
    unsigned connections;
    /* Measured seconds, after `warmup_seconds` that are not recorded. */
    double duration_seconds;
    double warmup_seconds;
    /* Stop sending after this many requests, warm-up included (0: no cap). */
    uint64_t max_requests;
    /* Requests per second for the open loop; 0 runs the closed loop. */
    double rate;
    /* A response with another status counts as unexpected. */
    int expect_status;
    /* When set, a body without this substring counts as unexpected. */
    const char *expect_body;
    size_t max_body;
    /* When above 0, the server's CPU time and resident memory are read
     * from /proc/PID at the edges of the measured window. */
    pid_t server_pid;
    /* Seconds between resident-memory samples of server_pid; 0 = none. */
    double rss_interval_seconds;
};

struct load_result {
    struct histogram *latency;
    uint64_t completed;
    uint64_t unexpected_status;
    uint64_t unexpected_body;
    uint64_t invalid_responses;
    uint64_t connection_errors;
    uint64_t reconnects;
    /* Requests without a response when the run ended: in flight, or (in
     * the open loop) due but not sent because every connection was busy. */
    uint64_t unfinished;
    double measured_seconds;
    /* Server user + system CPU seconds over the measured window, or -1. */
    double server_cpu_seconds;
    /* Server VmRSS in KiB at the start and end of the window, or 0. */
    uint64_t rss_start_kib;
    uint64_t rss_end_kib;
    uint64_t rss_max_kib;
    /* (seconds since the window started, VmRSS KiB) pairs. */
    double rss_sample_seconds[LOAD_MAX_RSS_SAMPLES];
    uint64_t rss_sample_kib[LOAD_MAX_RSS_SAMPLES];
    size_t rss_samples;
    /* Last invalid-response reason, for the report. */
    const char *last_error;
};

/* Run the load; returns -1 with a message in `error` when it cannot
 * start (no connection could be made). Per-request failures are counted
 * in `result`, not returned. */
int load_run(const struct load_options *options, const struct request_set *requests,
             struct load_result *result, char *error, size_t error_size);

#endif
