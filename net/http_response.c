#include "net/http_response.h"

#include <stdlib.h>

#include <jansson.h>

void sg_http_date_update(struct sg_http_date *date, time_t now)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm utc;

    if (date->text[0] != '\0' && date->second == now)
        return;

    /* Names are spelled out: strftime's %a and %b would follow the locale.
     * The modulo operations only show the compiler each field's width. */
    if (gmtime_r(&now, &utc) == NULL || utc.tm_year + 1900 > 9999 || utc.tm_year + 1900 < 0) {
        snprintf(date->text, sizeof(date->text), "Thu, 01 Jan 1970 00:00:00 GMT");
    } else {
        snprintf(date->text, sizeof(date->text), "%s, %02u %s %04u %02u:%02u:%02u GMT",
                 days[utc.tm_wday], (unsigned)utc.tm_mday % 100u, months[utc.tm_mon],
                 (unsigned)(utc.tm_year + 1900) % 10000u, (unsigned)utc.tm_hour % 100u,
                 (unsigned)utc.tm_min % 100u, (unsigned)utc.tm_sec % 100u);
    }
    date->second = now;
}

const char *sg_http_reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

const char *sg_http_status_error_code(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 411: return "length_required";
    case 413: return "content_too_large";
    case 414: return "uri_too_long";
    case 431: return "header_fields_too_large";
    case 501: return "not_implemented";
    case 503: return "unavailable";
    case 505: return "http_version_not_supported";
    default: return "internal_error";
    }
}

static const char *connection_header(const struct sg_http_response *response)
{
    if (response->close)
        return "Connection: close\r\n";
    if (response->keep_alive_http10)
        return "Connection: keep-alive\r\n";
    return "";
}

bool sg_http_response_write(struct sg_byte_buffer *out, const struct sg_http_response *response,
                            const struct sg_http_date *date)
{
    size_t mark = out->len;
    bool ok = sg_byte_buffer_appendf(out,
                                     "HTTP/1.1 %d %s\r\n"
                                     "Date: %s\r\n"
                                     "Content-Length: %zu\r\n"
                                     "%s%s%s"
                                     "%s%s%s"
                                     "%s%s"
                                     "\r\n",
                                     response->status, sg_http_reason_phrase(response->status),
                                     date->text, response->body.len,
                                     response->content_type ? "Content-Type: " : "",
                                     response->content_type ? response->content_type : "",
                                     response->content_type ? "\r\n" : "",
                                     response->allow ? "Allow: " : "",
                                     response->allow ? response->allow : "",
                                     response->allow ? "\r\n" : "",
                                     response->headers ? response->headers : "",
                                     connection_header(response));

    if (ok && !response->omit_body)
        ok = sg_byte_buffer_append(out, response->body.ptr, response->body.len);

    /* A response is written whole or not at all. */
    if (!ok)
        out->len = mark;
    return ok;
}

char *sg_http_error_body(int status, const char *message)
{
    json_t *object = json_pack("{s:s, s:s}", "error", sg_http_status_error_code(status),
                               "message", message);
    char *body = object ? json_dumps(object, JSON_COMPACT) : NULL;

    json_decref(object);
    return body;
}

bool sg_http_error_write(struct sg_byte_buffer *out, int status, const char *message,
                         const char *allow, bool close, const struct sg_http_date *date)
{
    char *body = sg_http_error_body(status, message);
    bool ok = false;

    if (body != NULL) {
        struct sg_http_response response = {
            .status = status,
            .content_type = "application/json",
            .body = sg_slice_cstr(body),
            .allow = allow,
            .close = close,
        };
        ok = sg_http_response_write(out, &response, date);
    }

    free(body);
    return ok;
}

bool sg_http_continue_write(struct sg_byte_buffer *out)
{
    static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";

    return sg_byte_buffer_append(out, interim, sizeof(interim) - 1);
}
