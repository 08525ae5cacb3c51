/*
 * pgs_json — see pgs_json.h. jansson already rejects invalid UTF-8 and NUL
 * in strings by default; what it lets through (duplicate keys, a top-level
 * scalar, trailing garbage) is refused here.
 */
#include "pgs_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replaces every byte that is not part of a valid UTF-8 sequence with '?'.
 * Error texts quote the client's body (jansson's "near '…'") and snprintf may
 * cut a character in two; jansson refuses to make a string of invalid UTF-8,
 * and the error body would then lose its message. */
static void
s_utf8_repair(char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t n = 1;
        while (n <= 4 && i + n <= len && pgs_json_utf8_length(s + i, n) != 1)
            n++;
        if (n > 4 || i + n > len)
            s[i++] = '?';
        else
            i += n;
    }
}

int
pgs_json_fail(pgs_json_err_t *err, const char *param, const char *fmt, ...)
{
    err->code = "invalid_request";
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    s_utf8_repair(err->param);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    s_utf8_repair(err->message);
    return -1;
}

json_t *
pgs_json_parse_object(const char *body, size_t len, pgs_json_err_t *err)
{
    err->code = "invalid_json";
    err->param[0] = '\0';
    if (len == 0) {
        snprintf(err->message, sizeof err->message, "The request body must be a JSON object.");
        return NULL;
    }
    if (pgs_json_utf8_length(body, len) < 0) {
        snprintf(err->message, sizeof err->message, "The request body is not valid UTF-8.");
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        snprintf(err->message, sizeof err->message, "Invalid JSON at line %d column %d: %s",
                 je.line, je.column, je.text);
        s_utf8_repair(err->message);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        snprintf(err->message, sizeof err->message, "The request body must be a JSON object.");
        return NULL;
    }
    return v;
}

static const char *
s_type_name(pgs_json_type_t t)
{
    switch (t) {
    case PGS_JSON_STRING: return "a string";
    case PGS_JSON_INTEGER: return "an integer";
    case PGS_JSON_BOOLEAN: return "a boolean";
    case PGS_JSON_ARRAY: return "an array";
    case PGS_JSON_OBJECT: return "an object";
    }
    return "?";
}

static int
s_type_ok(json_t *v, pgs_json_type_t t)
{
    switch (t) {
    case PGS_JSON_STRING: return json_is_string(v);
    case PGS_JSON_INTEGER: return json_is_integer(v);
    case PGS_JSON_BOOLEAN: return json_is_boolean(v);
    case PGS_JSON_ARRAY: return json_is_array(v);
    case PGS_JSON_OBJECT: return json_is_object(v);
    }
    return 0;
}

char *
pgs_json_excerpt(const char *in, char out[PGS_JSON_EXCERPT_MAX])
{
    size_t n = 0;
    for (; in && *in && n < 32; in++) {
        unsigned char c = (unsigned char)*in;
        if (c >= 0x80 && (c & 0xC0) == 0x80)
            continue; /* the rest of a multi-byte character: one '?' for it */
        out[n++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    }
    if (in && *in)
        memcpy(out + n, "...", 3), n += 3;
    out[n] = '\0';
    return out;
}

int
pgs_json_check_fields(json_t *obj, const pgs_json_field_t *fields, pgs_json_err_t *err)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        const pgs_json_field_t *f = fields;
        while (f->name && strcmp(f->name, key) != 0)
            f++;
        if (!f->name) {
            char q[PGS_JSON_EXCERPT_MAX];
            pgs_json_excerpt(key, q);
            return pgs_json_fail(err, q, "Unknown field '%s'.", q);
        }
        if (json_is_null(val) && !f->required)
            continue;
        if (!s_type_ok(val, f->type))
            return pgs_json_fail(err, key, "'%s' must be %s.", f->name, s_type_name(f->type));
    }
    for (const pgs_json_field_t *f = fields; f->name; f++) {
        json_t *v = json_object_get(obj, f->name);
        if (f->required && (!v || json_is_null(v)))
            return pgs_json_fail(err, f->name, "'%s' is required.", f->name);
    }
    return 0;
}

long
pgs_json_utf8_length(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    long count = 0;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp;
        if (c == 0)
            return -1;
        if (c < 0x80) {
            i++;
            count++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return -1;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        i += n + 1;
        count++;
    }
    return count;
}

int
pgs_json_has_control(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    for (; *s; s++) {
        if (*s < 0x20 || *s == 0x7F)
            return 1;
        /* C1 controls U+0080..U+009F are encoded C2 80..C2 9F. */
        if (*s == 0xC2 && s[1] >= 0x80 && s[1] <= 0x9F)
            return 1;
    }
    return 0;
}

/* The code point of the UTF-8 sequence at s (valid UTF-8), and its length. */
static unsigned
s_code_point(const unsigned char *s, size_t len, size_t *n)
{
    if (s[0] < 0x80 || len < 2) {
        *n = 1;
        return s[0];
    }
    if (s[0] < 0xE0) {
        *n = 2;
        return ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    }
    if (s[0] < 0xF0 || len < 4) {
        *n = len < 3 ? len : 3;
        return len < 3 ? 0 : ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    }
    *n = 4;
    return ((s[0] & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
           (s[3] & 0x3Fu);
}

int
pgs_json_has_invisible(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0, n = 1; i < len; i += n) {
        unsigned cp = s_code_point(s + i, len - i, &n);
        if (cp == 0x061C || cp == 0x200B || cp == 0x200E || cp == 0x200F ||
            (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2060 ||
            cp == 0xFEFF || cp == 0x2028 || cp == 0x2029)
            return 1;
    }
    return 0;
}

char *
pgs_json_error_body(const char *code, const char *message, const char *request_id,
                    const char *param, json_t *extra)
{
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(code));
    json_object_set_new(e, "message", json_string(message ? message : ""));
    json_object_set_new(e, "request_id", json_string(request_id ? request_id : ""));
    if (param && *param)
        json_object_set_new(e, "param", json_string(param));
    if (extra)
        json_object_update(e, extra);
    json_t *root = json_pack("{s:o}", "error", e);
    char *out = pgs_json_dump(root);
    json_decref(root);
    return out;
}

char *
pgs_json_dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT);
}

void
pgs_jbuf_raw(pgs_jbuf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
pgs_jbuf_str(pgs_jbuf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    pgs_jbuf_raw(b, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        pgs_jbuf_raw(b, run, (size_t)(p - run));
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            pgs_jbuf_raw(b, esc, 2);
        } else {
            pgs_jbuf_raw(b, esc, 6);
        }
        run = p + 1;
    }
    pgs_jbuf_raw(b, run, strlen(run));
    pgs_jbuf_raw(b, "\"", 1);
}

void
pgs_jbuf_member(pgs_jbuf_t *b, int comma, const char *key, const char *value)
{
    if (comma)
        pgs_jbuf_raw(b, ",", 1);
    pgs_jbuf_str(b, key);
    pgs_jbuf_raw(b, ":", 1);
    pgs_jbuf_str(b, value);
}

char *
pgs_jbuf_take(pgs_jbuf_t *b)
{
    char *out = b->failed ? NULL : b->data;
    if (b->failed)
        free(b->data);
    memset(b, 0, sizeof *b);
    return out;
}
