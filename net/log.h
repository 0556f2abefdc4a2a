/*
 * Structured log lines for the server: one line per event on standard
 * error, in key=value form, such as
 *
 *     level=info msg="listening" addr=127.0.0.1:8080 workers=2
 *
 * Each line is written with one stdio call, so lines from different
 * threads do not interleave. Callers never pass a credential, signature
 * or key; count repeated events instead of logging each one.
 */
#ifndef SVIDGATE_NET_LOG_H
#define SVIDGATE_NET_LOG_H

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

#endif
