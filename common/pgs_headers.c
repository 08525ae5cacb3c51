/*
 * pgs_headers — see pgs_headers.h.
 */
#include "pgs_headers.h"
#include "pgs_json.h"

#include <stdlib.h>
#include <string.h>

static int
s_token_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static int
s_name_ok(const char *n, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!s_token_char((unsigned char)n[i]))
            return 0;
    return 1;
}

static int
s_value_ok(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
            return 0;
    return 1;
}

char *
pgs_headers_format(const json_t *headers)
{
    pgs_jbuf_t b = {0};
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)headers, key, val)
    {
        const char *v = json_string_value(val);
        size_t kn = strlen(key), vn = v ? json_string_length(val) : 0;
        if (!v || !s_name_ok(key, kn) || !s_value_ok(v, vn))
            continue;
        pgs_jbuf_raw(&b, key, kn);
        pgs_jbuf_raw(&b, ": ", 2);
        pgs_jbuf_raw(&b, v, vn);
        pgs_jbuf_raw(&b, "\n", 1);
    }
    int failed = b.failed;
    char *text = pgs_jbuf_take(&b);
    return text || failed ? text : strdup("");
}

int
pgs_headers_each(const char *text, size_t len,
                 void (*fn)(void *arg, const char *name, size_t name_len, const char *value,
                            size_t value_len),
                 void *arg)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (!colon || !s_name_ok(p, (size_t)(colon - p)))
            return -1;
        const char *v = colon + 1;
        if (v < line_end && *v == ' ')
            v++;
        if (!s_value_ok(v, (size_t)(line_end - v)))
            return -1;
        fn(arg, p, (size_t)(colon - p), v, (size_t)(line_end - v));
        p = line_end + (nl ? 1 : 0);
    }
    return 0;
}

static void
s_put(void *arg, const char *name, size_t name_len, const char *value, size_t value_len)
{
    char key[256];
    if (name_len >= sizeof key)
        return;
    memcpy(key, name, name_len);
    key[name_len] = '\0';
    json_object_set_new(arg, key, json_stringn(value, value_len));
}

json_t *
pgs_headers_object(const char *text, size_t len)
{
    json_t *o = json_object();
    if (o && pgs_headers_each(text, len, s_put, o) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
