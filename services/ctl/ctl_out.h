/*
 * ctl_out — what pegasusctl prints: aligned tables for people, the raw
 * JSON reply for --json, and one clear error line on stderr.
 */
#ifndef CTL_OUT_H
#define CTL_OUT_H

#include <jansson.h>
#include <stddef.h>

#define CTL_OUT_MAX_COLS 8

typedef struct ctl_table ctl_table_t;

/* A table with ncols columns titled by the NULL-terminated headers (copied
 * by reference: they must outlive the table). Returns NULL when out of
 * memory or when headers is empty. */
ctl_table_t *ctl_table_new(const char *const *headers);

/* Adds a row of ncols cells (copied; NULL prints as "-"). Returns 0 or -1. */
int ctl_table_row(ctl_table_t *t, const char *const *cells);

/* Prints the header and rows to stdout with columns padded to the widest
 * cell, then frees the table and sets *t to NULL. No-op on NULL. */
void ctl_table_print(ctl_table_t **t);

/* Frees the table without printing; *t becomes NULL. No-op on NULL. */
void ctl_table_destroy(ctl_table_t **t);

/* Prints "pegasusctl: <message>" on stderr and returns 1 (the error exit). */
int ctl_out_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints body (len bytes) and a newline on stdout; an empty body prints
 * {"ok":true}, so --json output is always one JSON document. */
void ctl_out_raw(const char *body, size_t len);

/* Prints v compactly and a newline on stdout. */
void ctl_out_json(const json_t *v);

/* A member of an object as text for a table cell: strings as is, numbers
 * and booleans formatted, null or absent as NULL. Writes into buf. */
const char *ctl_out_field(const json_t *obj, const char *key, char *buf, size_t len);

/* Prints the objects of the JSON array rows as a table: one column per
 * headers[i] (NULL-terminated), filled from the member fields[i] of each
 * row (strings, numbers and booleans as text; anything else empty).
 * Returns 0, or ctl_out_fail's code when out of memory. */
int ctl_out_list(const json_t *rows, const char *const *headers, const char *const *fields);

#endif
