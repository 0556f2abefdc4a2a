/* Helpers shared by the C unit tests. */
#ifndef SVIDGATE_TESTS_TESTUTIL_H
#define SVIDGATE_TESTS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/slice.h"

/* Exit code that ctest reports as "skipped". */
#define SG_TEST_SKIP_EXIT 77

/*
 * Reads a whole file into a NUL-terminated heap buffer; *len excludes the
 * NUL. Fails the running test when the file cannot be read.
 */
char *sg_test_read_file(const char *path, size_t *len);

/*
 * Returns the public vectors folder: $SVIDGATE_VECTORS, else
 * $SVIDGATE_VECTORS_DEFAULT (set by ctest), else ../shared/vectors. When it is absent, the process exits
 * with 77 (skipped) and a message, or with 1 when CI=true.
 */
const char *sg_test_vectors_dir(void);

/* Decodes a hex string into a heap buffer; NULL on bad hex. */
uint8_t *sg_test_hex_decode(const char *hex, size_t *len);

#endif
