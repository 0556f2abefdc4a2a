/*
 * Verdict cache glue for the routes.
 *
 * A failed verdict's value is the rendered result object alone. A valid
 * verdict's value starts with the credential's identity, so that
 * forward auth serves a hit without parsing JSON:
 *
 *     i64 expires_at, u32 length, the SPIFFE ID          (identity)
 *     u32 count, then count times (u32 length, bytes)    (JWT only: `aud`)
 *     the JSON text of the result object
 *
 * Numbers are in host byte order, because the cache never leaves the
 * process.
 */
#include "net/verdict_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

/* Maximum size of a stored value: the result object plus the audience list. */
#define VALUE_MAX (4 * SG_JWT_MAX)

bool sg_verdict_cache_init(struct sg_verdict_cache *verdicts, struct sg_cache *cache,
                           struct sg_cache_counters *counters)
{
    memset(verdicts, 0, sizeof(*verdicts));
    verdicts->cache = cache;
    verdicts->counters = counters;
    if (cache == NULL)
        return true;
    verdicts->key = malloc(SG_CACHE_CREDENTIAL_MAX);
    return verdicts->key != NULL;
}

void sg_verdict_cache_destroy(struct sg_verdict_cache *verdicts)
{
    free(verdicts->key);
    verdicts->key = NULL;
}

/* Bytes of a key before the credential: the kind, then the leeway in 16 bits. */
#define KEY_PREFIX_LEN 3

_Static_assert(SG_LEEWAY_MAX <= UINT16_MAX, "the leeway of a key is stored in 16 bits");

/*
 * Builds kind || leeway || credential in the scratch key; false when it
 * is not cached at all. The leeway is part of the key because a verdict
 * depends on it and SIGHUP can change it: an entry stored as valid until
 * exp + 30 s must not match once the leeway is 0. A token over
 * SG_JWT_MAX is rejected before any work, so caching its verdict would
 * only let junk take cache memory.
 */
static bool make_key(struct sg_verdict_cache *verdicts, enum sg_credential_kind kind,
                     int64_t leeway, struct sg_slice credential, struct sg_slice *key)
{
    uint16_t leeway_bits = (uint16_t)leeway;

    if (verdicts->cache == NULL || credential.len > SG_CACHE_CREDENTIAL_MAX - KEY_PREFIX_LEN)
        return false;
    if (kind == SG_CREDENTIAL_JWT && credential.len > SG_JWT_MAX)
        return false;
    if (leeway < 0 || leeway > SG_LEEWAY_MAX)
        return false;
    verdicts->key[0] = (uint8_t)kind;
    memcpy(verdicts->key + 1, &leeway_bits, sizeof(leeway_bits));
    memcpy(verdicts->key + KEY_PREFIX_LEN, credential.ptr, credential.len);
    *key = sg_slice_make(verdicts->key, credential.len + KEY_PREFIX_LEN);
    return true;
}

const struct sg_cache_entry *sg_verdict_cache_find(struct sg_verdict_cache *verdicts,
                                                   enum sg_credential_kind kind,
                                                   struct sg_slice credential,
                                                   uint64_t generation, int64_t leeway,
                                                   int64_t now)
{
    struct sg_slice key;

    if (!make_key(verdicts, kind, leeway, credential, &key))
        return NULL;
    return sg_cache_lookup(verdicts->cache, key, generation, now, &verdicts->stats);
}

/* A verdict that time alone can change is never cached. */
static bool cacheable(enum sg_error error)
{
    return error != SG_ERR_NOT_YET_VALID && error != SG_ERR_INTERNAL;
}

static void store(struct sg_verdict_cache *verdicts, enum sg_credential_kind kind,
                  struct sg_slice credential, uint64_t generation, int64_t leeway,
                  int64_t valid_until, enum sg_error error, struct sg_slice value)
{
    struct sg_slice key;

    if (cacheable(error) && make_key(verdicts, kind, leeway, credential, &key))
        (void)sg_cache_insert(verdicts->cache, key, generation, valid_until, error, value,
                              &verdicts->stats);
}

static bool append(uint8_t *buffer, size_t *used, const void *bytes, size_t len)
{
    if (len > VALUE_MAX - *used)
        return false;
    memcpy(buffer + *used, bytes, len);
    *used += len;
    return true;
}

static bool append_audience(uint8_t *buffer, size_t *used, const json_t *value)
{
    uint32_t len = (uint32_t)json_string_length(value);

    return append(buffer, used, &len, sizeof(len)) &&
           append(buffer, used, json_string_value(value), len);
}

