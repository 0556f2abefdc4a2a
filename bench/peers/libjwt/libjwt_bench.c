/*
 * Peer microbenchmark: JWT-SVID verification with Debian's libjwt, one
 * thread, no HTTP. Every token is decoded and its signature verified by
 * jwt_decode(), then its alg, `aud` (must contain "bench"), `exp` and
 * `sub` (a SPIFFE ID of bench.example) are checked, as svidgate does.
 *
 * Usage: libjwt_bench PUBLIC_PEM ES256|RS256 TOKENS_FILE [SECONDS]
 * Passes over the tokens until SECONDS (default 3, at most 600) of CPU
 * time have passed, at most 1000 passes, then prints one JSON line.
 * Exit status 1 when a token fails verification, 2 on a usage error.
 */
#include <jansson.h>
#include <jwt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PASSES 1000
#define MAX_TOKENS 1000000
#define SPIFFE_PREFIX "spiffe://bench.example/"

struct tokens {
    char **lines;
    size_t count;
};

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        return NULL;
    }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    rewind(file);
    char *data = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (data) {
        *length = fread(data, 1, (size_t)size, file);
        data[*length] = '\0';
    }
    fclose(file);
    return data;
}

/* Split the file's text in place into its non-empty lines. */
static int load_tokens(char *text, struct tokens *tokens)
{
    tokens->lines = calloc(MAX_TOKENS, sizeof(*tokens->lines));
    if (!tokens->lines) {
        return -1;
    }
    char *line = text;
    while (*line && tokens->count < MAX_TOKENS) {
        char *end = strchr(line, '\n');
        if (end) {
            *end = '\0';
        }
        if (*line) {
            tokens->lines[tokens->count++] = line;
        }
        if (!end) {
            break;
        }
        line = end + 1;
    }
    return tokens->count > 0 ? 0 : -1;
}

static bool audience_matches(jwt_t *jwt)
{
    char *text = jwt_get_grants_json(jwt, "aud");
    if (!text) {
        return false;
    }
    json_t *aud = json_loads(text, JSON_DECODE_ANY, NULL);
    free(text);
    bool found = json_is_string(aud) && strcmp(json_string_value(aud), "bench") == 0;
    for (size_t i = 0; json_is_array(aud) && i < json_array_size(aud) && !found; i++) {
        json_t *item = json_array_get(aud, i);
        found = json_is_string(item) && strcmp(json_string_value(item), "bench") == 0;
    }
    json_decref(aud);
    return found;
}

static bool verify_token(const char *token, const unsigned char *key, int key_length, jwt_alg_t alg,
                         long now)
{
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, key, key_length) != 0) {
        return false;
    }
    const char *sub = jwt_get_grant(jwt, "sub");
    bool valid = jwt_get_alg(jwt) == alg && audience_matches(jwt) && jwt_get_grant_int(jwt, "exp") > now &&
                 sub && strncmp(sub, SPIFFE_PREFIX, strlen(SPIFFE_PREFIX)) == 0;
    jwt_free(jwt);
    return valid;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5 || (strcmp(argv[2], "ES256") != 0 && strcmp(argv[2], "RS256") != 0)) {
        fprintf(stderr, "usage: libjwt_bench PUBLIC_PEM ES256|RS256 TOKENS_FILE [SECONDS]\n");
        return 2;
    }
    jwt_alg_t alg = strcmp(argv[2], "ES256") == 0 ? JWT_ALG_ES256 : JWT_ALG_RS256;
    double seconds = argc == 5 ? strtod(argv[4], NULL) : 3.0;
    if (!(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "libjwt_bench: SECONDS must be above 0 and at most 600\n");
        return 2;
    }

    size_t key_length = 0;
    size_t text_length = 0;
    char *key = read_file(argv[1], &key_length);
    char *text = read_file(argv[3], &text_length);
    struct tokens tokens = {0};
    if (!key || !text || load_tokens(text, &tokens) != 0) {
        fprintf(stderr, "libjwt_bench: cannot read the key %s or the tokens %s\n", argv[1], argv[3]);
        return 2;
    }

    long now = (long)time(NULL);
    double start = cpu_seconds();
    unsigned long long verified = 0;
    double elapsed = 0;
    for (int pass = 0; pass < MAX_PASSES && elapsed < seconds; pass++) {
        for (size_t i = 0; i < tokens.count; i++) {
            if (!verify_token(tokens.lines[i], (const unsigned char *)key, (int)key_length, alg, now)) {
                fprintf(stderr, "libjwt_bench: token %zu failed verification\n", i + 1);
                return 1;
            }
        }
        verified += tokens.count;
        elapsed = cpu_seconds() - start;
    }

    printf("{\"alg\":\"%s\",\"verifications\":%llu,\"cpu_seconds\":%.4f,"
           "\"per_second\":%.1f,\"us_per_verification\":%.3f}\n",
           argv[2], verified, elapsed, (double)verified / elapsed, elapsed * 1e6 / (double)verified);
    free(tokens.lines);
    free(text);
    free(key);
    return 0;
}
