/*
 * edge_checks — see edge_checks.h.
 */
#include "edge_checks.h"
#include "edge_request.h"
#include "edge_quota.h"
#include "edge_response.h"
#include "pgs_json.h"
#include "pgs_time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- checks 1–10 ---- */

static const edge_plan_t *
s_plan(const edge_ctx_t *c, const char *name)
{
    for (int i = 0; i < c->nplans; i++)
        if (strcmp(c->plans[i].name, name) == 0)
            return &c->plans[i];
    return NULL;
}

static int s_media_ok(const char *ct, const char *types);

/* A document's body limit comes from the plan, so a body the bots service
 * would refuse is refused before it is read (from Content-Length) or as
 * soon as it passes the limit: the plan's max_document_bytes for a raw
 * text body; for JSON, whose escapes make the content up to six times
 * larger, six times that and room for the other fields. The route's own
 * limit stays the ceiling. */
static void
s_document_limit(edge_req_t *r, const edge_plan_t *plan)
{
    size_t ceiling = edge_request_max_body(r);
    unsigned long long limit = (unsigned long long)plan->max_document_bytes;
    if (s_media_ok(r->content_type, "application/json"))
        limit = limit * 6 + 65536;
    r->max_body = limit < ceiling ? (size_t)limit : ceiling;
    r->max_body_why = "plan";
}

static void
s_touch_done(void *arg, edge_broker_reply_t *reply)
{
    (void)arg;
    (void)reply;
}

static void
s_touch(edge_req_t *r)
{
    edge_ctx_t *c = r->ctx;
    if (!edge_tokens_should_touch(c->tokens, r->token_hash, c->touch_interval_ms))
        return;
    json_t *p = json_pack("{s:s,s:s}", "token_id", r->tok.token_id, "ip", r->client_ip);
    char *params = pgs_json_dump(p);
    json_decref(p);
    edge_broker_req_t req = {.service = "auth",
                             .route = "token.touch",
                             .context = "request_id=edge-touch\n",
                             .params = params ? params : "{}",
                             .deadline_ms = 5000};
    edge_broker_submit(c->broker, &req, s_touch_done, NULL);
    free(params);
}

static void
s_after_lookup(edge_req_t *r)
{
    const edge_token_state_t *t = &r->tok;
    const edge_route_t *route = r->route;
    edge_ctx_t *c = r->ctx;
    if (t->revoked) {
        edge_response_error(r, 401, "token_revoked", "This token has been revoked.");
        return;
    }
    if (pgs_time_now_ms() / 1000 >= t->expires_at) {
        edge_response_error(r, 401, "token_expired", "This token has expired.");
        return;
    }
    r->past_check4 = 1;
    const edge_plan_t *plan = s_plan(c, t->plan);
    r->rl_limit = plan ? plan->requests_per_minute : 0;
    if (!plan || !plan->api_access) {
        edge_ratelimit_peek(c->ratelimit, t->token_id, r->rl_limit, &r->rl_remaining, &r->rl_reset);
        edge_response_error(r, 403, "upgrade_required", "Upgrade to use the API");
        return;
    }
    int team = strcmp(t->workspace_type, "team") == 0;
    int viewer = strcmp(t->role, "viewer") == 0;
    const char *code = NULL, *message = NULL;
    json_t *extra = NULL;
    if (team && (!t->role[0] || !t->seat)) {
        code = "seat_required";
        message = "You need a seat in this team to use the API.";
    } else if (route->scope && !(t->scopes & pgs_scope_bit(route->scope, strlen(route->scope)))) {
        code = "insufficient_scope";
        message = "This token does not have the scope this route needs.";
        extra = json_pack("{s:s}", "required_scope", route->scope);
    } else if (route->write && viewer) {
        code = "role_forbidden";
        message = "Viewers can only read.";
    } else if (route->write && team && t->read_only) {
        code = "team_read_only";
        message = "Team API access is read-only";
    }
    if (code) {
        edge_ratelimit_peek(c->ratelimit, t->token_id, r->rl_limit, &r->rl_remaining, &r->rl_reset);
        edge_response_error_x(r, 403, code, message, extra);
        json_decref(extra);
        return;
    }
    if (!edge_ratelimit_take(c->ratelimit, t->token_id, r->rl_limit, &r->rl_remaining,
                             &r->rl_reset)) {
        char retry[24];
        int64_t wait = r->rl_reset - pgs_time_now_ms() / 1000;
        snprintf(retry, sizeof retry, "%lld", (long long)(wait > 0 ? wait : 1));
        edge_response_header(r, "Retry-After", retry);
        edge_response_error(r, 429, "rate_limited",
                            "Too many requests for this token. Retry after the window resets.");
        return;
    }
    s_touch(r);
    if (route->body == EDGE_BODY_JSON_OR_TEXT && plan->max_document_bytes > 0)
        s_document_limit(r, plan);
    if (route->counts_message)
        edge_quota_reserve(r, plan);
}

