/*
 * pgs_page — see pgs_page.h.
 */
#include "pgs_page.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= PGS_PAGE_ID_MAX)
        return 0;
    for (const char *q = id; *q; q++)
        if (!isalnum((unsigned char)*q) && *q != '.' && *q != '_' && *q != '-')
            return 0;
    return 1;
}

void
pgs_page_cursor(int64_t created_at, const char *id, char *out, size_t len)
{
    char raw[128];
    if (len)
        out[0] = '\0';
    if (!id || !s_id_ok(id) || created_at < 0)
        return;
    int n = snprintf(raw, sizeof raw, "p1:%lld:%s", (long long)created_at, id);
    if (n < 0 || (size_t)n >= sizeof raw ||
        sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > len)
        return;
    sodium_bin2base64(out, len, (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
pgs_page_cursor_decode(const char *s, int64_t *created_at, char id[PGS_PAGE_ID_MAX])
{
    unsigned char raw[128];
    size_t rawlen = 0;
    size_t slen = s ? strlen(s) : 0;
    if (slen == 0 || slen >= PGS_PAGE_CURSOR_MAX ||
        sodium_base642bin(raw, sizeof raw - 1, s, slen, NULL, &rawlen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    raw[rawlen] = '\0';
    if (memchr(raw, '\0', rawlen))
        return -1;
    const char *p = (const char *)raw;
    if (strncmp(p, "p1:", 3) != 0)
        return -1;
    const char *digits = p + 3;
    const char *colon = strchr(digits, ':');
    /* at most 18 digits: no overflow of int64_t */
    if (!colon || colon == digits || colon - digits > 18)
        return -1;
    for (const char *q = digits; q < colon; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    if (!s_id_ok(colon + 1))
        return -1;
    *created_at = strtoll(digits, NULL, 10);
    snprintf(id, PGS_PAGE_ID_MAX, "%s", colon + 1);
    return 0;
}

static const char *
s_query(const pgs_req_t *req, const char *name)
{
    return json_string_value(json_object_get(json_object_get(pgs_req_params(req), "query"), name));
}

int
pgs_page_parse(const pgs_req_t *req, pgs_res_t *res, pgs_page_t *page)
{
    memset(page, 0, sizeof *page);
    page->limit = PGS_PAGE_LIMIT_DEFAULT;
    const char *s = s_query(req, "limit");
    if (s) {
        long v = 0;
        size_t n = strlen(s);
        int ok = n > 0 && n <= 3;
        for (size_t i = 0; ok && i < n; i++) {
            if (!isdigit((unsigned char)s[i]))
                ok = 0;
            else
                v = v * 10 + (s[i] - '0');
        }
        if (!ok || v < 1 || v > PGS_PAGE_LIMIT_MAX) {
            pgs_res_error(res, req, 400, "invalid_request",
                          "'limit' must be an integer from 1 to 100.", "limit");
            return -1;
        }
        page->limit = (int)v;
    }
    s = s_query(req, "after");
    if (s) {
        if (pgs_page_cursor_decode(s, &page->after_ts, page->after_id) < 0) {
            pgs_res_error(res, req, 400, "invalid_request", "'after' is not a valid cursor.",
                          "after");
            return -1;
        }
        page->has_after = 1;
    }
    return 0;
}

json_t *
pgs_page_list(json_t *data, int has_more, const char *next_cursor)
{
    json_t *o = json_object();
    json_object_set_new(o, "object", json_string("list"));
    json_object_set_new(o, "data", data ? data : json_array());
    json_object_set_new(o, "has_more", json_boolean(has_more));
    json_object_set_new(o, "next_cursor", has_more && next_cursor && *next_cursor
                                              ? json_string(next_cursor)
                                              : json_null());
    return o;
}
