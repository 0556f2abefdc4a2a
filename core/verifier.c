/* Creation and teardown of the per-thread verification context. */
#include "core/verifier_internal.h"

#include <stdlib.h>

static const char *const digest_names[SG_HASH_COUNT] = {
    [SG_HASH_SHA256] = "SHA2-256",
    [SG_HASH_SHA384] = "SHA2-384",
    [SG_HASH_SHA512] = "SHA2-512",
};

struct sg_verifier *sg_verifier_new(void)
{
    struct sg_verifier *verifier = calloc(1, sizeof(*verifier));

    if (verifier == NULL)
        return NULL;

    for (int i = 0; i < SG_HASH_COUNT; i++) {
        verifier->digests[i] = EVP_MD_fetch(NULL, digest_names[i], NULL);
        if (verifier->digests[i] == NULL)
            goto fail;
    }

    verifier->md_ctx = EVP_MD_CTX_new();
    verifier->store_ctx = X509_STORE_CTX_new();
    if (verifier->md_ctx == NULL || verifier->store_ctx == NULL)
        goto fail;
    return verifier;

fail:
    sg_verifier_free(verifier);
    return NULL;
}

void sg_verifier_free(struct sg_verifier *verifier)
{
    if (verifier == NULL)
        return;
    for (int i = 0; i < SG_HASH_COUNT; i++)
        EVP_MD_free(verifier->digests[i]);
    EVP_MD_CTX_free(verifier->md_ctx);
    X509_STORE_CTX_free(verifier->store_ctx);
    free(verifier);
}
