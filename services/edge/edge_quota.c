/*
 * edge_quota — see edge_quota.h.
 */
#include "edge_quota.h"
#include "edge_response.h"
#include "pgs_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Reserves one message atomically; refuses while chat has not rebuilt the
 * counters (-1), or when the month's quota is used up (0). */
static const char s_quota_script[] =
    "if redis.call('EXISTS', 'pgs:quota_rebuilt') == 0 then return -1 end\n"
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end\n"
    "if n > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) return 0 end\n"
    "return n\n";

static void
s_quota_key(const edge_req_t *r, char *key, size_t len)
{
    char month[8];
    time_t now = (time_t)(pgs_time_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(month, sizeof month, "%Y%m", &tm);
    snprintf(key, len, "pgs:quota:%s:%s", r->tok.workspace_id, month);
}

static void
s_ignore_reply(void *arg, redisReply *reply)
{
    (void)arg;
    (void)reply;
}

void
edge_quota_release(edge_req_t *r)
{
    if (!r->quota_reserved)
        return;
    r->quota_reserved = 0;
    char key[128];
    s_quota_key(r, key, sizeof key);
    const char *argv[] = {"DECR", key};
    size_t lens[] = {4, strlen(key)};
    edge_redis_command(r->ctx->redis, s_ignore_reply, NULL, 2, argv, lens);
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
    char key[128], limit[24], ttl[24];
    s_quota_key(r, key, sizeof key);
    int64_t now = pgs_time_now_ms() / 1000;
    snprintf(limit, sizeof limit, "%ld", plan->messages_per_month);
    snprintf(ttl, sizeof ttl, "%lld",
             (long long)(pgs_time_next_month_start(now) - now + 40 * 86400));
    const char *argv[] = {"EVAL", s_quota_script, "1", key, limit, ttl};
    size_t lens[] = {4, sizeof s_quota_script - 1, 1, strlen(key), strlen(limit), strlen(ttl)};
    if (edge_redis_command(r->ctx->redis, s_on_quota, r, 6, argv, lens) < 0) {
        edge_response_unavailable(r);
        return;
    }
    r->pending = 1;
}
