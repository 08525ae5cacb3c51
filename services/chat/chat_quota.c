/*
 * chat_quota — see chat_quota.h.
 */
#include "chat_quota.h"
#include "chat_req.h"
#include "chat_store.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CHECK_MS 1000
#define S_KEEP_AFTER_MONTH_S (7 * 86400)

typedef struct {
    chat_t *c;
    const char *month;
    long long expire_at;
    int queued;
    int failed;
} s_walk_t;

static void
s_each(const char *ws, long long count, void *arg)
{
    s_walk_t *k = arg;
    if (pgs_redis_append(k->c->redis, "SET pgs:quota:%s:%s %lld EXAT %lld", ws, k->month, count,
                         k->expire_at) < 0)
        k->failed = 1;
    else
        k->queued++;
}

int
chat_quota_rebuild(chat_t *c)
{
    redisReply *r = pgs_redis_command(c->redis, "EXISTS pgs:quota_rebuilt");
    if (!r)
        return -1;
    int present = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    int error = r->type == REDIS_REPLY_ERROR;
    freeReplyObject(r);
    if (error)
        return -1;
    if (present)
        return 0;
    r = pgs_redis_command(c->redis, "SET pgs:quota_rebuild_lock %s NX PX 30000", c->instance);
    if (!r)
        return -1;
    int locked = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (!locked)
        return 0;

    int64_t t0 = pgs_time_mono_ms();
    int64_t now = pgs_time_now_ms() / 1000;
    char month[8];
    chat_req_month(now, month);
    s_walk_t k = {.c = c,
                  .month = month,
                  .expire_at = (long long)pgs_time_next_month_start(now) + S_KEEP_AFTER_MONTH_S};
    int rc = chat_store_sends_each(c->db, month, s_each, &k);
    /* A queued pipeline is always collected, so the connection stays in step. */
    int prc = k.queued ? pgs_redis_pipeline_run(c->redis) : 0;
    if (rc < 0 || k.failed || prc < 0) {
        pgs_warn("quota rebuild failed (database %d, redis %d); retrying", rc, prc);
        r = pgs_redis_command(c->redis, "EVAL %s 1 pgs:quota_rebuild_lock %s",
                              "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                              "return redis.call('DEL', KEYS[1]) end return 0",
                              c->instance);
        if (r)
            freeReplyObject(r);
        return -1;
    }
    r = pgs_redis_command(c->redis, "SET pgs:quota_rebuilt 1");
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    r = pgs_redis_command(c->redis, "EVAL %s 1 pgs:quota_rebuild_lock %s",
                          "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                          "return redis.call('DEL', KEYS[1]) end return 0",
                          c->instance);
    if (r)
        freeReplyObject(r);
    if (!ok)
        return -1;
    pgs_info("quota counters rebuilt month=%s workspaces=%d ms=%lld", month, k.queued,
             (long long)(pgs_time_mono_ms() - t0));
    return 1;
}

#define S_RECONCILE_BATCH 500
#define S_HELD_ALL "pgs:quota_held" /* edge_quota.h's EDGE_QUOTA_HELD_ALL */

/* KEYS: the counter, the workspace's held set, the set of all; ARGV: what
 * chat.db stored, the stale cutoff (ms), the member prefix "<ws>:<month>:",
 * then the stale reservation ids. Forgets those still held and gives back
 * at most that many: what the counter holds beyond the stored and the
 * recent held. */
static const char s_reconcile_script[] =
    "local stale = 0\n"
    "for i = 4, #ARGV do\n"
    "  stale = stale + redis.call('ZREM', KEYS[2], ARGV[i])\n"
    "  redis.call('ZREM', KEYS[3], ARGV[3] .. ARGV[i])\n"
    "end\n"
    "local c = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local recent = redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[2], '+inf')\n"
    "local k = c - tonumber(ARGV[1]) - recent\n"
    "if k > stale then k = stale end\n"
    "if k > 0 then redis.call('DECRBY', KEYS[1], k) else k = 0 end\n"
    "return k\n";

