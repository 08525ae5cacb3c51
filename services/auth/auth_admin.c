/*
 * auth_admin — the routes pegasusctl calls through the broker. Account and
 * team changes go through here (never straight into auth.db), so they are
 * committed, written to Redis and invalidated exactly like the app's.
 *
 * Every request has the context fields request_id and actor=pegasusctl (anything
 * else is 403 forbidden) and a JSON object body; unknown fields and wrong
 * types are 400 invalid_request with "param". Errors are the usual
 * {"error":{code,message,request_id,param?}}. `team` is a ws_ id or a team
 * name (case-insensitive; an ambiguous name is 409 conflict listing the
 * ids; an unknown team is 404 not_found).
 *
 *   admin.user.add      {email, name, password}
 *                       → 201 {user:{id,email,name,workspace_id,created_at}}
 *                       409 conflict: email taken. password: 8..1024 bytes
 *                       (pegasusctl generates one; auth never returns it).
 *                       The user gets a Personal workspace on plan "free".
 *   admin.user.list     {} → 200 {object:"list",data:[{id,email,name,
 *                       workspace_id,plan,created_at}],has_more,next_cursor}
 *   admin.plan.set      {workspace_id | email, plan} (exactly one of the
 *                       two; email = that user's Personal workspace)
 *                       → 200 {workspace:{…team object…}}
 *   admin.team.add      {name, owner_email, plan, seats (integer ≥ 1)}
 *                       → 201 {team:{id,object:"workspace",type:"team",name,
 *                       plan,seats,seats_used,status,quota_disabled,
 *                       read_only,owner:{id,email,name},created_at}}
 *   admin.team.member.add    {team, email, role?, seat?}
 *                       role default "member"; seat default true when a
 *                       seat is free, else false; seat:true with none free
 *                       → 409. role "owner" transfers ownership (the old
 *                       owner becomes admin; the new owner takes a seat).
 *                       → 201 {membership:{object:"membership",team:{id,
 *                       name},user:{id,email,name},role,seat}}; 409 when
 *                       already a member.
 *   admin.team.member.set    {team, email, role?, seat?} (at least one)
 *                       → 200 {membership}; the owner always keeps its
 *                       seat and its role (transfer by making another
 *                       member owner); a seat when none is free → 409.
 *   admin.team.member.remove {team, email}
 *                       → 200 {membership, revoked_tokens: N}; revokes all
 *                       of the member's tokens of the team; the owner
 *                       cannot be removed (409).
 *   admin.team.state    {team, pending_cancellation?: bool,
 *                       quota_disabled?: bool} (at least one) → 200 {team}
 *   admin.team.seats    {team, seats} → 200 {team}; fewer seats than
 *                       seated members → 409.
 *   admin.token.list    {workspace_id?} → 200 {object:"list",data:[token
 *                       objects, newest first],has_more:false,
 *                       next_cursor:null}
 *   admin.token.revoke  {token_id} → 200 {token:{…}} (already revoked is
 *                       fine); unknown → 404.
 *
 * Every change takes effect at once: SQLite commit, then the Redis keys and
 * the invalidation (meta.invalidate on the reply, PUBLISH pgs:inval).
 */
#include "auth_admin.h"
#include "pgs_page.h"
#include "auth_cache.h"
#include "auth_req.h"
#include "auth_state.h"
#include "auth_store.h"
#include "auth_tokens.h"
#include "pgs_log.h"

#include <stdio.h>
#include <string.h>

#define S_NAME_MAX_CP 128
#define S_PASSWORD_MIN 8
#define S_PASSWORD_MAX 1024
#define S_SEATS_MAX 100000

/* ---- shared ---- */

/* Checks the caller and parses the body. Returns an owned object or NULL
 * with res filled. */
static json_t *
s_begin(const pgs_req_t *req, pgs_res_t *res, const pgs_json_field_t *fields)
{
    const char *actor = pgs_req_ctx(req, "actor");
    if (!actor || strcmp(actor, "pegasusctl") != 0) {
        pgs_res_error(res, req, 403, "forbidden", "Admin routes are for pegasusctl only.", NULL);
        return NULL;
    }
    return auth_req_body(req, res, fields, 0);
}

static const char *
s_str(json_t *body, const char *key)
{
    return json_string_value(json_object_get(body, key));
}

static int
s_email_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 3 || n > AUTH_EMAIL_MAX)
        return 0;
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7F)
            return 0;
    return 1;
}

static json_t *
s_user_ref(const auth_user_t *u)
{
    return json_pack("{s:s,s:s,s:s}", "id", u->id, "email", u->email, "name", u->name);
}

static void
s_conflict(const pgs_req_t *req, pgs_res_t *res, const char *msg, const char *param)
{
    pgs_res_error(res, req, 409, "conflict", msg, param);
}

static void
s_not_found(const pgs_req_t *req, pgs_res_t *res, const char *msg, const char *param)
{
    pgs_res_error(res, req, 404, "not_found", msg, param);
}

