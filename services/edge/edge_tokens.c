/*
 * edge_tokens — see edge_tokens.h.
 */
#include "edge_tokens.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define S_MAX_ENTRIES 200000

/* One round trip for everything checks 3–6 need. Keys outside KEYS[] are
 * fine on a single Redis (not on Cluster, which would need hash tags). */
static const char s_script[] =
    "local t = redis.call('HMGET', 'pgs:tok:' .. ARGV[1], 'id', 'user', 'ws', 'scopes', 'exp', "
    "'revoked')\n"
    "local rebuilt = redis.call('EXISTS', 'pgs:rebuilt')\n"
    "if not t[1] then return {0, rebuilt} end\n"
    "local w = redis.call('HMGET', 'pgs:ws:' .. t[3], 'type', 'plan', 'ro')\n"
    "local m = redis.call('HMGET', 'pgs:mem:' .. t[3] .. ':' .. t[2], 'role', 'seat')\n"
    "return {1, rebuilt, t[1], t[2], t[3], t[4], t[5], t[6], w[1], w[2], w[3], m[1], m[2]}\n";

typedef struct {
    char hash[PGS_TOKEN_HASH_HEX_LEN + 1];
    UT_hash_handle hh;
    int known;
    edge_token_state_t st;
    int64_t expires_ms;
} s_entry_t;

typedef struct {
    char hash[PGS_TOKEN_HASH_HEX_LEN + 1];
    UT_hash_handle hh;
    int64_t at;
} s_touch_t;

typedef struct s_pending {
    uint64_t id;
    UT_hash_handle hh;
    edge_tokens_t *owner;
    char hash[PGS_TOKEN_HASH_HEX_LEN + 1];
    edge_tokens_done done;
    void *arg;
} s_pending_t;

struct edge_tokens {
    edge_redis_t *redis;
    edge_broker_t *broker;
    int ttl_ms, negative_ttl_ms;
    s_entry_t *entries;
    unsigned nentries;
    s_touch_t *touched;
    unsigned ntouched;
    s_pending_t *pending;
    uint64_t next_id;
    int rebuilt;
    int marker_inflight;
    int64_t last_marker;
    uint64_t generation; /* bumped by every clear: late answers are not cached */
};

/* ---- cache ---- */

static void
s_entry_del(edge_tokens_t *t, s_entry_t *e)
{
    HASH_DEL(t->entries, e);
    free(e);
    t->nentries--;
}

void
edge_tokens_clear(edge_tokens_t *t)
{
    s_entry_t *e, *tmp;
    HASH_ITER(hh, t->entries, e, tmp) {
        s_entry_del(t, e);
    }
    t->generation++;
}

static void
s_store(edge_tokens_t *t, const char *hash, int known, const edge_token_state_t *st, int ttl_ms)
{
    if (t->nentries >= S_MAX_ENTRIES)
        edge_tokens_clear(t);
    s_entry_t *e = NULL;
    HASH_FIND_STR(t->entries, hash, e);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            return;
        snprintf(e->hash, sizeof e->hash, "%s", hash);
        HASH_ADD_STR(t->entries, hash, e);
        t->nentries++;
    }
    e->known = known;
    if (st)
        e->st = *st;
    e->expires_ms = pgs_time_mono_ms() + ttl_ms;
}

void
edge_tokens_invalidate(edge_tokens_t *t, const char *message)
{
    const char *p = message;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ' ')
            p++;
        size_t len = (size_t)(p - start);
        if (len == 0)
            break;
        if (len == 3 && memcmp(start, "all", 3) == 0) {
            edge_tokens_clear(t);
            continue;
        }
        const char *colon = memchr(start, ':', len);
        if (!colon)
            continue;
        char what[PGS_TOKEN_HASH_HEX_LEN + 1];
        size_t klen = (size_t)(colon - start), vlen = len - klen - 1;
        if (vlen == 0 || vlen >= sizeof what)
            continue;
        memcpy(what, colon + 1, vlen);
        what[vlen] = '\0';
        if (klen == 3 && memcmp(start, "tok", 3) == 0) {
            s_entry_t *e = NULL;
            HASH_FIND_STR(t->entries, what, e);
            if (e)
                s_entry_del(t, e);
            continue;
        }
        int by_ws = klen == 2 && memcmp(start, "ws", 2) == 0;
        int by_user = klen == 4 && memcmp(start, "user", 4) == 0;
        if (!by_ws && !by_user)
            continue;
        s_entry_t *e, *tmp;
        HASH_ITER(hh, t->entries, e, tmp) {
            if (e->known && strcmp(by_ws ? e->st.workspace_id : e->st.user_id, what) == 0)
                s_entry_del(t, e);
        }
    }
    /* An answer already on its way may predate this change. */
    t->generation++;
}

/* ---- answers ---- */

