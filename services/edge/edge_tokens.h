/*
 * edge_tokens — bearer token state for checks 2–6 of SPEC §2: an
 * in-process cache keyed by the token's keyed hash, filled from Redis (one
 * EVAL returns token, workspace and membership state together) and, only
 * while Redis lacks the "rebuilt" marker, from the auth service.
 *
 * Entries live at most cache_ttl_ms (state that can change: revoked, plan,
 * seat, role, team state); unknown hashes are remembered negative_ttl_ms so
 * forged tokens with a valid checksum never turn into database lookups.
 * Invalidations (from auth replies and the pgs:inval channel) drop entries
 * at once; any Redis reconnect drops the whole cache.
 */
#ifndef EDGE_TOKENS_H
#define EDGE_TOKENS_H

#include "edge_broker.h"
#include "edge_redis.h"
#include "pgs_id.h"
#include "pgs_scope.h"
#include "pgs_token.h"

#include <stdint.h>

typedef struct {
    char token_id[PGS_ID_MAX];
    char user_id[PGS_ID_MAX];
    char workspace_id[PGS_ID_MAX];
    pgs_scope_mask_t scopes;
    int64_t expires_at; /* Unix s */
    int revoked;
    char workspace_type[12]; /* personal | team */
    char plan[16];
    int read_only;
    char role[12]; /* "" when not a member */
    int seat;
} edge_token_state_t;

typedef enum {
    EDGE_TOKENS_FOUND = 0,
    EDGE_TOKENS_UNKNOWN,     /* 401 invalid_token */
    EDGE_TOKENS_UNAVAILABLE, /* Redis or auth down: 503 */
    EDGE_TOKENS_PENDING,     /* answered later through the callback */
} edge_tokens_result_t;

typedef struct edge_tokens edge_tokens_t;

/* Called once for a PENDING lookup with FOUND, UNKNOWN or UNAVAILABLE; st
 * is valid for FOUND only, borrowed for the call. */
typedef void (*edge_tokens_done)(void *arg, edge_tokens_result_t result,
                                 const edge_token_state_t *st);

edge_tokens_t *edge_tokens_new(edge_redis_t *redis, edge_broker_t *broker, int cache_ttl_ms,
                               int negative_ttl_ms);
void edge_tokens_destroy(edge_tokens_t **t);

/* Looks up the state of the token whose hash (hex) is given. On a cache
 * hit fills *st and returns FOUND or UNKNOWN at once; otherwise returns
 * PENDING (done runs later, exactly once, unless cancelled) or UNAVAILABLE.
 * *handle receives a handle for edge_tokens_cancel. */
edge_tokens_result_t edge_tokens_lookup(edge_tokens_t *t, const char *hash,
                                        edge_token_state_t *st, edge_tokens_done done, void *arg,
                                        uint64_t *handle);

/* Forgets the caller of a pending lookup. */
void edge_tokens_cancel(edge_tokens_t *t, uint64_t handle);

/* Applies an invalidation string: tok:<hash> ws:<id> user:<id> all. */
void edge_tokens_invalidate(edge_tokens_t *t, const char *message);

/* Drops every cached entry. */
void edge_tokens_clear(edge_tokens_t *t);

/* Whether the last check saw the pgs:rebuilt marker (for /readyz). */
int edge_tokens_redis_rebuilt(const edge_tokens_t *t);

/* Periodic work: checks the marker about every 500 ms. */
void edge_tokens_tick(edge_tokens_t *t);

/* 1 when this token's last_used should be reported now (at most once per
 * interval_ms per token); notes the time. */
int edge_tokens_should_touch(edge_tokens_t *t, const char *hash, int interval_ms);

#endif
