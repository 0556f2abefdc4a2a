/*
 * Per-thread verification context.
 *
 * OpenSSL 3 takes locks inside shared fetched algorithms and contexts,
 * so each thread that verifies owns one sg_verifier: digests fetched
 * once when it is created, and one digest context reused by every
 * verification. A verifier is never shared between threads.
 */
#ifndef SVIDGATE_CORE_VERIFIER_H
#define SVIDGATE_CORE_VERIFIER_H

struct sg_verifier;

/* Returns NULL when OpenSSL cannot provide SHA-256/384/512. */
struct sg_verifier *sg_verifier_new(void);
void sg_verifier_free(struct sg_verifier *verifier);

#endif
