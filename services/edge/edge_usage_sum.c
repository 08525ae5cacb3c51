/*
 * edge_usage_sum — see edge_usage_sum.h.
 */
#include "edge_usage_sum.h"

#include <stdlib.h>
#include <string.h>

struct edge_usage_sum {
    edge_usage_row_t *rows;
    size_t nrows, max_rows;
    uint32_t *slots;    /* row index + 1; 0: empty */
    uint32_t *row_slot; /* the slot of each row, so a drain empties only those */
    size_t mask;
};

#define S_DAY_MS (86400LL * 1000)

edge_usage_sum_t *
edge_usage_sum_new(size_t max_rows)
{
    if (max_rows == 0)
        max_rows = 1;
    size_t nslots = 4;
    while (nslots < max_rows * 2)
        nslots *= 2;
    edge_usage_sum_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->rows = calloc(max_rows, sizeof *s->rows);
    s->slots = calloc(nslots, sizeof *s->slots);
    s->row_slot = calloc(max_rows, sizeof *s->row_slot);
    if (!s->rows || !s->slots || !s->row_slot) {
        edge_usage_sum_destroy(&s);
        return NULL;
    }
    s->max_rows = max_rows;
    s->mask = nslots - 1;
    return s;
}

void
edge_usage_sum_destroy(edge_usage_sum_t **sp)
{
    if (!sp || !*sp)
        return;
    free((*sp)->rows);
    free((*sp)->slots);
    free((*sp)->row_slot);
    free(*sp);
    *sp = NULL;
}

/* FNV-1a over a string, continuing from h. */
static uint64_t
s_hash_str(uint64_t h, const char *p)
{
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL; /* the end, so "ab"+"c" ≠ "a"+"bc" */
}

static uint64_t
s_hash(const edge_usage_row_t *k, int64_t day)
{
    uint64_t h = 14695981039346656037ULL;
    h = s_hash_str(h, k->tok);
    h = s_hash_str(h, k->bot);
    h ^= (uint64_t)(uintptr_t)k->pattern * 0x9e3779b97f4a7c15ULL;
    h ^= (uint64_t)(uintptr_t)k->method * 0xc2b2ae3d27d4eb4fULL;
    h ^= (uint64_t)day * 0x165667b19e3779f9ULL;
    return h ^ (h >> 29);
}

static int
s_same(const edge_usage_row_t *row, const edge_usage_row_t *k, int64_t day)
{
    return row->day == day && row->pattern == k->pattern && row->method == k->method &&
           strcmp(row->tok, k->tok) == 0 && strcmp(row->bot, k->bot) == 0;
}

int
edge_usage_sum_add(edge_usage_sum_t *s, const edge_usage_row_t *one)
{
    int64_t day = one->first_ms >= 0 ? one->first_ms / S_DAY_MS : 0;
    size_t i = (size_t)s_hash(one, day) & s->mask;
    for (; s->slots[i]; i = (i + 1) & s->mask) {
        edge_usage_row_t *row = &s->rows[s->slots[i] - 1];
        if (s_same(row, one, day)) {
            row->requests += one->requests;
            row->errors += one->errors;
            row->msgs += one->msgs;
            row->in += one->in;
            row->out += one->out;
            return 0;
        }
    }
    if (s->nrows == s->max_rows)
        return -1;
    edge_usage_row_t *row = &s->rows[s->nrows];
    *row = *one;
    row->day = day;
    s->row_slot[s->nrows] = (uint32_t)i;
    s->slots[i] = (uint32_t)++s->nrows;
    return 0;
}

size_t
edge_usage_sum_len(const edge_usage_sum_t *s)
{
    return s->nrows;
}

void
edge_usage_sum_drain(edge_usage_sum_t *s, void (*fn)(const edge_usage_row_t *row, void *arg),
                     void *arg)
{
    if (!s->nrows)
        return;
    for (size_t i = 0; i < s->nrows; i++) {
        fn(&s->rows[i], arg);
        s->slots[s->row_slot[i]] = 0;
    }
    s->nrows = 0;
}
