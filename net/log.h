/*
 * Structured log lines for the server: one line per event on standard
 * error, in key=value form, such as
 *
 *     level=info msg="listening" addr=127.0.0.1:8080 workers=2
 *
 * Each line is written with one stdio call, so lines from different
 * threads do not interleave. Callers never pass a credential, signature
 * or key: a line about a credential carries its sg_log_fingerprint().
 * An event that can repeat once per request goes through
 * sg_log_admit(), which rate-limits it.
 */
#ifndef SVIDGATE_NET_LOG_H
#define SVIDGATE_NET_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/slice.h"

/* Lines of one (event, key) pair written per interval before the rest
 * are counted instead; the interval is in seconds. */
#define SG_LOG_REPEATS_MAX 10
#define SG_LOG_REPEAT_INTERVAL 60

/* Hex characters of a fingerprint (the first 8 bytes of SHA-256) and its NUL. */
#define SG_LOG_FINGERPRINT_SIZE 17

enum sg_log_level {
    SG_LOG_INFO,
    SG_LOG_WARN,
    SG_LOG_ERROR,
};

/*
 * Writes `level=... msg="message"` followed by the printf-style `fields`
 * (already in key=value form, space-separated). `message` is a fixed
 * event name and must not contain a double quote.
 */
void sg_log(enum sg_log_level level, const char *message, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Copies `text` into `buffer` for use inside a quoted log value: double
 * quotes and backslashes are escaped and control bytes become '?'.
 * Returns `buffer`.
 */
const char *sg_log_escape(const char *text, char *buffer, unsigned size);

/*
 * Decides whether a line of `event` (a fixed event name, compared by
 * address) for `key` may be written: the first SG_LOG_REPEATS_MAX per
 * SG_LOG_REPEAT_INTERVAL seconds may. Later ones are counted, and once
 * the interval has ended a summary line
 *
 *     level=... msg="<event>" key=<key> suppressed=<count> interval_seconds=60
 *
 * is written, by the next call for the same pair or by
 * sg_log_flush_suppressed(). `key` is cut at 63 bytes and must not
 * contain spaces or quotes. Thread-safe (one mutex).
 */
bool sg_log_admit(enum sg_log_level level, const char *event, const char *key);

/* Writes the summary lines of every interval that has ended; call it periodically. */
void sg_log_flush_suppressed(void);

/*
 * Sets the rate limit and the clock (seconds) that sg_log_admit() uses,
 * and clears every counted pair. For tests; NULL restores
 * CLOCK_MONOTONIC.
 */
void sg_log_set_rate_limit(unsigned repeats, int64_t interval, int64_t (*clock)(void));

/*
 * Writes the fingerprint of a credential to `out`: the first 8 bytes of
 * its SHA-256 in lowercase hex. It identifies a credential across log
 * lines without revealing it. Returns `out`; "-" when hashing failed.
 */
const char *sg_log_fingerprint(struct sg_slice credential, char out[SG_LOG_FINGERPRINT_SIZE]);

#endif
