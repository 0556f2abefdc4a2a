/*
 * The requests a load run sends, built once before the run from a corpus
 * file (one token, or one request body, per line), so the hot loop only
 * copies prepared bytes to the socket.
 */
#ifndef SVIDLOAD_REQUEST_SET_H
#define SVIDLOAD_REQUEST_SET_H

#include <stddef.h>

/* Corpus limits: a line longer than this is an error, and so is a file
 * with more lines. */
#define CORPUS_MAX_LINE 65536
#define CORPUS_MAX_LINES 10000000
#define BATCH_MAX_SIZE 100000

enum request_kind {
    /* GET PATH, no corpus (an HTTP floor such as a static 200). */
    REQUEST_GET,
    /* GET PATH with `Authorization: Bearer LINE` (forward-auth). */
    REQUEST_BEARER,
    /* POST PATH with {"token":"LINE"} and the audience, if one is set. */
    REQUEST_TOKEN,
    /* POST PATH with LINE as the JSON body, for example {"chain":[...]}. */
    REQUEST_BODY,
    /* POST PATH with {"audience":A,"tokens":[BATCH_SIZE lines]}. */
    REQUEST_BATCH,
};

struct request_options {
    enum request_kind kind;
    /* Host header value, such as "127.0.0.1:8080". */
    const char *host;
    const char *path;
    /* NULL leaves the audience to the server's default. */
    const char *audience;
    const char *corpus_path;
    size_t batch_size;
};

struct request {
    char *bytes;
    size_t length;
};

struct request_set {
    struct request *items;
    size_t count;
};

/* Build every request; on failure writes a message to `error` and
 * returns -1. */
int request_set_build(struct request_set *set, const struct request_options *options,
                      char *error, size_t error_size);

void request_set_free(struct request_set *set);

/* Parse "get", "bearer", "token", "body" or "batch"; -1 when unknown. */
int request_kind_parse(const char *name, enum request_kind *kind);

#endif
