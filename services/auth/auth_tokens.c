/*
 * auth_tokens — see auth_tokens.h.
 */
#include "auth_tokens.h"
#include "pgs_page.h"
#include "auth_cache.h"
#include "auth_req.h"
#include "auth_session.h"
#include "pgs_log.h"
#include "pgs_scope.h"
#include "pgs_token.h"

#include <stdio.h>
#include <string.h>

#define S_NAME_MAX_CP 64

json_t *
auth_tokens_object(const auth_tok_t *t, int64_t now)
{
    json_t *scopes = json_array();
    const char *p = t->scopes;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ' ')
            p++;
        if (p > start)
            json_array_append_new(scopes, json_stringn(start, (size_t)(p - start)));
    }
    const char *status = t->revoked_at ? "revoked" : now >= t->expires_at ? "expired" : "active";
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(t->id));
    json_object_set_new(o, "object", json_string("token"));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "prefix", json_string(t->prefix));
    json_object_set_new(o, "scopes", scopes);
    json_object_set_new(
        o, "workspace",
        json_pack("{s:s,s:s,s:s}", "id", t->ws, "type", t->ws_type, "name", t->ws_name));
    json_object_set_new(o, "created_at", auth_req_time(t->created_at));
    json_object_set_new(o, "expires_at", auth_req_time(t->expires_at));
    json_object_set_new(o, "last_used_at", auth_req_time(t->last_used_at));
    json_object_set_new(o, "last_used_ip",
                        t->last_used_ip[0] ? json_string(t->last_used_ip) : json_null());
    json_object_set_new(o, "revoked_at", auth_req_time(t->revoked_at));
    json_object_set_new(
        o, "owner",
        json_pack("{s:s,s:s,s:s}", "id", t->user, "email", t->owner_email, "name", t->owner_name));
    json_object_set_new(o, "status", json_string(status));
    return o;
}

int
auth_tokens_revoke(auth_t *a, const char *token_id, pgs_res_t *res)
{
    if (pgs_db_begin(a->db) < 0)
        return -1;
    int rc = auth_store_tok_revoke(a->db, token_id, auth_req_now());
    if (rc == 1 && auth_store_bump(a->db) < 0)
        rc = -1;
    if (rc < 0 || pgs_db_commit(a->db) < 0) {
        pgs_db_rollback(a->db);
        return -1;
    }
    /* Also when it was already revoked: re-writing the key repairs a Redis
     * copy that missed the first revocation. */
    auth_change_t c;
    auth_change_init(&c);
    auth_change_token(&c, token_id);
    auth_cache_apply(a, &c, res);
    auth_change_clear(&c);
    return rc;
}

/* ---- list ---- */

typedef struct {
    json_t *data;
    int64_t now;
    int limit;
    int n;
    int64_t last_created;
    char last_id[PGS_ID_MAX];
} s_list_t;

static void
s_list_each(const auth_tok_t *t, void *arg)
{
    s_list_t *l = arg;
    l->n++;
    if (l->n > l->limit)
        return; /* the extra row only says there is more */
    json_array_append_new(l->data, auth_tokens_object(t, l->now));
    l->last_created = t->created_at;
    snprintf(l->last_id, sizeof l->last_id, "%s", t->id);
}

pgs_handled_t
auth_tokens_app_list(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    auth_app_t app;
    if (auth_session_require(a, req, res, 0, &app) < 0)
        return PGS_DONE;
    pgs_page_t pg;
    if (pgs_page_parse(req, res, &pg) < 0)
        return PGS_DONE;
    int limit = pg.limit;
    /* Owners and admins see the whole team's tokens; others their own. */
    const char *only_user = auth_store_role_manages(app.mem.role) ? NULL : app.user.id;
    s_list_t l = {.data = json_array(), .now = auth_req_now(), .limit = limit};
    if (auth_store_tok_list(a->db, app.ws.id, only_user, pg.after_ts, pg.has_after ? pg.after_id : NULL,
                            limit + 1, s_list_each, &l) < 0) {
        json_decref(l.data);
        auth_req_fail_db(a->db, req, res);
        return PGS_DONE;
    }
    char cursor[PGS_PAGE_CURSOR_MAX] = "";
    int more = l.n > limit;
    if (more)
        pgs_page_cursor(l.last_created, l.last_id, cursor, sizeof cursor);
    pgs_res_json(res, 200, pgs_page_list(l.data, more, cursor));
    return PGS_DONE;
}

