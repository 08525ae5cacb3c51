/*
 * edge_request — see edge_request.h.
 */
#include "edge_request.h"
#include "edge_usage.h"
#include "pgs_json.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- response building ---- */

static void
s_header(edge_req_t *r, const char *name, const char *value)
{
    if (r->nheaders == EDGE_MAX_RESP_HEADERS)
        return;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return;
    }
    r->headers[r->nheaders++] = (edge_header_t){n, v};
}

static int
s_has_header(const edge_req_t *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return 1;
    return 0;
}

static void
s_rate_headers(edge_req_t *r)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", r->rl_limit);
    s_header(r, "X-RateLimit-Limit", buf);
    snprintf(buf, sizeof buf, "%ld", r->rl_remaining);
    s_header(r, "X-RateLimit-Remaining", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)r->rl_reset);
    s_header(r, "X-RateLimit-Reset", buf);
    int64_t now = pgs_time_now_ms() / 1000;
    if (r->tok.expires_at - now <= 7 * 86400) {
        char when[PGS_TIME_RFC3339_LEN];
        pgs_time_rfc3339(r->tok.expires_at, when);
        s_header(r, "Pegasus-Token-Expires", when);
    }
}

static int
s_cors_allowed(const edge_req_t *r)
{
    if (!r->origin || !r->ctx->cors_origins[0])
        return 0;
    size_t n = strlen(r->origin);
    const char *p = r->ctx->cors_origins;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - s) == n && memcmp(s, r->origin, n) == 0)
            return 1;
    }
    return 0;
}

/* Sets the response; body is owned by r from now on. */
static void
s_respond(edge_req_t *r, int status, char *body, const char *content_type)
{
    free(r->resp_body);
    r->status = status;
    r->resp_body = body;
    r->resp_len = body ? strlen(body) : 0;
    if (content_type)
        s_header(r, "Content-Type", content_type);
    s_header(r, "X-Request-Id", r->request_id);
    if (r->route && r->route->auth != EDGE_AUTH_NONE && !s_has_header(r, "Cache-Control"))
        s_header(r, "Cache-Control", "no-store");
    if (r->past_check4)
        s_rate_headers(r);
    if (s_cors_allowed(r)) {
        s_header(r, "Access-Control-Allow-Origin", r->origin);
        s_header(r, "Vary", "Origin");
        s_header(r, "Access-Control-Expose-Headers",
                 "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
                 "Retry-After, Pegasus-Token-Expires, Idempotent-Replayed");
    }
    r->resp_ready = 1;
    if (!r->streaming)
        edge_usage_emit(r, status); /* a stream's outcome is known at its end */
}

static void
s_error_x(edge_req_t *r, int status, const char *code, const char *message, json_t *extra)
{
    char *body = pgs_json_error_body(code, message, r->request_id, NULL, extra);
    if (status == 401)
        s_header(r, "WWW-Authenticate", "Bearer realm=\"pegasus\", error=\"invalid_token\"");
    s_respond(r, status, body, "application/json");
}

void
edge_request_error(edge_req_t *r, int status, const char *code, const char *message)
{
    s_error_x(r, status, code, message, NULL);
}

static void
s_unavailable(edge_req_t *r)
{
    s_header(r, "Retry-After", "1");
    edge_request_error(r, 503, "service_unavailable",
                       "The service is unavailable. Try again shortly.");
}

/* ---- local routes ---- */

static int
s_ready(const edge_ctx_t *c, char *why, size_t len)
{
    if (!edge_redis_up(c->redis)) {
        snprintf(why, len, "redis is unreachable");
        return 0;
    }
    if (!edge_tokens_redis_rebuilt(c->tokens)) {
        snprintf(why, len, "auth has not rebuilt redis yet");
        return 0;
    }
    for (int i = 0; i < c->nservices; i++) {
        if (!edge_broker_live_workers(c->broker, c->services[i])) {
            snprintf(why, len, "no live %s worker", c->services[i]);
            return 0;
        }
    }
    return 1;
}