/* Finds a user by email: 0 with *u filled, or -1 with res filled. */
static int
s_user(auth_t *a, const pgs_req_t *req, pgs_res_t *res, const char *email, auth_user_t *u)
{
    int rc = email ? auth_store_user_by_email(a->db, email, u) : 0;
    if (rc < 0) {
        auth_req_fail_db(a->db, req, res);
        return -1;
    }
    if (rc == 0) {
        s_not_found(req, res, "No user with that email.", "email");
        return -1;
    }
    sodium_memzero(u->password_hash, sizeof u->password_hash);
    return 0;
}

typedef struct {
    auth_ws_t first;
    char ids[512];
} s_teams_t;

static void
s_team_each(const auth_ws_t *w, void *arg)
{
    s_teams_t *t = arg;
    if (!t->ids[0])
        t->first = *w;
    size_t n = strlen(t->ids);
    snprintf(t->ids + n, sizeof t->ids - n, "%s%s", n ? ", " : "", w->id);
}

/* Resolves a ws_ id or a unique team name. 0, or -1 with res filled. */
static int
s_team(auth_t *a, const pgs_req_t *req, pgs_res_t *res, const char *team, auth_ws_t *out)
{
    int rc;
    if (pgs_id_valid(team, "ws")) {
        rc = auth_store_ws_get(a->db, team, out);
        if (rc == 1 && strcmp(out->type, "team") != 0)
            rc = 0;
    } else {
        s_teams_t t = {.ids = ""};
        rc = auth_store_team_by_name(a->db, team, s_team_each, &t);
        if (rc > 1) {
            char msg[640];
            snprintf(msg, sizeof msg, "Several teams are named '%.64s': %s. Use an id.", team,
                     t.ids);
            s_conflict(req, res, msg, "team");
            return -1;
        }
        if (rc == 1)
            *out = t.first;
    }
    if (rc < 0) {
        auth_req_fail_db(a->db, req, res);
        return -1;
    }
    if (rc == 0) {
        s_not_found(req, res, "No such team.", "team");
        return -1;
    }
    return 0;
}

/* The team (or workspace) object. Reads the owner and the seat count. */
static json_t *
s_team_object(auth_t *a, const auth_ws_t *w)
{
    auth_user_t owner;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(w->id));
    json_object_set_new(o, "object", json_string("workspace"));
    json_object_set_new(o, "type", json_string(w->type));
    json_object_set_new(o, "name", json_string(w->name));
    json_object_set_new(o, "plan", json_string(w->plan));
    json_object_set_new(o, "seats", json_integer(w->seats));
    json_object_set_new(o, "seats_used", json_integer(auth_store_mem_seated(a->db, w->id)));
    json_object_set_new(o, "status", json_string(w->status));
    json_object_set_new(o, "quota_disabled", json_boolean(w->quota_disabled));
    json_object_set_new(o, "read_only", json_boolean(auth_store_ws_read_only(w)));
    if (auth_store_user_by_id(a->db, w->owner, &owner) == 1) {
        sodium_memzero(owner.password_hash, sizeof owner.password_hash);
        json_object_set_new(o, "owner", s_user_ref(&owner));
    }
    json_object_set_new(o, "created_at", auth_req_time(w->created_at));
    return o;
}

static json_t *
s_membership(const auth_ws_t *w, const auth_user_t *u, const auth_mem_t *m)
{
    return json_pack("{s:s,s:{s:s,s:s},s:o,s:s,s:b}", "object", "membership", "team", "id", w->id,
                     "name", w->name, "user", s_user_ref(u), "role", m->role, "seat", m->seat);
}

/* Commits, applies the change set to Redis, answers with body (stolen)
 * and status. On a commit failure answers 500/503 instead. */
static void
s_commit_reply(auth_t *a, const pgs_req_t *req, pgs_res_t *res, auth_change_t *c, int status,
               json_t *(*make)(auth_t *, void *), void *arg)
{
    if (auth_store_bump(a->db) < 0 || pgs_db_commit(a->db) < 0) {
        auth_req_fail_db(a->db, req, res);
        return;
    }
    pgs_res_json(res, status, make(a, arg));
    auth_cache_apply(a, c, res);
}

/* ---- users ---- */

typedef struct {
    auth_user_t *u;
} s_user_made_t;

/* s_commit_reply for a change of one workspace and, when mem_user is not
 * NULL, of that user's membership in it. */
static void
s_commit_ws(auth_t *a, const pgs_req_t *req, pgs_res_t *res, const char *ws_id,
            const char *mem_user, int status, json_t *(*make)(auth_t *, void *), void *arg)
{
    auth_change_t c;
    auth_change_init(&c);
    auth_change_ws(&c, ws_id);
    if (mem_user)
        auth_change_mem(&c, ws_id, mem_user);
    s_commit_reply(a, req, res, &c, status, make, arg);
    auth_change_clear(&c);
}