/* ---- create ---- */

static int
s_refuse(const pgs_req_t *req, pgs_res_t *res, int status, const char *code, const char *msg)
{
    pgs_res_error(res, req, status, code, msg, NULL);
    return -1;
}

/* The workspace-state refusals, in the SPEC's order. */
static int
s_check_workspace(auth_t *a, const pgs_req_t *req, pgs_res_t *res, const auth_app_t *app)
{
    if (!auth_state_plan_api(a, app->ws.plan))
        return s_refuse(req, res, 403, "upgrade_required", "Upgrade to use the API");
    if (auth_store_ws_read_only(&app->ws))
        return s_refuse(req, res, 403, "team_read_only", "Team API access is read-only");
    if (!app->mem.seat)
        return s_refuse(req, res, 403, "seat_required",
                        "You need a seat in this team to create API tokens.");
    return 0;
}

/* Reads scopes or preset into *mask. 0, or -1 with err filled. */
static int
s_parse_scopes(json_t *body, pgs_scope_mask_t *mask, pgs_json_err_t *err)
{
    json_t *scopes = json_object_get(body, "scopes");
    json_t *preset = json_object_get(body, "preset");
    int has_scopes = scopes && !json_is_null(scopes);
    int has_preset = preset && !json_is_null(preset);
    if (has_scopes && has_preset)
        return pgs_json_fail(err, "preset", "Give either 'scopes' or 'preset', not both.");
    if (!has_scopes && !has_preset)
        return pgs_json_fail(err, "scopes", "'scopes' (or a 'preset') is required.");
    *mask = 0;
    if (has_preset) {
        const pgs_scope_preset_t *p = pgs_scope_preset(json_string_value(preset));
        if (!p)
            return pgs_json_fail(err, "preset",
                                 "Unknown preset; use chat, read_only or bot_management.");
        *mask = p->scopes;
        return 0;
    }
    if (json_array_size(scopes) == 0)
        return pgs_json_fail(err, "scopes", "'scopes' must list at least one scope.");
    if (json_array_size(scopes) > 64)
        return pgs_json_fail(err, "scopes", "'scopes' lists too many entries.");
    size_t i;
    json_t *v;
    json_array_foreach(scopes, i, v)
    {
        if (!json_is_string(v))
            return pgs_json_fail(err, "scopes", "Every entry of 'scopes' must be a string.");
        pgs_scope_mask_t b = pgs_scope_bit(json_string_value(v), json_string_length(v));
        if (!b) {
            char q[PGS_JSON_EXCERPT_MAX];
            return pgs_json_fail(err, "scopes", "Unknown scope '%s'.",
                                 pgs_json_excerpt(json_string_value(v), q));
        }
        *mask |= b; /* duplicates merge */
    }
    return 0;
}

static int
s_days_ok(json_int_t d)
{
    return d == 30 || d == 60 || d == 90 || d == 180 || d == 365;
}

