/*
 * chat_api — the conversation routes of SPEC §3 (scopes already checked by
 * the edge) and the message list:
 *   conversations.list    GET    /v1/conversations[?bot_id=]   newest first
 *   conversations.create  POST   /v1/conversations {bot_id, title?} → 201
 *   conversations.show    GET    /v1/conversations/{id}
 *   conversations.delete  DELETE /v1/conversations/{id} → 204, with its messages
 *   messages.list         GET    /v1/conversations/{id}/messages  oldest first
 * Visibility and BOLA as chat_req.h says.
 */
#ifndef CHAT_API_H
#define CHAT_API_H

#include "pgs_worker.h"

void chat_api_conv_list(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void chat_api_conv_create(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void chat_api_conv_show(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void chat_api_conv_delete(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void chat_api_msg_list(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);

#endif