static void
s_local(edge_req_t *r)
{
    switch (r->route->local) {
    case EDGE_LOCAL_HEALTHZ:
        s_respond(r, 200, strdup("{\"status\":\"ok\"}"), "application/json");
        return;
    case EDGE_LOCAL_READYZ: {
        char why[128] = "";
        int ok = s_ready(r->ctx, why, sizeof why);
        json_t *j = json_pack("{s:s}", "status", ok ? "ready" : "not_ready");
        if (!ok)
            json_object_set_new(j, "reason", json_string(why));
        char *body = pgs_json_dump(j);
        json_decref(j);
        s_respond(r, ok ? 200 : 503, body, "application/json");
        return;
    }
    case EDGE_LOCAL_OPENAPI: {
        char *copy = malloc(r->ctx->openapi_len + 1);
        if (copy) {
            memcpy(copy, r->ctx->openapi, r->ctx->openapi_len);
            copy[r->ctx->openapi_len] = '\0';
        }
        s_respond(r, 200, copy, "application/json");
        return;
    }
    default:
        edge_request_error(r, 404, "not_found", "No such route.");
        return;
    }
}

/* ---- checks 3–10 ---- */

static const edge_plan_t *
s_plan(const edge_ctx_t *c, const char *name)
{
    for (int i = 0; i < c->nplans; i++)
        if (strcmp(c->plans[i].name, name) == 0)
            return &c->plans[i];
    return NULL;
}

static void
s_touch_done(void *arg, int status, const char *headers, const void *body, size_t len)
{
    (void)arg;
    (void)status;
    (void)headers;
    (void)body;
    (void)len;
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
                             .context = "{\"request_id\":\"edge-touch\"}",
                             .params = params ? params : "{}",
                             .deadline_ms = 5000};
    edge_broker_submit(c->broker, &req, s_touch_done, NULL);
    free(params);
}

/* ---- check 11: the monthly message quota ---- */

/* Reserves one message atomically; refuses while chat has not rebuilt the
 * counters (-1), or when the month's quota is used up (0). */
static const char s_quota_script[] =
    "if redis.call('EXISTS', 'pgs:quota_rebuilt') == 0 then return -1 end\n"
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end\n"
    "if n > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) return 0 end\n"
    "return n\n";

