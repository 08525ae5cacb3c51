/*
 * auth_api — the /v1 routes auth serves (token.get, token.revoke_self,
 * me.get, subscription.get, models.list) and the internal routes the edge
 * calls (token.lookup, token.touch).
 *
 * /v1 handlers run after the edge passed checks 1–11 and trust its context
 * (token_id, user_id, workspace_id, …); they answer from SQLite, which is
 * the truth, so a reply never shows state older than the edge's checks.
 */
#ifndef AUTH_API_H
#define AUTH_API_H

#include "pgs_worker.h"

/* token.get: the calling token's object (SPEC §3). */
pgs_handled_t auth_api_token_get(void *arg, const pgs_req_t *req, pgs_res_t *res);
/* token.revoke_self: revokes the calling token → 204 + invalidation. */
pgs_handled_t auth_api_token_revoke_self(void *arg, const pgs_req_t *req, pgs_res_t *res);
/* me.get: {id, object:"user", email, name, workspace{id,type,name}, role}. */
pgs_handled_t auth_api_me(void *arg, const pgs_req_t *req, pgs_res_t *res);
/* subscription.get: {object:"subscription", workspace, plan, status,
 * api_access, read_only, quota{period_start, period_end, messages_limit,
 * messages_used, disabled}, seats{total, used} (teams only)}; 503 when
 * Redis (the message counter) is unreachable. */
pgs_handled_t auth_api_subscription(void *arg, const pgs_req_t *req, pgs_res_t *res);
/* models.list: list envelope of the [model.*] sections whose plans include
 * the workspace's plan, in config order, ?limit and ?after. */
pgs_handled_t auth_api_models(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* token.lookup: params {"hash"} → 200 {"id","user","ws","scopes","exp",
 * "revoked","type","plan","ro","role","seat"} (exp an integer, Unix s;
 * revoked, ro and seat booleans; role "" and seat false for a non-member),
 * or 404 not_found. */
pgs_handled_t auth_api_token_lookup(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* token.touch: params {"token_id","ip"} → 204; writes last_used_at/ip at
 * most once per [auth] touch_interval_s. */
pgs_handled_t auth_api_token_touch(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* labels (internal, for the usage service): {"workspace_id","tokens":[ids],
 * "users":[ids],"workspaces":[ids]} → {"tokens":{id:name},"users":{id:name},
 * "workspaces":{id:name}}; tokens only of that workspace, unknown ids left
 * out. */
pgs_handled_t auth_api_labels(void *arg, const pgs_req_t *req, pgs_res_t *res);

#endif
