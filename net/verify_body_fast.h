/* The fast path for reading the common POST /v1/jwt-svid/verify body. */
#ifndef SVIDGATE_NET_VERIFY_BODY_FAST_H
#define SVIDGATE_NET_VERIFY_BODY_FAST_H

#include <stdbool.h>

#include "core/slice.h"

/*
 * Reads {"token": "...", "audience": "..."} (audience optional) when the
 * body has exactly that plain shape. Returns false for anything else;
 * the caller then parses the body with jansson. On success the slices
 * point into `text`; *audience is empty when there was none.
 */
bool sg_verify_body_read_fast(struct sg_slice text, struct sg_slice *token,
                              struct sg_slice *audience);

#endif
