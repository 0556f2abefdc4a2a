#include "net/live_config.h"

#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

struct sg_live_config *sg_live_config_new(struct sg_policy *policy, bool dry_run,
                                          const struct sg_slice *audiences,
                                          size_t audience_count, int64_t leeway)
{
    struct sg_live_config *config = calloc(1, sizeof(*config));
    size_t text_len = 0;
    char *cursor;

    for (size_t i = 0; i < audience_count; i++)
        text_len += audiences[i].len;
    if (config != NULL) {
        config->audiences = calloc(audience_count + 1, sizeof(*config->audiences));
        config->audience_text = malloc(text_len + 1);
    }
    if (config == NULL || config->audiences == NULL || config->audience_text == NULL) {
        sg_live_config_free(config);
        return NULL;
    }

    cursor = config->audience_text;
    for (size_t i = 0; i < audience_count; i++) {
        memcpy(cursor, audiences[i].ptr, audiences[i].len);
        config->audiences[i] = sg_slice_make(cursor, audiences[i].len);
        cursor += audiences[i].len;
    }
    config->audience_count = audience_count;
    config->dry_run = dry_run;
    config->leeway = leeway;
    config->policy = *policy;
    sg_policy_init(policy);
    return config;
}

void sg_live_config_free(struct sg_live_config *config)
{
    if (config == NULL)
        return;
    sg_policy_clear(&config->policy);
    free(config->audiences);
    free(config->audience_text);
    free(config);
}

void sg_live_config_slot_init(struct sg_live_config_slot *slot, struct sg_live_config *config)
{
    rcu_set_pointer(&slot->current, config);
}

void sg_live_config_publish(struct sg_live_config_slot *slot, struct sg_live_config *config)
{
    struct sg_live_config *old = rcu_xchg_pointer(&slot->current, config);

    synchronize_rcu();
    sg_live_config_free(old);
}

const struct sg_live_config *sg_live_config_current(struct sg_live_config_slot *slot)
{
    return rcu_dereference(slot->current);
}

void sg_live_config_slot_destroy(struct sg_live_config_slot *slot)
{
    sg_live_config_free(slot->current);
    slot->current = NULL;
}
