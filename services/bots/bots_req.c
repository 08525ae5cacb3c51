/*
 * bots_req — see bots_req.h.
 */
#include "bots_req.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const char *
bots_req_get(const pgs_req_t *req, const char *group, const char *name)
{
    return json_string_value(json_object_get(json_object_get(pgs_req_params(req), group), name));
}

void
bots_req_media_type(const pgs_req_t *req, char *out, size_t len)
{
    const char *ct = bots_req_get(req, "headers", "content-type");
    size_t n = 0;
    if (len)
        out[0] = '\0';
    if (!ct || !len)
        return;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    while (*ct && *ct != ';' && *ct != ' ' && *ct != '\t' && n + 1 < len)
        out[n++] = (char)tolower((unsigned char)*ct++);
    out[n] = '\0';
}

json_t *
bots_req_arg(const pgs_req_t *req, const char *key, json_t **tmp)
{
    *tmp = NULL;
    json_t *v = json_object_get(pgs_req_params(req), key);
    if (v)
        return v;
    if (req->body_len) {
        *tmp = json_loadb(req->body, req->body_len, 0, NULL);
        return json_object_get(*tmp, key);
    }
    return NULL;
}

void
bots_req_fail(const pgs_req_t *req, pgs_res_t *res, const pgs_json_err_t *err)
{
    pgs_res_error(res, req, 400, err->code ? err->code : "invalid_request", err->message,
                  err->param[0] ? err->param : NULL);
}

json_t *
bots_req_body(const pgs_req_t *req, pgs_res_t *res, const pgs_json_field_t *fields)
{
    pgs_json_err_t err = {0};
    json_t *obj = pgs_json_parse_object(req->body, req->body_len, &err);
    if (!obj || pgs_json_check_fields(obj, fields, &err) < 0) {
        json_decref(obj);
        bots_req_fail(req, res, &err);
        return NULL;
    }
    return obj;
}

static int
s_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int
bots_req_text(json_t *v, const char *param, long min_cp, long max_cp, int trim, int multiline,
              char **out, pgs_json_err_t *err)
{
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return pgs_json_fail(err, param, "'%s' must be a string.", param);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (memchr(s, '\0', len) || pgs_json_utf8_length(s, len) < 0)
        return pgs_json_fail(err, param, "'%s' must be valid UTF-8 text.", param);
    if (trim) {
        while (len && s_space((unsigned char)*s)) {
            s++;
            len--;
        }
        while (len && s_space((unsigned char)s[len - 1]))
            len--;
    }
    long cp = pgs_json_utf8_length(s, len);
    if (cp < min_cp)
        return pgs_json_fail(err, param, "'%s' must not be empty.", param);
    if (cp > max_cp)
        return pgs_json_fail(err, param, "'%s' must be at most %ld characters.", param, max_cp);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int ctl = c < 0x20 || c == 0x7f ||
                  (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f);
        if (ctl && !(multiline && (c == '\t' || c == '\n' || c == '\r')))
            return pgs_json_fail(err, param, "'%s' must not contain control characters.", param);
    }
    if (!multiline && pgs_json_has_invisible(s, len))
        return pgs_json_fail(err, param, "'%s' " PGS_JSON_INVISIBLE_MESSAGE ".", param);
    *out = malloc(len + 1);
    if (!*out)
        return pgs_json_fail(err, param, "Out of memory.");
    memcpy(*out, s, len);
    (*out)[len] = '\0';
    return 0;
}

void
bots_req_no_bot(const pgs_req_t *req, pgs_res_t *res)
{
    pgs_res_error(res, req, 404, "not_found", "No such bot.", NULL);
}

void
bots_req_no_doc(const pgs_req_t *req, pgs_res_t *res)
{
    pgs_res_error(res, req, 404, "not_found", "No such document.", NULL);
}

void
bots_req_json(pgs_res_t *res, int status, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(obj);
    if (!text) {
        pgs_res_error(res, NULL, 500, "internal_error", "Out of memory.", NULL);
        return;
    }
    pgs_res_empty(res, status);
    res->body = text;
    res->body_len = strlen(text);
    pgs_res_header(res, "Content-Type", "application/json");
}
