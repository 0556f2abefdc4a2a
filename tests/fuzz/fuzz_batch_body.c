/*
 * libFuzzer target: the verify-batch body parser (net/batch_body.c).
 * Beyond memory errors, it checks the parser's promises: a parsed body
 * has at most SG_BATCH_ITEMS_MAX items, and every item is either
 * malformed with a message or has a token and 1 to SG_AUDIENCES_MAX
 * non-empty audiences.
 */
#include <stdlib.h>

#include "core/limits.h"
#include "net/batch_body.h"

static void check_item(const struct sg_batch_item *item)
{
    if (item->error_message != NULL)
        return;
    if (item->token.ptr == NULL || item->audience_count == 0 ||
        item->audience_count > SG_AUDIENCES_MAX)
        abort();
    for (size_t i = 0; i < item->audience_count; i++) {
        if (item->audiences[i].len == 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct sg_slice server_audience = { .ptr = (const uint8_t *)"gateway", .len = 7 };
    struct sg_batch_body body;
    char message[160];
    /* Half the inputs run without a server default, so items can lack an audience. */
    size_t defaults = size % 2;

    if (sg_batch_body_parse(sg_slice_make(data, size), &server_audience, defaults, &body, message,
                            sizeof(message)) != NULL)
        return 0;
    if (body.item_count > SG_BATCH_ITEMS_MAX)
        abort();
    for (size_t i = 0; i < body.item_count; i++)
        check_item(&body.items[i]);
    sg_batch_body_free(&body);
    return 0;
}
