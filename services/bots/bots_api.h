/*
 * bots_api — the bot routes of SPEC §3 (bots.list, bots.create, bots.show,
 * bots.update, bots.delete) and the internal bots.get for chat. Every bot
 * belongs to the calling token's workspace (ctx.workspace_id); a bot of
 * another workspace, a deleted one and an id that never existed all get the
 * same 404.
 */
#ifndef BOTS_API_H
#define BOTS_API_H

#include "pgs_worker.h"

/* GET /v1/bots → 200 list of bots, newest first, paginated. */
pgs_handled_t bots_api_list(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* POST /v1/bots {name, description?, model, instructions?} → 201 bot; 400
 * invalid fields or a model the plan may not use (param "model"); 409
 * conflict at the plan's max_bots. Idempotency-Key honoured. */
pgs_handled_t bots_api_create(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* GET /v1/bots/{bot_id} → 200 bot, or 404. */
pgs_handled_t bots_api_show(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* PATCH /v1/bots/{bot_id} any of name, description, model, instructions →
 * 200 bot (updated_at moves when something changed), 400, or 404. */
pgs_handled_t bots_api_update(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* DELETE /v1/bots/{bot_id} → 204: the bot becomes a tombstone and its
 * documents and index entries go, in one transaction; or 404. */
pgs_handled_t bots_api_delete(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* Internal (chat): params {"workspace_id","bot_id"} → 200 bot object, 404
 * not_found (never existed in that workspace) or 410 bot_deleted. */
pgs_handled_t bots_api_get(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* labels (internal, the usage service): {"workspace_id","bots":[ids]} →
 * {"bots":{id:name}}, deleted bots included, other workspaces' left out. */
pgs_handled_t bots_api_labels(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* openai.models.list and openai.models.show (/openai/v1/models): the
 * workspace's bots as OpenAI models ({id, object: "model", created,
 * owned_by}), newest first, at most 1000. */
pgs_handled_t bots_api_openai_models(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t bots_api_openai_model(void *arg, const pgs_req_t *req, pgs_res_t *res);

#endif
