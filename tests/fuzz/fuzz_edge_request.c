/*
 * fuzz_edge_request — the edge's request handling on untrusted bytes,
 * without a socket: route matching (services/edge/edge_routes) and the
 * whole of the request handling after the HTTP layer (edge_request and the
 * modules it drives, through edge_request_headers_done,
 * edge_request_body_done, edge_request_release): 404/405 and Allow, checks
 * 1–2 on the Authorization header (token syntax, edge_checks), CORS
 * preflight, the local routes (edge_local), content-type rules
 * (edge_checks_body), the percent-decoding of path parameters and the query
 * (edge_params_build) and the forwarding to the broker (edge_relay).
 *
 * Input: six lines (LF-separated) — method, target (path with an optional
 * "?query"), Content-Type, Authorization, Origin, Cookie value for
 * pegasus_session — then the body. A missing line is an absent header; an
 * empty Authorization line is an absent header too.
 *
 * The context is real: a broker bound to an inproc endpoint with no
 * worker, a Redis handle that never connects (so token lookups are
 * UNAVAILABLE and no reservation is made), the token cache and the rate
 * limiter. edge_http is replaced by the no-op edge_http_ops_t below.
 *
 * Beyond "no crash, no leak, no UB", checks: a FOUND route has the asked
 * method, and its pattern with the parameters substituted gives back the
 * path (so parameters are exactly the non-empty segments in place of the
 * {names}); the path of a FOUND or BAD_METHOD result is an API path; the
 * Allow list is non-empty for 405 and empty for 404; a finished request has
 * a status 200–599 and an X-Request-Id, and an error (≥ 400, except
 * /readyz) has a JSON {"error":{…}} body; 404 and 405 come exactly from the
 * matcher's results, and a 405 carries Allow equal to the matcher's list.
 */
#include "edge/edge_request.h"
#include "edge/edge_routes.h"
#include "pgs_log.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_wake(void *http)
{
    (void)http;
}

static void
s_stream_push(void *http, const void *data, size_t len)
{
    (void)http;
    (void)data;
    (void)len;
}

static void
s_stream_end(void *http)
{
    (void)http;
}

static const edge_http_ops_t s_ops = {
    .wake = s_wake, .stream_push = s_stream_push, .stream_end = s_stream_end};

static edge_loop_t *s_loop;
static edge_ctx_t s_ctx;

static void
s_on_reset(void *arg)
{
    (void)arg;
}

static void
s_init(void)
{
    pgs_log_set_level("error");
    s_loop = edge_loop_new();
    edge_redis_hooks_t hooks = {.on_reset = s_on_reset};
    s_ctx.redis = edge_redis_new(s_loop, "/nonexistent/pegasus-fuzz/redis.sock", 1000, &hooks);
    s_ctx.broker = edge_broker_new(s_loop, "inproc://fuzz-edge-request", 100);
    s_ctx.tokens = edge_tokens_new(s_ctx.redis, s_ctx.broker, 2000, 5000);
    s_ctx.ratelimit = edge_ratelimit_new(s_ctx.redis);
    if (!s_loop || !s_ctx.redis || !s_ctx.broker || !s_ctx.tokens || !s_ctx.ratelimit)
        abort();
    memset(s_ctx.pepper, 0x5a, sizeof s_ctx.pepper);
    s_ctx.nplans = 1;
    snprintf(s_ctx.plans[0].name, sizeof s_ctx.plans[0].name, "pro");
    s_ctx.plans[0].api_access = 1;
    s_ctx.plans[0].requests_per_minute = 60;
    s_ctx.plans[0].messages_per_month = 100;
    static const char *const services[] = {"auth", "bots", "chat"};
    for (int i = 0; i < 3; i++)
        snprintf(s_ctx.services[i], sizeof s_ctx.services[i], "%s", services[i]);
    s_ctx.nservices = 3;
    s_ctx.max_body = 1 << 20;
    s_ctx.deadline_ms = 10000;
    /* as edge_local_openapi_load keeps it: what follows the opening brace */
    static char openapi[] = "\"openapi\":\"3.1.0\"}";
    s_ctx.openapi = openapi;
    s_ctx.openapi_len = sizeof openapi - 1;
    snprintf(s_ctx.cors_origins, sizeof s_ctx.cors_origins, "%s",
             "https://app.example http://localhost:5173");
    s_ctx.touch_interval_ms = 60000;
    s_ctx.max_streams_per_token = 4;
    s_ctx.stream_idle_ms = 60000;
}

/* Splits the next line off *p (at most end); NULL when none is left. */
static char *
s_line(const uint8_t **p, const uint8_t *end)
{
    if (*p > end)
        return NULL;
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    const uint8_t *stop = nl ? nl : end;
    char *s = strndup((const char *)*p, (size_t)(stop - *p)); /* stops at a NUL */
    *p = nl ? nl + 1 : end + 1;
    return s;
}

