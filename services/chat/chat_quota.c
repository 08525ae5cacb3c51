/*
 * chat_quota — see chat_quota.h.
 */
#include "chat_quota.h"
#include "chat_req.h"
#include "chat_store.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <stdio.h>
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

void
chat_quota_tick(chat_t *c)
{
    int64_t now = pgs_time_mono_ms();
    if (c->last_quota_check && now - c->last_quota_check < S_CHECK_MS)
        return;
    c->last_quota_check = now;
    chat_quota_rebuild(c);
}
