/*
 * pgs_num — see pgs_num.h.
 */
#include "pgs_num.h"

/* Writes the digits of v, then its sign when neg, into out. */
static size_t
s_write(uint64_t v, int neg, char out[PGS_NUM_MAX])
{
    char tmp[PGS_NUM_MAX];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t k = 0;
    if (neg)
        out[k++] = '-';
    while (n)
        out[k++] = tmp[--n];
    out[k] = '\0';
    return k;
}

size_t
pgs_num_u64(uint64_t v, char out[PGS_NUM_MAX])
{
    return s_write(v, 0, out);
}

size_t
pgs_num_i64(int64_t v, char out[PGS_NUM_MAX])
{
    /* -(v + 1) + 1: INT64_MIN has no positive counterpart */
    return v >= 0 ? s_write((uint64_t)v, 0, out) : s_write((uint64_t)(-(v + 1)) + 1, 1, out);
}
