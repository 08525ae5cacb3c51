/*
 * pgs_headers — a reply's HTTP headers as the protocol carries them
 * (REPLY's headers frame, pgs_proto.h): flat lines "Name: value\n", like
 * the context (pgs_ctx.h) and the meta (pgs_meta.h), so that the edge reads
 * them in one pass without a JSON parser.
 *
 * A name is an HTTP token (RFC 9110: letters, digits and !#$%&'*+-.^_`|~);
 * a value is bytes without CR, LF or NUL (the edge writes it into the
 * response head as it is, so nothing here can split a header). Workers keep
 * their headers as a JSON object (pgs_res_t.headers) and format it when the
 * reply is sent.
 */
#ifndef PGS_HEADERS_H
#define PGS_HEADERS_H

#include <jansson.h>
#include <stddef.h>

/* The object's string members as header lines (malloc'd, "" for none or
 * NULL; NULL when out of memory). A member that is not a string, or whose
 * name or value could not travel, is left out. */
char *pgs_headers_format(const json_t *headers);

/* Calls fn for each line of text (len bytes) with its name and value
 * (not NUL-terminated; the value without the space after ':'). Returns 0,
 * or -1 at the first malformed line (a bad name, no ':', a CR): fn has seen
 * the lines before it. */
int pgs_headers_each(const char *text, size_t len,
                     void (*fn)(void *arg, const char *name, size_t name_len, const char *value,
                                size_t value_len),
                     void *arg);

/* The lines of text as a JSON object (NULL when malformed). */
json_t *pgs_headers_object(const char *text, size_t len);

#endif