static void
s_quota_key(const edge_req_t *r, char *key, size_t len)
{
    char month[8];
    time_t now = (time_t)(pgs_time_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(month, sizeof month, "%Y%m", &tm);
    snprintf(key, len, "pgs:quota:%s:%s", r->tok.workspace_id, month);
}

static void
s_ignore_reply(void *arg, redisReply *reply)
{
    (void)arg;
    (void)reply;
}

/* Gives a reserved message back (the send failed). */
static void
s_release_message(edge_req_t *r)
{
    if (!r->quota_reserved)
        return;
    r->quota_reserved = 0;
    char key[128];
    s_quota_key(r, key, sizeof key);
    const char *argv[] = {"DECR", key};
    size_t lens[] = {4, strlen(key)};
    edge_redis_command(r->ctx->redis, s_ignore_reply, NULL, 2, argv, lens);
}

static void
s_on_quota(void *arg, redisReply *reply)
{
    edge_req_t *r = arg;
    r->pending = 0;
    if (!reply || reply->type != REDIS_REPLY_INTEGER || reply->integer < 0) {
        s_unavailable(r);
    } else if (reply->integer == 0) {
        int64_t now = pgs_time_now_ms() / 1000;
        char retry[24];
        snprintf(retry, sizeof retry, "%lld", (long long)(pgs_time_next_month_start(now) - now));
        s_header(r, "Retry-After", retry);
        edge_request_error(r, 429, "quota_exceeded",
                           "This workspace has used its messages for this month.");
    } else {
        r->quota_reserved = 1;
    }
    edge_http_wake(r);
}

static void
s_reserve_message(edge_req_t *r, const edge_plan_t *plan)
{
    char key[128], limit[24], ttl[24];
    s_quota_key(r, key, sizeof key);
    int64_t now = pgs_time_now_ms() / 1000;
    snprintf(limit, sizeof limit, "%ld", plan->messages_per_month);
    snprintf(ttl, sizeof ttl, "%lld",
             (long long)(pgs_time_next_month_start(now) - now + 40 * 86400));
    const char *argv[] = {"EVAL", s_quota_script, "1", key, limit, ttl};
    size_t lens[] = {4, sizeof s_quota_script - 1, 1, strlen(key), strlen(limit), strlen(ttl)};
    if (edge_redis_command(r->ctx->redis, s_on_quota, r, 6, argv, lens) < 0) {
        s_unavailable(r);
        return;
    }
    r->pending = 1;
}

static void
s_after_lookup(edge_req_t *r)
{
    const edge_token_state_t *t = &r->tok;
    const edge_route_t *route = r->route;
    edge_ctx_t *c = r->ctx;
    if (t->revoked) {
        edge_request_error(r, 401, "token_revoked", "This token has been revoked.");
        return;
    }
    if (pgs_time_now_ms() / 1000 >= t->expires_at) {
        edge_request_error(r, 401, "token_expired", "This token has expired.");
        return;
    }
    r->past_check4 = 1;
    const edge_plan_t *plan = s_plan(c, t->plan);
    r->rl_limit = plan ? plan->requests_per_minute : 0;
    if (!plan || !plan->api_access) {
        edge_ratelimit_peek(c->ratelimit, t->token_id, r->rl_limit, &r->rl_remaining, &r->rl_reset);
        edge_request_error(r, 403, "upgrade_required", "Upgrade to use the API");
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
        s_error_x(r, 403, code, message, extra);
        json_decref(extra);
        return;
    }
    if (!edge_ratelimit_take(c->ratelimit, t->token_id, r->rl_limit, &r->rl_remaining,
                             &r->rl_reset)) {
        char retry[24];
        int64_t wait = r->rl_reset - pgs_time_now_ms() / 1000;
        snprintf(retry, sizeof retry, "%lld", (long long)(wait > 0 ? wait : 1));
        s_header(r, "Retry-After", retry);
        edge_request_error(r, 429, "rate_limited",
                           "Too many requests for this token. Retry after the window resets.");
        return;
    }
    s_touch(r);
    if (route->counts_message)
        s_reserve_message(r, plan);
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
        edge_request_error(r, 401, "invalid_token", "The token is invalid.");
    } else {
        s_unavailable(r);
    }
    edge_http_wake(r);
}

/* Checks 1–2, then the lookup. */
static void
s_check_token(edge_req_t *r)
{
    if (r->n_authorization > 1) {
        edge_request_error(r, 400, "invalid_request", "Send exactly one Authorization header.");
        return;
    }
    const char *a = r->authorization;
    if (!a || strncasecmp(a, "bearer", 6) != 0 || (a[6] != ' ' && a[6] != '\t')) {
        edge_request_error(r, 401, "missing_token",
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
        edge_request_error(r, 401, "missing_token",
                           "Send a token as Authorization: Bearer <token>.");
        return;
    }
    if (!pgs_token_check(tok, len)) {
        edge_request_error(r, 401, "invalid_token", "The token is invalid.");
        return;
    }
    pgs_token_hash_hex(r->ctx->pepper, tok, len, r->token_hash);
    switch (edge_tokens_lookup(r->ctx->tokens, r->token_hash, &r->tok, s_on_token, r,
                               &r->tokens_handle)) {
    case EDGE_TOKENS_FOUND:
        s_after_lookup(r);
        return;
    case EDGE_TOKENS_UNKNOWN:
        edge_request_error(r, 401, "invalid_token", "The token is invalid.");
        return;
    case EDGE_TOKENS_PENDING:
        r->pending = 1;
        return;
    default:
        s_unavailable(r);
        return;
    }
}

/* ---- entry points ---- */

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
    if (m == EDGE_ROUTE_BAD_METHOD && strcmp(r->method, "OPTIONS") == 0 && s_cors_allowed(r)) {
        s_header(r, "Access-Control-Allow-Methods", allow);
        s_header(r, "Access-Control-Allow-Headers",
                 "Authorization, Content-Type, Idempotency-Key, X-Request-Id");
        s_header(r, "Access-Control-Max-Age", "600");
        s_respond(r, 204, NULL, NULL);
        return;
    }
    if (m == EDGE_ROUTE_NOT_FOUND) {
        edge_request_error(r, 404, "not_found", "No such route.");
        return;
    }
    if (m == EDGE_ROUTE_BAD_METHOD) {
        s_header(r, "Allow", allow);
        edge_request_error(r, 405, "method_not_allowed", "This route does not allow that method.");
        return;
    }
    if (route->service && !s_configured(r->ctx, route->service)) {
        /* A service this deployment does not run: its routes do not exist. */
        edge_request_error(r, 404, "not_found", "No such route.");
        return;
    }
    r->route = route;
    if (route->local) {
        s_local(r);
        return;
    }
    if (route->auth == EDGE_AUTH_TOKEN)
        s_check_token(r);
}