/* One workspace and month: ids[0..n) are its stale reservations. */
static int
s_reconcile_one(chat_t *c, const char *ws, const char *month, const char *cutoff,
                const char *const *ids, size_t n)
{
    long long stored = chat_store_sends_count(c->db, ws, month);
    if (stored < 0)
        return -1;
    char counter[160], held[160], prefix[160], nstored[24];
    snprintf(counter, sizeof counter, "pgs:quota:%s:%s", ws, month);
    snprintf(held, sizeof held, "pgs:quota_held:%s:%s", ws, month);
    snprintf(prefix, sizeof prefix, "%s:%s:", ws, month);
    snprintf(nstored, sizeof nstored, "%lld", stored);
    const char **argv = calloc(n + 9, sizeof *argv);
    if (!argv)
        return -1;
    int k = 0;
    argv[k++] = "EVAL";
    argv[k++] = s_reconcile_script;
    argv[k++] = "3";
    argv[k++] = counter;
    argv[k++] = held;
    argv[k++] = S_HELD_ALL;
    argv[k++] = nstored;
    argv[k++] = cutoff;
    argv[k++] = prefix;
    for (size_t i = 0; i < n; i++)
        argv[k++] = ids[i];
    redisReply *r = pgs_redis_argv(c->redis, k, argv, NULL);
    free(argv);
    int given = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
    if (r && r->type == REDIS_REPLY_ERROR)
        pgs_warn("quota reconcile: %s", r->str);
    freeReplyObject(r);
    if (given > 0)
        pgs_info("quota reconciled ws=%s month=%s: %d reservation%s left by an edge given back "
                 "(stored %lld)",
                 ws, month, given, given == 1 ? "" : "s", stored);
    return given;
}

int
chat_quota_reconcile(chat_t *c)
{
    redisReply *r =
        pgs_redis_command(c->redis, "SET pgs:quota_reconcile_lock %s NX PX %lld", c->instance,
                          c->reconcile_ms > 2000 ? c->reconcile_ms - 1000 : 1000);
    int locked = r && r->type == REDIS_REPLY_STATUS, answered = r != NULL;
    freeReplyObject(r);
    if (!locked)
        return answered ? 0 : -1;
    char cutoff[24];
    snprintf(cutoff, sizeof cutoff, "%lld", (long long)(pgs_time_now_ms() - c->stale_ms));
    r = pgs_redis_command(c->redis, "ZRANGEBYSCORE " S_HELD_ALL " -inf %s LIMIT 0 %d", cutoff,
                          S_RECONCILE_BATCH);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return -1;
    }
    /* Members are "<ws>:<month>:<id>", grouped here by "<ws>:<month>"
     * (the order of the set is by time, so a group's members may be
     * apart: each is gathered in one pass over the rest). */
    size_t n = r->elements;
    char *done = calloc(n ? n : 1, 1);
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    int total = 0, failed = !done || !ids;
    for (size_t i = 0; i < n && !failed; i++) {
        const redisReply *m = r->element[i];
        if (done[i] || m->type != REDIS_REPLY_STRING)
            continue;
        char ws[PGS_ID_MAX], month[8];
        const char *a = strchr(m->str, ':');
        const char *b = a ? strchr(a + 1, ':') : NULL;
        if (!a || !b || (size_t)(a - m->str) >= sizeof ws || b - a - 1 != 6) {
            /* not a reservation: forgotten */
            freeReplyObject(pgs_redis_command(c->redis, "ZREM " S_HELD_ALL " %s", m->str));
            continue;
        }
        size_t group = (size_t)(b - m->str) + 1; /* "<ws>:<month>:" */
        snprintf(ws, sizeof ws, "%.*s", (int)(a - m->str), m->str);
        snprintf(month, sizeof month, "%.6s", a + 1);
        size_t k = 0;
        for (size_t j = i; j < n; j++) {
            const redisReply *o = r->element[j];
            if (!done[j] && o->type == REDIS_REPLY_STRING && o->len > group &&
                memcmp(o->str, m->str, group) == 0) {
                done[j] = 1;
                ids[k++] = o->str + group;
            }
        }
        int given = s_reconcile_one(c, ws, month, cutoff, ids, k);
        if (given < 0)
            failed = 1;
        else
            total += given;
    }
    free(done);
    free(ids);
    freeReplyObject(r);
    return failed ? -1 : total;
}

void
chat_quota_tick(chat_t *c)
{
    int64_t now = pgs_time_mono_ms();
    if (c->last_quota_check && now - c->last_quota_check < S_CHECK_MS)
        return;
    c->last_quota_check = now;
    if (chat_quota_rebuild(c) == 0 && now - c->last_reconcile >= c->reconcile_ms) {
        c->last_reconcile = now;
        chat_quota_reconcile(c);
    }
}