static json_t *
s_user_made(auth_t *a, void *arg)
{
    (void)a;
    auth_user_t *u = arg;
    return json_pack("{s:{s:s,s:s,s:s,s:s,s:o}}", "user", "id", u->id, "email", u->email, "name",
                     u->name, "workspace_id", u->personal_ws, "created_at",
                     auth_req_time(u->created_at));
}

/* A user being added: its password hashed on a thread, then stored. */
typedef struct {
    auth_t *a;
    json_t *body; /* the request's JSON: password points into it */
    auth_user_t u;
    int hashed;
} s_user_add_t;

/* On a thread: the argon2id hash (~100 ms), and nothing else. */
static void
s_user_hash(void *arg)
{
    s_user_add_t *ua = arg;
    json_t *pw = json_object_get(ua->body, "password");
    ua->hashed = crypto_pwhash_str(ua->u.password_hash, json_string_value(pw),
                                   json_string_length(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                   crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

/* Back on the loop: the user, its Personal workspace and its membership. */
static pgs_handled_t
s_user_store(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    s_user_add_t *ua = arg;
    auth_t *a = ua->a;
    auth_user_t *u = &ua->u;
    if (!ua->hashed) {
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        goto done;
    }
    auth_store_id_new("usr", u->id);
    auth_store_id_new("ws", u->personal_ws);
    u->created_at = auth_req_now();
    auth_ws_t ws = {.seats = 1, .created_at = u->created_at};
    snprintf(ws.id, sizeof ws.id, "%s", u->personal_ws);
    snprintf(ws.type, sizeof ws.type, "personal");
    snprintf(ws.name, sizeof ws.name, "Personal");
    snprintf(ws.plan, sizeof ws.plan, "free");
    snprintf(ws.status, sizeof ws.status, "active");
    snprintf(ws.owner, sizeof ws.owner, "%s", u->id);
    auth_mem_t m = {.seat = 1, .created_at = u->created_at};
    snprintf(m.ws, sizeof m.ws, "%s", ws.id);
    snprintf(m.user, sizeof m.user, "%s", u->id);
    snprintf(m.role, sizeof m.role, "owner");

    auth_user_t existing;
    if (pgs_db_begin(a->db) < 0)
        goto db_error;
    int rc = auth_store_user_by_email(a->db, u->email, &existing);
    if (rc < 0)
        goto db_error;
    if (rc == 1) {
        pgs_db_rollback(a->db);
        s_conflict(req, res, "A user with that email already exists.", "email");
        goto done;
    }
    if (auth_store_user_insert(a->db, u) < 0 || auth_store_ws_insert(a->db, &ws) < 0 ||
        auth_store_mem_put(a->db, &m) < 0)
        goto db_error;
    s_commit_ws(a, req, res, ws.id, u->id, 201, s_user_made, u);
    if (res->status == 201)
        PGS_LOG(PGS_LOG_INFO, req->request_id, "user added id=%s ws=%s", u->id, ws.id);
    goto done;
db_error:
    auth_req_fail_db(a->db, req, res);
done:
    sodium_memzero(u->password_hash, sizeof u->password_hash);
    json_decref(ua->body);
    free(ua);
    return PGS_DONE;
}

pgs_handled_t
auth_admin_user_add(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    static const pgs_json_field_t fields[] = {
        {"email", PGS_JSON_STRING, 1},
        {"name", PGS_JSON_STRING, 1},
        {"password", PGS_JSON_STRING, 1},
        {NULL, 0, 0},
    };
    json_t *body = s_begin(req, res, fields);
    if (!body)
        return PGS_DONE;
    s_user_add_t *ua = calloc(1, sizeof *ua);
    if (!ua) {
        json_decref(body);
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        return PGS_DONE;
    }
    ua->a = arg;
    ua->body = body;
    pgs_json_err_t err = {0};
    const char *email = s_str(body, "email");
    size_t pwlen = json_string_length(json_object_get(body, "password"));
    if (!s_email_ok(email)) {
        pgs_res_error(res, req, 400, "invalid_request", "'email' must be an email address.",
                      "email");
    } else if (auth_req_text(json_object_get(body, "name"), "name", S_NAME_MAX_CP, ua->u.name,
                             sizeof ua->u.name, &err) < 0) {
        auth_req_fail_json(req, res, &err);
    } else if (pwlen < S_PASSWORD_MIN || pwlen > S_PASSWORD_MAX) {
        pgs_res_error(res, req, 400, "invalid_request", "'password' must be 8 to 1024 bytes long.",
                      "password");
    } else {
        snprintf(ua->u.email, sizeof ua->u.email, "%s", email);
        /* Hashed before the write lock is taken, and off the loop. */
        if (pgs_call_offload(req->call, s_user_hash, s_user_store, ua) == 0)
            return PGS_LATER;
        pgs_res_error(res, req, 503, "service_unavailable", "The service is busy. Try again.",
                      NULL);
        pgs_res_header(res, "Retry-After", "1");
    }
    json_decref(body);
    free(ua);
    return PGS_DONE;
}

typedef struct {
    auth_t *a;
    json_t *data;
} s_users_t;

static void
s_user_each(const auth_user_t *u, void *arg)
{
    s_users_t *s = arg;
    auth_ws_t ws;
    int have = u->personal_ws[0] && auth_store_ws_get(s->a->db, u->personal_ws, &ws) == 1;
    json_array_append_new(s->data, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "id", u->id, "email",
                                             u->email, "name", u->name, "workspace_id",
                                             u->personal_ws, "plan", have ? ws.plan : "",
                                             "created_at", auth_req_time(u->created_at)));
}

pgs_handled_t
auth_admin_user_list(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    static const pgs_json_field_t fields[] = {{NULL, 0, 0}};
    const char *actor = pgs_req_ctx(req, "actor");
    if (!actor || strcmp(actor, "pegasusctl") != 0) {
        pgs_res_error(res, req, 403, "forbidden", "Admin routes are for pegasusctl only.", NULL);
        return PGS_DONE;
    }
    if (req->body_len) {
        json_t *body = auth_req_body(req, res, fields, 0);
        if (!body)
            return PGS_DONE;
        json_decref(body);
    }
    s_users_t s = {.a = a, .data = json_array()};
    if (auth_store_user_each(a->db, s_user_each, &s) < 0) {
        json_decref(s.data);
        auth_req_fail_db(a->db, req, res);
        return PGS_DONE;
    }
    pgs_res_json(res, 200, pgs_page_list(s.data, 0, NULL));
    return PGS_DONE;
}

/* ---- plans and team state ---- */

static json_t *
s_ws_made(auth_t *a, void *arg)
{
    auth_ws_t *ws = arg;
    return json_pack("{s:o}", !strcmp(ws->type, "team") ? "team" : "workspace",
                     s_team_object(a, ws));
}

static json_t *
s_ws_made_workspace(auth_t *a, void *arg)
{
    return json_pack("{s:o}", "workspace", s_team_object(a, arg));
}

static int
s_plan_ok(auth_t *a, const pgs_req_t *req, pgs_res_t *res, const char *plan)
{
    if (auth_state_plan_valid(a, plan))
        return 1;
    char names[256], msg[320];
    auth_state_plan_names(a, names, sizeof names);
    snprintf(msg, sizeof msg, "'plan' must be one of: %s.", names);
    pgs_res_error(res, req, 400, "invalid_request", msg, "plan");
    return 0;
}

pgs_handled_t
auth_admin_plan_set(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    static const pgs_json_field_t fields[] = {
        {"workspace_id", PGS_JSON_STRING, 0},
        {"email", PGS_JSON_STRING, 0},
        {"plan", PGS_JSON_STRING, 1},
        {NULL, 0, 0},
    };
    json_t *body = s_begin(req, res, fields);
    if (!body)
        return PGS_DONE;
    const char *ws_id = s_str(body, "workspace_id");
    const char *email = s_str(body, "email");
    const char *plan = s_str(body, "plan");
    auth_ws_t ws;
    auth_user_t u;
    if (!ws_id == !email) {
        pgs_res_error(res, req, 400, "invalid_request",
                      "Give exactly one of 'workspace_id' and 'email'.", "workspace_id");
        goto done;
    }
    if (!s_plan_ok(a, req, res, plan))
        goto done;
    if (pgs_db_begin(a->db) < 0)
        goto db_error;
    if (email) {
        if (s_user(a, req, res, email, &u) < 0) {
            pgs_db_rollback(a->db);
            goto done;
        }
        ws_id = u.personal_ws;
    }
    int rc = pgs_id_valid(ws_id, "ws") ? auth_store_ws_get(a->db, ws_id, &ws) : 0;
    if (rc < 0)
        goto db_error;
    if (rc == 0) {
        pgs_db_rollback(a->db);
        s_not_found(req, res, "No such workspace.", "workspace_id");
        goto done;
    }
    snprintf(ws.plan, sizeof ws.plan, "%s", plan);
    if (auth_store_ws_update(a->db, &ws) < 0)
        goto db_error;
    s_commit_ws(a, req, res, ws.id, NULL, 200, s_ws_made_workspace, &ws);
    if (res->status == 200)
        PGS_LOG(PGS_LOG_INFO, req->request_id, "plan set ws=%s plan=%s", ws.id, ws.plan);
    goto done;
db_error:
    auth_req_fail_db(a->db, req, res);
done:
    json_decref(body);
    return PGS_DONE;
}

pgs_handled_t
auth_admin_team_add(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    static const pgs_json_field_t fields[] = {
        {"name", PGS_JSON_STRING, 1},
        {"owner_email", PGS_JSON_STRING, 1},
        {"plan", PGS_JSON_STRING, 1},
        {"seats", PGS_JSON_INTEGER, 1},
        {NULL, 0, 0},
    };
    json_t *body = s_begin(req, res, fields);
    if (!body)
        return PGS_DONE;
    auth_ws_t ws;
    memset(&ws, 0, sizeof ws);
    pgs_json_err_t err = {0};
    json_int_t seats = json_integer_value(json_object_get(body, "seats"));
    auth_user_t owner;
    if (auth_req_text(json_object_get(body, "name"), "name", S_NAME_MAX_CP, ws.name, sizeof ws.name,
                      &err) < 0) {
        auth_req_fail_json(req, res, &err);
        goto done;
    }
    if (!s_plan_ok(a, req, res, s_str(body, "plan")))
        goto done;
    if (seats < 1 || seats > S_SEATS_MAX) {
        pgs_res_error(res, req, 400, "invalid_request", "'seats' must be from 1 to 100000.",
                      "seats");
        goto done;
    }
    if (pgs_db_begin(a->db) < 0)
        goto db_error;
    if (s_user(a, req, res, s_str(body, "owner_email"), &owner) < 0) {
        pgs_db_rollback(a->db);
        if (res->status == 404)
            pgs_res_error(res, req, 404, "not_found", "No user with that email.", "owner_email");
        goto done;
    }
    auth_store_id_new("ws", ws.id);
    snprintf(ws.type, sizeof ws.type, "team");
    snprintf(ws.plan, sizeof ws.plan, "%s", s_str(body, "plan"));
    ws.seats = seats;
    snprintf(ws.status, sizeof ws.status, "active");
    snprintf(ws.owner, sizeof ws.owner, "%s", owner.id);
    ws.created_at = auth_req_now();
    auth_mem_t m = {.seat = 1, .created_at = ws.created_at};
    snprintf(m.ws, sizeof m.ws, "%s", ws.id);
    snprintf(m.user, sizeof m.user, "%s", owner.id);
    snprintf(m.role, sizeof m.role, "owner");
    if (auth_store_ws_insert(a->db, &ws) < 0 || auth_store_mem_put(a->db, &m) < 0)
        goto db_error;
    s_commit_ws(a, req, res, ws.id, owner.id, 201, s_ws_made, &ws);
    if (res->status == 201)
        PGS_LOG(PGS_LOG_INFO, req->request_id, "team added ws=%s owner=%s", ws.id, owner.id);
    goto done;
db_error:
    auth_req_fail_db(a->db, req, res);
done:
    json_decref(body);
    return PGS_DONE;
}

pgs_handled_t
auth_admin_team_state(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    static const pgs_json_field_t fields[] = {
        {"team", PGS_JSON_STRING, 1},
        {"pending_cancellation", PGS_JSON_BOOLEAN, 0},
        {"quota_disabled", PGS_JSON_BOOLEAN, 0},
        {NULL, 0, 0},
    };
    json_t *body = s_begin(req, res, fields);
    if (!body)
        return PGS_DONE;
    json_t *pc = json_object_get(body, "pending_cancellation");
    json_t *qd = json_object_get(body, "quota_disabled");
    auth_ws_t ws;
    if ((!pc || json_is_null(pc)) && (!qd || json_is_null(qd))) {
        pgs_res_error(res, req, 400, "invalid_request",
                      "Give 'pending_cancellation' and/or 'quota_disabled'.",
                      "pending_cancellation");
        goto done;
    }
    if (pgs_db_begin(a->db) < 0)
        goto db_error;
    if (s_team(a, req, res, s_str(body, "team"), &ws) < 0) {
        pgs_db_rollback(a->db);
        goto done;
    }
    if (json_is_boolean(pc))
        snprintf(ws.status, sizeof ws.status, "%s",
                 json_is_true(pc) ? "pending_cancellation" : "active");
    if (json_is_boolean(qd))
        ws.quota_disabled = json_is_true(qd);
    if (auth_store_ws_update(a->db, &ws) < 0)
        goto db_error;
    s_commit_ws(a, req, res, ws.id, NULL, 200, s_ws_made, &ws);
    if (res->status == 200)
        PGS_LOG(PGS_LOG_INFO, req->request_id, "team state ws=%s status=%s quota_disabled=%d",
                ws.id, ws.status, ws.quota_disabled);
    goto done;
db_error:
    auth_req_fail_db(a->db, req, res);
done:
    json_decref(body);
    return PGS_DONE;
}

pgs_handled_t
auth_admin_team_seats(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    static const pgs_json_field_t fields[] = {
        {"team", PGS_JSON_STRING, 1},
        {"seats", PGS_JSON_INTEGER, 1},
        {NULL, 0, 0},
    };
    json_t *body = s_begin(req, res, fields);
    if (!body)
        return PGS_DONE;
    json_int_t seats = json_integer_value(json_object_get(body, "seats"));
    auth_ws_t ws;
    if (seats < 1 || seats > S_SEATS_MAX) {
        pgs_res_error(res, req, 400, "invalid_request", "'seats' must be from 1 to 100000.",
                      "seats");
        goto done;
    }
    if (pgs_db_begin(a->db) < 0)
        goto db_error;
    if (s_team(a, req, res, s_str(body, "team"), &ws) < 0) {
        pgs_db_rollback(a->db);
        goto done;
    }
    long long seated = auth_store_mem_seated(a->db, ws.id);
    if (seated < 0)
        goto db_error;
    if (seats < seated) {
        pgs_db_rollback(a->db);
        char msg[200];
        snprintf(msg, sizeof msg,
                 "The team has %lld seated members; unseat or remove some before lowering the "
                 "seats to %lld.",
                 seated, (long long)seats);
        s_conflict(req, res, msg, "seats");
        goto done;
    }
    ws.seats = seats;
    if (auth_store_ws_update(a->db, &ws) < 0)
        goto db_error;
    s_commit_ws(a, req, res, ws.id, NULL, 200, s_ws_made, &ws);
    goto done;
db_error:
    auth_req_fail_db(a->db, req, res);
done:
    json_decref(body);
    return PGS_DONE;
}

/* ---- members ---- */

typedef struct {
    auth_ws_t ws;
    auth_user_t user;
    auth_mem_t mem;
    int revoked;
} s_member_t;

static json_t *
s_member_made(auth_t *a, void *arg)
{
    (void)a;
    s_member_t *m = arg;
    return json_pack("{s:o}", "membership", s_membership(&m->ws, &m->user, &m->mem));
}

static json_t *
s_member_removed(auth_t *a, void *arg)
{
    (void)a;
    s_member_t *m = arg;
    return json_pack("{s:o,s:i}", "membership", s_membership(&m->ws, &m->user, &m->mem),
                     "revoked_tokens", m->revoked);
}

/* Parses and resolves {team, email}; opens the write transaction. 0, or -1
 * with res filled and no transaction open. */
static int
s_member_begin(auth_t *a, const pgs_req_t *req, pgs_res_t *res, json_t *body, s_member_t *m)
{
    memset(m, 0, sizeof *m);
    if (pgs_db_begin(a->db) < 0) {
        auth_req_fail_db(a->db, req, res);
        return -1;
    }
    if (s_team(a, req, res, s_str(body, "team"), &m->ws) < 0 ||
        s_user(a, req, res, s_str(body, "email"), &m->user) < 0) {
        pgs_db_rollback(a->db);
        return -1;
    }
    return 0;
}

/* A seat is needed for m: 0 when one is free, else -1 with a 409. */
static int
s_seat_free(auth_t *a, const pgs_req_t *req, pgs_res_t *res, const auth_ws_t *ws)
{
    long long seated = auth_store_mem_seated(a->db, ws->id);
    if (seated < 0) {
        auth_req_fail_db(a->db, req, res);
        return -1;
    }
    if (seated >= ws->seats) {
        pgs_db_rollback(a->db);
        char msg[200];
        snprintf(msg, sizeof msg,
                 "No free seat: all %lld seats of the team are taken. Add seats or unseat "
                 "someone first.",
                 ws->seats);
        s_conflict(req, res, msg, "seat");
        return -1;
    }
    return 0;
}

/* Makes m->user the owner: the previous owner stays seated as admin. */
static int
s_transfer(auth_t *a, s_member_t *m, auth_change_t *c)
{
    auth_mem_t old;
    int rc = auth_store_mem_get(a->db, m->ws.id, m->ws.owner, &old);
    if (rc < 0)
        return -1;
    if (rc == 1 && strcmp(old.user, m->user.id) != 0) {
        snprintf(old.role, sizeof old.role, "admin");
        if (auth_store_mem_put(a->db, &old) < 0)
            return -1;
        auth_change_mem(c, m->ws.id, old.user);
    }
    snprintf(m->ws.owner, sizeof m->ws.owner, "%s", m->user.id);
    return auth_store_ws_set_owner(a->db, m->ws.id, m->user.id);
}

static const pgs_json_field_t s_member_fields[] = {
    {"team", PGS_JSON_STRING, 1},
    {"email", PGS_JSON_STRING, 1},
    {"role", PGS_JSON_STRING, 0},
    {"seat", PGS_JSON_BOOLEAN, 0},
    {NULL, 0, 0},
};

static int
s_role_arg(const pgs_req_t *req, pgs_res_t *res, json_t *body, const char **role)
{
    *role = s_str(body, "role");
    if (*role && !auth_store_role_valid(*role)) {
        pgs_res_error(res, req, 400, "invalid_request",
                      "'role' must be one of owner, admin, member, viewer.", "role");
        return -1;
    }
    return 0;
}

pgs_handled_t
auth_admin_member_add(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    json_t *body = s_begin(req, res, s_member_fields);
    if (!body)
        return PGS_DONE;
    const char *role;
    json_t *seat = json_object_get(body, "seat");
    s_member_t m;
    auth_change_t c;
    auth_change_init(&c);
    if (s_role_arg(req, res, body, &role) < 0)
        goto done;
    if (!role)
        role = "member";
    if (!strcmp(role, "owner") && json_is_false(seat)) {
        pgs_res_error(res, req, 400, "invalid_request", "The owner always holds a seat.", "seat");
        goto done;
    }
    if (s_member_begin(a, req, res, body, &m) < 0)
        goto done;
    int rc = auth_store_mem_get(a->db, m.ws.id, m.user.id, &m.mem);
    if (rc < 0)
        goto db_error;
    if (rc == 1) {
        pgs_db_rollback(a->db);
        s_conflict(req, res, "That user is already a member of the team.", "email");
        goto done;
    }
    long long seated = auth_store_mem_seated(a->db, m.ws.id);
    if (seated < 0)
        goto db_error;
    int want_seat = json_is_boolean(seat) ? json_is_true(seat) : seated < m.ws.seats;
    if (!strcmp(role, "owner"))
        want_seat = 1;
    if (want_seat && s_seat_free(a, req, res, &m.ws) < 0)
        goto done;
    snprintf(m.mem.ws, sizeof m.mem.ws, "%s", m.ws.id);
    snprintf(m.mem.user, sizeof m.mem.user, "%s", m.user.id);
    snprintf(m.mem.role, sizeof m.mem.role, "%s", role);
    m.mem.seat = want_seat;
    m.mem.created_at = auth_req_now();
    if (auth_store_mem_put(a->db, &m.mem) < 0)
        goto db_error;
    if (!strcmp(role, "owner") && s_transfer(a, &m, &c) < 0)
        goto db_error;
    auth_change_ws(&c, m.ws.id);
    auth_change_mem(&c, m.ws.id, m.user.id);
    s_commit_reply(a, req, res, &c, 201, s_member_made, &m);
    if (res->status == 201)
        PGS_LOG(PGS_LOG_INFO, req->request_id, "member added ws=%s user=%s role=%s seat=%d",
                m.ws.id, m.user.id, m.mem.role, m.mem.seat);
    goto done;
db_error:
    auth_req_fail_db(a->db, req, res);
done:
    auth_change_clear(&c);
    json_decref(body);
    return PGS_DONE;
}

pgs_handled_t
auth_admin_member_set(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    json_t *body = s_begin(req, res, s_member_fields);
    if (!body)
        return PGS_DONE;
    const char *role;
    json_t *seat = json_object_get(body, "seat");
    s_member_t m;
    auth_change_t c;
    auth_change_init(&c);
    if (s_role_arg(req, res, body, &role) < 0)
        goto done;
    if (!role && !json_is_boolean(seat)) {
        pgs_res_error(res, req, 400, "invalid_request", "Give 'role' and/or 'seat'.", "role");
        goto done;
    }
    if (s_member_begin(a, req, res, body, &m) < 0)
        goto done;
    int rc = auth_store_mem_get(a->db, m.ws.id, m.user.id, &m.mem);
    if (rc < 0)
        goto db_error;
    if (rc == 0) {
        pgs_db_rollback(a->db);
        s_not_found(req, res, "That user is not a member of the team.", "email");
        goto done;
    }
    int is_owner = !strcmp(m.mem.role, "owner");
    int new_seat = json_is_boolean(seat) ? json_is_true(seat) : m.mem.seat;
    char new_role[sizeof m.mem.role];
    snprintf(new_role, sizeof new_role, "%s", role ? role : m.mem.role);
    if (is_owner && strcmp(new_role, "owner") != 0) {
        pgs_db_rollback(a->db);
        s_conflict(req, res,
                   "The owner's role cannot change; make another member the owner instead.",
                   "role");
        goto done;
    }
    if (!strcmp(new_role, "owner")) {
        if (json_is_false(seat)) {
            pgs_db_rollback(a->db);
            s_conflict(req, res, "The owner always holds a seat.", "seat");
            goto done;
        }
        new_seat = 1;
    }
    if (new_seat && !m.mem.seat && s_seat_free(a, req, res, &m.ws) < 0)
        goto done;
    int make_owner = !is_owner && !strcmp(new_role, "owner");
    snprintf(m.mem.role, sizeof m.mem.role, "%s", new_role);
    m.mem.seat = new_seat;
    if (auth_store_mem_put(a->db, &m.mem) < 0)
        goto db_error;
    if (make_owner && s_transfer(a, &m, &c) < 0)
        goto db_error;
    auth_change_ws(&c, m.ws.id);
    auth_change_mem(&c, m.ws.id, m.user.id);
    s_commit_reply(a, req, res, &c, 200, s_member_made, &m);
    if (res->status == 200)
        PGS_LOG(PGS_LOG_INFO, req->request_id, "member set ws=%s user=%s role=%s seat=%d", m.ws.id,
                m.user.id, m.mem.role, m.mem.seat);
    goto done;
db_error:
    auth_req_fail_db(a->db, req, res);
done:
    auth_change_clear(&c);
    json_decref(body);
    return PGS_DONE;
}

static void
s_collect_id(const char *id, void *arg)
{
    json_array_append_new(arg, json_string(id));
}

pgs_handled_t
auth_admin_member_remove(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    static const pgs_json_field_t fields[] = {
        {"team", PGS_JSON_STRING, 1},
        {"email", PGS_JSON_STRING, 1},
        {NULL, 0, 0},
    };
    json_t *body = s_begin(req, res, fields);
    if (!body)
        return PGS_DONE;
    s_member_t m;
    auth_change_t c;
    auth_change_init(&c);
    json_t *ids = json_array();
    if (s_member_begin(a, req, res, body, &m) < 0)
        goto done;
    int rc = auth_store_mem_get(a->db, m.ws.id, m.user.id, &m.mem);
    if (rc < 0)
        goto db_error;
    if (rc == 0) {
        pgs_db_rollback(a->db);
        s_not_found(req, res, "That user is not a member of the team.", "email");
        goto done;
    }
    if (!strcmp(m.mem.role, "owner")) {
        pgs_db_rollback(a->db);
        s_conflict(req, res, "The owner cannot be removed; make another member the owner first.",
                   "email");
        goto done;
    }
    /* The member's team tokens are revoked in the same transaction. */
    if (auth_store_tok_unrevoked_of(a->db, m.user.id, m.ws.id, s_collect_id, ids) < 0)
        goto db_error;
    int64_t now = auth_req_now();
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (auth_store_tok_revoke(a->db, json_string_value(v), now) < 0)
            goto db_error;
        auth_change_token(&c, json_string_value(v));
        m.revoked++;
    }
    if (auth_store_mem_delete(a->db, m.ws.id, m.user.id) < 0)
        goto db_error;
    auth_change_ws(&c, m.ws.id);
    auth_change_mem(&c, m.ws.id, m.user.id);
    s_commit_reply(a, req, res, &c, 200, s_member_removed, &m);
    if (res->status == 200)
        PGS_LOG(PGS_LOG_INFO, req->request_id, "member removed ws=%s user=%s revoked=%d", m.ws.id,
                m.user.id, m.revoked);
    goto done;
db_error:
    auth_req_fail_db(a->db, req, res);
done:
    json_decref(ids);
    auth_change_clear(&c);
    json_decref(body);
    return PGS_DONE;
}

/* ---- tokens ---- */

typedef struct {
    json_t *data;
    int64_t now;
} s_toks_t;

static void
s_tok_each(const auth_tok_t *t, void *arg)
{
    s_toks_t *s = arg;
    json_array_append_new(s->data, auth_tokens_object(t, s->now));
}

pgs_handled_t
auth_admin_token_list(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    static const pgs_json_field_t fields[] = {
        {"workspace_id", PGS_JSON_STRING, 0},
        {NULL, 0, 0},
    };
    const char *actor = pgs_req_ctx(req, "actor");
    if (!actor || strcmp(actor, "pegasusctl") != 0) {
        pgs_res_error(res, req, 403, "forbidden", "Admin routes are for pegasusctl only.", NULL);
        return PGS_DONE;
    }
    json_t *body = req->body_len ? auth_req_body(req, res, fields, 0) : json_object();
    if (!body)
        return PGS_DONE;
    const char *ws_id = s_str(body, "workspace_id");
    if (ws_id) {
        auth_ws_t ws;
        int rc = pgs_id_valid(ws_id, "ws") ? auth_store_ws_get(a->db, ws_id, &ws) : 0;
        if (rc <= 0) {
            if (rc < 0)
                auth_req_fail_db(a->db, req, res);
            else
                s_not_found(req, res, "No such workspace.", "workspace_id");
            json_decref(body);
            return PGS_DONE;
        }
    }
    s_toks_t s = {.data = json_array(), .now = auth_req_now()};
    if (auth_store_tok_list(a->db, ws_id, NULL, 0, NULL, 0, s_tok_each, &s) < 0) {
        json_decref(s.data);
        auth_req_fail_db(a->db, req, res);
    } else {
        pgs_res_json(res, 200, pgs_page_list(s.data, 0, NULL));
    }
    json_decref(body);
    return PGS_DONE;
}

pgs_handled_t
auth_admin_token_revoke(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    static const pgs_json_field_t fields[] = {
        {"token_id", PGS_JSON_STRING, 1},
        {NULL, 0, 0},
    };
    json_t *body = s_begin(req, res, fields);
    if (!body)
        return PGS_DONE;
    const char *id = s_str(body, "token_id");
    auth_tok_t t;
    int rc = pgs_id_valid(id, "tok") ? auth_store_tok_by_id(a->db, id, &t) : 0;
    if (rc == 1)
        rc = auth_tokens_revoke(a, t.id, res) < 0 ? -1 : 1;
    if (rc == 1)
        rc = auth_store_tok_by_id(a->db, id, &t);
    if (rc < 0) {
        auth_req_fail_db(a->db, req, res);
    } else if (rc == 0) {
        s_not_found(req, res, "No such token.", "token_id");
    } else {
        PGS_LOG(PGS_LOG_INFO, req->request_id, "token revoked by operator id=%s", t.id);
        pgs_res_json(res, 200, json_pack("{s:o}", "token", auth_tokens_object(&t, auth_req_now())));
    }
    json_decref(body);
    return PGS_DONE;
}
