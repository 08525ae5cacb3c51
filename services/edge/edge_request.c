/*
 * edge_request — see edge_request.h.
 */
#include "edge_request.h"
#include "edge_checks.h"
#include "edge_local.h"
#include "edge_params.h"
#include "edge_quota.h"
#include "edge_relay.h"
#include "edge_response.h"
#include "edge_usage.h"
#include "pgs_time.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_configured(const edge_ctx_t *c, const char *service)
{
    for (int i = 0; i < c->nservices; i++)
        if (strcmp(c->services[i], service) == 0)
            return 1;
    return 0;
}

void
edge_request_headers_done(edge_req_t *r)
{
    char allow[64];
    const edge_route_t *route = NULL;
    r->started_ms = pgs_time_mono_ms();
    edge_route_result_t m =
        edge_routes_match(r->method, r->path, &route, r->params, &r->nparams, allow, sizeof allow);
    if (m == EDGE_ROUTE_BAD_METHOD && strcmp(r->method, "OPTIONS") == 0 &&
        edge_response_cors_allowed(r)) {
        edge_response_header(r, "Access-Control-Allow-Methods", allow);
        edge_response_header(r, "Access-Control-Allow-Headers",
                             "Authorization, Content-Type, Idempotency-Key, X-Request-Id");
        edge_response_header(r, "Access-Control-Max-Age", "600");
        edge_response_set(r, 204, NULL, NULL);
        return;
    }
    if (m == EDGE_ROUTE_NOT_FOUND) {
        edge_response_error(r, 404, "not_found", "No such route.");
        return;
    }
    if (m == EDGE_ROUTE_BAD_METHOD) {
        edge_response_header(r, "Allow", allow);
        edge_response_error(r, 405, "method_not_allowed", "This route does not allow that method.");
        return;
    }
    if (route->service && !s_configured(r->ctx, route->service)) {
        /* A service this deployment does not run: its routes do not exist. */
        edge_response_error(r, 404, "not_found", "No such route.");
        return;
    }
    r->route = route;
    if (route->local) {
        edge_local_respond(r);
        return;
    }
    if (route->auth == EDGE_AUTH_TOKEN)
        edge_checks_token(r);
}

size_t
edge_request_max_body(const edge_req_t *r)
{
    if (r->max_body)
        return r->max_body;
    return r->route && r->route->max_body ? r->route->max_body : r->ctx->max_body;
}

int
edge_request_wants_body(const edge_req_t *r)
{
    return r->route && r->route->body != EDGE_BODY_NONE;
}

/* Forwards r to its worker. */
static void
s_forward(edge_req_t *r)
{
    char *params = edge_params_build(r);
    if (!params)
        return;
    char context[PGS_CTX_MAX];
    edge_params_context(r, context, sizeof context);
    edge_relay_forward(r, params, context);
    free(params);
}

/* An Idempotency-Key is the caller's across every route, and the routes'
 * services each keep their own keys: the edge records which route a key
 * was first used on (pgs:idem:<ws>:<user>:<hash of the key>, 24 h), so the
 * same key on another service's route is refused here. The exact replay
 * stays the service's. Best effort: without Redis, or after a flush, the
 * request goes on. */
static const char s_idem_script[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then redis.call('SET', KEYS[1], ARGV[1], 'EX', 86400) return 1 end\n"
    "if v == ARGV[1] then return 1 end\n"
    "return 0\n";

static void
s_on_idem(void *arg, redisReply *reply)
{
    edge_req_t *r = arg;
    r->pending = 0;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0)
        edge_response_error(r, 409, "idempotency_key_reused",
                            "This Idempotency-Key was already used on another route.");
    else
        s_forward(r);
    r->ops->wake(r->http);
}

/* 1 when the key's check was started (r answers later), else 0. */
static int
s_idem_check(edge_req_t *r)
{
    const char *k = r->idempotency_key;
    if (!k || !*k || r->route->auth != EDGE_AUTH_TOKEN || strcmp(r->method, "GET") == 0)
        return 0;
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *)k, strlen(k), NULL, 0);
    char hex[33], key[256];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(key, sizeof key, "pgs:idem:%s:%s:%s", r->tok.workspace_id, r->tok.user_id, hex);
    const char *argv[] = {"EVAL", s_idem_script, "1", key, r->route->route};
    size_t lens[] = {4, sizeof s_idem_script - 1, 1, strlen(key), strlen(r->route->route)};
    if (edge_redis_command(r->ctx->redis, s_on_idem, r, 5, argv, lens) < 0)
        return 0;
    r->pending = 1;
    return 1;
}

void
edge_request_body_done(edge_req_t *r)
{
    if (edge_checks_body(r) < 0)
        return;
    if (!s_idem_check(r))
        s_forward(r);
}

int
edge_request_abort(edge_req_t *r)
{
    if (edge_relay_abort(r))
        return 1;
    if (!r->pending || !r->tokens_handle)
        return 0; /* done, or waiting on a Redis reply (bounded by its timeout) */
    edge_tokens_cancel(r->ctx->tokens, r->tokens_handle);
    r->tokens_handle = 0;
    r->pending = 0;
    edge_response_unavailable(r);
    r->ops->wake(r->http);
    return 1;
}

void
edge_request_release(edge_req_t *r)
{
    /* Not yet counted: the client left before the response (or mid-stream). */
    edge_usage_emit(r, r->status ? r->status : 499);
    if (r->tokens_handle)
        edge_tokens_cancel(r->ctx->tokens, r->tokens_handle);
    if (r->broker_handle) {
        /* The worker still finishes (and a chat reply is still stored). */
        edge_broker_cancel(r->ctx->broker, r->broker_handle);
    } else {
        edge_quota_release(r); /* never forwarded, or failed */
    }
    if (r->stream_slot)
        edge_ratelimit_stream_release(r->ctx->ratelimit, r->tok.token_id);
    free(r->path);
    free(r->query);
    free(r->authorization);
    free(r->content_type);
    free(r->accept);
    free(r->idempotency_key);
    free(r->csrf);
    free(r->user_agent);
    free(r->session_cookie);
    free(r->origin);
    free(r->host);
    free(r->body);
    edge_response_headers_clear(r);
    free(r->resp_body);
}
