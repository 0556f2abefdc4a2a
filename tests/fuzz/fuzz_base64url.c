/*
 * libFuzzer target: strict base64url and base64. An accepted input must
 * round-trip: re-encoding the output gives back the input, which proves
 * there is exactly one accepted encoding of each byte string.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/base64.h"

static size_t encode(const uint8_t *data, size_t len, bool url, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);

    if (!url)
        return (size_t)n;
    while (n > 0 && out[n - 1] == '=')
        n--;
    for (int i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return (size_t)n;
}

static void check(const uint8_t *data, size_t size, bool url)
{
    uint8_t decoded[4096];
    char encoded[4096 * 2];
    size_t decoded_len, encoded_len;
    enum sg_error err = url ? sg_base64url_decode(sg_slice_make(data, size), decoded,
                                                  sizeof(decoded), &decoded_len)
                            : sg_base64_decode(sg_slice_make(data, size), decoded,
                                               sizeof(decoded), &decoded_len);

    if (err != SG_OK)
        return;
    encoded_len = encode(decoded, decoded_len, url, encoded);
    if (encoded_len != size || memcmp(encoded, data, size) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    check(data, size, true);
    check(data, size, false);
    return 0;
}
