/* The per-thread verifier's layout, shared by the files of core/ only. */
#ifndef SVIDGATE_CORE_VERIFIER_INTERNAL_H
#define SVIDGATE_CORE_VERIFIER_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/verifier.h"

enum sg_hash {
    SG_HASH_SHA256,
    SG_HASH_SHA384,
    SG_HASH_SHA512,
    SG_HASH_COUNT,
};

struct sg_verifier {
    EVP_MD *digests[SG_HASH_COUNT]; /* fetched once, owned */
    EVP_MD_CTX *md_ctx;             /* reset and reused by every verification */
    X509_STORE_CTX *store_ctx;      /* re-initialised for every X.509 chain */
};

#endif
