/*
 * auth_req — see auth_req.h.
 */
#include "auth_req.h"
#include "pgs_time.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *
auth_req_get(const pgs_req_t *req, const char *group, const char *name)
{
    return json_string_value(json_object_get(json_object_get(req->params, group), name));
}

int
auth_req_is_json(const pgs_req_t *req)
{
    const char *ct = auth_req_get(req, "headers", "content-type");
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    static const char want[] = "application/json";
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return 0;
    const char *rest = ct + sizeof want - 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return *rest == '\0' || *rest == ';';
}

void
auth_req_fail_json(const pgs_req_t *req, pgs_res_t *res, const pgs_json_err_t *err)
{
    pgs_res_error(res, req, 400, err->code ? err->code : "invalid_request", err->message,
                  err->param[0] ? err->param : NULL);
}

json_t *
auth_req_body(const pgs_req_t *req, pgs_res_t *res, const pgs_json_field_t *fields,
              int need_json_ct)
{
    if (need_json_ct && !auth_req_is_json(req)) {
        pgs_res_error(res, req, 415, "unsupported_media_type",
                      "The request body must be JSON (Content-Type: application/json).", NULL);
        return NULL;
    }
    pgs_json_err_t err = {0};
    json_t *obj = pgs_json_parse_object(req->body, req->body_len, &err);
    if (!obj || pgs_json_check_fields(obj, fields, &err) < 0) {
        json_decref(obj);
        auth_req_fail_json(req, res, &err);
        return NULL;
    }
    return obj;
}

int
auth_req_limit(const pgs_req_t *req, pgs_res_t *res, int *out)
{
    const char *s = auth_req_get(req, "query", "limit");
    *out = AUTH_REQ_LIMIT_DEFAULT;
    if (!s)
        return 0;
    long v = 0;
    size_t n = strlen(s);
    int ok = n > 0 && n <= 3;
    for (size_t i = 0; ok && i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            ok = 0;
        else
            v = v * 10 + (s[i] - '0');
    }
    if (!ok || v < 1 || v > AUTH_REQ_LIMIT_MAX) {
        pgs_res_error(res, req, 400, "invalid_request", "'limit' must be an integer from 1 to 100.",
                      "limit");
        return -1;
    }
    *out = (int)v;
    return 0;
}

void
auth_req_cursor_encode(int64_t created_at, const char *id, char *out, size_t len)
{
    char raw[128];
    int n = snprintf(raw, sizeof raw, "c1:%lld:%s", (long long)created_at, id);
    if (n < 0 || (size_t)n >= sizeof raw ||
        sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > len) {
        if (len)
            out[0] = '\0';
        return;
    }
    sodium_bin2base64(out, len, (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
auth_req_cursor(const pgs_req_t *req, pgs_res_t *res, int *has, int64_t *created_at,
                char id[AUTH_REQ_CURSOR_ID])
{
    *has = 0;
    const char *s = auth_req_get(req, "query", "after");
    if (!s)
        return 0;
    unsigned char raw[128];
    size_t rawlen = 0;
    size_t slen = strlen(s);
    int ok = slen > 0 && slen < 160 &&
             sodium_base642bin(raw, sizeof raw - 1, s, slen, NULL, &rawlen, NULL,
                               sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0;
    if (ok) {
        raw[rawlen] = '\0';
        char *p = (char *)raw;
        ok = strncmp(p, "c1:", 3) == 0;
        char *colon = ok ? strchr(p + 3, ':') : NULL;
        ok = colon != NULL && colon > p + 3 && colon - (p + 3) < 20;
        for (char *q = p + 3; ok && q < colon; q++)
            if (!isdigit((unsigned char)*q))
                ok = 0;
        if (ok) {
            *created_at = strtoll(p + 3, NULL, 10);
            const char *idp = colon + 1;
            size_t idlen = strlen(idp);
            ok = idlen > 0 && idlen < AUTH_REQ_CURSOR_ID;
            for (const char *q = idp; ok && *q; q++)
                if (!isalnum((unsigned char)*q) && *q != '.' && *q != '_' && *q != '-')
                    ok = 0;
            if (ok)
                snprintf(id, AUTH_REQ_CURSOR_ID, "%s", idp);
        }
    }
    if (!ok) {
        pgs_res_error(res, req, 400, "invalid_request", "'after' is not a valid cursor.", "after");
        return -1;
    }
    *has = 1;
    return 1;
}

json_t *
auth_req_list(json_t *data, int has_more, const char *next_cursor)
{
    json_t *o = json_object();
    json_object_set_new(o, "object", json_string("list"));
    json_object_set_new(o, "data", data ? data : json_array());
    json_object_set_new(o, "has_more", json_boolean(has_more));
    json_object_set_new(o, "next_cursor",
                        has_more && next_cursor ? json_string(next_cursor) : json_null());
    return o;
}

json_t *
auth_req_time(int64_t unix_s)
{
    if (unix_s <= 0)
        return json_null();
    char buf[PGS_TIME_RFC3339_LEN];
    pgs_time_rfc3339(unix_s, buf);
    return json_string(buf);
}

int64_t
auth_req_now(void)
{
    return pgs_time_now_ms() / 1000;
}

static int
s_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int
auth_req_text(json_t *v, const char *param, long max_cp, char *out, size_t outlen,
              pgs_json_err_t *err)
{
    if (!json_is_string(v))
        return pgs_json_fail(err, param, "'%s' must be a string.", param);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (memchr(s, '\0', len) || pgs_json_utf8_length(s, len) < 0)
        return pgs_json_fail(err, param, "'%s' must be valid UTF-8 text.", param);
    while (len && s_is_space((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && s_is_space((unsigned char)s[len - 1]))
        len--;
    if (len == 0)
        return pgs_json_fail(err, param, "'%s' must not be empty.", param);
    long cp = pgs_json_utf8_length(s, len);
    if (cp > max_cp || len >= outlen)
        return pgs_json_fail(err, param, "'%s' must be at most %ld characters.", param, max_cp);
    memcpy(out, s, len);
    out[len] = '\0';
    if (pgs_json_has_control(out))
        return pgs_json_fail(err, param, "'%s' must not contain control characters.", param);
    return 0;
}

void
auth_req_unauthorized(const pgs_req_t *req, pgs_res_t *res, const char *code, const char *message)
{
    pgs_res_error(res, req, 401, code, message, NULL);
    pgs_res_header(res, "WWW-Authenticate", "Bearer realm=\"pegasus\", error=\"invalid_token\"");
}

void
auth_req_unavailable(const pgs_req_t *req, pgs_res_t *res)
{
    pgs_res_error(res, req, 503, "service_unavailable",
                  "The service is temporarily unavailable. Try again shortly.", NULL);
    pgs_res_header(res, "Retry-After", "1");
}

void
auth_req_fail_db(pgs_db_t *db, const pgs_req_t *req, pgs_res_t *res)
{
    int code = sqlite3_errcode(pgs_db_handle(db)) & 0xff;
    pgs_db_rollback(db);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        auth_req_unavailable(req, res);
    else
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
}
