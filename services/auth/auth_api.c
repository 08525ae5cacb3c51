/*
 * auth_api — see auth_api.h.
 */
#include "auth_api.h"
#include "auth_req.h"
#include "auth_state.h"
#include "auth_store.h"
#include "auth_tokens.h"
#include "auth_view.h"
#include "pgs_log.h"
#include "pgs_page.h"
#include "pgs_plan.h"
#include "pgs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A string argument of an internal call: from params, else from a JSON
 * body. Copied into out; 1 found, 0 not. */
static int
s_arg(const pgs_req_t *req, const char *key, char *out, size_t len)
{
    const char *v = json_string_value(json_object_get(pgs_req_params(req), key));
    json_t *body = NULL;
    if (!v && req->body_len) {
        body = json_loadb(req->body, req->body_len, 0, NULL);
        v = json_string_value(json_object_get(body, key));
    }
    int ok = v && strlen(v) < len;
    if (ok)
        snprintf(out, len, "%s", v);
    json_decref(body);
    return ok;
}

static void
s_ws_ref(json_t *o, const auth_ws_t *ws)
{
    json_object_set_new(
        o, "workspace",
        json_pack("{s:s,s:s,s:s}", "id", ws->id, "type", ws->type, "name", ws->name));
}

/* Loads the calling token's workspace (and user when u is not NULL) from
 * the view (auth.db on a miss, one statement at a time: no transaction for
 * a pure read). 0, or -1 with res filled. */
static int
s_load(auth_t *a, const pgs_req_t *req, pgs_res_t *res, auth_ws_t *ws, auth_user_t *u)
{
    const char *ws_id = pgs_req_ctx(req, "workspace_id");
    const char *user_id = pgs_req_ctx(req, "user_id");
    int rc = ws_id ? auth_view_ws(a, ws_id, ws) : 0;
    if (rc == 1 && u)
        rc = user_id ? auth_view_user(a, user_id, u) : 0;
    if (rc < 0) {
        auth_req_fail_db(a->db, req, res);
        return -1;
    }
    if (rc == 0) {
        auth_req_unauthorized(req, res, "invalid_token", "The token is not valid.");
        return -1;
    }
    if (u)
        sodium_memzero(u->password_hash, sizeof u->password_hash);
    return 0;
}

pgs_handled_t
auth_api_token_get(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    const char *id = pgs_req_ctx(req, "token_id");
    auth_tok_t t;
    int rc = id ? auth_view_tok(a, id, &t) : 0;
    if (rc < 0) {
        auth_req_fail_db(a->db, req, res);
        return PGS_DONE;
    }
    if (rc == 0) {
        auth_req_unauthorized(req, res, "invalid_token", "The token is not valid.");
        return PGS_DONE;
    }
    pgs_res_json(res, 200, auth_tokens_object(&t, auth_req_now()));
    return PGS_DONE;
}

pgs_handled_t
auth_api_token_revoke_self(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    const char *id = pgs_req_ctx(req, "token_id");
    if (!id || !pgs_id_valid(id, "tok")) {
        auth_req_unauthorized(req, res, "invalid_token", "The token is not valid.");
        return PGS_DONE;
    }
    if (auth_tokens_revoke(a, id, res) < 0) {
        auth_req_fail_db(a->db, req, res);
        return PGS_DONE;
    }
    PGS_LOG(PGS_LOG_INFO, req->request_id, "token revoked itself id=%s", id);
    pgs_res_empty(res, 204);
    return PGS_DONE;
}

