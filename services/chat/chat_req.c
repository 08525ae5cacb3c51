/*
 * chat_req — see chat_req.h.
 */
#include "chat_req.h"

#include <string.h>
#include <time.h>

const char *
chat_req_get(const pgs_req_t *req, const char *group, const char *name)
{
    return json_string_value(json_object_get(json_object_get(pgs_req_params(req), group), name));
}

json_t *
chat_req_body(const pgs_req_t *req, pgs_res_t *res, const pgs_json_field_t *fields)
{
    pgs_json_err_t err = {0};
    json_t *obj = pgs_json_parse_object(req->body, req->body_len, &err);
    if (!obj || pgs_json_check_fields(obj, fields, &err) < 0) {
        json_decref(obj);
        pgs_res_error(res, req, 400, err.code ? err.code : "invalid_request", err.message,
                      err.param[0] ? err.param : NULL);
        return NULL;
    }
    return obj;
}

int
chat_req_sees_all(const pgs_req_t *req)
{
    const char *type = pgs_req_ctx(req, "workspace_type");
    const char *role = pgs_req_ctx(req, "role");
    if (type && !strcmp(type, "personal"))
        return 1;
    return role && (!strcmp(role, "owner") || !strcmp(role, "admin"));
}

void
chat_req_conv_not_found(const pgs_req_t *req, pgs_res_t *res)
{
    pgs_res_error(res, req, 404, "not_found", "No such conversation.", NULL);
}

int
chat_req_conversation(chat_t *c, const pgs_req_t *req, pgs_res_t *res, chat_conv_t *out)
{
    const char *id = chat_req_get(req, "path", "conversation_id");
    const char *ws = pgs_req_ctx(req, "workspace_id");
    const char *user = pgs_req_ctx(req, "user_id");
    if (!id || !ws || !user || !pgs_id_valid(id, "conv")) {
        chat_req_conv_not_found(req, res);
        return 0;
    }
    int rc = chat_store_conv_get(c->db, ws, id, out);
    if (rc < 0) {
        chat_req_fail_db(c->db, req, res);
        return 0;
    }
    if (rc == 0 || (!chat_req_sees_all(req) && strcmp(out->user_id, user) != 0)) {
        chat_req_conv_not_found(req, res);
        return 0;
    }
    return 1;
}

void
chat_req_unavailable(const pgs_req_t *req, pgs_res_t *res)
{
    pgs_res_error(res, req, 503, "service_unavailable",
                  "The service is temporarily unavailable. Try again shortly.", NULL);
    pgs_res_header(res, "Retry-After", "1");
}

void
chat_req_fail_db(pgs_db_t *db, const pgs_req_t *req, pgs_res_t *res)
{
    int code = sqlite3_errcode(pgs_db_handle(db)) & 0xff;
    pgs_db_rollback(db);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        chat_req_unavailable(req, res);
    else
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
}

void
chat_req_month(int64_t unix_s, char out[8])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 8, "%Y%m", &tm);
}
