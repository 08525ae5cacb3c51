/*
 * pgs_redis — a worker's synchronous Redis connection (hiredis), with a
 * timeout on every command and reconnection after any error: a context that
 * returned an error is dropped, never reused. (The edge uses hiredis's async
 * API in its own loop instead.)
 */
#ifndef PGS_REDIS_H
#define PGS_REDIS_H

#include <hiredis/hiredis.h>

typedef struct pgs_redis pgs_redis_t;

/* A connection to the unix socket at path, or to host:port when path starts
 * with "tcp://". Connects lazily; never fails for an unreachable server.
 * Returns an owned handle or NULL (out of memory). */
pgs_redis_t *pgs_redis_new(const char *where, int timeout_ms);

/* Closes and frees; sets *r to NULL; no-op on NULL. */
void pgs_redis_destroy(pgs_redis_t **r);

/* Runs one command (printf-style, as redisCommand). Returns a reply owned
 * by the caller (freeReplyObject), or NULL when Redis is unreachable or the
 * connection failed (the connection is dropped and retried next call, at
 * most every 200 ms). An error reply (REDIS_REPLY_ERROR) is returned as is. */
redisReply *pgs_redis_command(pgs_redis_t *r, const char *fmt, ...);

/* The same with an argument vector. */
redisReply *pgs_redis_argv(pgs_redis_t *r, int argc, const char **argv, const size_t *lens);

/* Queues a command for a pipeline; then pgs_redis_pipeline_run collects n
 * replies and frees them. Returns 0 when every reply arrived and none was an
 * error, else -1 (the connection is dropped). */
int pgs_redis_append(pgs_redis_t *r, const char *fmt, ...);
int pgs_redis_pipeline_run(pgs_redis_t *r);

/* 1 when the last command got an answer, 0 after a failure. */
int pgs_redis_up(const pgs_redis_t *r);

/* ---- a subscriber: a handle of its own that only listens ---- */

/* Subscribes r to channel when it is not subscribed (connecting first, at
 * most every 200 ms). Returns 1 when it has just subscribed (whatever was
 * published before is not seen: a subscriber that keeps copies drops them
 * now), 0 when it already was, -1 when it is not. */
int pgs_redis_subscribe(pgs_redis_t *r, const char *channel);

/* The subscribed connection's file descriptor, or -1. */
int pgs_redis_fd(const pgs_redis_t *r);

/* Reads, without blocking, the messages that have arrived and calls
 * fn(arg, message) for each. 0, or -1 when the connection was lost (it is
 * dropped: pgs_redis_subscribe makes a new one). */
int pgs_redis_messages(pgs_redis_t *r, void (*fn)(void *arg, const char *message), void *arg);

#endif
