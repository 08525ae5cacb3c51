/*
 * edge_ratelimit — per-token fixed one-minute windows (SPEC §2 check 10).
 *
 * The decision is local, so it costs no Redis round trip: each edge counts
 * its own requests and, about every 100 ms, adds them to the shared counter
 * pgs:rl:<token id>:<window> in Redis (INCRBY), learning from the reply what
 * every other edge counted. With one edge the limit is exact; with several,
 * a token can exceed it by what the other edges admitted in the last 100 ms.
 *
 * Event streams are counted the same way when the host has several edges:
 * each edge keeps its open streams per token in the hash pgs:st:<token id>
 * (field: the edge's id, value "<open>:<unix ms>", refreshed every second
 * while any is open, removed at 0) and reads the others' every 100 ms while
 * the token has streamed in the last minute; a field older than 3 s (an
 * edge that died) is not counted. Slack: what other edges opened in the
 * last 100 ms.
 */
#ifndef EDGE_RATELIMIT_H
#define EDGE_RATELIMIT_H

#include "edge_redis.h"

#include <stdint.h>

typedef struct edge_ratelimit edge_ratelimit_t;

/* shared_streams: count streams across edges (several edges on the host);
 * id names this edge among them. */
edge_ratelimit_t *edge_ratelimit_new(edge_redis_t *redis, int shared_streams, const char *id);
void edge_ratelimit_destroy(edge_ratelimit_t **rl);

/* Counts one request of token_id against limit per minute (0 = no limit).
 * Returns 1 when allowed, 0 when the window is used up. Fills the values of
 * the X-RateLimit-* headers: remaining after this request, and the window's
 * end (Unix s). */
int edge_ratelimit_take(edge_ratelimit_t *rl, const char *token_id, long limit,
                        long *remaining, int64_t *reset);

/* The same values without counting a request (for responses refused
 * before check 10). */
void edge_ratelimit_peek(edge_ratelimit_t *rl, const char *token_id, long limit, long *remaining,
                         int64_t *reset);

/* Concurrent event streams per token (this edge's, and the others' as
 * last read): takes a slot when fewer than max are open (returns 1), else
 * 0. */
int edge_ratelimit_stream_acquire(edge_ratelimit_t *rl, const char *token_id, int max);
void edge_ratelimit_stream_release(edge_ratelimit_t *rl, const char *token_id);

/* Sends counts to Redis and forgets finished windows. */
void edge_ratelimit_tick(edge_ratelimit_t *rl);

#endif
