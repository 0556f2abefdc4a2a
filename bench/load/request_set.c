/*
 * Builds the request bytes of a load run from a corpus file.
 */
#include "bench/load/request_set.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct corpus {
    char **lines;
    size_t *lengths;
    size_t count;
};

static void corpus_free(struct corpus *corpus)
{
    for (size_t i = 0; i < corpus->count; i++) {
        free(corpus->lines[i]);
    }
    free(corpus->lines);
    free(corpus->lengths);
    memset(corpus, 0, sizeof(*corpus));
}

/* Tokens go between JSON quotes and into a header unescaped, so a line
 * may hold only printable ASCII other than '"' and '\'. A body line is
 * sent as it is and only needs to be free of control bytes. */
static bool line_is_safe(const char *line, size_t length, bool quoted)
{
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
        if (quoted && (c == '"' || c == '\\' || c > 0x7e)) {
            return false;
        }
    }
    return true;
}

static int corpus_append(struct corpus *corpus, const char *line, size_t length, size_t *capacity)
{
    if (corpus->count == *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 1024;
        char **lines = realloc(corpus->lines, grown * sizeof(*lines));
        if (!lines) {
            return -1;
        }
        corpus->lines = lines;
        size_t *lengths = realloc(corpus->lengths, grown * sizeof(*lengths));
        if (!lengths) {
            return -1;
        }
        corpus->lengths = lengths;
        *capacity = grown;
    }

    char *copy = malloc(length + 1);
    if (!copy) {
        return -1;
    }
    memcpy(copy, line, length);
    copy[length] = '\0';
    corpus->lines[corpus->count] = copy;
    corpus->lengths[corpus->count] = length;
    corpus->count++;
    return 0;
}

static int corpus_load(struct corpus *corpus, const char *path, bool quoted, char *error,
                       size_t error_size)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        snprintf(error, error_size, "cannot open corpus %s: %s", path, strerror(errno));
        return -1;
    }

    char *line = NULL;
    size_t line_capacity = 0;
    size_t capacity = 0;
    size_t number = 0;
    ssize_t read_length;
    int result = 0;
    while ((read_length = getline(&line, &line_capacity, file)) >= 0) {
        number++;
        size_t length = (size_t)read_length;
        while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) {
            length--;
        }
        if (length == 0) {
            continue;
        }
        if (length > CORPUS_MAX_LINE || corpus->count >= CORPUS_MAX_LINES) {
            snprintf(error, error_size, "%s:%zu: line longer than %d bytes or more than %d lines",
                     path, number, CORPUS_MAX_LINE, CORPUS_MAX_LINES);
            result = -1;
            break;
        }
        if (!line_is_safe(line, length, quoted)) {
            snprintf(error, error_size,
                     "%s:%zu: invalid byte in line (control byte, or '\"', '\\' or non-ASCII in a token)",
                     path, number);
            result = -1;
            break;
        }
        if (corpus_append(corpus, line, length, &capacity) != 0) {
            snprintf(error, error_size, "out of memory reading %s", path);
            result = -1;
            break;
        }
    }
    free(line);
    fclose(file);

    if (result == 0 && corpus->count == 0) {
        snprintf(error, error_size, "corpus %s has no lines", path);
        result = -1;
    }
    return result;
}

