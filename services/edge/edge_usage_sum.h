/*
 * edge_usage_sum — the usage counts of the last few milliseconds, summed
 * per key in the edge (docs/internals.md, "Usage analytics"): a request
 * adds its counts to the row of its (token, route, bot, UTC day), and
 * edge_usage writes every row as one stream entry when it flushes. A token
 * names its workspace and user, so they ride along without being part of
 * the key.
 *
 * A fixed number of rows, in an open-addressing table of twice as many
 * slots, emptied by edge_usage_sum_drain; nothing is allocated per request.
 */
#ifndef EDGE_USAGE_SUM_H
#define EDGE_USAGE_SUM_H

#include "pgs_id.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char ws[PGS_ID_MAX], user[PGS_ID_MAX], tok[PGS_ID_MAX], bot[PGS_ID_MAX];
    const char *method, *pattern; /* the route's, from the route table (compared by address) */
    int64_t day;                  /* UTC day number of first_ms */
    int64_t first_ms;             /* Unix ms of the row's first request */
    long long requests, errors, msgs, in, out;
} edge_usage_row_t;

typedef struct edge_usage_sum edge_usage_sum_t;

/* Room for max_rows rows (at least 1). NULL when out of memory. */
edge_usage_sum_t *edge_usage_sum_new(size_t max_rows);
void edge_usage_sum_destroy(edge_usage_sum_t **s);

/* Adds one request's counts (one->requests and the rest) to the row of its
 * key, made when new with one's fields (its day from one->first_ms).
 * Returns 0, or -1 when the key is new and every row is taken (drain and
 * add again). */
int edge_usage_sum_add(edge_usage_sum_t *s, const edge_usage_row_t *one);

/* Rows held. */
size_t edge_usage_sum_len(const edge_usage_sum_t *s);

/* Calls fn for each row, in the order they were made, and empties s. */
void edge_usage_sum_drain(edge_usage_sum_t *s, void (*fn)(const edge_usage_row_t *row, void *arg),
                          void *arg);

#endif
