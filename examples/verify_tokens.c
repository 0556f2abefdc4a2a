/*
 * Verifies a file of JWT-SVIDs, one per line, through libsvidgate.
 *
 *     verify_tokens TRUST_DOMAIN BUNDLE_FILE AUDIENCE TOKEN_FILE
 *
 * Prints one JSON result object per token (the same objects that
 * `svidgate verify jwt` prints), and exits 0 when every token is valid,
 * 1 when any is not, and 2 when an argument or file is unusable.
 *
 * Build it against the installed library:
 *
 *     cc verify_tokens.c -o verify_tokens $(pkg-config --cflags --libs svidgate)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <svidgate.h>

/* Long enough for svidgate's maximum JWT (16 KiB), its newline and the NUL. */
#define LINE_MAX_BYTES (16 * 1024 + 2)
#define BUNDLE_MAX_BYTES (1024 * 1024)

/* Reads a whole file into a heap buffer of at most `max` bytes; NULL on failure. */
static char *read_file(const char *path, size_t max, size_t *length)
{
    FILE *file = fopen(path, "rb");
    char *data = malloc(max + 1);

    if (file == NULL || data == NULL) {
        if (file != NULL)
            fclose(file);
        free(data);
        return NULL;
    }
    *length = fread(data, 1, max + 1, file);
    fclose(file);
    if (*length > max) {
        free(data);
        return NULL;
    }
    return data;
}

static svidgate_trust *load_trust(const char *trust_domain, const char *bundle_path)
{
    struct svidgate_result result;
    size_t length;
    char *bundle = read_file(bundle_path, BUNDLE_MAX_BYTES, &length);
    svidgate_trust *trust = svidgate_trust_new();

    if (bundle == NULL || trust == NULL) {
        fprintf(stderr, "verify_tokens: reading %s failed\n", bundle_path);
        free(bundle);
        svidgate_trust_free(trust);
        return NULL;
    }

    svidgate_trust_add_bundle(trust, trust_domain, bundle, length, &result);
    free(bundle);
    if (result.error != SVIDGATE_OK) {
        fprintf(stderr, "verify_tokens: bundle %s is invalid (%s): %s\n", bundle_path,
                svidgate_error_name(result.error), result.message);
        svidgate_trust_free(trust);
        return NULL;
    }
    return trust;
}

/* Verifies every non-empty line of `tokens`; returns how many were invalid. */
static size_t verify_lines(FILE *tokens, svidgate_verifier *verifier, const svidgate_trust *trust,
                           const char *audience)
{
    static char line[LINE_MAX_BYTES];
    const char *audiences[] = { audience };
    struct svidgate_time now = { .now = (int64_t)time(NULL), .leeway = 30 };
    size_t invalid = 0;

    while (fgets(line, sizeof(line), tokens) != NULL) {
        struct svidgate_result result;
        size_t length = strcspn(line, "\r\n");

        if (length == 0)
            continue;
        svidgate_verify_jwt(verifier, trust, line, length, audiences, 1, &now, &result);
        invalid += result.error != SVIDGATE_OK;
        printf("%s\n", result.json != NULL ? result.json : "{\"valid\":false}");
        svidgate_result_clear(&result);
    }
    return invalid;
}

int main(int argc, char **argv)
{
    svidgate_trust *trust;
    svidgate_verifier *verifier;
    FILE *tokens;
    size_t invalid;

    if (argc != 5) {
        fprintf(stderr, "usage: verify_tokens TRUST_DOMAIN BUNDLE_FILE AUDIENCE TOKEN_FILE\n");
        return 2;
    }

    trust = load_trust(argv[1], argv[2]);
    if (trust == NULL)
        return 2;

    tokens = fopen(argv[4], "r");
    verifier = svidgate_verifier_new();
    if (tokens == NULL || verifier == NULL) {
        fprintf(stderr, "verify_tokens: opening %s or creating a verifier failed\n", argv[4]);
        if (tokens != NULL)
            fclose(tokens);
        svidgate_verifier_free(verifier);
        svidgate_trust_free(trust);
        return 2;
    }

    invalid = verify_lines(tokens, verifier, trust, argv[3]);
    fprintf(stderr, "verify_tokens: libsvidgate %s, %zu invalid\n", svidgate_version(), invalid);

    fclose(tokens);
    svidgate_verifier_free(verifier);
    svidgate_trust_free(trust);
    return invalid == 0 ? 0 : 1;
}