/* Encodes the identity of a valid verdict: its expiry, then its SPIFFE ID. */
static bool encode_identity(const struct sg_spiffe_id *id, int64_t expires_at, uint8_t *buffer,
                            size_t *used)
{
    uint32_t len = (uint32_t)id->id.len;

    return append(buffer, used, &expires_at, sizeof(expires_at)) &&
           append(buffer, used, &len, sizeof(len)) && append(buffer, used, id->id.ptr, len);
}

/* Encodes the identity and `aud` list of a verified token followed by `json`. */
static bool encode_jwt_value(const struct sg_jwt_svid *svid, struct sg_slice json,
                             uint8_t *buffer, size_t *used)
{
    const json_t *aud = json_object_get(svid->claims, "aud");
    uint32_t count = json_is_array(aud) ? (uint32_t)json_array_size(aud) : 1;
    bool ok = encode_identity(&svid->id, svid->expires_at, buffer, used) &&
              append(buffer, used, &count, sizeof(count));

    if (json_is_array(aud)) {
        for (size_t i = 0; ok && i < json_array_size(aud); i++)
            ok = append_audience(buffer, used, json_array_get(aud, i));
    } else {
        ok = ok && append_audience(buffer, used, aud);
    }
    return ok && append(buffer, used, json.ptr, json.len);
}

void sg_verdict_cache_store_jwt(struct sg_verdict_cache *verdicts, struct sg_slice token,
                                uint64_t generation, int64_t leeway,
                                const struct sg_jwt_svid *svid, struct sg_slice result_json)
{
    uint8_t *buffer;
    size_t used = 0;

    if (verdicts->cache == NULL || !cacheable(svid->status.error))
        return;
    if (svid->status.error != SG_OK) {
        store(verdicts, SG_CREDENTIAL_JWT, token, generation, leeway, INT64_MAX,
              svid->status.error, result_json);
        return;
    }

    buffer = malloc(VALUE_MAX);
    if (buffer != NULL && encode_jwt_value(svid, result_json, buffer, &used))
        /* Valid until the expiry check would fail: now - leeway >= exp. */
        store(verdicts, SG_CREDENTIAL_JWT, token, generation, leeway, svid->expires_at + leeway,
              SG_OK, sg_slice_make(buffer, used));
    free(buffer);
}

void sg_verdict_cache_store_x509(struct sg_verdict_cache *verdicts, enum sg_credential_kind kind,
                                 struct sg_slice body, uint64_t generation, int64_t leeway,
                                 const struct sg_x509_svid *svid, struct sg_slice result_json)
{
    uint8_t *buffer;
    size_t used = 0;

    if (verdicts->cache == NULL || !cacheable(svid->status.error))
        return;
    if (svid->status.error != SG_OK) {
        store(verdicts, kind, body, generation, leeway, INT64_MAX, svid->status.error,
              result_json);
        return;
    }

    buffer = malloc(VALUE_MAX);
    if (buffer != NULL && encode_identity(&svid->id, svid->expires_at, buffer, &used) &&
        append(buffer, &used, result_json.ptr, result_json.len))
        /* Valid until the expiry check would fail: now - leeway > notAfter. */
        store(verdicts, kind, body, generation, leeway, svid->expires_at + leeway + 1, SG_OK,
              sg_slice_make(buffer, used));
    free(buffer);
}

/* Reads a u32 at *offset of value; false past the end. */
static bool read_u32(struct sg_slice value, size_t *offset, uint32_t *out)
{
    if (value.len - *offset < sizeof(*out))
        return false;
    memcpy(out, value.ptr + *offset, sizeof(*out));
    *offset += sizeof(*out);
    return true;
}

/* Reads the identity at the start of a valid verdict; *offset ends after it. */
static bool read_identity(struct sg_slice value, size_t *offset, struct sg_slice *spiffe_id,
                          int64_t *expires_at)
{
    uint32_t len;

    if (value.len - *offset < sizeof(*expires_at))
        return false;
    memcpy(expires_at, value.ptr + *offset, sizeof(*expires_at));
    *offset += sizeof(*expires_at);
    if (!read_u32(value, offset, &len) || value.len - *offset < len)
        return false;
    *spiffe_id = sg_slice_make(value.ptr + *offset, len);
    *offset += len;
    return true;
}

bool sg_verdict_cache_identity(const struct sg_cache_entry *entry, struct sg_slice *spiffe_id,
                               int64_t *expires_at)
{
    size_t offset = 0;

    return sg_cache_entry_error(entry) == SG_OK &&
           read_identity(sg_cache_entry_value(entry), &offset, spiffe_id, expires_at);
}

