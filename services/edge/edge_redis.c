/*
 * edge_redis — see edge_redis.h.
 */
#include "edge_redis.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#define S_RING 8192 /* unanswered commands tracked for timeouts */

typedef struct edge_redis edge_redis_t;

typedef struct {
    edge_redis_t *owner;
    redisAsyncContext *ac;
    int fd;
    int reading, writing;
    int flush;    /* commands wait in hiredis's buffer for edge_redis_flush */
    int flushing; /* inside it: a write that did not finish waits for EPOLLOUT */
    int connected;
    int subscriber;
    int64_t next_attempt;
    int backoff_ms;
    /* send times of unanswered commands, oldest first */
    int64_t sent[S_RING];
    unsigned head, count;
} s_conn_t;

struct edge_redis {
    edge_loop_t *loop;
    char *address;
    int timeout_ms;
    edge_redis_hooks_t hooks;
    s_conn_t cmd, sub;
    int space_error;        /* the reply being handed over was MISCONF */
    int64_t space_error_ms; /* monotonic, the last MISCONF reply (0: none) */
};

typedef struct {
    edge_redis_cb cb;
    void *arg;
    s_conn_t *conn;
} s_pending_t;

/* ---- hiredis event adapter ---- */

static void
s_on_io(void *arg, uint32_t events)
{
    s_conn_t *c = arg;
    redisAsyncContext *ac = c->ac;
    if (!ac)
        return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        redisAsyncHandleRead(ac);
    /* The read handler may have freed the context (disconnect). */
    if (c->ac == ac && (events & EPOLLOUT))
        redisAsyncHandleWrite(ac);
}

static void
s_update(s_conn_t *c)
{
    uint32_t ev = (c->reading ? EPOLLIN : 0) | (c->writing ? EPOLLOUT : 0);
    if (ev)
        edge_loop_watch(c->owner->loop, c->fd, ev, s_on_io, c);
    else
        edge_loop_unwatch(c->owner->loop, c->fd);
}

static void
s_add_read(void *p)
{
    s_conn_t *c = p;
    c->reading = 1;
    s_update(c);
}

static void
s_del_read(void *p)
{
    s_conn_t *c = p;
    c->reading = 0;
    s_update(c);
}

/* hiredis asks for write interest whenever a command is queued. On a
 * connection that is up the write is put off to edge_redis_flush at the end
 * of the loop's turn instead: every command of the turn goes out in one
 * write, and the socket's epoll interest never changes (a connection's
 * writes do not fill a unix socket's buffer in practice; when one does,
 * EPOLLOUT takes over). While connecting, writable means connected. */
static void
s_add_write(void *p)
{
    s_conn_t *c = p;
    if (c->connected && !c->flushing) {
        c->flush = 1;
        return;
    }
    c->writing = 1;
    s_update(c);
}

static void
s_del_write(void *p)
{
    s_conn_t *c = p;
    c->flush = 0;
    c->writing = 0;
    s_update(c);
}

static void
s_flush(s_conn_t *c)
{
    if (!c->flush || !c->ac)
        return;
    c->flush = 0;
    c->flushing = 1;
    redisAsyncHandleWrite(c->ac); /* may free the context (an error) */
    c->flushing = 0;
}

static void
s_cleanup(void *p)
{
    s_conn_t *c = p;
    c->reading = c->writing = 0;
    edge_loop_unwatch(c->owner->loop, c->fd);
}

/* ---- connection life ---- */

static void s_on_message(redisAsyncContext *ac, void *reply, void *privdata);

static void
s_lost(s_conn_t *c, const char *why)
{
    int was = c->connected;
    c->ac = NULL;
    c->connected = 0;
    c->count = 0;
    c->next_attempt = pgs_time_mono_ms() + c->backoff_ms;
    c->backoff_ms = c->backoff_ms < 1000 ? c->backoff_ms * 2 : 2000;
    if (was)
        pgs_warn("redis %s connection lost: %s", c->subscriber ? "subscriber" : "command", why);
    if (c->owner->hooks.on_reset)
        c->owner->hooks.on_reset(c->owner->hooks.arg);
}

