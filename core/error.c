/* Names and messages of enum sg_error, and the status helpers. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const error_names[SG_ERROR_COUNT] = {
#define SG_ERROR_NAME(id, name, message) [id] = name,
    SG_ERRORS(SG_ERROR_NAME)
#undef SG_ERROR_NAME
};

static const char *const error_messages[SG_ERROR_COUNT] = {
#define SG_ERROR_MESSAGE(id, name, message) [id] = message,
    SG_ERRORS(SG_ERROR_MESSAGE)
#undef SG_ERROR_MESSAGE
};

const char *sg_error_name(enum sg_error err)
{
    if ((unsigned)err >= SG_ERROR_COUNT)
        return "internal_error";
    return error_names[err];
}

const char *sg_error_default_message(enum sg_error err)
{
    if ((unsigned)err >= SG_ERROR_COUNT)
        return error_messages[SG_ERR_INTERNAL];
    return error_messages[err];
}

/* Returns the length of a UTF-8 sequence starting with `lead`, or 1. */
static size_t utf8_sequence_length(unsigned char lead)
{
    if (lead >= 0xf0)
        return 4;
    if (lead >= 0xe0)
        return 3;
    if (lead >= 0xc0)
        return 2;
    return 1;
}

/*
 * Cuts a message that vsnprintf truncated back to a whole UTF-8
 * character. Messages quote JSON strings (a kid, say), and a character
 * cut in half would make the result object invalid JSON.
 */
static void trim_partial_character(char *message, size_t len)
{
    size_t start = len;

    while (start > 0 && ((unsigned char)message[start - 1] & 0xc0) == 0x80)
        start--;
    if (start > 0 && start - 1 + utf8_sequence_length((unsigned char)message[start - 1]) > len)
        message[start - 1] = '\0';
}

enum sg_error sg_fail(struct sg_status *status, enum sg_error err, const char *fmt, ...)
{
    va_list args;
    int written;

    status->error = err;
    va_start(args, fmt);
    written = vsnprintf(status->message, sizeof(status->message), fmt, args);
    va_end(args);

    if (written >= (int)sizeof(status->message))
        trim_partial_character(status->message, sizeof(status->message) - 1);
    return err;
}

void sg_status_ok(struct sg_status *status)
{
    status->error = SG_OK;
    snprintf(status->message, sizeof(status->message), "%s", error_messages[SG_OK]);
}
