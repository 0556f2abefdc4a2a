#include "net/log.h"

#include <stdarg.h>
#include <stdio.h>

/* Long enough for every line the server writes; longer lines are cut. */
#define LOG_LINE_MAX 1024

static const char *level_name(enum sg_log_level level)
{
    switch (level) {
    case SG_LOG_INFO:
        return "info";
    case SG_LOG_WARN:
        return "warn";
    case SG_LOG_ERROR:
        return "error";
    }
    return "error";
}

/* Clamps a snprintf result to the bytes that fit in `room`, NUL excluded. */
static size_t fitted(int written, size_t room)
{
    if (written < 0)
        return 0;
    return (size_t)written < room ? (size_t)written : room - 1;
}

void sg_log(enum sg_log_level level, const char *message, const char *fields, ...)
{
    /* The last two bytes are kept for the newline and the NUL. */
    char line[LOG_LINE_MAX];
    size_t room = sizeof(line) - 1;
    size_t len = fitted(snprintf(line, room, "level=%s msg=\"%s\"", level_name(level), message), room);
    va_list args;

    if (fields[0] != '\0' && len + 1 < room - 1) {
        line[len++] = ' ';
        va_start(args, fields);
        len += fitted(vsnprintf(line + len, room - len, fields, args), room - len);
        va_end(args);
    }

    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}

const char *sg_log_escape(const char *text, char *buffer, unsigned size)
{
    unsigned used = 0;

    for (; *text != '\0' && used + 3 < size; text++) {
        unsigned char c = (unsigned char)*text;

        if (c == '"' || c == '\\')
            buffer[used++] = '\\';
        buffer[used++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    buffer[used] = '\0';
    return buffer;
}
