#include "net/batch_body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_util.h"
#include "core/limits.h"

/* The audience slices of one parse: the pool and its next free slot. */
struct audience_pool {
    struct sg_slice *slots;
    size_t used;
};

/* Returns how many slices an "audience" value needs (0 when it is absent or invalid). */
static size_t audience_slots(const json_t *value)
{
    if (json_is_string(value))
        return 1;
    if (json_is_array(value) && json_array_size(value) <= SG_AUDIENCES_MAX)
        return json_array_size(value);
    return 0;
}

/*
 * Reads an "audience" value, one non-empty string or a non-empty array
 * of them, into the pool. Returns NULL or the reason it is invalid.
 */
static const char *read_audience(const json_t *value, struct audience_pool *pool,
                                 const struct sg_slice **audiences, size_t *count)
{
    size_t values = json_is_array(value) ? json_array_size(value) : 1;

    if (!json_is_string(value) && (!json_is_array(value) || values == 0))
        return "\"audience\" must be a string or a non-empty array of strings";
    if (values > SG_AUDIENCES_MAX)
        return "\"audience\" has more values than the server accepts";

    *audiences = pool->slots + pool->used;
    *count = values;
    for (size_t i = 0; i < values; i++) {
        const json_t *element = json_is_array(value) ? json_array_get(value, i) : value;
        struct sg_slice audience = sg_json_string_slice(element);

        if (audience.len == 0)
            return "every \"audience\" value must be a non-empty string";
        pool->slots[pool->used++] = audience;
    }
    return NULL;
}

/* Fills one item from a string or a {"token", "audience"} object. */
static void read_item(const json_t *value, struct audience_pool *pool,
                      struct sg_batch_item *item)
{
    const json_t *token = json_is_object(value) ? json_object_get(value, "token") : value;
    const json_t *audience = json_is_object(value) ? json_object_get(value, "audience") : NULL;

    if (!json_is_string(token)) {
        item->error_message = json_is_object(value)
                                  ? "the batch item has no string \"token\" member"
                                  : "a batch item must be a token string or an object";
        return;
    }
    item->token = sg_json_string_slice(token);

    if (audience != NULL && !json_is_null(audience)) {
        item->error_message = read_audience(audience, pool, &item->audiences,
                                            &item->audience_count);
        return;
    }
    if (item->audience_count == 0)
        item->error_message =
            "the batch item has no \"audience\", nor does the request or the server's --audience";
}

/* Sizes the audience pool: the server's defaults, the request's audience and every item's own. */
static size_t count_audience_slots(const json_t *root, const json_t *tokens,
                                   size_t default_audience_count)
{
    size_t total = default_audience_count + audience_slots(json_object_get(root, "audience"));

    for (size_t i = 0; i < json_array_size(tokens); i++) {
        const json_t *value = json_array_get(tokens, i);

        if (json_is_object(value))
            total += audience_slots(json_object_get(value, "audience"));
    }
    return total;
}

static const char *read_root(struct sg_slice text, struct sg_batch_body *body,
                             char *message_buffer, size_t message_size)
{
    json_error_t error;
    const json_t *tokens;

    body->root = sg_json_parse(text, &error);
    if (body->root == NULL) {
        /* error.text is not used: it may quote bytes of a token. */
        snprintf(message_buffer, message_size, "the request body %s (line %d, column %d)",
                 sg_json_error_reason(&error), error.line, error.column);
        return message_buffer;
    }
    if (!json_is_object(body->root))
        return "the request body must be a JSON object";

    tokens = json_object_get(body->root, "tokens");
    if (!json_is_array(tokens))
        return "the request body has no \"tokens\" array";
    if (json_array_size(tokens) > SG_BATCH_ITEMS_MAX) {
        snprintf(message_buffer, message_size,
                 "the batch has %zu items; the maximum is %d, so split it into several requests",
                 json_array_size(tokens), SG_BATCH_ITEMS_MAX);
        return message_buffer;
    }
    return NULL;
}

/* Copies the server's default audiences into the body, with slices in the pool. */
static bool copy_defaults(const struct sg_slice *defaults, size_t count, struct audience_pool *pool,
                          struct sg_batch_body *body, const struct sg_slice **copied)
{
    size_t bytes = 0;
    size_t used = 0;

    *copied = pool->slots + pool->used;
    for (size_t i = 0; i < count; i++)
        bytes += defaults[i].len;
    body->default_bytes = malloc(bytes + 1);
    if (body->default_bytes == NULL)
        return false;

    for (size_t i = 0; i < count; i++) {
        memcpy(body->default_bytes + used, defaults[i].ptr, defaults[i].len);
        pool->slots[pool->used++] = sg_slice_make(body->default_bytes + used, defaults[i].len);
        used += defaults[i].len;
    }
    return true;
}

const char *sg_batch_body_parse(struct sg_slice text, const struct sg_slice *default_audiences,
                                size_t default_audience_count, struct sg_batch_body *body,
                                char *message_buffer, size_t message_size)
{
    const struct sg_slice *shared = default_audiences;
    size_t shared_count = default_audience_count;
    struct audience_pool pool = { 0 };
    const json_t *tokens;
    const json_t *audience;
    const char *message;

    memset(body, 0, sizeof(*body));
    message = read_root(text, body, message_buffer, message_size);
    if (message != NULL)
        goto fail;

    tokens = json_object_get(body->root, "tokens");
    body->item_count = json_array_size(tokens);
    body->items = calloc(body->item_count + 1, sizeof(*body->items));
    body->audiences = calloc(count_audience_slots(body->root, tokens, default_audience_count) + 1,
                             sizeof(*body->audiences));
    if (body->items == NULL || body->audiences == NULL) {
        message = "the server ran out of memory";
        goto fail;
    }
    pool.slots = body->audiences;

    audience = json_object_get(body->root, "audience");
    if (audience != NULL && !json_is_null(audience)) {
        message = read_audience(audience, &pool, &shared, &shared_count);
        if (message != NULL)
            goto fail;
    } else if (!copy_defaults(default_audiences, default_audience_count, &pool, body, &shared)) {
        message = "the server ran out of memory";
        goto fail;
    }

    for (size_t i = 0; i < body->item_count; i++) {
        body->items[i].audiences = shared;
        body->items[i].audience_count = shared_count;
        read_item(json_array_get(tokens, i), &pool, &body->items[i]);
    }
    return NULL;

fail:
    sg_batch_body_free(body);
    return message;
}

void sg_batch_body_free(struct sg_batch_body *body)
{
    json_decref(body->root);
    free(body->items);
    free(body->audiences);
    free(body->default_bytes);
    memset(body, 0, sizeof(*body));
}
