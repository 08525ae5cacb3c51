/*
 * edge_addrs — see edge_addrs.h. A uthash table of addresses; an entry
 * lives while its count is above zero.
 */
#include "edge_addrs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef struct {
    char addr[64];
    int n;
    UT_hash_handle hh;
} s_entry_t;

struct edge_addrs {
    s_entry_t *map;
};

edge_addrs_t *
edge_addrs_new(void)
{
    return calloc(1, sizeof(edge_addrs_t));
}

void
edge_addrs_destroy(edge_addrs_t **tp)
{
    if (!tp || !*tp)
        return;
    s_entry_t *e, *tmp;
    HASH_ITER(hh, (*tp)->map, e, tmp)
    {
        HASH_DEL((*tp)->map, e);
        free(e);
    }
    free(*tp);
    *tp = NULL;
}

int
edge_addrs_take(edge_addrs_t *t, const char *addr, int max)
{
    s_entry_t *e = NULL;
    HASH_FIND_STR(t->map, addr, e);
    if (!e) {
        if (max < 1 || !(e = calloc(1, sizeof *e)))
            return 0;
        snprintf(e->addr, sizeof e->addr, "%s", addr);
        HASH_ADD_STR(t->map, addr, e);
    }
    if (e->n >= max)
        return 0;
    e->n++;
    return 1;
}

void
edge_addrs_give(edge_addrs_t *t, const char *addr)
{
    s_entry_t *e = NULL;
    HASH_FIND_STR(t->map, addr, e);
    if (!e)
        return;
    if (--e->n <= 0) {
        HASH_DEL(t->map, e);
        free(e);
    }
}

int
edge_addrs_count(const edge_addrs_t *t, const char *addr)
{
    s_entry_t *e = NULL;
    HASH_FIND_STR(t->map, addr, e);
    return e ? e->n : 0;
}
