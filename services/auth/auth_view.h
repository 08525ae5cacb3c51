/*
 * auth_view — auth's in-memory copy of the rows the lean read routes answer
 * from (GET /v1/me, /v1/token, /v1/subscription): users, workspaces,
 * memberships, seat counts and tokens, each read from auth.db on a miss and
 * kept until an invalidation names it. SQLite stays the truth.
 *
 * The invalidations are the token state's (auth_cache.h): every auth
 * process subscribes to pgs:inval, and the process that made a change
 * applies its own at once. Before a lookup the view reads what the
 * subscription has brought (one poll), so a change committed and published
 * by another auth process before this request reached the edge is seen.
 * While the subscription is down the view is empty and unused (every lookup
 * reads SQLite); a new subscription starts from empty. Tokens are kept for
 * at most 1 s, since last_used_at changes without an invalidation, and
 * every entry for at most 30 s. Each kind holds at most 10,000 entries
 * (past that it starts over).
 */
#ifndef AUTH_VIEW_H
#define AUTH_VIEW_H

#include "auth_state.h"
#include "auth_store.h"

/* The view of a, with its own subscriber connection (made lazily). NULL
 * when out of memory. */
auth_view_t *auth_view_new(auth_t *a);
void auth_view_destroy(auth_view_t **v);

/* (Re)subscribes when the subscription is down; from the worker's tick. */
void auth_view_tick(auth_view_t *v);

/* Drops what an invalidation string names ("tok:<hash> ws:<id> user:<id>"
 * or "all"). */
void auth_view_invalidate(auth_view_t *v, const char *inval);

/* As auth_store_user_by_id, auth_store_ws_get, auth_store_mem_get,
 * auth_store_mem_seated and auth_store_tok_by_id, from the view when it
 * holds the row (a user's password hash is never kept: it is empty here). */
int auth_view_user(auth_t *a, const char *id, auth_user_t *out);
int auth_view_ws(auth_t *a, const char *id, auth_ws_t *out);
int auth_view_mem(auth_t *a, const char *ws, const char *user, auth_mem_t *out);
long long auth_view_seated(auth_t *a, const char *ws);
int auth_view_tok(auth_t *a, const char *id, auth_tok_t *out);

/* Lookups answered from memory and from SQLite since the start (tests,
 * docs). */
void auth_view_counts(const auth_view_t *v, unsigned long long *hits, unsigned long long *misses);

#endif