pgs_handled_t
auth_api_me(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    auth_ws_t ws;
    auth_user_t u;
    if (s_load(a, req, res, &ws, &u) < 0)
        return PGS_DONE;
    auth_mem_t m;
    int rc = auth_view_mem(a, ws.id, u.id, &m);
    if (rc < 0) {
        auth_req_fail_db(a->db, req, res);
        return PGS_DONE;
    }
    const char *role = rc == 1 ? m.role : pgs_req_ctx(req, "role");
    /* Written by hand: the hottest read there is (no jansson tree). */
    pgs_jbuf_t b = {0};
    pgs_jbuf_raw(&b, "{", 1);
    pgs_jbuf_member(&b, 0, "id", u.id);
    pgs_jbuf_member(&b, 1, "object", "user");
    pgs_jbuf_member(&b, 1, "email", u.email);
    pgs_jbuf_member(&b, 1, "name", u.name);
    pgs_jbuf_raw(&b, ",\"workspace\":{", 14);
    pgs_jbuf_member(&b, 0, "id", ws.id);
    pgs_jbuf_member(&b, 1, "type", ws.type);
    pgs_jbuf_member(&b, 1, "name", ws.name);
    pgs_jbuf_raw(&b, "}", 1);
    pgs_jbuf_member(&b, 1, "role", role ? role : "");
    pgs_jbuf_raw(&b, "}", 1);
    pgs_res_json_text(res, 200, pgs_jbuf_take(&b));
    return PGS_DONE;
}

pgs_handled_t
auth_api_subscription(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    auth_ws_t ws;
    if (s_load(a, req, res, &ws, NULL) < 0)
        return PGS_DONE;
    int64_t now = auth_req_now();
    int64_t start = pgs_time_month_start(now);
    char month[8];
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(month, sizeof month, "%Y%m", &tm);
    redisReply *r = pgs_redis_command(a->redis, "GET pgs:quota:%s:%s", ws.id, month);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        if (r)
            freeReplyObject(r);
        auth_req_unavailable(req, res);
        return PGS_DONE;
    }
    long long used = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    if (used < 0)
        used = 0;
    int team = !strcmp(ws.type, "team");
    json_t *quota = json_object();
    json_object_set_new(quota, "period_start", auth_req_time(start));
    json_object_set_new(quota, "period_end", auth_req_time(pgs_time_next_month_start(now)));
    json_object_set_new(quota, "messages_limit",
                        json_integer(auth_state_plan_messages(a, ws.plan)));
    json_object_set_new(quota, "messages_used", json_integer(used));
    json_object_set_new(quota, "disabled", json_boolean(team && ws.quota_disabled));
    json_t *o = json_object();
    json_object_set_new(o, "object", json_string("subscription"));
    s_ws_ref(o, &ws);
    json_object_set_new(o, "plan", json_string(ws.plan));
    json_object_set_new(o, "status", json_string(team ? ws.status : "active"));
    json_object_set_new(o, "api_access", json_boolean(auth_state_plan_api(a, ws.plan)));
    json_object_set_new(o, "read_only", json_boolean(auth_store_ws_read_only(&ws)));
    json_object_set_new(o, "quota", quota);
    if (team) {
        long long seated = auth_view_seated(a, ws.id);
        if (seated < 0) {
            json_decref(o);
            auth_req_fail_db(a->db, req, res);
            return PGS_DONE;
        }
        json_object_set_new(
            o, "seats",
            json_pack("{s:I,s:I}", "total", (json_int_t)ws.seats, "used", (json_int_t)seated));
    }
    pgs_res_json(res, 200, o);
    return PGS_DONE;
}

/* ---- models ---- */

typedef struct {
    const auth_t *a;
    const char *plan;
    json_t *data;
} s_models_t;

static void
s_model_each(const char *section, const char *suffix, void *arg)
{
    (void)section;
    s_models_t *m = arg;
    const char *plans = pgs_conf_str_in(m->a->cfg, PGS_KEY_MODEL_PLANS, suffix);
    if (!pgs_plan_list_has(plans, m->plan))
        return;
    json_t *arr = json_array();
    const char *p = plans;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != ',' && *p != '\t')
            p++;
        if (p > start)
            json_array_append_new(arr, json_stringn(start, (size_t)(p - start)));
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(suffix));
    json_object_set_new(o, "object", json_string("model"));
    /* OpenAI's fields: a configured model has no creation date (0); the
     * platform serves it. */
    json_object_set_new(o, "created", json_integer(0));
    json_object_set_new(o, "owned_by", json_string("pegasus"));
    const char *name = pgs_conf_str_in(m->a->cfg, PGS_KEY_MODEL_NAME, suffix);
    json_object_set_new(o, "name", json_string(name ? name : suffix));
    json_object_set_new(o, "description",
                        json_string(pgs_conf_str_in(m->a->cfg, PGS_KEY_MODEL_DESCRIPTION, suffix)));
    json_object_set_new(o, "plans", arr);
    json_object_set_new(o, "provider",
                        json_string(pgs_conf_str_in(m->a->cfg, PGS_KEY_MODEL_PROVIDER, suffix)));
    json_array_append_new(m->data, o);
}

