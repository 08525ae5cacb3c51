/*
 * auth_view — see auth_view.h.
 */
#include "auth_view.h"
#include "pgs_log.h"
#include "pgs_redis.h"
#include "pgs_time.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define S_MAX_ENTRIES 10000
#define S_KEEP_MS 30000
#define S_KEEP_TOKEN_MS 1000

typedef struct s_entry {
    char key[2 * PGS_ID_MAX + 2]; /* an id, or "<ws> <user>" for a membership */
    int64_t loaded_ms;
    UT_hash_handle hh;
    unsigned char value[]; /* the row */
} s_entry_t;

typedef enum { S_USER, S_WS, S_MEM, S_SEATED, S_TOK, S_KINDS } s_kind_t;

static const size_t s_size[S_KINDS] = {
    [S_USER] = sizeof(auth_user_t), [S_WS] = sizeof(auth_ws_t),   [S_MEM] = sizeof(auth_mem_t),
    [S_SEATED] = sizeof(long long), [S_TOK] = sizeof(auth_tok_t),
};

struct auth_view {
    auth_t *a;
    pgs_redis_t *sub;
    int watched_fd;
    s_entry_t *maps[S_KINDS];
    unsigned counts[S_KINDS];
    unsigned long long hits, misses;
};

static void
s_clear(auth_view_t *v, s_kind_t k)
{
    s_entry_t *e, *tmp;
    HASH_ITER(hh, v->maps[k], e, tmp)
    {
        HASH_DEL(v->maps[k], e);
        free(e);
    }
    v->counts[k] = 0;
}

static void
s_clear_all(auth_view_t *v)
{
    for (int k = 0; k < S_KINDS; k++)
        s_clear(v, (s_kind_t)k);
}

static void
s_drop(auth_view_t *v, s_kind_t k, const char *key)
{
    s_entry_t *e = NULL;
    HASH_FIND_STR(v->maps[k], key, e);
    if (e) {
        HASH_DEL(v->maps[k], e);
        free(e);
        v->counts[k]--;
    }
}

/* Drops the memberships whose key has id as its workspace (side 0) or its
 * user (side 1). */
static void
s_drop_mems(auth_view_t *v, const char *id, int side)
{
    size_t n = strlen(id);
    s_entry_t *e, *tmp;
    HASH_ITER(hh, v->maps[S_MEM], e, tmp)
    {
        const char *sp = strchr(e->key, ' ');
        const char *part = side ? (sp ? sp + 1 : "") : e->key;
        size_t plen = side ? strlen(part) : (size_t)(sp ? sp - e->key : 0);
        if (plen == n && memcmp(part, id, n) == 0) {
            HASH_DEL(v->maps[S_MEM], e);
            free(e);
            v->counts[S_MEM]--;
        }
    }
}

void
auth_view_invalidate(auth_view_t *v, const char *inval)
{
    if (!v || !inval)
        return;
    const char *p = inval;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[2 * PGS_ID_MAX + 80];
        if (len && len < sizeof item) {
            memcpy(item, p, len);
            item[len] = '\0';
            if (strcmp(item, "all") == 0) {
                s_clear_all(v);
            } else if (strncmp(item, "tok:", 4) == 0) {
                s_clear(v, S_TOK); /* named by hash, kept by id: revocations are rare */
            } else if (strncmp(item, "ws:", 3) == 0) {
                s_drop(v, S_WS, item + 3);
                s_drop(v, S_SEATED, item + 3);
                s_drop_mems(v, item + 3, 0);
                s_clear(v, S_TOK); /* a token row carries its workspace's name */
            } else if (strncmp(item, "user:", 5) == 0) {
                s_drop(v, S_USER, item + 5);
                s_drop_mems(v, item + 5, 1);
                s_clear(v, S_TOK);
            } else {
                s_clear_all(v); /* a kind this release does not know */
            }
        }
        p += len;
    }
}

static void
s_on_message(void *arg, const char *message)
{
    auth_view_invalidate(arg, message);
}

static void
s_unwatch(auth_view_t *v)
{
    if (v->watched_fd >= 0)
        pgs_worker_watch(v->a->w, v->watched_fd, 0, NULL, NULL);
    v->watched_fd = -1;
}

/* Applies what the subscription brought. 1 when the view may be used. */
static int
s_sync(auth_view_t *v)
{
    if (!v || v->watched_fd < 0)
        return 0;
    if (pgs_redis_messages(v->sub, s_on_message, v) < 0) {
        s_unwatch(v);
        s_clear_all(v);
        return 0;
    }
    return 1;
}

static void
s_on_readable(void *arg, int fd, int revents)
{
    (void)fd;
    (void)revents;
    s_sync(arg);
}