bool sg_verdict_cache_jwt_audiences(const struct sg_cache_entry *entry,
                                    const struct sg_slice *audiences, size_t audience_count,
                                    bool *listed)
{
    struct sg_slice value = sg_cache_entry_value(entry);
    struct sg_slice spiffe_id;
    int64_t expires_at;
    size_t offset = 0;
    uint32_t count, len;

    for (size_t a = 0; a < audience_count; a++)
        listed[a] = false;
    if (sg_cache_entry_error(entry) != SG_OK ||
        !read_identity(value, &offset, &spiffe_id, &expires_at) ||
        !read_u32(value, &offset, &count))
        return false;
    for (uint32_t i = 0; i < count; i++) {
        struct sg_slice aud;

        if (!read_u32(value, &offset, &len) || value.len - offset < len)
            return false;
        aud = sg_slice_make(value.ptr + offset, len);
        offset += len;
        for (size_t a = 0; a < audience_count; a++)
            listed[a] |= audiences[a].len > 0 && sg_slice_eq(aud, audiences[a]);
    }
    return true;
}

/* Walks the stored `aud` list; *offset ends at the JSON text. */
static bool audience_listed(struct sg_slice value, size_t *offset, const struct sg_slice *audiences,
                            size_t audience_count, bool *listed)
{
    uint32_t count, len;

    *listed = false;
    if (!read_u32(value, offset, &count))
        return false;
    for (uint32_t i = 0; i < count; i++) {
        struct sg_slice aud;

        if (!read_u32(value, offset, &len) || value.len - *offset < len)
            return false;
        aud = sg_slice_make(value.ptr + *offset, len);
        *offset += len;

        /* Same rule as sg_jwt_svid_check_audience: exact, and never an empty audience. */
        for (size_t a = 0; a < audience_count; a++)
            *listed |= audiences[a].len > 0 && sg_slice_eq(aud, audiences[a]);
    }
    return true;
}

enum sg_error sg_verdict_cache_answer_jwt(const struct sg_cache_entry *entry,
                                          const struct sg_slice *audiences, size_t audience_count,
                                          struct sg_slice *json, char **owned)
{
    struct sg_slice value = sg_cache_entry_value(entry);
    struct sg_slice spiffe_id;
    int64_t expires_at;
    size_t offset = 0;
    bool listed;
    char message[SG_MESSAGE_MAX];

    *owned = NULL;
    if (sg_cache_entry_error(entry) != SG_OK) {
        *json = value;
        return sg_cache_entry_error(entry);
    }
    if (!read_identity(value, &offset, &spiffe_id, &expires_at) ||
        !audience_listed(value, &offset, audiences, audience_count, &listed))
        return SG_ERR_INTERNAL;
    if (listed) {
        *json = sg_slice_make(value.ptr + offset, value.len - offset);
        return SG_OK;
    }

    snprintf(message, sizeof(message), SG_AUDIENCE_MISMATCH_FORMAT, audience_count);
    *owned = sg_result_error_json(SG_ERR_AUDIENCE_MISMATCH, message);
    if (*owned == NULL)
        return SG_ERR_INTERNAL;
    *json = sg_slice_cstr(*owned);
    return SG_ERR_AUDIENCE_MISMATCH;
}

enum sg_error sg_verdict_cache_answer_x509(const struct sg_cache_entry *entry,
                                           struct sg_slice *json)
{
    struct sg_slice value = sg_cache_entry_value(entry);
    struct sg_slice spiffe_id;
    int64_t expires_at;
    size_t offset = 0;

    if (sg_cache_entry_error(entry) != SG_OK) {
        *json = value;
        return sg_cache_entry_error(entry);
    }
    if (!read_identity(value, &offset, &spiffe_id, &expires_at))
        return SG_ERR_INTERNAL;
    *json = sg_slice_make(value.ptr + offset, value.len - offset);
    return SG_OK;
}

void sg_verdict_cache_publish_counts(struct sg_verdict_cache *verdicts)
{
    struct sg_cache_counters *counters = verdicts->counters;

    if (counters == NULL)
        return;
    atomic_store_explicit(&counters->hits, verdicts->stats.hits, memory_order_relaxed);
    atomic_store_explicit(&counters->misses, verdicts->stats.misses, memory_order_relaxed);
    atomic_store_explicit(&counters->inserts, verdicts->stats.inserts, memory_order_relaxed);
    atomic_store_explicit(&counters->evictions, verdicts->stats.evictions, memory_order_relaxed);
}

void sg_cache_counters_merge(const struct sg_cache_counters *counters, size_t count,
                             struct sg_cache_stats *total)
{
    memset(total, 0, sizeof(*total));
    for (size_t i = 0; counters != NULL && i < count; i++) {
        total->hits += atomic_load_explicit(&counters[i].hits, memory_order_relaxed);
        total->misses += atomic_load_explicit(&counters[i].misses, memory_order_relaxed);
        total->inserts += atomic_load_explicit(&counters[i].inserts, memory_order_relaxed);
        total->evictions += atomic_load_explicit(&counters[i].evictions, memory_order_relaxed);
    }
}
