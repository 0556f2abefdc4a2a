/*
 * Certificates from DER and PEM, parsed strictly.
 *
 * d2i_X509 stops at the end of the outer SEQUENCE and ignores what
 * follows, so every parse here compares the bytes consumed with the
 * bytes given: a certificate with trailing data is malformed.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/x509_internal.h"
#include "core/x509_svid.h"

X509 *sg_x509_parse_der(struct sg_slice der)
{
    const unsigned char *cursor = der.ptr;
    X509 *cert;

    if (der.len == 0 || der.len > SG_X509_CERT_MAX)
        return NULL;
    cert = d2i_X509(NULL, &cursor, (long)der.len);
    if (cert != NULL && cursor != der.ptr + der.len) {
        X509_free(cert);
        cert = NULL;
    }
    ERR_clear_error();
    return cert;
}

enum sg_error sg_x509_chain_from_der(const struct sg_slice *ders, size_t count,
                                     STACK_OF(X509) **out, struct sg_status *status)
{
    STACK_OF(X509) *chain;

    if (count == 0)
        return sg_fail(status, SG_ERR_MALFORMED, "the certificate chain is empty");
    if (count > SG_X509_CHAIN_MAX)
        return sg_fail(status, SG_ERR_MALFORMED,
                       "the chain has %zu certificates; the maximum is %d", count,
                       SG_X509_CHAIN_MAX);

    chain = sk_X509_new_null();
    if (chain == NULL)
        return sg_fail(status, SG_ERR_INTERNAL, "out of memory reading a chain");

    for (size_t i = 0; i < count; i++) {
        X509 *cert = sg_x509_parse_der(ders[i]);

        if (cert == NULL || sk_X509_push(chain, cert) <= 0) {
            X509_free(cert);
            sk_X509_pop_free(chain, X509_free);
            return sg_fail(status, SG_ERR_MALFORMED,
                           "certificate %zu of the chain is not one well-formed DER "
                           "certificate of at most %d bytes",
                           i + 1, SG_X509_CERT_MAX);
        }
    }
    *out = chain;
    return SG_OK;
}

/*
 * PEM_read_bio fails both at the end of the input and on a broken block;
 * only "no start line" means the input simply ended.
 */
static enum sg_error pem_end_of_input(size_t blocks, struct sg_status *status)
{
    unsigned long error = ERR_peek_last_error();

    if (error == 0 || ERR_GET_REASON(error) == PEM_R_NO_START_LINE)
        return SG_OK;
    return sg_fail(status, SG_ERR_MALFORMED, "PEM block %zu is not valid PEM", blocks + 1);
}

/* Reads the next CERTIFICATE block, skipping others; *cert NULL at the end. */
static enum sg_error read_next_certificate(BIO *bio, size_t *blocks, X509 **cert,
                                           struct sg_status *status)
{
    *cert = NULL;
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        bool is_certificate;

        if (PEM_read_bio(bio, &name, &header, &data, &len) != 1)
            return pem_end_of_input(*blocks, status);
        (*blocks)++;
        is_certificate = strcmp(name, "CERTIFICATE") == 0;
        if (is_certificate)
            *cert = sg_x509_parse_der(sg_slice_make(data, (size_t)len));
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);

        if (!is_certificate)
            continue;
        if (*cert == NULL)
            return sg_fail(status, SG_ERR_MALFORMED,
                           "PEM block %zu is not one well-formed DER certificate of at most "
                           "%d bytes",
                           *blocks, SG_X509_CERT_MAX);
        return SG_OK;
    }
}

enum sg_error sg_x509_read_pem(struct sg_slice pem, size_t max_certificates,
                               STACK_OF(X509) **out, struct sg_status *status)
{
    BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    STACK_OF(X509) *certs = sk_X509_new_null();
    size_t blocks = 0;
    enum sg_error err = SG_OK;
    X509 *cert;

    if (bio == NULL || certs == NULL || pem.len > INT32_MAX) {
        err = sg_fail(status, SG_ERR_INTERNAL, "out of memory reading PEM");
        goto done;
    }

    while ((err = read_next_certificate(bio, &blocks, &cert, status)) == SG_OK && cert != NULL) {
        if ((size_t)sk_X509_num(certs) >= max_certificates) {
            X509_free(cert);
            err = sg_fail(status, SG_ERR_MALFORMED, "the PEM text has more than %zu certificates",
                          max_certificates);
            break;
        }
        if (sk_X509_push(certs, cert) <= 0) {
            X509_free(cert);
            err = sg_fail(status, SG_ERR_INTERNAL, "out of memory reading PEM");
            break;
        }
    }

    if (err == SG_OK && sk_X509_num(certs) == 0)
        err = sg_fail(status, SG_ERR_MALFORMED, "the PEM text has no CERTIFICATE block");

done:
    ERR_clear_error();
    BIO_free(bio);
    if (err != SG_OK)
        sk_X509_pop_free(certs, X509_free);
    else
        *out = certs;
    return err;
}

enum sg_error sg_x509_chain_from_pem(struct sg_slice pem, STACK_OF(X509) **out,
                                     struct sg_status *status)
{
    return sg_x509_read_pem(pem, SG_X509_CHAIN_MAX, out, status);
}

void sg_x509_chain_free(STACK_OF(X509) *chain)
{
    sk_X509_pop_free(chain, X509_free);
}
