#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *sg_test_read_file(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    char *data = NULL;
    long size = 0;

    if (file == NULL)
        fail_msg("cannot open %s", path);
    if (fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) < 0 || fseek(file, 0, SEEK_SET) != 0)
        fail_msg("cannot size %s", path);
    data = malloc((size_t)size + 1);
    assert_non_null(data);
    if (fread(data, 1, (size_t)size, file) != (size_t)size)
        fail_msg("short read on %s", path);
    fclose(file);
    data[size] = '\0';
    *len = (size_t)size;
    return data;
}

const char *sg_test_vectors_dir(void)
{
    static char path[4096];
    const char *configured = getenv("SVIDGATE_VECTORS");

    if (configured == NULL || configured[0] == '\0')
        configured = getenv("SVIDGATE_VECTORS_DEFAULT");
    const char *ci = getenv("CI");
    struct stat info;

    snprintf(path, sizeof(path), "%s", configured ? configured : "../shared/vectors");
    if (stat(path, &info) == 0 && S_ISDIR(info.st_mode))
        return path;
    if (ci != NULL && strcmp(ci, "true") == 0) {
        fprintf(stderr, "FAIL: test vectors folder %s is missing and CI=true\n", path);
        exit(1);
    }
    fprintf(stderr, "SKIP: test vectors folder %s is missing\n", path);
    exit(SG_TEST_SKIP_EXIT);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

uint8_t *sg_test_hex_decode(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *out;

    if (n % 2 != 0)
        return NULL;
    out = malloc(n / 2 + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_value(hex[2 * i]);
        int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}