size_t
edge_request_max_body(const edge_req_t *r)
{
    return r->route && r->route->max_body ? r->route->max_body : r->ctx->max_body;
}

int
edge_request_wants_body(const edge_req_t *r)
{
    return r->route && r->route->body != EDGE_BODY_NONE;
}

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

static int
s_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s (len bytes) into a new string; '+' becomes a space
 * when plus_space. NULL when the result is not valid UTF-8. */
static char *
s_decode(const char *s, size_t len, int plus_space)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && s_hex(s[i + 1]) >= 0 && s_hex(s[i + 2]) >= 0) {
            out[n++] = (char)(s_hex(s[i + 1]) * 16 + s_hex(s[i + 2]));
            i += 2;
        } else if (s[i] == '+' && plus_space) {
            out[n++] = ' ';
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    if (pgs_json_utf8_length(out, n) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

#define S_MAX_QUERY_PARAMS 64

/* Builds params by hand (a jansson tree per request costs more than the
 * rest of the edge's work); NULL with an error response set when the query
 * is bad. */
static char *
s_params(edge_req_t *r)
{
    pgs_jbuf_t b = {0};
    pgs_jbuf_raw(&b, "{", 1);
    pgs_jbuf_member(&b, 0, "method", r->method);
    pgs_jbuf_raw(&b, ",\"path\":{", 9);
    for (int i = 0; i < r->nparams; i++) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)r->params[i].name_len, r->params[i].name);
        char *v = s_decode(r->params[i].value, r->params[i].value_len, 0);
        pgs_jbuf_member(&b, i > 0, name, v ? v : "");
        free(v);
    }
    pgs_jbuf_raw(&b, "},\"query\":{", 11);
    char *seen[S_MAX_QUERY_PARAMS];
    int nseen = 0, bad = 0;
    const char *q = r->query;
    while (q && *q && !bad) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        char *k = s_decode(q, klen, 1);
        char *v = eq ? s_decode(eq + 1, len - klen - 1, 1) : strdup("");
        bad = !k || !v;
        int dup = 0;
        for (int i = 0; !bad && i < nseen && !dup; i++)
            dup = strcmp(seen[i], k) == 0;
        if (!bad && *k && !dup && nseen < S_MAX_QUERY_PARAMS) {
            /* The first value of a repeated name wins. */
            pgs_jbuf_member(&b, nseen > 0, k, v);
            seen[nseen++] = k;
            k = NULL;
        }
        free(k);
        free(v);
        q = amp ? amp + 1 : NULL;
    }
    for (int i = 0; i < nseen; i++)
        free(seen[i]);
    if (bad) {
        free(pgs_jbuf_take(&b));
        edge_request_error(r, 400, "invalid_request", "The query string is not valid UTF-8.");
        return NULL;
    }
    pgs_jbuf_raw(&b, "},\"headers\":{", 13);
    const char *const names[] = {"content-type", "accept", "idempotency-key", "x-csrf-token",
                                 "user-agent"};
    const char *const values[] = {r->content_type, r->accept, r->idempotency_key, r->csrf,
                                  r->user_agent};
    int n = 0;
    for (int i = 0; i < 5; i++) {
        /* Header values reach us as bytes: only valid UTF-8 travels on. */
        if (values[i] && pgs_json_utf8_length(values[i], strlen(values[i])) >= 0)
            pgs_jbuf_member(&b, n++ > 0, names[i], values[i]);
    }
    pgs_jbuf_raw(&b, "},\"cookies\":{", 13);
    if (r->session_cookie &&
        pgs_json_utf8_length(r->session_cookie, strlen(r->session_cookie)) >= 0)
        pgs_jbuf_member(&b, 0, "pegasus_session", r->session_cookie);
    pgs_jbuf_raw(&b, "}}", 2);
    return pgs_jbuf_take(&b);
}