static void
s_on_token(void *arg, edge_tokens_result_t result, const edge_token_state_t *st)
{
    edge_req_t *r = arg;
    r->tokens_handle = 0;
    r->pending = 0;
    if (result == EDGE_TOKENS_FOUND) {
        r->tok = *st;
        s_after_lookup(r);
    } else if (result == EDGE_TOKENS_UNKNOWN) {
        edge_response_error(r, 401, "invalid_token", "The token is invalid.");
    } else {
        edge_response_unavailable(r);
    }
    r->ops->wake(r->http);
}

void
edge_checks_token(edge_req_t *r)
{
    if (r->n_authorization > 1) {
        edge_response_error(r, 400, "invalid_request", "Send exactly one Authorization header.");
        return;
    }
    const char *a = r->authorization;
    if (!a || strncasecmp(a, "bearer", 6) != 0 || (a[6] != ' ' && a[6] != '\t')) {
        edge_response_error(r, 401, "missing_token",
                            "Send a token as Authorization: Bearer <token>.");
        return;
    }
    const char *tok = a + 6;
    while (*tok == ' ' || *tok == '\t')
        tok++;
    size_t len = strlen(tok);
    while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    if (len == 0) {
        edge_response_error(r, 401, "missing_token",
                            "Send a token as Authorization: Bearer <token>.");
        return;
    }
    if (!pgs_token_check(tok, len)) {
        edge_response_error(r, 401, "invalid_token", "The token is invalid.");
        return;
    }
    pgs_token_hash_hex(r->ctx->pepper, tok, len, r->token_hash);
    /* With sibling edges, a change one of them relayed reached this edge as
     * a published invalidation, which auth sent before its reply left:
     * read what has arrived before trusting the cache. */
    if (r->ctx->edges > 1)
        edge_redis_read_invalidations(r->ctx->redis);
    switch (edge_tokens_lookup(r->ctx->tokens, r->token_hash, &r->tok, s_on_token, r,
                               &r->tokens_handle)) {
    case EDGE_TOKENS_FOUND:
        s_after_lookup(r);
        return;
    case EDGE_TOKENS_UNKNOWN:
        edge_response_error(r, 401, "invalid_token", "The token is invalid.");
        return;
    case EDGE_TOKENS_PENDING:
        r->pending = 1;
        return;
    default:
        edge_response_unavailable(r);
        return;
    }
}

/* ---- after the table: the body ---- */

/* 1 when the media type of ct (before any parameter) is one of the
 * space-separated types and its charset, if any, is utf-8 or us-ascii. */
static int
s_media_ok(const char *ct, const char *types)
{
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; ");
    int found = 0;
    for (const char *t = types; *t && !found;) {
        size_t tn = strcspn(t, " ");
        found = tn == n && strncasecmp(t, ct, n) == 0;
        t += tn;
        while (*t == ' ')
            t++;
    }
    if (!found)
        return 0;
    const char *p = ct + n;
    while (*p) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncasecmp(p, "charset=", 8) == 0) {
            p += 8;
            if (*p == '"')
                p++;
            if (strncasecmp(p, "utf-8", 5) != 0 && strncasecmp(p, "us-ascii", 8) != 0)
                return 0;
        }
        p += strcspn(p, ";");
    }
    return 1;
}

/* For sends: does the body ask for a stream? */
static int
s_wants_stream(const edge_req_t *r)
{
    json_t *j = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    int yes = json_is_true(json_object_get(j, "stream"));
    json_decref(j);
    return yes;
}

int
edge_checks_body(edge_req_t *r)
{
    const edge_route_t *route = r->route;
    int has_body_method = strcmp(r->method, "POST") == 0 || strcmp(r->method, "PATCH") == 0 ||
                          strcmp(r->method, "PUT") == 0;
    if (route->body == EDGE_BODY_JSON && has_body_method && r->body_len &&
        !s_media_ok(r->content_type, "application/json")) {
        edge_response_error(r, 415, "unsupported_media_type",
                            "Send the body as application/json (UTF-8).");
        return -1;
    }
    if (route->body == EDGE_BODY_JSON_OR_TEXT && has_body_method &&
        !s_media_ok(r->content_type, "application/json text/plain text/markdown text/html")) {
        edge_response_error(r, 415, "unsupported_media_type",
                            "Send application/json, or a text/plain, text/markdown or text/html "
                            "body in UTF-8.");
        return -1;
    }
    if (r->body_too_large) {
        r->close = 1;
        char msg[160];
        if (r->max_body_why)
            snprintf(msg, sizeof msg,
                     "The document is larger than this plan's max_document_bytes (%lld bytes).",
                     (long long)s_plan(r->ctx, r->tok.plan)->max_document_bytes);
        else
            snprintf(msg, sizeof msg,
                     "The request body is larger than this route accepts (%zu bytes).",
                     edge_request_max_body(r));
        edge_response_error(r, 413, "payload_too_large", msg);
        return -1;
    }
    if (route->counts_message && s_wants_stream(r)) {
        if (!edge_ratelimit_stream_acquire(r->ctx->ratelimit, r->tok.token_id,
                                           r->ctx->max_streams_per_token)) {
            edge_response_header(r, "Retry-After", "1");
            edge_response_error(r, 429, "rate_limited",
                                "Too many concurrent streams for this token.");
            return -1;
        }
        r->stream_slot = 1;
    }
    return 0;
}
