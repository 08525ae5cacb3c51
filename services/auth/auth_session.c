/*
 * auth_session — see auth_session.h.
 */
#include "auth_session.h"
#include "auth_req.h"
#include "pgs_log.h"
#include "pgs_scope.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PASSWORD_MAX 1024

static void
s_random_b64(char out[AUTH_SESSION_ID_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, AUTH_SESSION_ID_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

static int
s_id_ok(const char *s)
{
    if (!s || strlen(s) != AUTH_SESSION_ID_LEN)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return 0;
    return 1;
}

static void
s_set_cookie(auth_t *a, pgs_res_t *res, const char *value, long long max_age)
{
    char cookie[256];
    snprintf(cookie, sizeof cookie,
             "pegasus_session=%s; Path=/; Max-Age=%lld; HttpOnly; "
             "SameSite=Strict%s",
             value, max_age, a->secure_cookies ? "; Secure" : "");
    pgs_res_header(res, "Set-Cookie", cookie);
}

/* ---- session storage ---- */

/* Reads the session: 1 found, 0 absent or expired, -1 Redis down. */
static int
s_sess_load(auth_t *a, const char *id, auth_sess_t *out)
{
    redisReply *r = pgs_redis_command(a->redis, "HGETALL pgs:sess:%s", id);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", id);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (!strcmp(k->str, "user"))
            snprintf(out->user, sizeof out->user, "%s", v->str);
        else if (!strcmp(k->str, "ws"))
            snprintf(out->ws, sizeof out->ws, "%s", v->str);
        else if (!strcmp(k->str, "csrf"))
            snprintf(out->csrf, sizeof out->csrf, "%s", v->str);
        else if (!strcmp(k->str, "created"))
            out->created = strtoll(v->str, NULL, 10);
    }
    size_t n = r->elements;
    freeReplyObject(r);
    if (n == 0 || !out->user[0] || !out->created || strlen(out->csrf) != AUTH_SESSION_ID_LEN)
        return 0;
    int64_t now = auth_req_now();
    int64_t left = out->created + a->session_absolute_s - now;
    if (left <= 0) {
        r = pgs_redis_command(a->redis, "DEL pgs:sess:%s", id);
        if (r)
            freeReplyObject(r);
        return 0;
    }
    /* Sliding idle expiry, never past the absolute one. */
    long long ttl = a->session_idle_s < left ? a->session_idle_s : left;
    r = pgs_redis_command(a->redis, "EXPIRE pgs:sess:%s %lld", id, ttl);
    if (r)
        freeReplyObject(r);
    return 1;
}

static int
s_sess_set_ws(auth_t *a, const auth_sess_t *s)
{
    redisReply *r = pgs_redis_command(a->redis, "HSET pgs:sess:%s ws %s", s->id, s->ws);
    int ok = r && r->type == REDIS_REPLY_INTEGER;
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

static void
s_not_signed_in(const pgs_req_t *req, pgs_res_t *res)
{
    auth_req_unauthorized(req, res, "not_signed_in", "Sign in to continue.");
}

int
auth_session_require(auth_t *a, const pgs_req_t *req, pgs_res_t *res, int need_csrf,
                     auth_app_t *out)
{
    memset(out, 0, sizeof *out);
    const char *cookie = auth_req_get(req, "cookies", "pegasus_session");
    if (!s_id_ok(cookie)) {
        s_not_signed_in(req, res);
        return -1;
    }
    int rc = s_sess_load(a, cookie, &out->sess);
    if (rc < 0) {
        auth_req_unavailable(req, res);
        return -1;
    }
    if (rc == 0) {
        s_not_signed_in(req, res);
        return -1;
    }
    if (need_csrf) {
        const char *h = auth_req_get(req, "headers", "x-csrf-token");
        if (!h || strlen(h) != AUTH_SESSION_ID_LEN ||
            sodium_memcmp(h, out->sess.csrf, AUTH_SESSION_ID_LEN) != 0) {
            pgs_res_error(res, req, 403, "csrf_failed", "Missing or invalid X-CSRF-Token header.",
                          NULL);
            return -1;
        }
    }
    rc = auth_store_user_by_id(a->db, out->sess.user, &out->user);
    if (rc < 0) {
        auth_req_fail_db(a->db, req, res);
        return -1;
    }
    if (rc == 0) {
        s_not_signed_in(req, res);
        return -1;
    }
    rc = out->sess.ws[0] ? auth_store_mem_get(a->db, out->sess.ws, out->user.id, &out->mem) : 0;
    if (rc == 0) {
        /* The user left (or was removed from) the active workspace. */
        out->fell_back = out->sess.ws[0] != '\0';
        snprintf(out->sess.ws, sizeof out->sess.ws, "%s", out->user.personal_ws);
        s_sess_set_ws(a, &out->sess);
        rc = auth_store_mem_get(a->db, out->sess.ws, out->user.id, &out->mem);
    }
    if (rc == 1)
        rc = auth_store_ws_get(a->db, out->sess.ws, &out->ws);
    if (rc != 1) {
        if (rc < 0)
            auth_req_fail_db(a->db, req, res);
        else
            s_not_signed_in(req, res);
        return -1;
    }
    sodium_memzero(out->user.password_hash, sizeof out->user.password_hash);
    return 0;
}

/* ---- the session body: {user, workspaces, active_workspace_id, csrf_token} ---- */

typedef struct {
    auth_t *a;
    json_t *arr;
} s_ws_walk_t;

static void
s_ws_each(const auth_ws_t *w, const auth_mem_t *m, void *arg)
{
    s_ws_walk_t *ww = arg;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(w->id));
    json_object_set_new(o, "object", json_string("workspace"));
    json_object_set_new(o, "type", json_string(w->type));
    json_object_set_new(o, "name", json_string(w->name));
    json_object_set_new(o, "plan", json_string(w->plan));
    json_object_set_new(o, "role", json_string(m->role));
    json_object_set_new(o, "seat", json_boolean(m->seat));
    json_object_set_new(o, "read_only", json_boolean(auth_store_ws_read_only(w)));
    json_object_set_new(o, "api_access", json_boolean(auth_state_plan_api(ww->a, w->plan)));
    json_array_append_new(ww->arr, o);
}

static void
s_reply_session(auth_t *a, const pgs_req_t *req, pgs_res_t *res, const auth_app_t *app)
{
    s_ws_walk_t ww = {.a = a, .arr = json_array()};
    if (auth_store_mem_of_user(a->db, app->user.id, s_ws_each, &ww) < 0) {
        json_decref(ww.arr);
        auth_req_fail_db(a->db, req, res);
        return;
    }
    json_t *user = json_object();
    json_object_set_new(user, "id", json_string(app->user.id));
    json_object_set_new(user, "object", json_string("user"));
    json_object_set_new(user, "email", json_string(app->user.email));
    json_object_set_new(user, "name", json_string(app->user.name));
    json_t *o = json_object();
    json_object_set_new(o, "user", user);
    json_object_set_new(o, "workspaces", ww.arr);
    json_object_set_new(o, "active_workspace_id", json_string(app->ws.id));
    json_object_set_new(o, "csrf_token", json_string(app->sess.csrf));
    pgs_res_json(res, 200, o);
    pgs_res_header(res, "Cache-Control", "no-store");
}

/* ---- handlers ---- */

static void
s_lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void
s_invalid_credentials(const pgs_req_t *req, pgs_res_t *res)
{
    auth_req_unauthorized(req, res, "invalid_credentials", "Incorrect email or password.");
}

/* Counts one failure under key (pgs:lf:<email> or pgs:lfa:<address>). The
 * window starts at the first failure; reaching max restarts it, so a lock
 * lasts a full window from the failure that caused it. */
static void
s_note_failure_of(auth_t *a, const char *key, long long max)
{
    redisReply *r = pgs_redis_command(a->redis, "INCR %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    if (r)
        freeReplyObject(r);
    if (n == 1 || n >= max) {
        r = pgs_redis_command(a->redis, "EXPIRE %s %lld", key, a->login_window_s);
        if (r)
            freeReplyObject(r);
    }
}

/* The per-address key of a client, or "" when the edge gave no address. */
static void
s_address_key(const pgs_req_t *req, char *out, size_t len)
{
    const char *ip = pgs_req_ctx(req, "client_ip");
    out[0] = '\0';
    if (ip && *ip && strlen(ip) < 64 && !strpbrk(ip, " \r\n"))
        snprintf(out, len, "pgs:lfa:%s", ip);
}

/* One failed sign-in: for its email and for its client address. */
static void
s_note_failure(auth_t *a, const pgs_req_t *req, const char *email)
{
    char key[AUTH_EMAIL_MAX + 16];
    snprintf(key, sizeof key, "pgs:lf:%s", email);
    s_note_failure_of(a, key, a->login_max_failures);
    s_address_key(req, key, sizeof key);
    if (*key)
        s_note_failure_of(a, key, a->login_max_failures_per_address);
}

/* Failures counted under key: 0..n, or -1 when Redis cannot answer; *ttl
 * the seconds until the window ends (at least 1) when n is over max. */
static long long
s_failures(auth_t *a, const char *key, long long max, long long *ttl)
{
    redisReply *r = pgs_redis_command(a->redis, "GET %s", key);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    long long n = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
    freeReplyObject(r);
    *ttl = a->login_window_s;
    if (n >= max) {
        r = pgs_redis_command(a->redis, "TTL %s", key);
        if (r && r->type == REDIS_REPLY_INTEGER)
            *ttl = r->integer;
        if (r)
            freeReplyObject(r);
        if (*ttl < 1)
            *ttl = 1;
    }
    return n;
}

/* A 429 that says when to try again: in the message and in Retry-After. */
static void
s_throttled(const pgs_req_t *req, pgs_res_t *res, const char *code, const char *what,
            long long ttl)
{
    char msg[200], ra[32];
    long long minutes = (ttl + 59) / 60;
    snprintf(msg, sizeof msg, "Too many failed sign-ins %s. Try again in %lld %s.", what,
             ttl < 60 ? ttl : minutes,
             ttl < 60 ? (ttl == 1 ? "second" : "seconds") : (minutes == 1 ? "minute" : "minutes"));
    snprintf(ra, sizeof ra, "%lld", ttl);
    pgs_res_error(res, req, 429, code, msg, NULL);
    pgs_res_header(res, "Retry-After", ra);
}

/* A sign-in whose password is being verified on a thread. */
typedef struct {
    auth_t *a;
    json_t *body; /* the request's JSON: password points into it */
    const char *password;
    size_t pwlen;
    int known, good;
    char email[AUTH_EMAIL_MAX + 1];
    auth_app_t app;
    char hash[sizeof ((auth_app_t *)0)->user.password_hash]; /* the user's, or the dummy */
} s_login_t;

/* On a thread: the argon2id run, and nothing else. */
static void
s_login_verify(void *arg)
{
    s_login_t *lg = arg;
    lg->good = crypto_pwhash_str_verify(lg->hash, lg->password, lg->pwlen) == 0 && lg->known;
    sodium_memzero(lg->hash, sizeof lg->hash);
}

/* Back on the loop: the failure counted, or the session made. */
static void
s_login_finish(s_login_t *lg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = lg->a;
    const char *email = lg->email;
    auth_app_t *app = &lg->app;
    redisReply *r;
    if (!lg->good) {
        s_note_failure(a, req, email);
        PGS_LOG(PGS_LOG_INFO, req->request_id, "sign-in failed");
        s_invalid_credentials(req, res);
        return;
    }
    r = pgs_redis_command(a->redis, "DEL pgs:lf:%s", email);
    if (r)
        freeReplyObject(r);

    /* A fresh session id at every sign-in (no fixation); the old one goes. */
    const char *old = auth_req_get(req, "cookies", "pegasus_session");
    if (s_id_ok(old)) {
        r = pgs_redis_command(a->redis, "DEL pgs:sess:%s", old);
        if (r)
            freeReplyObject(r);
    }
    auth_sess_t *s = &app->sess;
    s_random_b64(s->id);
    s_random_b64(s->csrf);
    snprintf(s->user, sizeof s->user, "%s", app->user.id);
    snprintf(s->ws, sizeof s->ws, "%s", app->user.personal_ws);
    s->created = auth_req_now();
    if (auth_store_ws_get(a->db, s->ws, &app->ws) != 1) {
        auth_req_fail_db(a->db, req, res);
        return;
    }
    char created[24];
    snprintf(created, sizeof created, "%lld", (long long)s->created);
    long long ttl =
        a->session_idle_s < a->session_absolute_s ? a->session_idle_s : a->session_absolute_s;
    char key[64];
    snprintf(key, sizeof key, "pgs:sess:%s", s->id);
    pgs_redis_append(a->redis, "HSET %s user %s ws %s csrf %s created %s", key, s->user, s->ws,
                     s->csrf, created);
    pgs_redis_append(a->redis, "EXPIRE %s %lld", key, ttl);
    if (pgs_redis_pipeline_run(a->redis) < 0) {
        auth_req_unavailable(req, res);
        return;
    }
    PGS_LOG(PGS_LOG_INFO, req->request_id, "signed in user=%s", app->user.id);
    s_reply_session(a, req, res, app);
    if (res->status == 200)
        s_set_cookie(a, res, s->id, a->session_absolute_s);
}

static pgs_handled_t
s_login_verified(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    s_login_t *lg = arg;
    s_login_finish(lg, req, res);
    json_decref(lg->body);
    free(lg);
    return PGS_DONE;
}

pgs_handled_t
auth_session_login(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    s_login_t *lg = NULL;
    static const pgs_json_field_t fields[] = {
        {"email", PGS_JSON_STRING, 1},
        {"password", PGS_JSON_STRING, 1},
        {NULL, 0, 0},
    };
    json_t *body = auth_req_body(req, res, fields, 1);
    if (!body)
        return PGS_DONE;
    const char *raw_email = json_string_value(json_object_get(body, "email"));
    json_t *pwv = json_object_get(body, "password");
    const char *password = json_string_value(pwv);
    size_t pwlen = json_string_length(pwv);
    char email[AUTH_EMAIL_MAX + 1];
    while (*raw_email == ' ' || *raw_email == '\t')
        raw_email++;
    size_t elen = strlen(raw_email);
    while (elen && (raw_email[elen - 1] == ' ' || raw_email[elen - 1] == '\t'))
        elen--;
    if (elen == 0 || elen > AUTH_EMAIL_MAX) {
        pgs_res_error(res, req, 400, "invalid_request", "'email' must be an email address.",
                      "email");
        goto done;
    }
    if (pwlen == 0 || pwlen > S_PASSWORD_MAX) {
        pgs_res_error(res, req, 400, "invalid_request",
                      pwlen ? "'password' is too long." : "'password' must not be empty.",
                      "password");
        goto done;
    }
    memcpy(email, raw_email, elen);
    email[elen] = '\0';
    s_lower(email);

    /* Both limits before any password is hashed: the client address's
     * (a spray across emails), then the email's (a guess at one account). */
    char key[AUTH_EMAIL_MAX + 16];
    long long ttl = 0, failures = 0;
    s_address_key(req, key, sizeof key);
    if (*key) {
        failures = s_failures(a, key, a->login_max_failures_per_address, &ttl);
        if (failures >= a->login_max_failures_per_address) {
            s_throttled(req, res, "login_throttled", "from this address", ttl);
            goto done;
        }
    }
    snprintf(key, sizeof key, "pgs:lf:%s", email);
    if (failures >= 0)
        failures = s_failures(a, key, a->login_max_failures, &ttl);
    if (failures < 0) {
        auth_req_unavailable(req, res);
        goto done;
    }
    if (failures >= a->login_max_failures) {
        s_throttled(req, res, "login_locked", "for this email", ttl);
        goto done;
    }

    lg = calloc(1, sizeof *lg);
    if (!lg) {
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        goto done;
    }
    int rc = auth_store_user_by_email(a->db, email, &lg->app.user);
    if (rc < 0) {
        auth_req_fail_db(a->db, req, res);
        goto done;
    }
    /* Unknown emails verify against a dummy hash so both failures cost the
     * same argon2id run; it runs on the worker's threads, the loop serving
     * other requests meanwhile. */
    lg->a = a;
    lg->body = body;
    lg->password = password;
    lg->pwlen = pwlen;
    lg->known = rc == 1;
    snprintf(lg->email, sizeof lg->email, "%s", email);
    snprintf(lg->hash, sizeof lg->hash, "%s", rc == 1 ? lg->app.user.password_hash : a->dummy_hash);
    sodium_memzero(lg->app.user.password_hash, sizeof lg->app.user.password_hash);
    if (pgs_call_offload(req->call, s_login_verify, s_login_verified, lg) < 0) {
        pgs_res_error(res, req, 503, "service_unavailable",
                      "Too many sign-ins at once. Try again shortly.", NULL);
        pgs_res_header(res, "Retry-After", "1");
        goto done;
    }
    return PGS_LATER;
done:
    if (lg) {
        sodium_memzero(lg->hash, sizeof lg->hash);
        free(lg);
    }
    json_decref(body);
    return PGS_DONE;
}

pgs_handled_t
auth_session_logout(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    auth_app_t app;
    if (auth_session_require(a, req, res, 1, &app) < 0)
        return PGS_DONE;
    redisReply *r = pgs_redis_command(a->redis, "DEL pgs:sess:%s", app.sess.id);
    if (!r) {
        auth_req_unavailable(req, res);
        return PGS_DONE;
    }
    freeReplyObject(r);
    pgs_res_empty(res, 204);
    s_set_cookie(a, res, "", 0);
    return PGS_DONE;
}

pgs_handled_t
auth_session_get(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    auth_app_t app;
    if (auth_session_require(a, req, res, 0, &app) < 0)
        return PGS_DONE;
    s_reply_session(a, req, res, &app);
    return PGS_DONE;
}

pgs_handled_t
auth_session_switch(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    auth_app_t app;
    if (auth_session_require(a, req, res, 1, &app) < 0)
        return PGS_DONE;
    static const pgs_json_field_t fields[] = {
        {"workspace_id", PGS_JSON_STRING, 1},
        {NULL, 0, 0},
    };
    json_t *body = auth_req_body(req, res, fields, 1);
    if (!body)
        return PGS_DONE;
    const char *ws = json_string_value(json_object_get(body, "workspace_id"));
    auth_mem_t m;
    int rc = pgs_id_valid(ws, "ws") ? auth_store_mem_get(a->db, ws, app.user.id, &m) : 0;
    if (rc == 1)
        rc = auth_store_ws_get(a->db, ws, &app.ws);
    if (rc < 0) {
        auth_req_fail_db(a->db, req, res);
    } else if (rc == 0) {
        pgs_res_error(res, req, 404, "not_found", "No such workspace.", "workspace_id");
    } else {
        app.mem = m;
        snprintf(app.sess.ws, sizeof app.sess.ws, "%s", ws);
        if (s_sess_set_ws(a, &app.sess) < 0)
            auth_req_unavailable(req, res);
        else
            s_reply_session(a, req, res, &app);
    }
    json_decref(body);
    return PGS_DONE;
}

pgs_handled_t
auth_session_scopes(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    auth_app_t app;
    if (auth_session_require(a, req, res, 0, &app) < 0)
        return PGS_DONE;
    json_t *scopes = json_array();
    for (int i = 0; i < PGS_SCOPE_COUNT; i++) {
        const pgs_scope_def_t *d = &pgs_scope_table[i];
        json_array_append_new(scopes, json_pack("{s:s,s:s,s:s,s:b}", "id", d->id, "label", d->label,
                                                "description", d->description, "write", d->write));
    }
    json_t *presets = json_array();
    for (int i = 0; i < PGS_SCOPE_PRESET_COUNT; i++) {
        const pgs_scope_preset_t *p = &pgs_scope_presets[i];
        json_t *ids = json_array();
        for (int k = 0; k < PGS_SCOPE_COUNT; k++)
            if (p->scopes & ((pgs_scope_mask_t)1u << k))
                json_array_append_new(ids, json_string(pgs_scope_table[k].id));
        json_array_append_new(presets,
                              json_pack("{s:s,s:s,s:s,s:o}", "id", p->id, "label", p->label,
                                        "description", p->description, "scopes", ids));
    }
    json_t *days = json_pack("[iiiii]", 30, 60, 90, 180, 365);
    pgs_res_json(
        res, 200,
        json_pack("{s:o,s:o,s:o}", "scopes", scopes, "presets", presets, "expires_in_days", days));
    return PGS_DONE;
}

pgs_handled_t
auth_session_context(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    auth_t *a = arg;
    auth_app_t app;
    if (auth_session_require(a, req, res, 0, &app) < 0)
        return PGS_DONE;
    pgs_res_json(res, 200,
                 json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "user_id", app.user.id, "workspace_id",
                           app.ws.id, "workspace_type", app.ws.type, "role", app.mem.role, "seat",
                           app.mem.seat, "plan", app.ws.plan));
    return PGS_DONE;
}
