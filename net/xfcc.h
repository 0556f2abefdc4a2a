/*
 * Client certificates that a gateway forwards in a header: Envoy's
 * x-forwarded-client-cert (XFCC) and nginx's $ssl_client_escaped_cert.
 *
 * XFCC (Envoy, "HTTP header manipulation", x-forwarded-client-cert) is a
 * comma-separated list of elements, one per proxy hop. A proxy appends
 * its element at the end, so the last element is the one added by the
 * proxy nearest to svidgate, the Envoy that terminated the client's TLS
 * connection. Each element is a ';'-separated list of key=value pairs
 * (By, Hash, Cert, Chain, Subject, URI, DNS); a value may be
 * double-quoted, with '\' escaping a quote inside. svidgate reads Chain=
 * (URL-encoded PEM, leaf first) of the last element, else its Cert=
 * (the URL-encoded PEM leaf).
 *
 * Pure parsing: no I/O, no logging.
 */
#ifndef SVIDGATE_NET_XFCC_H
#define SVIDGATE_NET_XFCC_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/slice.h"

/* Bytes of a forwarded URL-encoded PEM chain. The HTTP head limit
 * (SG_HTTP_HEADER_BYTES_MAX) is lower, so this is a second bound for
 * callers outside the server. */
#define SG_FORWARDED_CERT_MAX (64 * 1024)

/*
 * Finds the URL-encoded PEM of the last XFCC element: its Chain= value,
 * else its Cert= value, without quotes. Fails with SG_ERR_MALFORMED when
 * the header does not parse (unbalanced quotes, a pair without '=', a key
 * given twice in the element, an escape inside a Cert or Chain value) or
 * the last element has neither key.
 */
SG_MUST_CHECK enum sg_error sg_xfcc_find_certificate(struct sg_slice header,
                                                     struct sg_slice *encoded,
                                                     struct sg_status *status);

/*
 * Decodes URL-encoded (percent-encoded) text into `out`, which needs
 * `encoded.len` bytes. '+' stays '+', because base64 in PEM uses it and
 * neither Envoy nor nginx encodes a space as '+'. Fails with
 * SG_ERR_MALFORMED on a '%' without two hex digits, a byte outside
 * visible ASCII, or more than SG_FORWARDED_CERT_MAX bytes.
 */
SG_MUST_CHECK enum sg_error sg_url_decode(struct sg_slice encoded, uint8_t *out,
                                          size_t *out_len, struct sg_status *status);

#endif
