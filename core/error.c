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

enum sg_error sg_fail(struct sg_status *status, enum sg_error err, const char *fmt, ...)
{
    va_list args;

    status->error = err;
    va_start(args, fmt);
    vsnprintf(status->message, sizeof(status->message), fmt, args);
    va_end(args);
    return err;
}

void sg_status_ok(struct sg_status *status)
{
    status->error = SG_OK;
    snprintf(status->message, sizeof(status->message), "%s", error_messages[SG_OK]);
}