static void
s_finish(edge_tokens_t *t, s_pending_t *p, edge_tokens_result_t r, const edge_token_state_t *st)
{
    HASH_DEL(t->pending, p);
    if (p->done)
        p->done(p->arg, r, st);
    free(p);
}

static void
s_copy(char *dst, size_t cap, const redisReply *r)
{
    if (r && r->type == REDIS_REPLY_STRING)
        snprintf(dst, cap, "%s", r->str);
    else
        dst[0] = '\0';
}

static long long
s_int(const redisReply *r)
{
    if (r && r->type == REDIS_REPLY_STRING)
        return strtoll(r->str, NULL, 10);
    if (r && r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    return 0;
}

static void
s_on_auth_reply(void *arg, edge_broker_reply_t *reply)
{
    int status = reply->status;
    const void *body = reply->body;
    size_t len = reply->body_len;
    s_pending_t *p = arg;
    edge_tokens_t *t = p->owner;
    if (status == 404) {
        s_store(t, p->hash, 0, NULL, t->negative_ttl_ms);
        s_finish(t, p, EDGE_TOKENS_UNKNOWN, NULL);
        return;
    }
    json_t *j = status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        s_finish(t, p, EDGE_TOKENS_UNAVAILABLE, NULL);
        return;
    }
    edge_token_state_t st = {0};
#define S_STR(field, key) snprintf(st.field, sizeof st.field, "%s", json_string_value(json_object_get(j, key)) ? json_string_value(json_object_get(j, key)) : "")
    S_STR(token_id, "id");
    S_STR(user_id, "user");
    S_STR(workspace_id, "ws");
    S_STR(workspace_type, "type");
    S_STR(plan, "plan");
    S_STR(role, "role");
#undef S_STR
    const char *scopes = json_string_value(json_object_get(j, "scopes"));
    pgs_scope_parse(scopes ? scopes : "", &st.scopes);
    st.expires_at = json_integer_value(json_object_get(j, "exp"));
    st.revoked = json_is_true(json_object_get(j, "revoked"));
    st.read_only = json_is_true(json_object_get(j, "ro"));
    st.seat = json_is_true(json_object_get(j, "seat"));
    json_decref(j);
    /* Redis is being rebuilt: keep this only briefly. */
    s_store(t, p->hash, 1, &st, 200);
    s_finish(t, p, EDGE_TOKENS_FOUND, &st);
}

static void
s_ask_auth(edge_tokens_t *t, s_pending_t *p)
{
    char params[128];
    snprintf(params, sizeof params, "{\"hash\":\"%s\"}", p->hash);
    edge_broker_req_t req = {.service = "auth",
                             .route = "token.lookup",
                             .context = "request_id=edge-lookup\n",
                             .params = params,
                             .deadline_ms = 2000,
                             .retryable = 1};
    if (!edge_broker_submit(t->broker, &req, s_on_auth_reply, p))
        s_finish(t, p, EDGE_TOKENS_UNAVAILABLE, NULL);
}

typedef struct {
    s_pending_t *p;
    uint64_t generation;
} s_redis_ctx_t;

static void
s_on_redis(void *arg, redisReply *r)
{
    s_redis_ctx_t *c = arg;
    s_pending_t *p = c->p;
    edge_tokens_t *t = p->owner;
    int fresh = c->generation == t->generation;
    free(c);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        s_finish(t, p, EDGE_TOKENS_UNAVAILABLE, NULL);
        return;
    }
    t->rebuilt = s_int(r->element[1]) == 1;
    if (s_int(r->element[0]) != 1 || r->elements < 13) {
        if (!t->rebuilt) {
            s_ask_auth(t, p);
            return;
        }
        s_store(t, p->hash, 0, NULL, t->negative_ttl_ms);
        s_finish(t, p, EDGE_TOKENS_UNKNOWN, NULL);
        return;
    }
    redisReply **e = r->element;
    edge_token_state_t st = {0};
    s_copy(st.token_id, sizeof st.token_id, e[2]);
    s_copy(st.user_id, sizeof st.user_id, e[3]);
    s_copy(st.workspace_id, sizeof st.workspace_id, e[4]);
    char scopes[512];
    s_copy(scopes, sizeof scopes, e[5]);
    pgs_scope_parse(scopes, &st.scopes);
    st.expires_at = s_int(e[6]);
    st.revoked = s_int(e[7]) == 1;
    s_copy(st.workspace_type, sizeof st.workspace_type, e[8]);
    s_copy(st.plan, sizeof st.plan, e[9]);
    st.read_only = s_int(e[10]) == 1;
    s_copy(st.role, sizeof st.role, e[11]);
    st.seat = s_int(e[12]) == 1;
    if (fresh)
        s_store(t, p->hash, 1, &st, t->ttl_ms);
    s_finish(t, p, EDGE_TOKENS_FOUND, &st);
}

