/*
 * chat_openai — OpenAI's shapes for POST /openai/v1/chat/completions
 * (openai.chat; docs/openai.md): the request read and checked (what cannot
 * be honoured is a 400 naming its param), and the completion, its stream
 * chunks and in-stream errors written as the OpenAI SDKs read them. The
 * send itself is chat_send's: the bot (the request's model) answers the
 * last user message with its model and documents, the earlier messages as
 * history and system messages as extra instructions; nothing is stored as
 * a conversation, the send is counted in the quota ledger as any other.
 */
#ifndef CHAT_OPENAI_H
#define CHAT_OPENAI_H

#include "pgs_worker.h"

#include <jansson.h>
#include <stdint.h>

typedef struct {
    json_t *body;      /* the request, owned */
    const char *model; /* the bot id (in body) */
    char *question;    /* the last user message's text, owned */
    char *system;      /* system and developer messages joined, owned, or NULL */
    json_t *hist;      /* the earlier user and assistant turns [{role, content}], owned */
    json_t *sampling;  /* the sampling fields passed on to an upstream model, owned */
    int stream, include_usage;
} chat_openai_req_t;

/* Reads the request: 0, or -1 with res set (400 invalid_request naming the
 * param; 404 model_not_found for a model that cannot be a bot id). The
 * history keeps the last max_hist turns. */
int chat_openai_parse(const pgs_req_t *req, pgs_res_t *res, long long max_hist,
                      chat_openai_req_t *out);

void chat_openai_req_clear(chat_openai_req_t *o);

/* A chat.completion object; citations (a JSON array) go in the "pegasus"
 * extension field with the model that answered. */
json_t *chat_openai_completion(const char *id, int64_t created_s, const char *bot,
                               const char *model, const char *content, json_t *citations,
                               long long in, long long out);

/* One "data: {chat.completion.chunk}\n\n" event, owned: the assistant role
 * (first chunk), content (len bytes; NULL for none), a finish_reason, or
 * usage (an object: the usage chunk, with no choices). */
char *chat_openai_chunk(const char *id, int64_t created_s, const char *bot, int role,
                        const char *content, size_t len, const char *finish, json_t *usage);

/* An error inside a stream: "data: {"error": {…}}\n\n", owned. */
char *chat_openai_error_event(int status, const char *code, const char *message,
                              const char *request_id);

/* The end of a stream. */
#define CHAT_OPENAI_DONE "data: [DONE]\n\n"

#endif
