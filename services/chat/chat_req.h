/*
 * chat_req — what every chat handler needs from a request: params and
 * context values, strict JSON bodies, the conversation a request names
 * (with team visibility and BOLA applied), and the mapping of storage and
 * dependency failures to 500/503.
 *
 * Visibility (SPEC §8): in a team, owners and admins see every API
 * conversation of the workspace; members and viewers only those they
 * created. Whatever a caller may not see is a 404 with the same body as an
 * id that never existed.
 */
#ifndef CHAT_REQ_H
#define CHAT_REQ_H

#include "chat_state.h"
#include "chat_store.h"
#include "pgs_json.h"
#include "pgs_worker.h"

#include <jansson.h>
#include <stdint.h>

/* params.<group>.<name> as a string, or NULL (borrowed). */
const char *chat_req_get(const pgs_req_t *req, const char *group, const char *name);

/* Parses the body as a JSON object checked against fields. Owned object,
 * or NULL with res filled (400). */
json_t *chat_req_body(const pgs_req_t *req, pgs_res_t *res, const pgs_json_field_t *fields);

/* 1 when the caller sees every conversation of the workspace (a Personal
 * workspace, or a team owner or admin), else 0. */
int chat_req_sees_all(const pgs_req_t *req);

/* Loads the conversation named by params.path.conversation_id that the
 * caller may see. 1 (out filled), or 0 with res filled (404, 500, 503). */
int chat_req_conversation(chat_t *c, const pgs_req_t *req, pgs_res_t *res, chat_conv_t *out);

/* The 404 of a conversation that does not exist or is not the caller's. */
void chat_req_conv_not_found(const pgs_req_t *req, pgs_res_t *res);

/* Storage failed: 503 with Retry-After when the database was busy, else
 * 500. Rolls back any open transaction. */
void chat_req_fail_db(pgs_db_t *db, const pgs_req_t *req, pgs_res_t *res);

/* 503 service_unavailable with Retry-After: 1. */
void chat_req_unavailable(const pgs_req_t *req, pgs_res_t *res);

/* "YYYYMM" of the UTC month holding unix_s. */
void chat_req_month(int64_t unix_s, char out[8]);

#endif
