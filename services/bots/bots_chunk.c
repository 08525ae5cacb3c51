/*
 * bots_chunk — see bots_chunk.h.
 */
#include "bots_chunk.h"

#include <stdlib.h>

static int
s_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The byte index of the code point after the one at pos. */
static size_t
s_next(const char *s, size_t len, size_t pos)
{
    pos++;
    while (pos < len && ((unsigned char)s[pos] & 0xC0) == 0x80)
        pos++;
    return pos;
}

/* The byte index of the code point before the one at pos (pos > 0). */
static size_t
s_prev(const char *s, size_t pos)
{
    pos--;
    while (pos > 0 && ((unsigned char)s[pos] & 0xC0) == 0x80)
        pos--;
    return pos;
}

/* Where the passage starting at pos should end, searching back from limit
 * to half. *para is set when it ends at a paragraph break. */
static size_t
s_cut(const char *s, size_t half, size_t limit, int *para)
{
    *para = 0;
    /* a blank line: '\n', optional spaces, '\n' */
    for (size_t p = limit; p-- > half;) {
        if (s[p] != '\n')
            continue;
        size_t q = p;
        while (q > half && (s[q - 1] == ' ' || s[q - 1] == '\t' || s[q - 1] == '\r'))
            q--;
        if (q > half && s[q - 1] == '\n') {
            *para = 1;
            return q - 1;
        }
    }
    for (size_t p = limit; p-- > half;)
        if ((s[p] == '.' || s[p] == '!' || s[p] == '?') && p + 1 < limit && s_ws(s[p + 1]))
            return p + 1;
    for (size_t p = limit; p-- > half;)
        if (s_ws(s[p]))
            return p;
    return limit;
}

long
bots_chunk_split(const char *s, size_t len, size_t target, size_t overlap, bots_chunk_t **out)
{
    *out = NULL;
    if (target < 2)
        target = 2;
    if (overlap > target / 4)
        overlap = target / 4;
    size_t n = 0, cap = 0;
    bots_chunk_t *v = NULL;
    size_t pos = 0;
    while (pos < len && s_ws(s[pos]))
        pos++;
    while (pos < len) {
        size_t limit = pos, half = pos;
        for (size_t c = 0; c < target && limit < len; c++) {
            limit = s_next(s, len, limit);
            if (c + 1 == target / 2)
                half = limit;
        }
        int para = 1;
        size_t end = limit >= len ? len : s_cut(s, half, limit, &para);
        if (end <= pos)
            end = limit;
        size_t a = pos, b = end;
        while (a < b && s_ws(s[a]))
            a++;
        while (b > a && s_ws(s[b - 1]))
            b--;
        if (b > a) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                bots_chunk_t *nv = realloc(v, ncap * sizeof *nv);
                if (!nv) {
                    free(v);
                    return -1;
                }
                v = nv;
                cap = ncap;
            }
            v[n].off = a;
            v[n].len = b - a;
            n++;
        }
        if (end >= len)
            break;
        size_t next = end;
        if (!para && overlap > 0) {
            size_t q = end;
            for (size_t c = 0; c < overlap && q > pos; c++)
                q = s_prev(s, q);
            while (q < end && !s_ws(s[q]))
                q++;
            if (q > pos && q < end)
                next = q;
        }
        pos = next;
        while (pos < len && s_ws(s[pos]))
            pos++;
    }
    *out = v;
    return (long)n;
}