pgs_handled_t
auth_tokens_app_create(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    auth_app_t app;
    if (auth_session_require(a, req, res, 1, &app) < 0)
        return PGS_DONE;
    if (app.fell_back) {
        pgs_res_error(res, req, 404, "not_found",
                      "You are no longer a member of the active workspace; you are now in your "
                      "Personal workspace.",
                      NULL);
        return PGS_DONE;
    }
    if (s_check_workspace(a, req, res, &app) < 0)
        return PGS_DONE;
    static const pgs_json_field_t fields[] = {
        {"name", PGS_JSON_STRING, 1},
        {"scopes", PGS_JSON_ARRAY, 0},
        {"preset", PGS_JSON_STRING, 0},
        {"expires_in_days", PGS_JSON_INTEGER, 1},
        {NULL, 0, 0},
    };
    json_t *body = auth_req_body(req, res, fields, 1);
    if (!body)
        return PGS_DONE;
    pgs_json_err_t err = {0};
    auth_tok_t t;
    memset(&t, 0, sizeof t);
    pgs_scope_mask_t mask = 0;
    json_int_t days = json_integer_value(json_object_get(body, "expires_in_days"));
    if (auth_req_text(json_object_get(body, "name"), "name", S_NAME_MAX_CP, t.name, sizeof t.name,
                      &err) < 0 ||
        s_parse_scopes(body, &mask, &err) < 0 ||
        (!s_days_ok(days) &&
         pgs_json_fail(&err, "expires_in_days",
                       "'expires_in_days' must be one of 30, 60, 90, 180 or 365.") < 0)) {
        auth_req_fail_json(req, res, &err);
        json_decref(body);
        return PGS_DONE;
    }
    json_decref(body);
    if (!strcmp(app.mem.role, "viewer") && (mask & pgs_scope_write_mask())) {
        pgs_res_error(res, req, 403, "role_forbidden", "Viewers can hold read scopes only.",
                      "scopes");
        return PGS_DONE;
    }

    char secret[PGS_TOKEN_LEN + 1];
    pgs_token_generate(secret);
    pgs_token_hash_hex(a->pepper, secret, PGS_TOKEN_LEN, t.hash);
    memcpy(t.prefix, secret, PGS_TOKEN_PREFIX_LEN);
    t.prefix[PGS_TOKEN_PREFIX_LEN] = '\0';
    auth_store_id_new("tok", t.id);
    snprintf(t.user, sizeof t.user, "%s", app.user.id);
    snprintf(t.ws, sizeof t.ws, "%s", app.ws.id);
    pgs_scope_format(mask, t.scopes, sizeof t.scopes);
    t.created_at = auth_req_now();
    t.expires_at = t.created_at + (int64_t)days * 86400;

    /* The limit check and the insert share one write transaction, so two
     * workers cannot both pass the check for the 50th token. */
    if (pgs_db_begin(a->db) < 0)
        goto db_error;
    long long live = auth_store_tok_live(a->db, t.user, t.ws, t.created_at);
    if (live < 0)
        goto db_error;
    if (live >= a->max_tokens) {
        pgs_db_rollback(a->db);
        char msg[160];
        snprintf(msg, sizeof msg,
                 "You already have %lld active tokens in this workspace; revoke one first.",
                 a->max_tokens);
        pgs_res_error(res, req, 409, "token_limit_reached", msg, NULL);
        goto done;
    }
    if (auth_store_tok_insert(a->db, &t) < 0 || auth_store_bump(a->db) < 0 ||
        pgs_db_commit(a->db) < 0)
        goto db_error;

    auth_tok_t full;
    if (auth_store_tok_by_id(a->db, t.id, &full) != 1)
        goto db_error;
    PGS_LOG(PGS_LOG_INFO, req->request_id, "token created id=%s user=%s ws=%s", t.id, t.user, t.ws);
    json_t *o = json_object();
    json_object_set_new(o, "token", auth_tokens_object(&full, t.created_at));
    json_object_set_new(o, "secret", json_string(secret));
    pgs_res_json(res, 201, o);
    pgs_res_header(res, "Cache-Control", "no-store");
    auth_change_t c;
    auth_change_init(&c);
    auth_change_token(&c, t.id);
    auth_cache_apply(a, &c, res);
    auth_change_clear(&c);
    goto done;
db_error:
    auth_req_fail_db(a->db, req, res);
done:
    sodium_memzero(secret, sizeof secret);
    return PGS_DONE;
}

/* ---- revoke ---- */

pgs_handled_t
auth_tokens_app_revoke(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    auth_app_t app;
    if (auth_session_require(a, req, res, 1, &app) < 0)
        return PGS_DONE;
    const char *id = auth_req_get(req, "path", "token_id");
    if (!id)
        id = auth_req_get(req, "path", "id");
    auth_tok_t t;
    int rc = pgs_id_valid(id, "tok") ? auth_store_tok_by_id(a->db, id, &t) : 0;
    if (rc < 0) {
        auth_req_fail_db(a->db, req, res);
        return PGS_DONE;
    }
    /* Someone else's token looks exactly like a missing one, unless the
     * caller manages the workspace. */
    if (rc == 0 || strcmp(t.ws, app.ws.id) != 0 ||
        (strcmp(t.user, app.user.id) != 0 && !auth_store_role_manages(app.mem.role))) {
        pgs_res_error(res, req, 404, "not_found", "No such token.", NULL);
        return PGS_DONE;
    }
    if (auth_tokens_revoke(a, t.id, res) < 0) {
        auth_req_fail_db(a->db, req, res);
        return PGS_DONE;
    }
    PGS_LOG(PGS_LOG_INFO, req->request_id, "token revoked id=%s by=%s", t.id, app.user.id);
    pgs_res_empty(res, 204);
    return PGS_DONE;
}