edge_tokens_result_t
edge_tokens_lookup(edge_tokens_t *t, const char *hash, edge_token_state_t *st,
                   edge_tokens_done done, void *arg, uint64_t *handle)
{
    *handle = 0;
    s_entry_t *e = NULL;
    HASH_FIND_STR(t->entries, hash, e);
    if (e) {
        if (pgs_time_mono_ms() < e->expires_ms) {
            if (!e->known)
                return EDGE_TOKENS_UNKNOWN;
            *st = e->st;
            return EDGE_TOKENS_FOUND;
        }
        s_entry_del(t, e);
    }
    s_pending_t *p = calloc(1, sizeof *p);
    s_redis_ctx_t *c = malloc(sizeof *c);
    if (!p || !c) {
        free(p);
        free(c);
        return EDGE_TOKENS_UNAVAILABLE;
    }
    p->id = ++t->next_id;
    p->owner = t;
    snprintf(p->hash, sizeof p->hash, "%s", hash);
    p->done = done;
    p->arg = arg;
    c->p = p;
    c->generation = t->generation;
    const char *argv[] = {"EVAL", s_script, "0", p->hash};
    size_t lens[] = {4, sizeof s_script - 1, 1, strlen(p->hash)};
    if (edge_redis_command(t->redis, s_on_redis, c, 4, argv, lens) < 0) {
        free(p);
        free(c);
        return EDGE_TOKENS_UNAVAILABLE;
    }
    HASH_ADD(hh, t->pending, id, sizeof p->id, p);
    *handle = p->id;
    return EDGE_TOKENS_PENDING;
}

void
edge_tokens_cancel(edge_tokens_t *t, uint64_t handle)
{
    s_pending_t *p = NULL;
    HASH_FIND(hh, t->pending, &handle, sizeof handle, p);
    if (p)
        p->done = NULL;
}

/* ---- marker, touch ---- */

static void
s_on_marker(void *arg, redisReply *r)
{
    edge_tokens_t *t = arg;
    t->marker_inflight = 0;
    t->rebuilt = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
}

void
edge_tokens_tick(edge_tokens_t *t)
{
    int64_t now = pgs_time_mono_ms();
    if (!edge_redis_up(t->redis)) {
        t->rebuilt = 0;
        return;
    }
    if (t->marker_inflight || now - t->last_marker < 500)
        return;
    t->last_marker = now;
    const char *argv[] = {"EXISTS", "pgs:rebuilt"};
    size_t lens[] = {6, 11};
    if (edge_redis_command(t->redis, s_on_marker, t, 2, argv, lens) == 0)
        t->marker_inflight = 1;
}

int
edge_tokens_redis_rebuilt(const edge_tokens_t *t)
{
    return t->rebuilt && edge_redis_up(t->redis);
}

int
edge_tokens_should_touch(edge_tokens_t *t, const char *hash, int interval_ms)
{
    int64_t now = pgs_time_mono_ms();
    s_touch_t *e = NULL;
    HASH_FIND_STR(t->touched, hash, e);
    if (e) {
        if (now - e->at < interval_ms)
            return 0;
        e->at = now;
        return 1;
    }
    if (t->ntouched >= S_MAX_ENTRIES) {
        s_touch_t *x, *tmp;
        HASH_ITER(hh, t->touched, x, tmp) {
            HASH_DEL(t->touched, x);
            free(x);
        }
        t->ntouched = 0;
    }
    e = calloc(1, sizeof *e);
    if (!e)
        return 0;
    snprintf(e->hash, sizeof e->hash, "%s", hash);
    e->at = now;
    HASH_ADD_STR(t->touched, hash, e);
    t->ntouched++;
    return 1;
}

/* ---- life ---- */

edge_tokens_t *
edge_tokens_new(edge_redis_t *redis, edge_broker_t *broker, int cache_ttl_ms, int negative_ttl_ms)
{
    edge_tokens_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->redis = redis;
    t->broker = broker;
    t->ttl_ms = cache_ttl_ms;
    t->negative_ttl_ms = negative_ttl_ms;
    return t;
}

void
edge_tokens_destroy(edge_tokens_t **tp)
{
    if (!tp || !*tp)
        return;
    edge_tokens_t *t = *tp;
    edge_tokens_clear(t);
    s_touch_t *x, *tmp;
    HASH_ITER(hh, t->touched, x, tmp) {
        HASH_DEL(t->touched, x);
        free(x);
    }
    /* Destroy Redis and the broker first: their callbacks end every
     * pending lookup. What is left never got an answer. */
    s_pending_t *p, *ptmp;
    HASH_ITER(hh, t->pending, p, ptmp) {
        HASH_DEL(t->pending, p);
        free(p);
    }
    free(t);
    *tp = NULL;
}
