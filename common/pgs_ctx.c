/*
 * pgs_ctx — see pgs_ctx.h.
 */
#include "pgs_ctx.h"

#include <stddef.h>
#include <string.h>

typedef struct {
    const char *name;
    size_t len, offset, size;
} s_field_t;

#define S_F(n)                                                                                     \
    {                                                                                              \
#n, sizeof #n - 1, offsetof(pgs_ctx_t, n), sizeof((pgs_ctx_t *)0)->n                       \
    }
static const s_field_t s_fields[] = {
    S_F(request_id),     S_F(client_ip), S_F(actor), S_F(token_id), S_F(user_id), S_F(workspace_id),
    S_F(workspace_type), S_F(role),      S_F(plan),  S_F(scopes),   S_F(seat),
};
#define S_NFIELDS (sizeof s_fields / sizeof s_fields[0])

static const s_field_t *
s_find(const char *name, size_t len)
{
    for (size_t i = 0; i < S_NFIELDS; i++)
        if (s_fields[i].len == len && memcmp(s_fields[i].name, name, len) == 0)
            return &s_fields[i];
    return NULL;
}

/* 1 when every byte is printable (a space included, bytes ≥ 0x80 too). */
static int
s_clean(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch < 0x20 || ch == 0x7f)
            return 0;
    }
    return 1;
}

int
pgs_ctx_parse(const char *text, size_t len, pgs_ctx_t *c)
{
    memset(c, 0, sizeof *c);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        const char *eq = memchr(p, '=', (size_t)(line_end - p));
        if (!eq)
            goto bad;
        size_t vlen = (size_t)(line_end - eq - 1);
        const s_field_t *f = s_find(p, (size_t)(eq - p));
        if (f) {
            if (vlen >= f->size || !s_clean(eq + 1, vlen))
                goto bad;
            char *dst = (char *)c + f->offset;
            memcpy(dst, eq + 1, vlen);
            dst[vlen] = '\0';
        }
        p = line_end + (nl ? 1 : 0);
    }
    return 0;
bad:
    memset(c, 0, sizeof *c);
    return -1;
}

int
pgs_ctx_format(const pgs_ctx_t *c, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < S_NFIELDS; i++) {
        const s_field_t *f = &s_fields[i];
        const char *v = (const char *)c + f->offset;
        size_t vlen = strnlen(v, f->size);
        if (vlen == 0)
            continue;
        if (vlen == f->size || !s_clean(v, vlen) || n + f->len + vlen + 2 >= size)
            return -1;
        memcpy(out + n, f->name, f->len);
        n += f->len;
        out[n++] = '=';
        memcpy(out + n, v, vlen);
        n += vlen;
        out[n++] = '\n';
    }
    if (size == 0)
        return -1;
    out[n] = '\0';
    return (int)n;
}

const char *
pgs_ctx_get(const pgs_ctx_t *c, const char *name)
{
    const s_field_t *f = c ? s_find(name, strlen(name)) : NULL;
    if (!f)
        return NULL;
    const char *v = (const char *)c + f->offset;
    return *v ? v : NULL;
}

int
pgs_ctx_set(pgs_ctx_t *c, const char *name, const char *value)
{
    const s_field_t *f = s_find(name, strlen(name));
    size_t vlen = value ? strlen(value) : 0;
    if (!f || vlen >= f->size || !s_clean(value ? value : "", vlen))
        return -1;
    char *dst = (char *)c + f->offset;
    memcpy(dst, value ? value : "", vlen + 1);
    return 0;
}