/* Write the request line and headers, without the blank line that ends them. */
static void write_head(FILE *out, const struct request_options *options, const char *method,
                       size_t body_length)
{
    fprintf(out, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, options->path, options->host);
    if (strcmp(method, "POST") == 0) {
        fprintf(out, "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_length);
    }
}

static void write_batch_body(FILE *out, const struct request_options *options,
                             const struct corpus *corpus, size_t first)
{
    fputc('{', out);
    if (options->audience) {
        fprintf(out, "\"audience\":\"%s\",", options->audience);
    }
    fputs("\"tokens\":[", out);
    for (size_t i = 0; i < options->batch_size; i++) {
        size_t index = (first + i) % corpus->count;
        fprintf(out, "%s\"%s\"", i ? "," : "", corpus->lines[index]);
    }
    fputs("]}", out);
}

/* Write the body of request `index` into a memory stream. */
static int build_body(const struct request_options *options, const struct corpus *corpus,
                      size_t index, char **body, size_t *body_length)
{
    FILE *out = open_memstream(body, body_length);
    if (!out) {
        return -1;
    }
    switch (options->kind) {
    case REQUEST_TOKEN:
        fprintf(out, "{\"token\":\"%s\"", corpus->lines[index]);
        if (options->audience) {
            fprintf(out, ",\"audience\":\"%s\"", options->audience);
        }
        fputc('}', out);
        break;
    case REQUEST_BODY:
        fputs(corpus->lines[index], out);
        break;
    case REQUEST_BATCH:
        write_batch_body(out, options, corpus, index * options->batch_size);
        break;
    case REQUEST_GET:
    case REQUEST_BEARER:
        break;
    }
    return fclose(out) == 0 ? 0 : -1;
}

static int build_request(const struct request_options *options, const struct corpus *corpus,
                         size_t index, struct request *request)
{
    char *body = NULL;
    size_t body_length = 0;
    if (build_body(options, corpus, index, &body, &body_length) != 0) {
        free(body);
        return -1;
    }

    FILE *out = open_memstream(&request->bytes, &request->length);
    if (!out) {
        free(body);
        return -1;
    }
    bool post = options->kind == REQUEST_TOKEN || options->kind == REQUEST_BODY ||
                options->kind == REQUEST_BATCH;
    write_head(out, options, post ? "POST" : "GET", body_length);
    if (options->kind == REQUEST_BEARER) {
        fprintf(out, "Authorization: Bearer %s\r\n", corpus->lines[index]);
        if (options->audience) {
            fprintf(out, "X-Svid-Audience: %s\r\n", options->audience);
        }
    }
    fputs("\r\n", out);
    fwrite(body, 1, body_length, out);
    free(body);
    return fclose(out) == 0 ? 0 : -1;
}

/* GET needs no corpus and sends one fixed request; a batch request takes
 * batch_size lines, and the batches together cover the corpus once. */
static size_t request_count(const struct request_options *options, const struct corpus *corpus)
{
    if (options->kind == REQUEST_GET) {
        return 1;
    }
    if (options->kind == REQUEST_BATCH) {
        return (corpus->count + options->batch_size - 1) / options->batch_size;
    }
    return corpus->count;
}

int request_set_build(struct request_set *set, const struct request_options *options,
                      char *error, size_t error_size)
{
    memset(set, 0, sizeof(*set));
    struct corpus corpus = {0};

    if (options->kind != REQUEST_GET) {
        if (!options->corpus_path) {
            snprintf(error, error_size, "this request kind needs --corpus FILE");
            return -1;
        }
        bool quoted = options->kind != REQUEST_BODY;
        if (corpus_load(&corpus, options->corpus_path, quoted, error, error_size) != 0) {
            corpus_free(&corpus);
            return -1;
        }
    }
    if (options->audience && !line_is_safe(options->audience, strlen(options->audience), true)) {
        snprintf(error, error_size, "--audience may hold only printable ASCII other than '\"' and '\\'");
        corpus_free(&corpus);
        return -1;
    }
    if (options->kind == REQUEST_BATCH &&
        (options->batch_size == 0 || options->batch_size > BATCH_MAX_SIZE)) {
        snprintf(error, error_size, "--batch-size must be 1 to %d", BATCH_MAX_SIZE);
        corpus_free(&corpus);
        return -1;
    }

    size_t count = request_count(options, &corpus);
    set->items = calloc(count, sizeof(*set->items));
    if (!set->items) {
        snprintf(error, error_size, "out of memory for %zu requests", count);
        corpus_free(&corpus);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (build_request(options, &corpus, i, &set->items[i]) != 0) {
            snprintf(error, error_size, "out of memory building request %zu", i);
            corpus_free(&corpus);
            request_set_free(set);
            return -1;
        }
        set->count++;
    }
    corpus_free(&corpus);
    return 0;
}

void request_set_free(struct request_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        free(set->items[i].bytes);
    }
    free(set->items);
    memset(set, 0, sizeof(*set));
}

int request_kind_parse(const char *name, enum request_kind *kind)
{
    static const struct {
        const char *name;
        enum request_kind kind;
    } kinds[] = {
        {"get", REQUEST_GET},     {"bearer", REQUEST_BEARER}, {"token", REQUEST_TOKEN},
        {"body", REQUEST_BODY},   {"batch", REQUEST_BATCH},
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(name, kinds[i].name) == 0) {
            *kind = kinds[i].kind;
            return 0;
        }
    }
    return -1;
}
