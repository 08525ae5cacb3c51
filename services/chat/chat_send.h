/*
 * chat_send — POST /v1/conversations/{id}/messages (messages.create): the
 * question is checked, the bot fetched and its model allowed for the plan,
 * passages retrieved through bots.retrieve, and the answer made by the
 * built-in model (at once) or an upstream model (later, as its stream
 * comes). Replies
 * are JSON, or an event stream (SPEC §3):
 *
 *   event: message.delta      data: {"delta":"…"}          (one or more)
 *   event: message.completed  data: the message object     (or)
 *   event: error              data: {"error":{…}}
 *
 * one event per CHUNK frame, exactly one terminal event, and ": ping" after
 * [chat] ping_interval_ms without a chunk. Storage: without a stream, the
 * question and the answer in one transaction before the reply; with a
 * stream, the question before the stream starts and the answer before
 * message.completed. The answer's transaction also counts the send in the
 * ledger the quota counters are rebuilt from. A send that fails stores no
 * answer and counts nothing.
 */
#ifndef CHAT_SEND_H
#define CHAT_SEND_H

#include "chat_state.h"
#include "pgs_worker.h"

/* The messages.create handler. */
pgs_handled_t chat_send_create(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* The openai.chat handler (POST /openai/v1/chat/completions): the same
 * send without a conversation, in OpenAI's shapes (chat_openai.h). The
 * reply is a chat.completion, or a stream of chat.completion.chunk data
 * lines ending with data: [DONE]; only the send's count is stored. */
pgs_handled_t chat_send_openai(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* Sends ": ping" on every stream silent for [chat] ping_interval_ms; a
 * timer of the worker (arg: the chat_t). */
void chat_send_ping(void *arg);

/* How often chat_send_ping should run: often enough to keep the interval. */
int chat_send_ping_every_ms(const chat_t *c);

/* Ends every send in flight (a 503, or an error event when its stream
 * began). For shutdown. */
void chat_send_abort_all(chat_t *c);

#endif