static char *
s_context(edge_req_t *r)
{
    pgs_jbuf_t b = {0};
    pgs_jbuf_raw(&b, "{", 1);
    pgs_jbuf_member(&b, 0, "request_id", r->request_id);
    pgs_jbuf_member(&b, 1, "client_ip", r->client_ip);
    if (r->route->auth == EDGE_AUTH_TOKEN) {
        char scopes[512];
        pgs_scope_format(r->tok.scopes, scopes, sizeof scopes);
        pgs_jbuf_member(&b, 1, "token_id", r->tok.token_id);
        pgs_jbuf_member(&b, 1, "user_id", r->tok.user_id);
        pgs_jbuf_member(&b, 1, "workspace_id", r->tok.workspace_id);
        pgs_jbuf_member(&b, 1, "workspace_type", r->tok.workspace_type);
        pgs_jbuf_member(&b, 1, "role", r->tok.role);
        pgs_jbuf_member(&b, 1, "plan", r->tok.plan);
        pgs_jbuf_member(&b, 1, "scopes", scopes);
        const char *seat = r->tok.seat ? ",\"seat\":true" : ",\"seat\":false";
        pgs_jbuf_raw(&b, seat, strlen(seat));
    }
    pgs_jbuf_raw(&b, "}", 1);
    return pgs_jbuf_take(&b);
}

static void
s_on_reply(void *arg, int status, const char *headers, const void *body, size_t len)
{
    edge_req_t *r = arg;
    r->pending = 0;
    json_t *h = json_loads(headers, 0, NULL);
    r->streaming = json_object_get(h, "x-pgs-stream") != NULL;
    if (json_object_get(h, "Idempotent-Replayed")) {
        s_release_message(r); /* a replay does no work twice, and counts once */
        r->usage.replayed = 1;
    }
    if (!r->streaming) {
        r->broker_handle = 0;
        if (status >= 400)
            s_release_message(r);
        r->quota_reserved = 0; /* given back, or spent */
        if (r->stream_slot) {
            r->stream_slot = 0;
            edge_ratelimit_stream_release(r->ctx->ratelimit, r->tok.token_id);
        }
    }
    const char *key;
    json_t *val;
    const char *content_type = NULL;
    json_object_foreach(h, key, val)
    {
        const char *v = json_string_value(val);
        if (!v)
            continue;
        if (strcasecmp(key, "x-pgs-invalidate") == 0) {
            /* Before relaying: the caller's very next request must see it. */
            edge_tokens_invalidate(r->ctx->tokens, v);
            continue;
        }
        if (strcasecmp(key, "x-pgs-usage") == 0) {
            edge_usage_note_header(r, v);
            continue;
        }
        if (strncasecmp(key, "x-pgs-", 6) == 0)
            continue;
        if (strcasecmp(key, "content-type") == 0) {
            content_type = v;
            continue;
        }
        s_header(r, key, v);
    }
    char *copy = NULL;
    if (len) {
        copy = malloc(len + 1);
        if (copy) {
            memcpy(copy, body, len);
            copy[len] = '\0';
        }
    }
    s_respond(r, status, copy, content_type);
    r->resp_len = copy ? len : 0;
    json_decref(h);
    edge_http_wake(r);
}