static void
s_on_connect(const redisAsyncContext *ac, int status)
{
    s_conn_t *c = ac->ev.data;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        s_lost(c, ac->errstr);
        return;
    }
    c->connected = 1;
    c->backoff_ms = 100;
    pgs_info("redis %s connection up", c->subscriber ? "subscriber" : "command");
    if (c->subscriber)
        redisAsyncCommand(c->ac, s_on_message, c, "SUBSCRIBE pgs:inval");
    if (c->owner->hooks.on_reset)
        c->owner->hooks.on_reset(c->owner->hooks.arg);
}

static void
s_on_disconnect(const redisAsyncContext *ac, int status)
{
    s_conn_t *c = ac->ev.data;
    s_lost(c, status == REDIS_OK ? "closed" : ac->errstr);
}

static void
s_connect(s_conn_t *c)
{
    edge_redis_t *r = c->owner;
    redisAsyncContext *ac;
    if (strncmp(r->address, "tcp://", 6) == 0) {
        char host[256];
        const char *hp = r->address + 6;
        const char *colon = strrchr(hp, ':');
        size_t hl = colon ? (size_t)(colon - hp) : strlen(hp);
        if (hl >= sizeof host)
            hl = sizeof host - 1;
        memcpy(host, hp, hl);
        host[hl] = '\0';
        ac = redisAsyncConnect(host, colon ? atoi(colon + 1) : 6379);
    } else {
        ac = redisAsyncConnectUnix(r->address);
    }
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        c->next_attempt = pgs_time_mono_ms() + c->backoff_ms;
        c->backoff_ms = c->backoff_ms < 1000 ? c->backoff_ms * 2 : 2000;
        return;
    }
    c->ac = ac;
    c->fd = ac->c.fd;
    c->count = 0;
    ac->ev.data = c;
    ac->ev.addRead = s_add_read;
    ac->ev.delRead = s_del_read;
    ac->ev.addWrite = s_add_write;
    ac->ev.delWrite = s_del_write;
    ac->ev.cleanup = s_cleanup;
    redisAsyncSetConnectCallback(ac, s_on_connect);
    redisAsyncSetDisconnectCallback(ac, s_on_disconnect);
    /* Writable means connected: watch it until the connect callback. */
    s_add_write(c);
}

/* ---- commands ---- */

static void
s_on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    s_pending_t *p = privdata;
    s_conn_t *c = p->conn;
    if (c->count) {
        c->head = (c->head + 1) % S_RING;
        c->count--;
    }
    redisReply *rr = reply;
    c->owner->space_error = 0;
    if (rr && rr->type == REDIS_REPLY_ERROR) {
        /* One line every 10 s at most: a Redis that refuses writes refuses
         * every request's. */
        static int64_t last_warn;
        static unsigned long quiet;
        int64_t now = pgs_time_mono_ms();
        if (now - last_warn >= 10000) {
            if (quiet)
                pgs_warn("redis error: %s (and %lu more errors since the last)", rr->str, quiet);
            else
                pgs_warn("redis error: %s", rr->str);
            last_warn = now;
            quiet = 0;
        } else {
            quiet++;
        }
        /* MISCONF: Redis cannot write its append-only file (or snapshot)
         * and refuses writes — in practice a full disk. */
        if (strncmp(rr->str, "MISCONF", 7) == 0) {
            c->owner->space_error = 1;
            c->owner->space_error_ms = pgs_time_mono_ms();
        }
        rr = NULL;
    }
    p->cb(p->arg, rr);
    c->owner->space_error = 0;
    free(p);
}