pgs_handled_t
auth_api_models(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    auth_ws_t ws;
    if (s_load(a, req, res, &ws, NULL) < 0)
        return PGS_DONE;
    pgs_page_t pg;
    if (pgs_page_parse(req, res, &pg) < 0)
        return PGS_DONE;
    int limit = pg.limit, has_after = pg.has_after;
    const char *after = pg.after_id;
    /* Models are listed in config order (they have no creation time). */
    s_models_t m = {.a = a, .plan = ws.plan, .data = json_array()};
    pgs_config_each_section(a->cfg, "model.", s_model_each, &m);
    size_t first = 0, n = json_array_size(m.data);
    if (has_after) {
        while (first < n &&
               strcmp(json_string_value(json_object_get(json_array_get(m.data, first), "id")),
                      after) != 0)
            first++;
        if (first == n) {
            json_decref(m.data);
            pgs_res_error(res, req, 400, "invalid_request", "'after' is not a valid cursor.",
                          "after");
            return PGS_DONE;
        }
        first++;
    }
    json_t *page = json_array();
    for (size_t i = first; i < n && json_array_size(page) < (size_t)limit; i++)
        json_array_append(page, json_array_get(m.data, i));
    int more = first + json_array_size(page) < n;
    char cursor[PGS_PAGE_CURSOR_MAX] = "";
    if (more && json_array_size(page))
        pgs_page_cursor(0,
                        json_string_value(
                            json_object_get(json_array_get(page, json_array_size(page) - 1), "id")),
                        cursor, sizeof cursor);
    json_decref(m.data);
    pgs_res_json(res, 200, pgs_page_list(page, more, cursor));
    return PGS_DONE;
}

/* ---- internal ---- */

pgs_handled_t
auth_api_token_lookup(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    char hash[PGS_TOKEN_HASH_HEX_LEN + 2];
    if (!s_arg(req, "hash", hash, sizeof hash) || strlen(hash) != PGS_TOKEN_HASH_HEX_LEN) {
        pgs_res_error(res, req, 400, "invalid_request", "'hash' is required.", "hash");
        return PGS_DONE;
    }
    auth_tok_t t;
    auth_ws_t ws;
    auth_mem_t m;
    int rc = auth_store_tok_by_hash(a->db, hash, &t);
    if (rc == 1)
        rc = auth_store_ws_get(a->db, t.ws, &ws);
    int mrc = rc == 1 ? auth_store_mem_get(a->db, t.ws, t.user, &m) : 0;
    if (rc < 0 || mrc < 0) {
        auth_req_fail_db(a->db, req, res);
        return PGS_DONE;
    }
    if (rc == 0) {
        pgs_res_error(res, req, 404, "not_found", "No such token.", NULL);
        return PGS_DONE;
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(t.id));
    json_object_set_new(o, "user", json_string(t.user));
    json_object_set_new(o, "ws", json_string(t.ws));
    json_object_set_new(o, "scopes", json_string(t.scopes));
    json_object_set_new(o, "exp", json_integer(t.expires_at));
    json_object_set_new(o, "revoked", json_boolean(t.revoked_at != 0));
    json_object_set_new(o, "type", json_string(ws.type));
    json_object_set_new(o, "plan", json_string(ws.plan));
    json_object_set_new(o, "ro", json_boolean(auth_store_ws_read_only(&ws)));
    json_object_set_new(o, "role", json_string(mrc == 1 ? m.role : ""));
    json_object_set_new(o, "seat", json_boolean(mrc == 1 && m.seat));
    pgs_res_json(res, 200, o);
    return PGS_DONE;
}

