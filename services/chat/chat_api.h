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

pgs_handled_t chat_api_conv_list(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t chat_api_conv_create(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t chat_api_conv_show(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t chat_api_conv_delete(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t chat_api_msg_list(void *arg, const pgs_req_t *req, pgs_res_t *res);

#endif
