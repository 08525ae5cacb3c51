/*
 * pgs_req — see pgs_req.h.
 */
#include "pgs_req.h"
#include "pgs_json.h"

#include <stdlib.h>
#include <string.h>

void
pgs_res_clear(pgs_res_t *res)
{
    json_decref(res->headers);
    free(res->body);
    pgs_meta_clear(&res->meta);
    memset(res, 0, sizeof *res);
}

void
pgs_res_move(pgs_res_t *dst, pgs_res_t *src)
{
    pgs_res_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

static void
s_body(pgs_res_t *res, int status, char *body)
{
    free(res->body);
    res->status = status;
    res->body = body;
    res->body_len = body ? strlen(body) : 0;
}

void
pgs_res_json(pgs_res_t *res, int status, json_t *body)
{
    char *text = body ? pgs_json_dump(body) : NULL;
    json_decref(body);
    s_body(res, status, text);
    pgs_res_header(res, "Content-Type", "application/json");
}

void
pgs_res_json_text(pgs_res_t *res, int status, char *text)
{
    s_body(res, text ? status : 500, text);
    pgs_res_header(res, "Content-Type", "application/json");
}

void
pgs_res_error(pgs_res_t *res, const pgs_req_t *req, int status, const char *code,
              const char *message, const char *param)
{
    s_body(res, status,
           pgs_json_error_body(code, message, req ? req->request_id : "", param, NULL));
    pgs_res_header(res, "Content-Type", "application/json");
}

void
pgs_res_empty(pgs_res_t *res, int status)
{
    s_body(res, status, NULL);
}

void
pgs_res_header(pgs_res_t *res, const char *name, const char *value)
{
    if (!res->headers)
        res->headers = json_object();
    json_object_set_new(res->headers, name, json_string(value));
}

void
pgs_res_usage_bot(pgs_res_t *res, const char *bot_id)
{
    pgs_meta_bot(&res->meta, bot_id);
}

const char *
pgs_req_ctx(const pgs_req_t *req, const char *key)
{
    return pgs_ctx_get(req->ctx, key);
}

json_t *
pgs_req_params(const pgs_req_t *req)
{
    if (req->params || !req->params_cache)
        return req->params;
    if (!*req->params_cache && req->params_text) {
        json_t *p = json_loads(req->params_text, 0, NULL);
        if (p && !json_is_object(p)) {
            json_decref(p);
            p = NULL;
        }
        *req->params_cache = p;
    }
    return *req->params_cache;
}

const char *
pgs_req_param(const pgs_req_t *req, const char *key)
{
    return json_string_value(json_object_get(pgs_req_params(req), key));
}
