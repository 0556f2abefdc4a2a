/*
 * Every size limit of svidgate, in one place.
 *
 * Each limit bounds memory or work that an untrusted sender can cause.
 * Tests exercise each one at the limit and one past it.
 */
#ifndef SVIDGATE_CORE_LIMITS_H
#define SVIDGATE_CORE_LIMITS_H

/* SPIFFE IDs: a trust domain is a URI host (at most 255 bytes); a whole
 * ID may be up to 2048 bytes, and longer IDs are rejected as a DoS bound. */
#define SG_TRUST_DOMAIN_MAX 255
#define SG_SPIFFE_ID_MAX 2048

/* A JWT-SVID. Real ones are well under 2 KiB; 16 KiB leaves room for
 * large private claims while bounding the JSON and base64 work. */
#define SG_JWT_MAX 16384

/* Bytes of a `kid`: SPIRE uses 32-character key IDs. */
#define SG_KID_MAX 256

/* Largest raw signature: an RSA-8192 signature is 1024 bytes. */
#define SG_SIGNATURE_MAX 1024

/* Largest RSA modulus accepted in a bundle, in bits. */
#define SG_RSA_BITS_MAX 8192

/* X.509-SVID chains: certificates in one chain (leaf included), and the
 * DER size of one certificate. Real SVID chains are two or three
 * certificates of about 1 KiB each. */
#define SG_X509_CHAIN_MAX 8
#define SG_X509_CERT_MAX (16 * 1024)

/* Requested audiences in one verification request. */
#define SG_AUDIENCES_MAX 32

/* A trust bundle file or body, its key entries, and loaded trust domains. */
#define SG_BUNDLE_MAX (1024 * 1024)
#define SG_BUNDLE_KEYS_MAX 1024
#define SG_TRUST_DOMAINS_MAX 4096

/* Default leeway for every time check (JWT exp/nbf/iat), in seconds. */
#define SG_LEEWAY_DEFAULT 30
#define SG_LEEWAY_MAX 3600

/* HTTP/1.1 requests. The status for each, from the interface contract:
 * request line over SG_HTTP_URI_MAX -> 414; request line plus headers
 * over SG_HTTP_HEADER_BYTES_MAX or more than SG_HTTP_HEADER_COUNT_MAX
 * headers -> 431; body over SG_HTTP_BODY_MAX -> 413. */
#define SG_HTTP_URI_MAX 4096
#define SG_HTTP_HEADER_BYTES_MAX 16384
#define SG_HTTP_HEADER_COUNT_MAX 64
#define SG_HTTP_BODY_MAX (1024 * 1024)

/* Chunked request bodies. The route's body limit (SG_HTTP_BODY_MAX, or
 * SG_BATCH_BODY_MAX below) bounds the decoded body, and the header
 * limits bound the trailer fields, counted together with the head. A
 * chunk-size line (size and extensions) over SG_HTTP_CHUNK_LINE_MAX
 * bytes -> 400. The framing (chunk-size lines and the CRLF after each
 * chunk's data) over SG_HTTP_CHUNK_FRAMING_MAX bytes -> 413. That bounds
 * how much larger than its decoded body a chunked request can be: 64 KiB
 * is about 13,000 one-byte chunks, while a 1 MiB body in 4 KiB chunks
 * has about 2 KiB of framing. */
#define SG_HTTP_CHUNK_LINE_MAX 1024
#define SG_HTTP_CHUNK_FRAMING_MAX (64 * 1024)

/* Input and output buffers that one worker's connections may hold in all.
 * Each connection may buffer about one maximum-size request, so without
 * this bound idle clients with half-sent bodies could pin gigabytes. A
 * connection whose buffer cannot grow within it is closed. */
#define SG_HTTP_WORKER_BUFFER_MAX (128 * 1024 * 1024)

/* POST /v1/jwt-svid/verify-batch. 10,000 items bound the per-item result
 * memory and the time one request can hold the workers, while a caller
 * that verifies a whole fleet's tokens still needs only a few requests.
 * An ES256 JWT-SVID is typically 400-600 bytes, so 10,000 of them with
 * per-item audiences fit in 8 MiB. Only this route accepts a body that
 * large, and every other route keeps SG_HTTP_BODY_MAX. A result object
 * can be larger than its token, because the claims are re-encoded and
 * "audience" repeats them, so the response may reach 32 MiB before it
 * is rejected. */
#define SG_BATCH_ITEMS_MAX 10000
#define SG_BATCH_BODY_MAX (8 * 1024 * 1024)
#define SG_BATCH_RESPONSE_MAX (32 * 1024 * 1024)

/* CLI: one input line (a token) of `svidgate verify jwt`. Longer lines
 * are reported as malformed without being held in memory whole. */
#define SG_CLI_LINE_MAX SG_JWT_MAX

#endif
