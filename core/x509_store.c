/*
 * The X509_STORE of one trust domain's X.509 authorities, built once when
 * its bundle loads.
 *
 * Every authority is a trust anchor, self-signed or not
 * (X509_V_FLAG_PARTIAL_CHAIN), because a SPIFFE bundle may publish an
 * intermediate as the trust domain's authority. Time checks are left to
 * svidgate (X509_V_FLAG_NO_CHECK_TIME) so that one leeway applies to
 * every notBefore and notAfter. No purpose is set, so extended key usage
 * is not enforced, as X.509-SVID validation does not require it.
 */
#include <openssl/err.h>

#include "core/limits.h"
#include "core/x509_internal.h"

X509_STORE *sg_x509_store_new(STACK_OF(X509) *authorities)
{
    X509_STORE *store = X509_STORE_new();

    if (store == NULL)
        return NULL;

    for (int i = 0; i < sk_X509_num(authorities); i++) {
        /* A certificate listed twice is stored once; that is not an error. */
        if (X509_STORE_add_cert(store, sk_X509_value(authorities, i)) != 1)
            ERR_clear_error();
    }

    if (X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME) != 1 ||
        X509_STORE_set_depth(store, SG_X509_CHAIN_MAX) != 1) {
        X509_STORE_free(store);
        return NULL;
    }
    return store;
}
