/* Certificate parsing shared by the files of core/ only. */
#ifndef SVIDGATE_CORE_X509_INTERNAL_H
#define SVIDGATE_CORE_X509_INTERNAL_H

#include <openssl/x509.h>

#include "core/error.h"
#include "core/slice.h"

/* Parses DER that must be exactly one certificate of at most SG_X509_CERT_MAX bytes. */
X509 *sg_x509_parse_der(struct sg_slice der);

/*
 * Parses every CERTIFICATE block of `pem`, skipping other block types.
 * Fails when a block is broken, when there are more than
 * `max_certificates`, or when there is none.
 */
SG_MUST_CHECK enum sg_error sg_x509_read_pem(struct sg_slice pem, size_t max_certificates,
                                             STACK_OF(X509) **out, struct sg_status *status);

/* Builds the X509_STORE of a bundle's authorities; NULL when out of memory. */
X509_STORE *sg_x509_store_new(STACK_OF(X509) *authorities);

#endif
