/*
 * The body of POST /v1/jwt-svid/verify-batch:
 *
 *     {"audience": "a" | ["a", ...],          optional
 *      "tokens": ["<JWT>",
 *                 {"token": "<JWT>", "audience": "b" | ["b", ...]},
 *                 ...]}
 *
 * An item's own "audience" replaces the request's for that item. A body
 * that is not a JSON object, has a duplicate member name, lacks a
 * "tokens" array, has more than SG_BATCH_ITEMS_MAX items or carries an
 * invalid request-level "audience" is rejected as a whole (400). A
 * malformed item (not a string or object, no string "token", an invalid
 * "audience") is not: it gets its own malformed result.
 */
#ifndef SVIDGATE_NET_BATCH_BODY_H
#define SVIDGATE_NET_BATCH_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/slice.h"

struct sg_batch_item {
    struct sg_slice token;           /* points into the parsed JSON */
    const struct sg_slice *audiences; /* the item's own, the request's, or the server's */
    size_t audience_count;
    const char *error_message;       /* set for a malformed item; a static sentence */
};

/* A parsed batch body. Slices point into `root` or `default_bytes`. */
struct sg_batch_body {
    json_t *root;
    struct sg_batch_item *items;
    size_t item_count;
    struct sg_slice *audiences; /* the request's and every item's own, back to back */
    uint8_t *default_bytes;     /* a copy of the server's default audiences, when used */
};

/*
 * Parses `text` into `body`. Items without an audience of their own or
 * the request's get a copy of `default_audiences`, so a reload that frees
 * the server's settings cannot pull them from under a batch in flight.
 * With none of the three the item is malformed. Returns NULL, or the message of a 400 (then `body`
 * contains nothing to free). `message_buffer` stores messages with
 * numbers in them.
 */
const char *sg_batch_body_parse(struct sg_slice text, const struct sg_slice *default_audiences,
                                size_t default_audience_count, struct sg_batch_body *body,
                                char *message_buffer, size_t message_size);

/* Frees what sg_batch_body_parse() allocated; safe on a zeroed body. */
void sg_batch_body_free(struct sg_batch_body *body);

#endif
