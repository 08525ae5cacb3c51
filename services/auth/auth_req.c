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
    return json_string_value(json_object_get(json_object_get(pgs_req_params(req), group), name));
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
    if (pgs_json_has_invisible(out, len))
        return pgs_json_fail(err, param, "'%s' " PGS_JSON_INVISIBLE_MESSAGE ".", param);
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
