/*
 * auth_tokens — Personal Access Tokens: creation with every rule and
 * refusal of SPEC §2 and §8, the token object, visibility-filtered lists,
 * and revocation (SQLite first, then Redis and the invalidation), plus the
 * in-app handlers app.tokens.list, app.tokens.create and app.tokens.revoke.
 *
 * Only the keyed hash of a secret is stored; the secret appears once, in
 * the create reply (with Cache-Control: no-store), and nowhere else.
 */
#ifndef AUTH_TOKENS_H
#define AUTH_TOKENS_H

#include "auth_state.h"
#include "auth_store.h"

#include <jansson.h>

/* The token object of SPEC §3 (owned JSON). now decides "expired". */
json_t *auth_tokens_object(const auth_tok_t *t, int64_t now);

/* Revokes the token with this id (a no-op when already revoked), writes
 * Redis and sets res's invalidation header. Returns 1 revoked now, 0
 * already revoked, -1 storage error (res untouched; the caller answers). */
int auth_tokens_revoke(auth_t *a, const char *token_id, pgs_res_t *res);

/* app.tokens.list: the active workspace's tokens visible to the caller
 * (owners and admins: all; others: their own) as a list envelope, newest
 * first, ?limit and ?after. */
pgs_handled_t auth_tokens_app_list(void *arg, const pgs_req_t *req, pgs_res_t *res);
/* app.tokens.create (CSRF): {name, scopes | preset, expires_in_days} → 201
 * {token, secret} with Cache-Control: no-store. Refusals in order: 403
 * upgrade_required, team_read_only, seat_required; then the body (415,
 * 400 with param); 403 role_forbidden; 409 token_limit_reached. */
pgs_handled_t auth_tokens_app_create(void *arg, const pgs_req_t *req, pgs_res_t *res);
/* app.tokens.revoke (CSRF): path token_id → 204 (also when already
 * revoked); 404 for a token the caller may not see. */
pgs_handled_t auth_tokens_app_revoke(void *arg, const pgs_req_t *req, pgs_res_t *res);

#endif