static const char *
s_header(const edge_req_t *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* The route checks on (method, path); returns the matcher's result and
 * fills allow. */
static edge_route_result_t
s_check_routes(const char *method, const char *path, char *allow, size_t allow_len)
{
    const edge_route_t *route = NULL;
    edge_route_param_t params[EDGE_ROUTES_MAX_PARAMS];
    int n = -1;
    edge_route_result_t m = edge_routes_match(method, path, &route, params, &n, allow, allow_len);
    if (!memchr(allow, '\0', allow_len))
        abort();
    switch (m) {
    case EDGE_ROUTE_FOUND: {
        if (!route || strcmp(route->method, method) != 0 || n < 0 || n > EDGE_ROUTES_MAX_PARAMS)
            abort();
        /* Rebuild the path from the pattern. */
        char rebuilt[8192];
        size_t used = 0;
        int k = 0;
        for (const char *p = route->pattern; *p;) {
            if (*p == '{') {
                const char *close = strchr(p, '}');
                if (!close || k >= n)
                    abort();
                if ((size_t)(close - p - 1) != params[k].name_len ||
                    memcmp(p + 1, params[k].name, params[k].name_len) != 0)
                    abort();
                if (params[k].value_len == 0 || memchr(params[k].value, '/', params[k].value_len))
                    abort();
                if (used + params[k].value_len >= sizeof rebuilt)
                    abort();
                memcpy(rebuilt + used, params[k].value, params[k].value_len);
                used += params[k].value_len;
                k++;
                p = close + 1;
            } else {
                if (used + 1 >= sizeof rebuilt)
                    abort();
                rebuilt[used++] = *p++;
            }
        }
        rebuilt[used] = '\0';
        if (k != n || strcmp(rebuilt, path) != 0)
            abort();
        if (!edge_routes_is_api_path(path))
            abort();
        /* Deterministic. */
        const edge_route_t *again = NULL;
        int n2 = 0;
        char allow2[64];
        if (edge_routes_match(method, path, &again, params, &n2, allow2, sizeof allow2) !=
                EDGE_ROUTE_FOUND ||
            again != route || n2 != n)
            abort();
        break;
    }
    case EDGE_ROUTE_BAD_METHOD:
        if (!allow[0] || !edge_routes_is_api_path(path))
            abort();
        break;
    case EDGE_ROUTE_NOT_FOUND:
        if (allow[0])
            abort();
        break;
    default: abort();
    }
    return m;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_loop)
        s_init();
    const uint8_t *p = data, *end = data + size;
    char *method = s_line(&p, end);
    char *target = s_line(&p, end);
    char *ct = s_line(&p, end);
    char *auth = s_line(&p, end);
    char *origin = s_line(&p, end);
    char *cookie = s_line(&p, end);
    const uint8_t *body = p <= end ? p : end;
    size_t body_len = (size_t)(end - body);

    edge_req_t r = {0};
    r.ctx = &s_ctx;
    r.ops = &s_ops;
    snprintf(r.method, sizeof r.method, "%s", method ? method : "GET");
    if (target) {
        char *q = strchr(target, '?');
        if (q) {
            r.query = strdup(q + 1);
            *q = '\0';
        }
        r.path = strdup(target);
    } else {
        r.path = strdup("/");
    }
    r.content_type = ct;
    ct = NULL;
    if (auth && *auth) {
        r.authorization = auth;
        r.n_authorization = 1;
        auth = NULL;
    }
    r.origin = origin;
    origin = NULL;
    r.session_cookie = cookie;
    cookie = NULL;
    r.content_length = (long long)body_len;
    snprintf(r.request_id, sizeof r.request_id, "req_fuzz");
    snprintf(r.client_ip, sizeof r.client_ip, "127.0.0.1");

    char allow[64];
    edge_route_result_t m = s_check_routes(r.method, r.path, allow, sizeof allow);

    edge_request_headers_done(&r);
    if (m == EDGE_ROUTE_NOT_FOUND && !(r.resp_ready && r.status == 404))
        abort();
    if (m == EDGE_ROUTE_BAD_METHOD) {
        int preflight = r.resp_ready && r.status == 204 && strcmp(r.method, "OPTIONS") == 0;
        if (!preflight && !(r.resp_ready && r.status == 405))
            abort();
        const char *got = s_header(&r, preflight ? "Access-Control-Allow-Methods" : "Allow");
        if (!got || strcmp(got, allow) != 0)
            abort();
    }
    if (!r.resp_ready && !r.pending) {
        if (edge_request_wants_body(&r) && body_len) {
            if (body_len > edge_request_max_body(&r)) {
                r.body_too_large = 1;
            } else {
                r.body = malloc(body_len + 1);
                if (!r.body)
                    abort();
                memcpy(r.body, body, body_len);
                r.body[body_len] = '\0';
                r.body_len = r.body_cap = body_len;
            }
        }
        edge_request_body_done(&r);
    }
    if (r.resp_ready) {
        if (r.status < 200 || r.status > 599 || !s_header(&r, "X-Request-Id"))
            abort();
        if (r.resp_body && r.status >= 400 && !(r.route && r.route->local)) {
            json_t *j = json_loads(r.resp_body, 0, NULL);
            if (!json_is_object(j) || !json_is_object(json_object_get(j, "error")))
                abort();
            json_decref(j);
        }
    } else if (!r.pending) {
        abort(); /* neither answered nor waiting */
    }
    edge_request_release(&r);
    /* Let the broker answer (and drop) what was forwarded. */
    edge_broker_poll(s_ctx.broker);
    free(method);
    free(target);
    free(ct);
    free(auth);
    free(origin);
    free(cookie);
    return 0;
}
