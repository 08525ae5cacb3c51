/*
 * auth_cache — see auth_cache.h.
 */
#include "auth_cache.h"
#include "auth_view.h"
#include "auth_store.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BATCH 512         /* commands per pipeline round trip in a rebuild */
#define S_MAX_TOK_INVAL 200 /* beyond this, ws:/user: entries cover the rest */
#define S_REBUILD_PASSES 8
#define S_LOCK_KEY "pgs:rebuild_lock"

void
auth_change_init(auth_change_t *c)
{
    c->toks = json_array();
    c->wss = json_array();
    c->mems = json_array();
    c->users = json_array();
}

void
auth_change_clear(auth_change_t *c)
{
    json_decref(c->toks);
    json_decref(c->wss);
    json_decref(c->mems);
    json_decref(c->users);
    memset(c, 0, sizeof *c);
}

static int
s_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!strcmp(json_string_value(v), s))
            return 1;
    }
    return 0;
}

static void
s_add_unique(json_t *arr, const char *s)
{
    if (!s_has(arr, s))
        json_array_append_new(arr, json_string(s));
}

void
auth_change_token(auth_change_t *c, const char *token_id)
{
    s_add_unique(c->toks, token_id);
}

void
auth_change_ws(auth_change_t *c, const char *ws_id)
{
    s_add_unique(c->wss, ws_id);
}

void
auth_change_mem(auth_change_t *c, const char *ws_id, const char *user_id)
{
    json_array_append_new(c->mems, json_pack("[ss]", ws_id, user_id));
    auth_change_user(c, user_id);
}

void
auth_change_user(auth_change_t *c, const char *user_id)
{
    s_add_unique(c->users, user_id);
}

/* ---- key writers (appended to the connection's pipeline) ---- */

static int
s_put_tok(auth_t *a, const auth_tok_t *t)
{
    char key[96], exp[24];
    snprintf(key, sizeof key, "pgs:tok:%s", t->hash);
    snprintf(exp, sizeof exp, "%lld", (long long)t->expires_at);
    return pgs_redis_append(a->redis, "HSET %s id %s user %s ws %s scopes %s exp %s revoked %s",
                            key, t->id, t->user, t->ws, t->scopes, exp, t->revoked_at ? "1" : "0");
}

static int
s_put_ws(auth_t *a, const auth_ws_t *w)
{
    char key[64];
    snprintf(key, sizeof key, "pgs:ws:%s", w->id);
    return pgs_redis_append(a->redis, "HSET %s type %s plan %s ro %s name %s", key, w->type,
                            w->plan, auth_store_ws_read_only(w) ? "1" : "0", w->name);
}

static int
s_put_mem(auth_t *a, const auth_mem_t *m)
{
    char key[96];
    snprintf(key, sizeof key, "pgs:mem:%s:%s", m->ws, m->user);
    return pgs_redis_append(a->redis, "HSET %s role %s seat %s", key, m->role, m->seat ? "1" : "0");
}

/* ---- after a commit ---- */

static void
s_inval_add(char **buf, size_t *len, size_t *cap, const char *kind, const char *id)
{
    size_t need = strlen(kind) + strlen(id) + 3;
    if (*len + need >= *cap) {
        size_t ncap = (*cap + need) * 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return;
        *buf = nb;
        *cap = ncap;
    }
    *len += (size_t)snprintf(*buf + *len, *cap - *len, "%s%s:%s", *len ? " " : "", kind, id);
}

