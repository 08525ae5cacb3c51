/*
 * pgs_req — one request as a worker sees it, and the reply it builds: the
 * types handlers, pgs_idem and pgs_page share, without the worker loop
 * (pgs_worker.h) that delivers them.
 */
#ifndef PGS_REQ_H
#define PGS_REQ_H

#include "pgs_ctx.h"
#include "pgs_meta.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A request the skeleton keeps for a handler that answers later
 * (pgs_worker.h). */
typedef struct pgs_call pgs_call_t;

/* One request. Everything is borrowed: for the duration of the handler, or
 * — when the handler returned PGS_LATER — until the call is answered. */
typedef struct {
    uint64_t id;
    const char *route;
    const pgs_ctx_t *ctx; /* who asks (pgs_ctx.h) */
    /* path parameters, query and selected headers: read them with
     * pgs_req_params. Set when already parsed (tests; calls between
     * services), else parsed from params_text on first use into
     * *params_cache: most handlers of the hot path never look. */
    json_t *params;
    const char *params_text;
    json_t **params_cache;
    const char *body;
    size_t body_len;
    const char *request_id; /* ctx->request_id, or "" */
    pgs_call_t *call;       /* the handle to answer through after PGS_LATER */
} pgs_req_t;

/* A reply being built. Headers, body and meta are owned by the reply. */
typedef struct {
    int status;
    json_t *headers; /* object: header name → string value, for the client */
    char *body;
    size_t body_len;
    pgs_meta_t meta; /* for the edge only: usage counts, bot, invalidations */
} pgs_res_t;

/* Reply builders. Each replaces what the reply held before. */
void pgs_res_json(pgs_res_t *res, int status, json_t *body /* stolen */);
/* The same with a JSON text already written (pgs_jbuf; taken, NULL: out of
 * memory, a 500). */
void pgs_res_json_text(pgs_res_t *res, int status, char *text);
void pgs_res_error(pgs_res_t *res, const pgs_req_t *req, int status, const char *code,
                   const char *message, const char *param);
void pgs_res_empty(pgs_res_t *res, int status);
/* Adds or replaces one header. */
void pgs_res_header(pgs_res_t *res, const char *name, const char *value);
/* Names the bot the request concerned, for the edge's usage event
 * (meta.bot, docs/internals.md "Usage analytics"). */
void pgs_res_usage_bot(pgs_res_t *res, const char *bot_id);
/* Moves what src holds into dst (cleared first); src is left empty. */
void pgs_res_move(pgs_res_t *dst, pgs_res_t *src);
/* Frees what the reply holds and zeroes it. */
void pgs_res_clear(pgs_res_t *res);

/* The params object (NULL when the text is not a JSON object). */
json_t *pgs_req_params(const pgs_req_t *req);

/* A string from the context or params, or NULL. */
const char *pgs_req_ctx(const pgs_req_t *req, const char *key);
const char *pgs_req_param(const pgs_req_t *req, const char *key);

#endif
