/*
 * pgs_id — prefixed random identifiers (usr_, ws_, tok_, …) and request ids.
 */
#ifndef PGS_ID_H
#define PGS_ID_H

#include <stddef.h>

#define PGS_ID_RANDOM_LEN 20 /* base62 characters after the prefix: ~119 bits */
#define PGS_ID_MAX 32        /* longest id with its NUL, for any prefix ≤ 8 */

/* Writes prefix + "_" + 20 random base62 characters into out (PGS_ID_MAX).
 * prefix is "usr", "ws", "tok", … Needs sodium_init(). */
void pgs_id_new(const char *prefix, char out[PGS_ID_MAX]);

/* Writes a request id: "req_" + 10 random base62 characters chosen once
 * per process + a counter in base62. Unique, cheap (no system call). */
void pgs_id_request(char out[PGS_ID_MAX]);

/* 1 when s looks like an id with this prefix (prefix_ + 1..24 base62), else 0. */
int pgs_id_valid(const char *s, const char *prefix);

/* 1 when s is a client request id we echo: 1..64 of [A-Za-z0-9._:-]. */
int pgs_id_request_id_valid(const char *s);

#endif
