/*
 * edge_quota — see edge_quota.h.
 */
#include "edge_quota.h"
#include "edge_response.h"
#include "pgs_id.h"
#include "pgs_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Reserves one message atomically; refuses while chat has not rebuilt the
 * counters (-1), or when the month's quota is used up (0). A reservation is
 * held — in the workspace's set (KEYS[2]) and the set of all (KEYS[3]), by
 * the time it was made — until it is spent (the message was sent) or given
 * back, so that chat can find the ones a crashed edge left behind and give
 * back those whose message was never stored (chat_quota.c). */
static const char s_quota_script[] =
    "if redis.call('EXISTS', 'pgs:quota_rebuilt') == 0 then return -1 end\n"
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end\n"
    "if n > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) return 0 end\n"
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
    "redis.call('ZADD', KEYS[3], ARGV[3], ARGV[5])\n"
    "return n\n";

/* Spent: no longer held. */
static const char s_spend_script[] = "redis.call('ZREM', KEYS[2], ARGV[1])\n"
                                     "redis.call('ZREM', KEYS[3], ARGV[2])\n"
                                     "return 1\n";

/* Given back, unless chat already gave it back (then it is no longer
 * held): the counter goes down once. */
static const char s_release_script[] =
    "if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then redis.call('DECR', KEYS[1]) end\n"
    "redis.call('ZREM', KEYS[3], ARGV[2])\n"
    "return 1\n";

/* The month of a reservation is fixed when it is made: one given back
 * after midnight at the month's end goes back to the month it came from. */
static void
s_quota_keys(edge_req_t *r)
{
    char month[8];
    time_t now = (time_t)(pgs_time_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(month, sizeof month, "%Y%m", &tm);
    snprintf(r->quota.counter, sizeof r->quota.counter, "pgs:quota:%s:%s", r->tok.workspace_id,
             month);
    snprintf(r->quota.held, sizeof r->quota.held, "pgs:quota_held:%s:%s", r->tok.workspace_id,
             month);
    pgs_id_new("rsv", r->quota.id);
    snprintf(r->quota.member, sizeof r->quota.member, "%s:%s:%s", r->tok.workspace_id, month,
             r->quota.id);
}

static void
s_ignore_reply(void *arg, redisReply *reply)
{
    (void)arg;
    (void)reply;
}

/* Runs a spend or release script on r's reservation. */
static void
s_settle(edge_req_t *r, const char *script, size_t script_len)
{
    const char *argv[] = {"EVAL",           script,         "3",
                          r->quota.counter, r->quota.held,  EDGE_QUOTA_HELD_ALL,
                          r->quota.id,      r->quota.member};
    size_t lens[8];
    lens[1] = script_len;
    for (int i = 0; i < 8; i++)
        if (i != 1)
            lens[i] = strlen(argv[i]);
    edge_redis_command(r->ctx->redis, s_ignore_reply, NULL, 8, argv, lens);
}

void
edge_quota_spend(edge_req_t *r)
{
    if (!r->quota_reserved)
        return;
    r->quota_reserved = 0;
    s_settle(r, s_spend_script, sizeof s_spend_script - 1);
}

void
edge_quota_release(edge_req_t *r)
{
    if (!r->quota_reserved)
        return;
    r->quota_reserved = 0;
    s_settle(r, s_release_script, sizeof s_release_script - 1);
}

static void
s_on_quota(void *arg, redisReply *reply)
{
    edge_req_t *r = arg;
    r->pending = 0;
    if (!reply && edge_redis_space_error(r->ctx->redis)) {
        edge_response_no_space(r);
    } else if (!reply || reply->type != REDIS_REPLY_INTEGER || reply->integer < 0) {
        edge_response_unavailable(r);
    } else if (reply->integer == 0) {
        int64_t now = pgs_time_now_ms() / 1000;
        char retry[24];
        snprintf(retry, sizeof retry, "%lld", (long long)(pgs_time_next_month_start(now) - now));
        edge_response_header(r, "Retry-After", retry);
        edge_response_error(r, 429, "quota_exceeded",
                            "This workspace has used its messages for this month.");
    } else {
        r->quota_reserved = 1;
    }
    r->ops->wake(r->http);
}

void
edge_quota_reserve(edge_req_t *r, const edge_plan_t *plan)
{
    s_quota_keys(r);
    char limit[24], ttl[24], now_ms[24];
    int64_t now = pgs_time_now_ms() / 1000;
    snprintf(limit, sizeof limit, "%ld", plan->messages_per_month);
    snprintf(ttl, sizeof ttl, "%lld",
             (long long)(pgs_time_next_month_start(now) - now + 40 * 86400));
    snprintf(now_ms, sizeof now_ms, "%lld", (long long)pgs_time_now_ms());
    const char *argv[] = {"EVAL",
                          s_quota_script,
                          "3",
                          r->quota.counter,
                          r->quota.held,
                          EDGE_QUOTA_HELD_ALL,
                          limit,
                          ttl,
                          now_ms,
                          r->quota.id,
                          r->quota.member};
    size_t lens[11];
    for (int i = 0; i < 11; i++)
        lens[i] = i == 1 ? sizeof s_quota_script - 1 : strlen(argv[i]);
    if (edge_redis_command(r->ctx->redis, s_on_quota, r, 11, argv, lens) < 0) {
        edge_response_unavailable(r);
        return;
    }
    r->pending = 1;
}
