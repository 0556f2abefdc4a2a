/* Length-aware helpers over jansson values. */
#ifndef SVIDGATE_CORE_JSON_UTIL_H
#define SVIDGATE_CORE_JSON_UTIL_H

#include <stdbool.h>

#include <jansson.h>

#include "core/slice.h"

/*
 * Flags for every parse of untrusted JSON: duplicate member names are
 * rejected, and so is anything after the top-level value. Without
 * JSON_ALLOW_NUL, jansson also rejects "\u0000" inside strings.
 */
#define SG_JSON_FLAGS JSON_REJECT_DUPLICATES

/* The bytes of a JSON string (empty slice for a non-string). */
static inline struct sg_slice sg_json_string_slice(const json_t *value)
{
    if (!json_is_string(value))
        return sg_slice_make(NULL, 0);
    return sg_slice_make(json_string_value(value), json_string_length(value));
}

/* True when value is a JSON string equal to the literal `text`. */
static inline bool sg_json_string_is(const json_t *value, const char *text)
{
    return json_is_string(value) && sg_slice_eq_cstr(sg_json_string_slice(value), text);
}

/*
 * Describes a parse failure without quoting the input: jansson's own
 * error text can contain bytes of the document, which may be claims.
 */
static inline const char *sg_json_error_reason(const json_error_t *error)
{
    switch (json_error_code(error)) {
    case json_error_duplicate_key:
        return "has a duplicate member name";
    case json_error_end_of_input_expected:
        return "has data after the JSON value";
    case json_error_invalid_utf8:
        return "is not valid UTF-8";
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return "contains a NUL character";
    case json_error_stack_overflow:
        return "is nested too deeply";
    case json_error_numeric_overflow:
        return "has a number too large to represent";
    default:
        return "is not valid JSON";
    }
}

/* Parses untrusted JSON text of `text.len` bytes with SG_JSON_FLAGS. */
static inline json_t *sg_json_parse(struct sg_slice text, json_error_t *error)
{
    return json_loadb((const char *)text.ptr, text.len, SG_JSON_FLAGS, error);
}

#endif
