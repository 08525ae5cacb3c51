/*
 * pgs_meta — see pgs_meta.h.
 */
#include "pgs_meta.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_bot_ok(const char *s, size_t len)
{
    if (len == 0 || len >= PGS_META_BOT_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

static int
s_count(const char *s, size_t len, long long *out)
{
    if (len == 0 || len > 19)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        long long d = s[i] - '0';
        if (v > (LLONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int
s_inval_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return len > 0;
}

int
pgs_meta_is_empty(const pgs_meta_t *m)
{
    return !m->bot[0] && m->messages <= 0 && m->input_tokens <= 0 && m->output_tokens <= 0 &&
           !m->replayed && !(m->invalidate && *m->invalidate);
}

char *
pgs_meta_format(const pgs_meta_t *m)
{
    size_t cap = 256 + (m->invalidate ? strlen(m->invalidate) : 0);
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t len = 0;
    out[0] = '\0';
    if (m->bot[0])
        len += (size_t)snprintf(out + len, cap - len, "bot=%s\n", m->bot);
    if (m->messages > 0)
        len += (size_t)snprintf(out + len, cap - len, "messages=%lld\n", m->messages);
    if (m->input_tokens > 0)
        len += (size_t)snprintf(out + len, cap - len, "input_tokens=%lld\n", m->input_tokens);
    if (m->output_tokens > 0)
        len += (size_t)snprintf(out + len, cap - len, "output_tokens=%lld\n", m->output_tokens);
    if (m->replayed)
        len += (size_t)snprintf(out + len, cap - len, "replayed=1\n");
    if (m->invalidate && s_inval_ok(m->invalidate, strlen(m->invalidate)))
        snprintf(out + len, cap - len, "invalidate=%s\n", m->invalidate);
    return out;
}

int
pgs_meta_parse(const char *text, size_t len, pgs_meta_t *out)
{
    memset(out, 0, sizeof *out);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        const char *eq = memchr(p, '=', (size_t)(eol - p));
        if (eq) {
            size_t klen = (size_t)(eq - p), vlen = (size_t)(eol - eq - 1);
            const char *v = eq + 1;
            long long n = 0;
#define S_KEY(k) (klen == sizeof(k) - 1 && memcmp(p, k, klen) == 0)
            if (S_KEY("bot")) {
                if (s_bot_ok(v, vlen)) {
                    memcpy(out->bot, v, vlen);
                    out->bot[vlen] = '\0';
                }
            } else if (S_KEY("messages")) {
                if (s_count(v, vlen, &n) == 0)
                    out->messages = n;
            } else if (S_KEY("input_tokens")) {
                if (s_count(v, vlen, &n) == 0)
                    out->input_tokens = n;
            } else if (S_KEY("output_tokens")) {
                if (s_count(v, vlen, &n) == 0)
                    out->output_tokens = n;
            } else if (S_KEY("replayed")) {
                if (vlen == 1 && (v[0] == '0' || v[0] == '1'))
                    out->replayed = v[0] == '1';
            } else if (S_KEY("invalidate") && s_inval_ok(v, vlen)) {
                char *copy = malloc(vlen + 1);
                if (!copy) {
                    pgs_meta_clear(out);
                    return -1;
                }
                memcpy(copy, v, vlen);
                copy[vlen] = '\0';
                free(out->invalidate);
                out->invalidate = copy;
            }
#undef S_KEY
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}

int
pgs_meta_merge(pgs_meta_t *into, const pgs_meta_t *from)
{
    if (from->bot[0])
        memcpy(into->bot, from->bot, sizeof into->bot);
    if (from->messages)
        into->messages = from->messages;
    if (from->input_tokens)
        into->input_tokens = from->input_tokens;
    if (from->output_tokens)
        into->output_tokens = from->output_tokens;
    if (from->replayed)
        into->replayed = 1;
    if (!from->invalidate || !*from->invalidate)
        return 0;
    size_t a = into->invalidate ? strlen(into->invalidate) : 0, b = strlen(from->invalidate);
    char *p = realloc(into->invalidate, a + b + 2);
    if (!p)
        return -1;
    if (a)
        p[a++] = ' ';
    memcpy(p + a, from->invalidate, b + 1);
    into->invalidate = p;
    return 0;
}

void
pgs_meta_bot(pgs_meta_t *m, const char *bot_id)
{
    size_t n = bot_id ? strlen(bot_id) : 0;
    if (s_bot_ok(bot_id, n))
        memcpy(m->bot, bot_id, n + 1);
    else
        m->bot[0] = '\0';
}

int
pgs_meta_invalidate(pgs_meta_t *m, const char *text)
{
    free(m->invalidate);
    m->invalidate = NULL;
    if (!text)
        return 0;
    if (!s_inval_ok(text, strlen(text)))
        return -1; /* a line break would let it add fields of its own */
    m->invalidate = strdup(text);
    return m->invalidate ? 0 : -1;
}

void
pgs_meta_clear(pgs_meta_t *m)
{
    free(m->invalidate);
    memset(m, 0, sizeof *m);
}