static void
s_on_message(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    s_conn_t *c = privdata;
    redisReply *rr = reply;
    if (!rr || rr->type != REDIS_REPLY_ARRAY || rr->elements != 3)
        return;
    redisReply *kind = rr->element[0], *payload = rr->element[2];
    if (kind->type == REDIS_REPLY_STRING && strcmp(kind->str, "message") == 0 &&
        payload->type == REDIS_REPLY_STRING && c->owner->hooks.on_invalidate)
        c->owner->hooks.on_invalidate(c->owner->hooks.arg, payload->str);
}

int
edge_redis_command(edge_redis_t *r, edge_redis_cb cb, void *arg, int argc, const char **argv,
                   const size_t *lens)
{
    s_conn_t *c = &r->cmd;
    if (!c->ac || !c->connected || c->count == S_RING)
        return -1;
    s_pending_t *p = malloc(sizeof *p);
    if (!p)
        return -1;
    *p = (s_pending_t){cb, arg, c};
    if (redisAsyncCommandArgv(c->ac, s_on_reply, p, argc, argv, lens) != REDIS_OK) {
        free(p);
        return -1;
    }
    c->sent[(c->head + c->count) % S_RING] = pgs_time_mono_ms();
    c->count++;
    return 0;
}

static void
s_conn_tick(s_conn_t *c, int64_t now)
{
    if (!c->ac) {
        if (now >= c->next_attempt)
            s_connect(c);
        return;
    }
    if (c->count && now - c->sent[c->head] > c->owner->timeout_ms) {
        pgs_warn("redis command timed out after %d ms; reconnecting", c->owner->timeout_ms);
        redisAsyncContext *ac = c->ac;
        /* Answers every pending command with NULL, then calls
         * s_on_disconnect, which resets the connection state. */
        redisAsyncFree(ac);
        if (c->ac == ac)
            s_lost(c, "timeout");
    }
}

void
edge_redis_read_invalidations(edge_redis_t *r)
{
    if (r->sub.ac && r->sub.connected)
        redisAsyncHandleRead(r->sub.ac); /* may drop the context (a lost connection) */
}

void
edge_redis_flush(edge_redis_t *r)
{
    s_flush(&r->cmd);
    s_flush(&r->sub);
}

void
edge_redis_tick(edge_redis_t *r)
{
    int64_t now = pgs_time_mono_ms();
    s_conn_tick(&r->cmd, now);
    s_conn_tick(&r->sub, now);
}

int
edge_redis_space_error(const edge_redis_t *r)
{
    return r->space_error;
}

int64_t
edge_redis_space_error_ms(const edge_redis_t *r)
{
    return r->space_error_ms;
}

int
edge_redis_up(const edge_redis_t *r)
{
    return r->cmd.connected;
}

int
edge_redis_pending(const edge_redis_t *r)
{
    return r->cmd.ac ? (int)r->cmd.count : 0;
}

edge_redis_t *
edge_redis_new(edge_loop_t *loop, const char *address, int timeout_ms,
               const edge_redis_hooks_t *hooks)
{
    edge_redis_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->address = strdup(address);
    if (!r->address) {
        free(r);
        return NULL;
    }
    r->loop = loop;
    r->timeout_ms = timeout_ms;
    r->hooks = *hooks;
    r->cmd.owner = r->sub.owner = r;
    r->sub.subscriber = 1;
    r->cmd.backoff_ms = r->sub.backoff_ms = 100;
    r->cmd.fd = r->sub.fd = -1;
    s_connect(&r->cmd);
    s_connect(&r->sub);
    return r;
}

void
edge_redis_destroy(edge_redis_t **rp)
{
    if (!rp || !*rp)
        return;
    edge_redis_t *r = *rp;
    r->hooks.on_reset = NULL;
    if (r->cmd.ac)
        redisAsyncFree(r->cmd.ac);
    if (r->sub.ac)
        redisAsyncFree(r->sub.ac);
    free(r->address);
    free(r);
    *rp = NULL;
}
