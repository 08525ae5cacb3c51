/*
 * edge_redis — the edge's asynchronous Redis connections (hiredis async API
 * on the edge loop): one for commands and one subscribed to the
 * invalidation channel.
 *
 * hiredis has no timeout for async commands, so this module keeps its own:
 * when the oldest unanswered command is older than the timeout the
 * connection is dropped, which answers every pending command with NULL.
 * A dropped connection is reconnected with back-off (100 ms doubling to
 * 2 s), and the owner is told (on_reset) whenever either connection goes down
 * or comes back, so it can drop every cached token state.
 */
#ifndef EDGE_REDIS_H
#define EDGE_REDIS_H

#include "edge_loop.h"

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

typedef struct edge_redis edge_redis_t;

/* A reply callback: reply is NULL when the command failed, timed out or
 * the connection dropped; it is freed by hiredis after the call. */
typedef void (*edge_redis_cb)(void *arg, redisReply *reply);

typedef struct {
    void (*on_invalidate)(void *arg, const char *message); /* a pgs:inval message */
    void (*on_reset)(void *arg); /* a connection went down or came back */
    void *arg;
} edge_redis_hooks_t;

/* Connects (lazily, in the background) to address: a unix socket path or
 * tcp://host:port. Returns an owned handle or NULL. */
edge_redis_t *edge_redis_new(edge_loop_t *loop, const char *address, int timeout_ms,
                             const edge_redis_hooks_t *hooks);

/* Disconnects, answering pending commands with NULL; sets *r to NULL. */
void edge_redis_destroy(edge_redis_t **r);

/* Sends a command. cb runs exactly once, later (never from inside this
 * call). Returns 0, or -1 when not connected (cb is not called). */
int edge_redis_command(edge_redis_t *r, edge_redis_cb cb, void *arg, int argc, const char **argv,
                       const size_t *lens);

/* Reconnects and enforces timeouts; call at least every 100 ms. */
void edge_redis_tick(edge_redis_t *r);

/* Reads, without waiting, what the subscription has brought and applies
 * it (hooks.on_invalidate): one read(2), EAGAIN when nothing came. */
void edge_redis_read_invalidations(edge_redis_t *r);

/* Writes the commands queued since the last flush, in one write per
 * connection: the last thing of every loop turn, before the loop sleeps. */
void edge_redis_flush(edge_redis_t *r);

/* Inside a command's callback given a NULL reply: 1 when Redis refused it
 * with MISCONF (it cannot persist: a full disk). */
int edge_redis_space_error(const edge_redis_t *r);

/* When Redis last refused a command with MISCONF (monotonic ms; 0: never). */
int64_t edge_redis_space_error_ms(const edge_redis_t *r);

/* 1 when the command connection is up. */
int edge_redis_up(const edge_redis_t *r);

/* Number of commands sent and not yet answered (a stopping edge waits for
 * them: its last usage events). */
int edge_redis_pending(const edge_redis_t *r);

#endif
