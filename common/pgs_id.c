/*
 * pgs_id — see pgs_id.h.
 */
#include "pgs_id.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>

static const char s_base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void
pgs_id_new(const char *prefix, char out[PGS_ID_MAX])
{
    size_t n = strlen(prefix);
    if (n > 8)
        n = 8;
    memcpy(out, prefix, n);
    out[n++] = '_';
    /* One getrandom(2) per id (not one per character). Ids are not
     * secrets: rejection sampling keeps them uniform anyway. */
    unsigned char rnd[48];
    randombytes_buf(rnd, sizeof rnd);
    size_t used = 0;
    for (int i = 0; i < PGS_ID_RANDOM_LEN;) {
        if (used == sizeof rnd) {
            randombytes_buf(rnd, sizeof rnd);
            used = 0;
        }
        unsigned char b = rnd[used++];
        if (b >= 248) /* 248 = 4 × 62: keeps every character equally likely */
            continue;
        out[n++] = s_base62[b % 62];
        i++;
    }
    out[n] = '\0';
}

void
pgs_id_request(char out[PGS_ID_MAX])
{
    /* A random per-process prefix and a counter: unique without a system
     * call per request. */
    static char prefix[11];
    static uint64_t counter;
    if (!prefix[0]) {
        char tmp[PGS_ID_MAX];
        pgs_id_new("r", tmp);
        memcpy(prefix, tmp + 2, 10);
        prefix[10] = '\0';
    }
    char num[16];
    uint64_t c = ++counter;
    int k = 0;
    do {
        num[k++] = s_base62[c % 62];
        c /= 62;
    } while (c && k < 15);
    size_t n = 0;
    memcpy(out, "req_", 4);
    n = 4;
    memcpy(out + n, prefix, 10);
    n += 10;
    while (k)
        out[n++] = num[--k];
    out[n] = '\0';
}

int
pgs_id_valid(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (!s || strncmp(s, prefix, n) != 0 || s[n] != '_')
        return 0;
    size_t len = 0;
    for (const char *p = s + n + 1; *p; p++, len++) {
        if (!strchr(s_base62, *p) || len >= 24)
            return 0;
    }
    return len >= 1;
}

int
pgs_id_request_id_valid(const char *s)
{
    if (!s)
        return 0;
    size_t len = 0;
    for (; s[len]; len++) {
        char c = s[len];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok || len >= 64)
            return 0;
    }
    return len >= 1;
}
