/*
 * pgs_id — see pgs_id.h.
 */
#include "pgs_id.h"

#include <sodium.h>
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
    for (int i = 0; i < PGS_ID_RANDOM_LEN; i++)
        out[n++] = s_base62[randombytes_uniform(62)];
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
