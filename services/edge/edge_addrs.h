/*
 * edge_addrs — a count per client address (connections open, or requests
 * in flight), capped: what lets the edge refuse the 65th connection of one
 * address while every other address is served.
 */
#ifndef EDGE_ADDRS_H
#define EDGE_ADDRS_H

typedef struct edge_addrs edge_addrs_t;

/* A new, empty table, or NULL. */
edge_addrs_t *edge_addrs_new(void);

/* Frees the table; sets *t to NULL. */
void edge_addrs_destroy(edge_addrs_t **t);

/* Counts one more for addr unless it already has max. Returns 1 when
 * counted, 0 when at the cap (or out of memory: refused as well). */
int edge_addrs_take(edge_addrs_t *t, const char *addr, int max);

/* Gives back one that edge_addrs_take counted. */
void edge_addrs_give(edge_addrs_t *t, const char *addr);

/* The count of addr (0 when unknown). */
int edge_addrs_count(const edge_addrs_t *t, const char *addr);

#endif