void
auth_cache_apply(auth_t *a, const auth_change_t *c, pgs_res_t *res)
{
    char *inval = NULL;
    size_t len = 0, cap = 0;
    int ok = 1, queued = 0;
    size_t i;
    json_t *v;

    json_array_foreach(c->toks, i, v)
    {
        auth_tok_t t;
        if (auth_store_tok_by_id(a->db, json_string_value(v), &t) != 1) {
            ok = 0;
            continue;
        }
        if (s_put_tok(a, &t) < 0)
            ok = 0;
        else
            queued++;
        if (i < S_MAX_TOK_INVAL)
            s_inval_add(&inval, &len, &cap, "tok", t.hash);
    }
    json_array_foreach(c->wss, i, v)
    {
        auth_ws_t w;
        if (auth_store_ws_get(a->db, json_string_value(v), &w) != 1) {
            ok = 0;
            continue;
        }
        if (s_put_ws(a, &w) < 0)
            ok = 0;
        else
            queued++;
        s_inval_add(&inval, &len, &cap, "ws", w.id);
    }
    json_t *mem_ws = json_array();
    json_array_foreach(c->mems, i, v)
    {
        const char *ws = json_string_value(json_array_get(v, 0));
        const char *user = json_string_value(json_array_get(v, 1));
        auth_mem_t m;
        int rc = auth_store_mem_get(a->db, ws, user, &m);
        if (rc == 1) {
            if (s_put_mem(a, &m) < 0)
                ok = 0;
            else
                queued++;
        } else if (rc == 0) {
            if (pgs_redis_append(a->redis, "DEL pgs:mem:%s:%s", ws, user) < 0)
                ok = 0;
            else
                queued++;
        } else {
            ok = 0;
        }
        if (!s_has(c->wss, ws) && !s_has(mem_ws, ws)) {
            s_inval_add(&inval, &len, &cap, "ws", ws);
            json_array_append_new(mem_ws, json_string(ws));
        }
    }
    json_decref(mem_ws);
    json_array_foreach(c->users, i, v)
        s_inval_add(&inval, &len, &cap, "user", json_string_value(v));
    if (inval && len) {
        auth_view_invalidate(a->view, inval); /* this process's own view, at once */
        if (pgs_redis_append(a->redis, "PUBLISH pgs:inval %s", inval) < 0)
            ok = 0;
        else
            queued++;
        if (res && pgs_meta_invalidate(&res->meta, inval) < 0)
            ok = 0;
    }
    if (queued && pgs_redis_pipeline_run(a->redis) < 0)
        ok = 0;
    if (!ok) {
        pgs_warn("redis not updated after a commit; a rebuild will follow");
        a->rebuild_needed = 1;
    }
    free(inval);
}

/* ---- rebuild ---- */

typedef struct {
    auth_t *a;
    int n;
    int failed;
} s_rebuild_t;

static void
s_flush(s_rebuild_t *rb, int force)
{
    if (rb->failed || !(force ? rb->n > 0 : rb->n >= S_BATCH))
        return;
    if (pgs_redis_pipeline_run(rb->a->redis) < 0)
        rb->failed = 1;
    rb->n = 0;
}

static void
s_rb_tok(const auth_tok_t *t, void *arg)
{
    s_rebuild_t *rb = arg;
    if (rb->failed)
        return;
    if (s_put_tok(rb->a, t) < 0)
        rb->failed = 1;
    rb->n++;
    s_flush(rb, 0);
}

static void
s_rb_ws(const auth_ws_t *w, void *arg)
{
    s_rebuild_t *rb = arg;
    if (rb->failed)
        return;
    if (s_put_ws(rb->a, w) < 0)
        rb->failed = 1;
    rb->n++;
    s_flush(rb, 0);
}

static void
s_rb_mem(const auth_mem_t *m, void *arg)
{
    s_rebuild_t *rb = arg;
    if (rb->failed)
        return;
    if (s_put_mem(rb->a, m) < 0)
        rb->failed = 1;
    rb->n++;
    s_flush(rb, 0);
}

/* One pass: every key from one SQLite read snapshot. Returns 0 and the
 * snapshot's change sequence, or -1. */
static int
s_rebuild_pass(auth_t *a, int64_t *seq)
{
    if (pgs_db_exec(a->db, "BEGIN") < 0)
        return -1;
    s_rebuild_t rb = {.a = a};
    int rc = auth_store_seq(a->db, seq);
    if (rc == 0)
        rc = auth_store_ws_each(a->db, s_rb_ws, &rb);
    if (rc == 0)
        rc = auth_store_mem_each(a->db, s_rb_mem, &rb);
    if (rc == 0)
        rc = auth_store_tok_list(a->db, NULL, NULL, 0, NULL, 0, s_rb_tok, &rb) < 0 ? -1 : 0;
    pgs_db_exec(a->db, "COMMIT");
    s_flush(&rb, 1);
    return rc == 0 && !rb.failed ? 0 : -1;
}

