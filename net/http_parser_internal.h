/*
 * Helpers that net/http_parser.c shares with net/http_chunked.c. Not part
 * of the parser's interface.
 */
#ifndef SVIDGATE_NET_HTTP_PARSER_INTERNAL_H
#define SVIDGATE_NET_HTTP_PARSER_INTERNAL_H

#include "net/http_parser.h"

/* Returns whether `c` is a tchar (RFC 9110, section 5.6.2): a character of a token. */
bool sg_http_is_tchar(uint8_t c);

/* Sets `error` and returns SG_HTTP_PARSE_ERROR. */
enum sg_http_parse_result sg_http_fail(struct sg_http_error *error, int status,
                                       const char *message);

/*
 * Finds the LF that ends the line starting at parser->scanned and stores
 * its offset in *lf. Returns false when it has not arrived yet. Bytes
 * searched in an earlier call are not searched again, so a line that
 * arrives one byte at a time costs linear time.
 */
bool sg_http_find_line_end(struct sg_http_parser *parser, struct sg_slice buf, size_t *lf);

/*
 * Splits field-line = field-name ":" OWS field-value OWS (RFC 9112,
 * section 5), given without its CRLF, and checks both parts.
 */
enum sg_http_parse_result sg_http_split_field_line(struct sg_slice line, struct sg_slice *name,
                                                   struct sg_slice *value,
                                                   struct sg_http_error *error);

/*
 * Reads the chunked body that starts at parser->scanned as far as it has
 * arrived, moving each chunk's data to buf[head_size + decoded]. Returns
 * SG_HTTP_PARSE_COMPLETE once the trailer section has ended, with
 * parser->scanned just past it.
 */
enum sg_http_parse_result sg_http_chunked_decode(struct sg_http_parser *parser, uint8_t *buf,
                                                 size_t len, struct sg_http_error *error);

#endif