pgs_handled_t
auth_api_token_touch(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    char id[PGS_ID_MAX], ip[64] = "";
    if (!s_arg(req, "token_id", id, sizeof id) || !pgs_id_valid(id, "tok")) {
        pgs_res_error(res, req, 400, "invalid_request", "'token_id' is required.", "token_id");
        return PGS_DONE;
    }
    s_arg(req, "ip", ip, sizeof ip);
    for (char *p = ip; *p; p++) {
        /* An address: keep what can be one, nothing that could fool a UI. */
        char c = *p;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == '.' || c == ':')) {
            ip[0] = '\0';
            break;
        }
    }
    if (pgs_db_begin(a->db) < 0) {
        auth_req_fail_db(a->db, req, res);
        return PGS_DONE;
    }
    if (auth_store_tok_touch(a->db, id, ip[0] ? ip : NULL, auth_req_now(), a->touch_interval_s) <
            0 ||
        pgs_db_commit(a->db) < 0) {
        auth_req_fail_db(a->db, req, res);
        return PGS_DONE;
    }
    pgs_res_empty(res, 204);
    return PGS_DONE;
}

/* labels (internal, the usage service): {"workspace_id","tokens":[ids],
 * "users":[ids],"workspaces":[ids]} → {"tokens":{id:name},"users":{id:name},
 * "workspaces":{id:name}}. Tokens only of that workspace; ids that are
 * unknown are left out. */
/* The name of one id of a kind, into name: 1, 0 (unknown, or a token of
 * another workspace than ws) or -1. */
typedef int (*s_name_fn)(pgs_db_t *db, const char *ws, const char *id, char *name, size_t len);

static int
s_token_name(pgs_db_t *db, const char *ws, const char *id, char *name, size_t len)
{
    auth_tok_t t;
    int rc = pgs_id_valid(id, "tok") ? auth_store_tok_by_id(db, id, &t) : 0;
    if (rc == 1 && strcmp(t.ws, ws) != 0)
        rc = 0;
    if (rc == 1)
        snprintf(name, len, "%s", t.name);
    return rc;
}

static int
s_user_name(pgs_db_t *db, const char *ws, const char *id, char *name, size_t len)
{
    (void)ws;
    auth_user_t u;
    int rc = pgs_id_valid(id, "usr") ? auth_store_user_by_id(db, id, &u) : 0;
    if (rc == 1)
        snprintf(name, len, "%s", u.name);
    return rc;
}

static int
s_workspace_name(pgs_db_t *db, const char *ws, const char *id, char *name, size_t len)
{
    (void)ws;
    auth_ws_t row;
    int rc = pgs_id_valid(id, "ws") ? auth_store_ws_get(db, id, &row) : 0;
    if (rc == 1)
        snprintf(name, len, "%s", row.name);
    return rc;
}

pgs_handled_t
auth_api_labels(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    static const struct {
        const char *kind;
        s_name_fn fn;
    } kinds[] = {
        {"tokens", s_token_name}, {"users", s_user_name}, {"workspaces", s_workspace_name}};
    auth_t *a = arg;
    json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
    const char *ws = json_string_value(json_object_get(body, "workspace_id"));
    if (!ws) {
        json_decref(body);
        pgs_res_error(res, req, 400, "invalid_request", "'workspace_id' is required.",
                      "workspace_id");
        return PGS_DONE;
    }
    json_t *out = json_object();
    int failed = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        json_t *names = json_object();
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(body, kinds[k].kind), i, v)
        {
            char name[AUTH_NAME_BUF];
            const char *id = json_string_value(v);
            int rc = id ? kinds[k].fn(a->db, ws, id, name, sizeof name) : 0;
            failed |= rc < 0;
            if (rc == 1)
                json_object_set_new(names, id, json_string(name));
        }
        json_object_set_new(out, kinds[k].kind, names);
    }
    json_decref(body);
    if (failed) {
        json_decref(out);
        auth_req_fail_db(a->db, req, res);
        return PGS_DONE;
    }
    pgs_res_json(res, 200, out);
    return PGS_DONE;
}
