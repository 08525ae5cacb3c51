/*
 * edge_ratelimit — see edge_ratelimit.h.
 */
#include "edge_ratelimit.h"
#include "pgs_id.h"
#include "pgs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef struct {
    char token_id[PGS_ID_MAX];
    UT_hash_handle hh;
    int64_t window; /* Unix minute */
    long local;     /* requests this edge admitted in the window */
    long shared;    /* the Redis total at the last sync (all edges) */
    long unsent;    /* admitted here, not yet added in Redis */
    int syncing;
    int streams;        /* open event streams on this edge */
    int streams_sent;   /* what pgs:st:<token> says for this edge */
    int64_t streams_pub; /* when it was said (monotonic ms) */
    int64_t streams_seen; /* the token's last stream here (monotonic ms; 0: never) */
    long others;        /* streams open on the other edges, as last read */
} s_window_t;

struct edge_ratelimit {
    edge_redis_t *redis;
    s_window_t *windows;
    int64_t last_sync;
    int shared_streams;
    char id[64];
};

#define S_STREAM_FRESH_MS 3000
#define S_STREAM_REFRESH_MS 1000
#define S_STREAM_WATCH_MS 60000

edge_ratelimit_t *
edge_ratelimit_new(edge_redis_t *redis, int shared_streams, const char *id)
{
    edge_ratelimit_t *rl = calloc(1, sizeof *rl);
    if (rl) {
        rl->redis = redis;
        rl->shared_streams = shared_streams;
        snprintf(rl->id, sizeof rl->id, "%s", id ? id : "edge");
    }
    return rl;
}

static void
s_free_all(edge_ratelimit_t *rl)
{
    s_window_t *w, *tmp;
    HASH_ITER(hh, rl->windows, w, tmp) {
        HASH_DEL(rl->windows, w);
        free(w);
    }
}

void
edge_ratelimit_destroy(edge_ratelimit_t **rlp)
{
    if (!rlp || !*rlp)
        return;
    s_free_all(*rlp);
    free(*rlp);
    *rlp = NULL;
}

static int s_take(edge_ratelimit_t *rl, const char *token_id, long limit, long *remaining,
                  int64_t *reset, int consume);

int
edge_ratelimit_take(edge_ratelimit_t *rl, const char *token_id, long limit, long *remaining,
                    int64_t *reset)
{
    return s_take(rl, token_id, limit, remaining, reset, 1);
}

void
edge_ratelimit_peek(edge_ratelimit_t *rl, const char *token_id, long limit, long *remaining,
                    int64_t *reset)
{
    s_take(rl, token_id, limit, remaining, reset, 0);
}

static int
s_take(edge_ratelimit_t *rl, const char *token_id, long limit, long *remaining, int64_t *reset,
       int consume)
{
    int64_t now = pgs_time_now_ms() / 1000;
    int64_t window = now / 60;
    *reset = (window + 1) * 60;
    if (limit <= 0) {
        *remaining = 0;
        return 1;
    }
    s_window_t *w = NULL;
    HASH_FIND_STR(rl->windows, token_id, w);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w) {
            *remaining = 0;
            return 0;
        }
        snprintf(w->token_id, sizeof w->token_id, "%s", token_id);
        HASH_ADD_STR(rl->windows, token_id, w);
    }
    if (w->window != window) {
        w->window = window;
        w->local = w->shared = w->unsent = 0;
        w->syncing = 0;
    }
    long used = w->shared + w->unsent;
    if (w->local > used)
        used = w->local;
    if (used >= limit) {
        *remaining = 0;
        return 0;
    }
    if (!consume) {
        *remaining = limit - used;
        return 1;
    }
    w->local++;
    w->unsent++;
    *remaining = limit - used - 1;
    return 1;
}

typedef struct {
    edge_ratelimit_t *rl;
    char token_id[PGS_ID_MAX];
    int64_t window;
    long sent;
} s_sync_t;

static void
s_on_incr(void *arg, redisReply *r)
{
    s_sync_t *s = arg;
    s_window_t *w = NULL;
    if (s->rl)
        HASH_FIND_STR(s->rl->windows, s->token_id, w);
    if (w && w->window == s->window) {
        w->syncing = 0;
        if (r && r->type == REDIS_REPLY_INTEGER)
            w->shared = (long)r->integer;
        else
            w->unsent += s->sent; /* try again next tick */
    }
    free(s);
}

static void
s_on_ignore(void *arg, redisReply *r)
{
    (void)arg;
    (void)r;
}

/* ---- streams across edges ---- */

typedef struct {
    edge_ratelimit_t *rl;
    char token_id[PGS_ID_MAX];
} s_streams_read_t;

