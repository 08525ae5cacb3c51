/*
 * pgs_redis — see pgs_redis.h.
 */
#include "pgs_redis.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct pgs_redis {
    char *where;
    int timeout_ms;
    redisContext *ctx;
    int64_t last_attempt;
    int up;
    int pending; /* commands appended, replies not yet read */
    int warned;
    int subscribed;
};

pgs_redis_t *
pgs_redis_new(const char *where, int timeout_ms)
{
    pgs_redis_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->where = strdup(where);
    if (!r->where) {
        free(r);
        return NULL;
    }
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    r->last_attempt = -1000000;
    return r;
}

static void
s_drop(pgs_redis_t *r)
{
    if (r->ctx)
        redisFree(r->ctx);
    r->ctx = NULL;
    r->pending = 0;
    r->up = 0;
    r->subscribed = 0;
}

void
pgs_redis_destroy(pgs_redis_t **rp)
{
    if (!rp || !*rp)
        return;
    s_drop(*rp);
    free((*rp)->where);
    free(*rp);
    *rp = NULL;
}

static int
s_connect(pgs_redis_t *r)
{
    if (r->ctx)
        return 0;
    int64_t now = pgs_time_mono_ms();
    if (now - r->last_attempt < 200)
        return -1;
    r->last_attempt = now;
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    if (strncmp(r->where, "tcp://", 6) == 0) {
        char host[256];
        const char *hp = r->where + 6;
        const char *colon = strrchr(hp, ':');
        int port = colon ? atoi(colon + 1) : 6379;
        size_t hl = colon ? (size_t)(colon - hp) : strlen(hp);
        if (hl >= sizeof host)
            hl = sizeof host - 1;
        memcpy(host, hp, hl);
        host[hl] = '\0';
        r->ctx = redisConnectWithTimeout(host, port, tv);
    } else {
        r->ctx = redisConnectUnixWithTimeout(r->where, tv);
    }
    if (!r->ctx || r->ctx->err) {
        if (!r->warned)
            pgs_warn("redis unreachable at %s: %s", r->where,
                     r->ctx ? r->ctx->errstr : "out of memory");
        r->warned = 1;
        s_drop(r);
        return -1;
    }
    redisSetTimeout(r->ctx, tv);
    if (r->warned)
        pgs_info("redis connected at %s", r->where);
    r->warned = 0;
    return 0;
}

static redisReply *
s_finish(pgs_redis_t *r, void *reply)
{
    if (!reply) {
        pgs_warn("redis command failed: %s", r->ctx ? r->ctx->errstr : "no connection");
        s_drop(r);
        return NULL;
    }
    r->up = 1;
    return reply;
}

redisReply *
pgs_redis_command(pgs_redis_t *r, const char *fmt, ...)
{
    if (s_connect(r) < 0)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    void *reply = redisvCommand(r->ctx, fmt, ap);
    va_end(ap);
    return s_finish(r, reply);
}

redisReply *
pgs_redis_argv(pgs_redis_t *r, int argc, const char **argv, const size_t *lens)
{
    if (s_connect(r) < 0)
        return NULL;
    return s_finish(r, redisCommandArgv(r->ctx, argc, argv, lens));
}

int
pgs_redis_append(pgs_redis_t *r, const char *fmt, ...)
{
    if (s_connect(r) < 0)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAppendCommand(r->ctx, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        s_drop(r);
        return -1;
    }
    r->pending++;
    return 0;
}

int
pgs_redis_pipeline_run(pgs_redis_t *r)
{
    int ok = r->ctx != NULL;
    int n = r->pending;
    r->pending = 0;
    for (int i = 0; ok && i < n; i++) {
        void *reply = NULL;
        if (redisGetReply(r->ctx, &reply) != REDIS_OK || !reply) {
            ok = 0;
            break;
        }
        if (((redisReply *)reply)->type == REDIS_REPLY_ERROR) {
            pgs_warn("redis error in pipeline: %s", ((redisReply *)reply)->str);
            ok = 0;
        }
        freeReplyObject(reply);
    }
    if (!ok) {
        s_drop(r);
        return -1;
    }
    r->up = 1;
    return 0;
}

int
pgs_redis_up(const pgs_redis_t *r)
{
    return r->up;
}

/* ---- subscriber ---- */

int
pgs_redis_subscribe(pgs_redis_t *r, const char *channel)
{
    if (r->subscribed)
        return 0;
    if (s_connect(r) < 0)
        return -1;
    redisReply *reply = redisCommand(r->ctx, "SUBSCRIBE %s", channel);
    int ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3;
    if (reply)
        freeReplyObject(reply);
    if (!ok) {
        pgs_warn("redis SUBSCRIBE %s failed: %s", channel, r->ctx->err ? r->ctx->errstr : "?");
        s_drop(r);
        return -1;
    }
    r->subscribed = r->up = 1;
    return 1;
}

int
pgs_redis_fd(const pgs_redis_t *r)
{
    return r->subscribed && r->ctx ? r->ctx->fd : -1;
}

int
pgs_redis_messages(pgs_redis_t *r, void (*fn)(void *arg, const char *message), void *arg)
{
    if (!r->subscribed)
        return -1;
    for (;;) {
        void *reply = NULL;
        if (redisGetReplyFromReader(r->ctx, &reply) != REDIS_OK) {
            s_drop(r);
            return -1;
        }
        if (!reply) {
            /* Nothing whole is buffered: read only what has arrived. */
            struct pollfd p = {.fd = r->ctx->fd, .events = POLLIN};
            if (poll(&p, 1, 0) <= 0)
                return 0;
            if (redisBufferRead(r->ctx) != REDIS_OK) {
                pgs_warn("redis subscription lost: %s", r->ctx->errstr);
                s_drop(r);
                return -1;
            }
            continue;
        }
        redisReply *m = reply;
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
            m->element[0]->type == REDIS_REPLY_STRING && strcmp(m->element[0]->str, "message") == 0 &&
            m->element[2]->type == REDIS_REPLY_STRING)
            fn(arg, m->element[2]->str);
        freeReplyObject(m);
    }
}