/* Deletes pgs:mem:* keys whose membership no longer exists (left behind when
 * a forced rebuild follows a failed delete). */
static int
s_sweep_members(auth_t *a)
{
    char cursor[32] = "0";
    for (int rounds = 0; rounds < 100000; rounds++) {
        redisReply *r = pgs_redis_command(a->redis, "SCAN %s MATCH pgs:mem:* COUNT 500", cursor);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
            if (r)
                freeReplyObject(r);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        int queued = 0;
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            redisReply *k = r->element[1]->element[i];
            if (k->type != REDIS_REPLY_STRING)
                continue;
            char ws[PGS_ID_MAX], user[PGS_ID_MAX];
            const char *p = k->str + strlen("pgs:mem:");
            const char *colon = strchr(p, ':');
            if (!colon || (size_t)(colon - p) >= sizeof ws || strlen(colon + 1) >= sizeof user)
                continue;
            snprintf(ws, sizeof ws, "%.*s", (int)(colon - p), p);
            snprintf(user, sizeof user, "%s", colon + 1);
            auth_mem_t m;
            if (auth_store_mem_get(a->db, ws, user, &m) == 0 &&
                pgs_redis_append(a->redis, "DEL %s", k->str) == 0)
                queued++;
        }
        freeReplyObject(r);
        if (queued && pgs_redis_pipeline_run(a->redis) < 0)
            return -1;
        if (!strcmp(cursor, "0"))
            return 0;
    }
    return 0;
}

static void
s_unlock(auth_t *a)
{
    redisReply *r = pgs_redis_command(
        a->redis, "EVAL %s 1 %s %s",
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end "
        "return 0",
        S_LOCK_KEY, a->instance);
    if (r)
        freeReplyObject(r);
}

static void
s_rebuild(auth_t *a)
{
    redisReply *r = pgs_redis_command(a->redis, "SET %s %s NX PX 30000", S_LOCK_KEY, a->instance);
    int locked = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    if (!locked)
        return;
    int64_t t0 = pgs_time_mono_ms();
    int64_t seq = 0, after = 0;
    int ok = 0, passes = 0;
    while (passes < S_REBUILD_PASSES) {
        passes++;
        if (s_rebuild_pass(a, &seq) < 0)
            break;
        if (auth_store_seq(a->db, &after) < 0)
            break;
        if (after == seq) {
            ok = 1;
            break;
        }
    }
    if (ok && s_sweep_members(a) < 0)
        ok = 0;
    if (ok) {
        r = pgs_redis_command(a->redis, "SET pgs:rebuilt 1");
        ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
    }
    s_unlock(a);
    if (ok) {
        /* Edges (and auth views) drop everything they cached from the old
         * state. */
        auth_view_invalidate(a->view, "all");
        r = pgs_redis_command(a->redis, "PUBLISH pgs:inval all");
        if (r)
            freeReplyObject(r);
        pgs_info("redis rebuilt from sqlite passes=%d seq=%lld ms=%lld", passes, (long long)seq,
                 (long long)(pgs_time_mono_ms() - t0));
    } else {
        pgs_warn("redis rebuild incomplete; will retry passes=%d", passes);
    }
}

void
auth_cache_tick(auth_t *a)
{
    int64_t now = pgs_time_mono_ms();
    if (now - a->last_rebuild_check < 1000)
        return;
    a->last_rebuild_check = now;
    if (a->rebuild_needed) {
        redisReply *r = pgs_redis_command(a->redis, "DEL pgs:rebuilt");
        if (!r || r->type == REDIS_REPLY_ERROR) {
            if (r)
                freeReplyObject(r);
            return;
        }
        freeReplyObject(r);
        a->rebuild_needed = 0;
    }
    redisReply *r = pgs_redis_command(a->redis, "EXISTS pgs:rebuilt");
    int missing = r && r->type == REDIS_REPLY_INTEGER && r->integer == 0;
    if (r)
        freeReplyObject(r);
    if (missing)
        s_rebuild(a);
}