static void
s_on_streams(void *arg, redisReply *r)
{
    s_streams_read_t *s = arg;
    s_window_t *w = NULL;
    HASH_FIND_STR(s->rl->windows, s->token_id, w);
    if (w && r && r->type == REDIS_REPLY_ARRAY) {
        long long now = pgs_time_now_ms();
        long others = 0;
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            const redisReply *k = r->element[i], *v = r->element[i + 1];
            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
                strcmp(k->str, s->rl->id) == 0)
                continue;
            long n = 0;
            long long at = 0;
            if (sscanf(v->str, "%ld:%lld", &n, &at) == 2 && n > 0 && now - at < S_STREAM_FRESH_MS)
                others += n;
        }
        w->others = others;
    }
    free(s);
}

static void
s_streams_sync(edge_ratelimit_t *rl, s_window_t *w, int64_t now)
{
    char key[64];
    snprintf(key, sizeof key, "pgs:st:%s", w->token_id);
    if (w->streams != w->streams_sent ||
        (w->streams > 0 && now - w->streams_pub >= S_STREAM_REFRESH_MS)) {
        if (w->streams > 0) {
            char val[48];
            snprintf(val, sizeof val, "%d:%lld", w->streams, (long long)pgs_time_now_ms());
            const char *argv[] = {"HSET", key, rl->id, val};
            size_t lens[] = {4, strlen(key), strlen(rl->id), strlen(val)};
            edge_redis_command(rl->redis, s_on_ignore, NULL, 4, argv, lens);
            const char *eargv[] = {"PEXPIRE", key, "10000"};
            size_t elens[] = {7, strlen(key), 5};
            edge_redis_command(rl->redis, s_on_ignore, NULL, 3, eargv, elens);
        } else {
            const char *argv[] = {"HDEL", key, rl->id};
            size_t lens[] = {4, strlen(key), strlen(rl->id)};
            edge_redis_command(rl->redis, s_on_ignore, NULL, 3, argv, lens);
        }
        w->streams_sent = w->streams;
        w->streams_pub = now;
    }
    s_streams_read_t *s = malloc(sizeof *s);
    if (!s)
        return;
    s->rl = rl;
    snprintf(s->token_id, sizeof s->token_id, "%s", w->token_id);
    const char *argv[] = {"HGETALL", key};
    size_t lens[] = {7, strlen(key)};
    if (edge_redis_command(rl->redis, s_on_streams, s, 2, argv, lens) < 0)
        free(s);
}

void
edge_ratelimit_tick(edge_ratelimit_t *rl)
{
    int64_t now_ms = pgs_time_mono_ms();
    if (now_ms - rl->last_sync < 100)
        return;
    rl->last_sync = now_ms;
    int64_t window = pgs_time_now_ms() / 60000;
    s_window_t *w, *tmp;
    HASH_ITER(hh, rl->windows, w, tmp) {
        int watched = rl->shared_streams && w->streams_seen &&
                      (w->streams > 0 || w->streams_sent > 0 ||
                       now_ms - w->streams_seen < S_STREAM_WATCH_MS);
        if (w->window < window - 1 && w->streams == 0 && !watched) {
            HASH_DEL(rl->windows, w);
            free(w);
            continue;
        }
        if (watched)
            s_streams_sync(rl, w, now_ms);
        if (!w->unsent || w->syncing)
            continue;
        char key[96], by[24];
        snprintf(key, sizeof key, "pgs:rl:%s:%lld", w->token_id, (long long)w->window);
        snprintf(by, sizeof by, "%ld", w->unsent);
        s_sync_t *s = malloc(sizeof *s);
        if (!s)
            return;
        s->rl = rl;
        snprintf(s->token_id, sizeof s->token_id, "%s", w->token_id);
        s->window = w->window;
        s->sent = w->unsent;
        const char *argv[] = {"INCRBY", key, by};
        size_t lens[] = {6, strlen(key), strlen(by)};
        if (edge_redis_command(rl->redis, s_on_incr, s, 3, argv, lens) < 0) {
            free(s);
            continue;
        }
        const char *eargv[] = {"EXPIRE", key, "120"};
        size_t elens[] = {6, strlen(key), 3};
        edge_redis_command(rl->redis, s_on_ignore, NULL, 3, eargv, elens);
        w->unsent = 0;
        w->syncing = 1;
    }
}

static s_window_t *
s_entry(edge_ratelimit_t *rl, const char *token_id)
{
    s_window_t *w = NULL;
    HASH_FIND_STR(rl->windows, token_id, w);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w)
            return NULL;
        snprintf(w->token_id, sizeof w->token_id, "%s", token_id);
        w->window = pgs_time_now_ms() / 60000;
        HASH_ADD_STR(rl->windows, token_id, w);
    }
    return w;
}

int
edge_ratelimit_stream_acquire(edge_ratelimit_t *rl, const char *token_id, int max)
{
    s_window_t *w = s_entry(rl, token_id);
    if (!w)
        return 0;
    w->streams_seen = pgs_time_mono_ms();
    if (w->streams + w->others >= max)
        return 0;
    w->streams++;
    return 1;
}

void
edge_ratelimit_stream_release(edge_ratelimit_t *rl, const char *token_id)
{
    s_window_t *w = NULL;
    HASH_FIND_STR(rl->windows, token_id, w);
    if (w && w->streams > 0)
        w->streams--;
}