void
auth_view_tick(auth_view_t *v)
{
    if (!v || v->watched_fd >= 0)
        return;
    if (pgs_redis_subscribe(v->sub, "pgs:inval") < 0)
        return;
    s_clear_all(v); /* what was published while unsubscribed is unknown */
    int fd = pgs_redis_fd(v->sub);
    if (fd >= 0 && pgs_worker_watch(v->a->w, fd, PGS_FD_IN, s_on_readable, v) == 0)
        v->watched_fd = fd;
}

auth_view_t *
auth_view_new(auth_t *a)
{
    auth_view_t *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->a = a;
    v->watched_fd = -1;
    v->sub = pgs_worker_redis(a->w);
    if (!v->sub) {
        free(v);
        return NULL;
    }
    auth_view_tick(v);
    return v;
}

void
auth_view_destroy(auth_view_t **vp)
{
    if (!vp || !*vp)
        return;
    auth_view_t *v = *vp;
    s_unwatch(v);
    s_clear_all(v);
    pgs_redis_destroy(&v->sub);
    free(v);
    *vp = NULL;
}

void
auth_view_counts(const auth_view_t *v, unsigned long long *hits, unsigned long long *misses)
{
    *hits = v ? v->hits : 0;
    *misses = v ? v->misses : 0;
}

/* The row of key, copied into out: 1, or 0 when the view does not hold it
 * (or may not be used). */
static int
s_get(auth_view_t *v, s_kind_t k, const char *key, void *out)
{
    if (!s_sync(v))
        return 0;
    s_entry_t *e = NULL;
    HASH_FIND_STR(v->maps[k], key, e);
    int64_t keep = k == S_TOK ? S_KEEP_TOKEN_MS : S_KEEP_MS;
    if (e && pgs_time_mono_ms() - e->loaded_ms > keep) {
        HASH_DEL(v->maps[k], e);
        free(e);
        v->counts[k]--;
        e = NULL;
    }
    if (!e) {
        v->misses++;
        return 0;
    }
    v->hits++;
    memcpy(out, e->value, s_size[k]);
    return 1;
}

/* Keeps a row read from SQLite (while the view may be used). */
static void
s_put(auth_view_t *v, s_kind_t k, const char *key, const void *row)
{
    if (!v || v->watched_fd < 0 || strlen(key) >= sizeof((s_entry_t *)0)->key)
        return;
    if (v->counts[k] >= S_MAX_ENTRIES)
        s_clear(v, k);
    s_drop(v, k, key);
    s_entry_t *e = calloc(1, sizeof *e + s_size[k]);
    if (!e)
        return;
    snprintf(e->key, sizeof e->key, "%s", key);
    e->loaded_ms = pgs_time_mono_ms();
    memcpy(e->value, row, s_size[k]);
    HASH_ADD_STR(v->maps[k], key, e);
    v->counts[k]++;
}

int
auth_view_user(auth_t *a, const char *id, auth_user_t *out)
{
    if (s_get(a->view, S_USER, id, out))
        return 1;
    int rc = auth_store_user_by_id(a->db, id, out);
    if (rc == 1) {
        sodium_memzero(out->password_hash, sizeof out->password_hash);
        s_put(a->view, S_USER, id, out);
    }
    return rc;
}

int
auth_view_ws(auth_t *a, const char *id, auth_ws_t *out)
{
    if (s_get(a->view, S_WS, id, out))
        return 1;
    int rc = auth_store_ws_get(a->db, id, out);
    if (rc == 1)
        s_put(a->view, S_WS, id, out);
    return rc;
}

int
auth_view_mem(auth_t *a, const char *ws, const char *user, auth_mem_t *out)
{
    char key[2 * PGS_ID_MAX + 2];
    snprintf(key, sizeof key, "%.*s %.*s", PGS_ID_MAX - 1, ws, PGS_ID_MAX - 1, user);
    if (s_get(a->view, S_MEM, key, out))
        return 1;
    int rc = auth_store_mem_get(a->db, ws, user, out);
    if (rc == 1)
        s_put(a->view, S_MEM, key, out);
    return rc;
}

long long
auth_view_seated(auth_t *a, const char *ws)
{
    long long n;
    if (s_get(a->view, S_SEATED, ws, &n))
        return n;
    n = auth_store_mem_seated(a->db, ws);
    if (n >= 0)
        s_put(a->view, S_SEATED, ws, &n);
    return n;
}

int
auth_view_tok(auth_t *a, const char *id, auth_tok_t *out)
{
    if (s_get(a->view, S_TOK, id, out))
        return 1;
    int rc = auth_store_tok_by_id(a->db, id, out);
    if (rc == 1)
        s_put(a->view, S_TOK, id, out);
    return rc;
}
