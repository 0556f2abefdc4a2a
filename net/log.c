#include "net/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

/* Long enough for every line the server writes; longer lines are cut. */
#define LOG_LINE_MAX 1024

static const char *level_name(enum sg_log_level level)
{
    switch (level) {
    case SG_LOG_INFO:
        return "info";
    case SG_LOG_WARN:
        return "warn";
    case SG_LOG_ERROR:
        return "error";
    }
    return "error";
}

/* Clamps a snprintf result to the bytes that fit in `room`, NUL excluded. */
static size_t fitted(int written, size_t room)
{
    if (written < 0)
        return 0;
    return (size_t)written < room ? (size_t)written : room - 1;
}

void sg_log(enum sg_log_level level, const char *message, const char *fields, ...)
{
    /* The last two bytes are kept for the newline and the NUL. */
    char line[LOG_LINE_MAX];
    size_t room = sizeof(line) - 1;
    size_t len = fitted(snprintf(line, room, "level=%s msg=\"%s\"", level_name(level), message), room);
    va_list args;

    if (fields[0] != '\0' && len + 1 < room - 1) {
        line[len++] = ' ';
        va_start(args, fields);
        len += fitted(vsnprintf(line + len, room - len, fields, args), room - len);
        va_end(args);
    }

    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}

const char *sg_log_escape(const char *text, char *buffer, unsigned size)
{
    unsigned used = 0;

    for (; *text != '\0' && used + 3 < size; text++) {
        unsigned char c = (unsigned char)*text;

        if (c == '"' || c == '\\')
            buffer[used++] = '\\';
        buffer[used++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    buffer[used] = '\0';
    return buffer;
}

/* ---- Rate limiting -------------------------------------------------- */

/* Distinct (event, key) pairs counted at once; the stalest is reused. */
#define REPEAT_SLOTS 128
#define REPEAT_KEY_MAX 64

struct repeat_slot {
    const char *event; /* NULL for a free slot */
    char key[REPEAT_KEY_MAX];
    enum sg_log_level level;
    int64_t interval_start;
    uint64_t written;
    uint64_t suppressed;
};

static int64_t monotonic_seconds(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec;
}

static struct {
    pthread_mutex_t lock;
    unsigned repeats;
    int64_t interval;
    int64_t (*clock)(void);
    struct repeat_slot slots[REPEAT_SLOTS];
} limiter = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .repeats = SG_LOG_REPEATS_MAX,
    .interval = SG_LOG_REPEAT_INTERVAL,
    .clock = monotonic_seconds,
};

/* Writes the slot's summary when it suppressed lines, and starts a new interval. */
static void end_interval(struct repeat_slot *slot, int64_t now)
{
    if (slot->suppressed > 0)
        sg_log(slot->level, slot->event, "key=%s suppressed=%llu interval_seconds=%lld",
               slot->key, (unsigned long long)slot->suppressed, (long long)limiter.interval);
    slot->interval_start = now;
    slot->written = 0;
    slot->suppressed = 0;
}

/* True when `candidate` is a better slot to reuse than `current`: free, or older. */
static bool better_victim(const struct repeat_slot *candidate, const struct repeat_slot *current)
{
    if (current == NULL)
        return true;
    if (current->event == NULL)
        return false;
    return candidate->event == NULL || candidate->interval_start < current->interval_start;
}

/* Returns the slot of (event, key), claiming a free slot or the stalest one. */
static struct repeat_slot *find_slot(const char *event, const char *key, int64_t now)
{
    struct repeat_slot *victim = NULL;

    for (size_t i = 0; i < REPEAT_SLOTS; i++) {
        struct repeat_slot *slot = &limiter.slots[i];

        if (slot->event == event && strncmp(slot->key, key, REPEAT_KEY_MAX - 1) == 0)
            return slot;
        if (better_victim(slot, victim))
            victim = slot;
    }

    if (victim->event != NULL)
        end_interval(victim, now);
    victim->event = event;
    snprintf(victim->key, sizeof(victim->key), "%s", key);
    victim->interval_start = now;
    victim->written = 0;
    victim->suppressed = 0;
    return victim;
}

bool sg_log_admit(enum sg_log_level level, const char *event, const char *key)
{
    bool admitted;

    pthread_mutex_lock(&limiter.lock);
    int64_t now = limiter.clock();
    struct repeat_slot *slot = find_slot(event, key, now);

    slot->level = level;
    if (now - slot->interval_start >= limiter.interval)
        end_interval(slot, now);
    admitted = slot->written < limiter.repeats;
    if (admitted)
        slot->written++;
    else
        slot->suppressed++;
    pthread_mutex_unlock(&limiter.lock);
    return admitted;
}

void sg_log_flush_suppressed(void)
{
    pthread_mutex_lock(&limiter.lock);
    int64_t now = limiter.clock();

    for (size_t i = 0; i < REPEAT_SLOTS; i++) {
        struct repeat_slot *slot = &limiter.slots[i];

        if (slot->event != NULL && now - slot->interval_start >= limiter.interval)
            end_interval(slot, now);
    }
    pthread_mutex_unlock(&limiter.lock);
}

void sg_log_set_rate_limit(unsigned repeats, int64_t interval, int64_t (*clock)(void))
{
    pthread_mutex_lock(&limiter.lock);
    limiter.repeats = repeats;
    limiter.interval = interval;
    limiter.clock = clock != NULL ? clock : monotonic_seconds;
    memset(limiter.slots, 0, sizeof(limiter.slots));
    pthread_mutex_unlock(&limiter.lock);
}

/* ---- Fingerprints --------------------------------------------------- */

const char *sg_log_fingerprint(struct sg_slice credential, char out[SG_LOG_FINGERPRINT_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;

    if (!EVP_Digest(credential.ptr, credential.len, digest, &digest_len, EVP_sha256(), NULL) ||
        digest_len < 8) {
        snprintf(out, SG_LOG_FINGERPRINT_SIZE, "-");
        return out;
    }
    for (size_t i = 0; i < 8; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0x0f];
    }
    out[16] = '\0';
    return out;
}
