#include "core/config_lines.h"

#include <string.h>

static bool is_blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static bool is_key_byte(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Length of the valid UTF-8 sequence at `text`, or 0 (RFC 3629, section 4). */
static size_t utf8_sequence(struct sg_slice text)
{
    uint8_t lead = text.ptr[0];
    size_t len;
    uint8_t min = 0x80;
    uint8_t max = 0xbf;

    if (lead < 0x80)
        return 1;
    if (lead >= 0xc2 && lead <= 0xdf)
        len = 2;
    else if (lead >= 0xe0 && lead <= 0xef)
        len = 3;
    else if (lead >= 0xf0 && lead <= 0xf4)
        len = 4;
    else
        return 0;

    /* The second byte's range excludes overlong forms, surrogates and
     * code points above U+10FFFF. */
    if (lead == 0xe0)
        min = 0xa0;
    else if (lead == 0xed)
        max = 0x9f;
    else if (lead == 0xf0)
        min = 0x90;
    else if (lead == 0xf4)
        max = 0x8f;
    if (text.len < len || text.ptr[1] < min || text.ptr[1] > max)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (text.ptr[i] < 0x80 || text.ptr[i] > 0xbf)
            return 0;
    }
    return len;
}

/* Checks the bytes of one line, its line end removed. */
static enum sg_error check_line_bytes(struct sg_slice line, struct sg_status *status)
{
    size_t i = 0;

    if (line.len > SG_CONFIG_LINE_MAX)
        return sg_fail(status, SG_ERR_MALFORMED, "the line is %zu bytes long; the maximum is %d",
                       line.len, SG_CONFIG_LINE_MAX);
    while (i < line.len) {
        uint8_t c = line.ptr[i];
        size_t len = utf8_sequence(sg_slice_make(line.ptr + i, line.len - i));

        if (len == 0)
            return sg_fail(status, SG_ERR_MALFORMED, "byte %zu of the line is not valid UTF-8",
                           i + 1);
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return sg_fail(status, SG_ERR_MALFORMED,
                           "byte %zu of the line is the control character 0x%02x", i + 1, c);
        i += len;
    }
    return SG_OK;
}

/* Splits `key = value`; the line is not blank or a comment. */
static enum sg_error split_entry(struct sg_slice line, struct sg_config_entry *entry,
                                 struct sg_status *status)
{
    size_t key_end = 0;
    size_t pos;

    while (key_end < line.len && is_key_byte(line.ptr[key_end]))
        key_end++;
    pos = key_end;
    while (pos < line.len && is_blank(line.ptr[pos]))
        pos++;
    if (key_end == 0 || pos == line.len || line.ptr[pos] != '=')
        return sg_fail(status, SG_ERR_MALFORMED,
                       "expected \"key = value\" with a key of lowercase letters, digits and "
                       "'-'");
    pos++;
    while (pos < line.len && is_blank(line.ptr[pos]))
        pos++;
    while (line.len > pos && is_blank(line.ptr[line.len - 1]))
        line.len--;

    entry->key = sg_slice_make(line.ptr, key_end);
    entry->value = sg_slice_make(line.ptr + pos, line.len - pos);
    if (entry->value.len == 0)
        return sg_fail(status, SG_ERR_MALFORMED, "key \"%.*s\" has no value", (int)key_end,
                       (const char *)line.ptr);
    return SG_OK;
}

void sg_config_reader_init(struct sg_config_reader *reader, struct sg_slice text)
{
    reader->text = text;
    reader->pos = 0;
    reader->line = 0;
}

enum sg_config_step sg_config_next_entry(struct sg_config_reader *reader,
                                         struct sg_config_entry *entry, struct sg_status *status)
{
    if (reader->text.len > SG_CONFIG_FILE_MAX) {
        sg_fail(status, SG_ERR_MALFORMED, "the file is %zu bytes long; the maximum is %d",
                reader->text.len, SG_CONFIG_FILE_MAX);
        return SG_CONFIG_ERROR;
    }

    while (reader->pos < reader->text.len) {
        struct sg_cursor cursor = sg_cursor_make(reader->text);
        struct sg_slice line;
        size_t first = 0;

        cursor.pos = reader->pos;
        if (!sg_cursor_read_until(&cursor, '\n', &line)) {
            line = sg_cursor_rest(&cursor);
            cursor.pos = reader->text.len;
        }
        reader->pos = cursor.pos;
        reader->line++;

        if (line.len > 0 && line.ptr[line.len - 1] == '\r')
            line.len--;
        /* Some editors start a UTF-8 file with U+FEFF; name it, since the
         * "key = value" error would point at an invisible character. */
        if (reader->line == 1 && line.len >= 3 && memcmp(line.ptr, "\xef\xbb\xbf", 3) == 0) {
            sg_fail(status, SG_ERR_MALFORMED,
                    "the file starts with a UTF-8 byte order mark; save it without one");
            return SG_CONFIG_ERROR;
        }
        if (check_line_bytes(line, status) != SG_OK)
            return SG_CONFIG_ERROR;

        while (first < line.len && is_blank(line.ptr[first]))
            first++;
        if (first == line.len || line.ptr[first] == '#')
            continue;

        entry->line = reader->line;
        if (split_entry(sg_slice_make(line.ptr + first, line.len - first), entry, status) != SG_OK)
            return SG_CONFIG_ERROR;
        return SG_CONFIG_ENTRY;
    }
    return SG_CONFIG_END;
}
