/*
 * auth_cache — the Redis copy of token, workspace and membership state
 * (keys in docs/internals.md), written only by auth and only after the
 * SQLite commit, plus the invalidations that tell edges to drop cached state.
 *
 * A handler that changes state records what it touched in an auth_change_t
 * while it writes SQLite; after the commit, auth_cache_apply re-reads those
 * rows, writes their keys in one pipeline, publishes the invalidation string
 * on pgs:inval and puts it in the reply's meta (invalidate). When
 * Redis cannot be written, the next tick forces a rebuild (DEL pgs:rebuilt).
 *
 * auth_cache_tick rebuilds every key from SQLite whenever pgs:rebuilt is
 * missing (Redis restarted empty, or a forced rebuild), under a lock shared
 * by all auth processes, repeating while the change sequence moved, so a
 * change committed during a rebuild is never overwritten by older state.
 */
#ifndef AUTH_CACHE_H
#define AUTH_CACHE_H

#include "auth_state.h"

#include <jansson.h>

typedef struct {
    json_t *toks;  /* token ids */
    json_t *wss;   /* workspace ids */
    json_t *mems;  /* [ws, user] pairs; deleted from Redis when gone from SQLite */
    json_t *users; /* user ids (invalidation only) */
} auth_change_t;

/* Prepares an empty change set. */
void auth_change_init(auth_change_t *c);
/* Frees what the change set holds. */
void auth_change_clear(auth_change_t *c);
void auth_change_token(auth_change_t *c, const char *token_id);
void auth_change_ws(auth_change_t *c, const char *ws_id);
void auth_change_mem(auth_change_t *c, const char *ws_id, const char *user_id);
void auth_change_user(auth_change_t *c, const char *user_id);

/* After the commit: writes the changed keys, publishes the invalidation and
 * sets res's meta.invalidate (when res is not NULL). Never fails
 * the request: a Redis failure schedules a rebuild. */
void auth_cache_apply(auth_t *a, const auth_change_t *c, pgs_res_t *res);

/* Called from the worker's tick: about once a second checks pgs:rebuilt
 * and rebuilds when it is missing. */
void auth_cache_tick(auth_t *a);

#endif