static void
s_on_chunk(void *arg, const void *data, size_t len)
{
    edge_req_t *r = arg;
    /* The chat worker writes one event per chunk; an error event is the
     * stream's terminal event, and the send then did not count. */
    if (len >= 12 && memcmp(data, "event: error", 12) == 0)
        r->stream_failed = 1;
    edge_usage_note_chunk(r, data, len);
    edge_http_stream_push(r, data, len);
}

static void
s_on_end(void *arg, int ok)
{
    edge_req_t *r = arg;
    r->broker_handle = 0;
    if (!ok) {
        /* The worker died or went silent: end with an error event. */
        char *err =
            pgs_json_error_body("service_unavailable", "The stream was interrupted. Try again.",
                                r->request_id, NULL, NULL);
        char event[1024];
        int n = snprintf(event, sizeof event, "event: error\ndata: %s\n\n", err ? err : "{}");
        free(err);
        if (n > 0 && (size_t)n < sizeof event)
            edge_http_stream_push(r, event, (size_t)n);
        r->stream_failed = 1;
    }
    if (r->stream_failed)
        s_release_message(r);
    r->quota_reserved = 0; /* given back, or spent */
    if (r->stream_slot) {
        r->stream_slot = 0;
        edge_ratelimit_stream_release(r->ctx->ratelimit, r->tok.token_id);
    }
    edge_usage_emit(r, r->status);
    edge_http_stream_end(r);
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

void
edge_request_body_done(edge_req_t *r)
{
    const edge_route_t *route = r->route;
    int has_body_method = strcmp(r->method, "POST") == 0 || strcmp(r->method, "PATCH") == 0 ||
                          strcmp(r->method, "PUT") == 0;
    if (route->body == EDGE_BODY_JSON && has_body_method && r->body_len &&
        !s_media_ok(r->content_type, "application/json")) {
        edge_request_error(r, 415, "unsupported_media_type",
                           "Send the body as application/json (UTF-8).");
        return;
    }
    if (route->body == EDGE_BODY_JSON_OR_TEXT && has_body_method &&
        !s_media_ok(r->content_type, "application/json text/plain text/markdown text/html")) {
        edge_request_error(r, 415, "unsupported_media_type",
                           "Send application/json, or a text/plain, text/markdown or text/html "
                           "body in UTF-8.");
        return;
    }
    if (r->body_too_large) {
        r->close = 1;
        edge_request_error(r, 413, "payload_too_large", "The request body is too large.");
        return;
    }
    if (route->counts_message && s_wants_stream(r)) {
        if (!edge_ratelimit_stream_acquire(r->ctx->ratelimit, r->tok.token_id,
                                           r->ctx->max_streams_per_token)) {
            s_header(r, "Retry-After", "1");
            edge_request_error(r, 429, "rate_limited",
                               "Too many concurrent streams for this token.");
            return;
        }
        r->stream_slot = 1;
    }
    char *params = s_params(r);
    if (!params)
        return;
    char *context = s_context(r);
    int forward_body = route->body != EDGE_BODY_NONE;
    edge_broker_req_t req = {.service = route->service,
                             .route = route->route,
                             .context = context ? context : "{}",
                             .params = params,
                             .body = forward_body ? r->body : NULL,
                             .body_len = forward_body ? r->body_len : 0,
                             .deadline_ms =
                                 route->deadline_ms ? route->deadline_ms : r->ctx->deadline_ms,
                             .retryable = strcmp(r->method, "GET") == 0,
                             .request_id = r->request_id,
                             .on_chunk = s_on_chunk,
                             .on_end = s_on_end,
                             .stream_idle_ms = r->ctx->stream_idle_ms};
    r->pending = 1;
    r->broker_handle = edge_broker_submit(r->ctx->broker, &req, s_on_reply, r);
    free(params);
    free(context);
    if (!r->broker_handle) {
        r->pending = 0;
        s_unavailable(r);
    }
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
        s_release_message(r); /* never forwarded, or failed */
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
    free(r->body);
    for (int i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->resp_body);
}
